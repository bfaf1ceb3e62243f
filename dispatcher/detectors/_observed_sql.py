"""The class of a database error message, in the SQL toolkit's classes.

Classes: syntax, unknown_table, unknown_column, timeout, denied, multiple_statements, other.
Messages of SQLite (Python's sqlite3 and the CLI), PostgreSQL (psql, psycopg) and MySQL (the
client, connectors) are recognised by the database's own wording (quoted names,
``near "...": syntax error``), so prose about tables and columns, or an editor's "syntax
error", is not a SQL error.
"""

from __future__ import annotations

import re

__all__ = ["sql_error_class"]

# (literal, pattern starting with it, class; "" takes the class from the pattern's group 1)
_Rule = tuple[str, re.Pattern[str] | None, str]


def _rule(literal: str, kind: str, pattern: str | None = None) -> _Rule:
    return (literal, re.compile(pattern) if pattern else None, kind)


# Groups of rules behind one substring gate each; the first rule that matches wins, "other"
# last. Every message below contains its group's gate: text without one costs a few scans.
_SQL_RULES: tuple[tuple[tuple[str, ...], tuple[_Rule, ...]], ...] = (
    (("no such ",), (
        _rule("no such column: ", "unknown_column"),
        _rule("no such table: ", "unknown_table"),
        _rule("no such view: ", "unknown_table"),
        _rule("no such function: ", "syntax"),
    )),
    (("exist",), (  # PostgreSQL quotes names or qualifies columns (t.col); prose does neither
        _rule("column ", "unknown_column",
              r'column (?:"[^"\n]+"|\w+\.\w+)(?: of relation "[^"\n]+")? does not exist'),
        _rule('relation "', "unknown_table", r'relation "[^"\n]+" does not exist'),
        _rule("Table '", "unknown_table", r"Table '[\w.$]+' doesn't exist"),  # MySQL
        _rule("function ", "syntax", r"function [\w.]+\(.*?\) does not exist"),
    )),
    (("Unknown column '",), (_rule("Unknown column '", "unknown_column"),)),  # MySQL
    (("rror", "RROR"), (
        _rule("SQL error (", "", r"SQL error \((\w+)\)"),  # the SQL toolkit's own words
        _rule("statement timeout", "timeout"),  # PostgreSQL
        _rule("permission denied for ", "denied"),  # PostgreSQL
        _rule("cannot insert multiple commands", "multiple_statements"),  # PostgreSQL
        _rule("has no column named ", "unknown_column"),
        _rule('": syntax error', "syntax"),  # SQLite: near "FROM": syntax error
        _rule("syntax error at ", "syntax"),  # PostgreSQL: at or near, at end of input
        _rule("in your SQL syntax", "syntax"),  # MySQL
        _rule("rror: ", "syntax",
              r"rror: (?:incomplete input|unrecognized token|wrong number of arguments"
              r"|misuse of aggregate)"),
        _rule("execution was interrupted", "timeout"),  # MySQL
        _rule("maximum statement execution time", "timeout"),  # MySQL
        _rule("OperationalError: interrupted", "timeout"),  # SQLite, stopped by a handler
        _rule("denied to user", "denied"),  # MySQL
        _rule("denied for user", "denied"),  # MySQL
        _rule("readonly database", "denied"),
        _rule("rror: not authorized", "denied"),
        _rule("one statement at a time", "multiple_statements"),
    )),
    (("rror", "RROR"), (  # a database error of no known class
        _rule("sqlite3.", "other", r"sqlite3\.\w*Error"),
        _rule("psycopg", "other", r"psycopg2?\.errors\.\w+"),
        _rule("pymysql.err.", "other"),
        _rule("ERROR ", "other", r"ERROR [12]\d{3} \([0-9A-Z]{5}\)"),  # MySQL client
    )),
)  # fmt: skip


def sql_error_class(text: str) -> str | None:
    """The class of the database error `text` reports, or None when it reports none."""
    for gates, rules in _SQL_RULES:
        for gate in gates:
            if gate in text:
                break
        else:
            continue
        for literal, pattern, kind in rules:
            at = text.find(literal)
            if at < 0:
                continue
            if pattern is None:
                return kind
            match = pattern.search(text, at)
            if match is not None:
                return kind or match[1]
    return None
