"""Read-only SQL tools over SQLite: list tables, describe a table, run one query.

What holds (tests in tests/toolkits/test_sql_security.py): the file is opened with a
``mode=ro`` URI; an authorizer allows only SELECT, READ, FUNCTION (minus file and extension
functions) and RECURSIVE; exactly one statement per call, checked by a tokenizer that skips
strings and comments, before SQLite sees it; every statement is compiled with EXPLAIN first, so
a denied one fails at prepare time, never at run time; a progress handler stops each call at
its time limit. Functions that run inside one VM step, where that handler never runs, are
bounded too: ``printf``/``format`` refuse fields over 100000 characters, ``instr``,
``replace`` and two-argument ``trim``/``ltrim``/``rtrim`` are replaced by linear-time versions
with SQLite's answers (tests/toolkits/test_sql_single_step.py), and LIKE/GLOB patterns are
capped at 200 characters. Results are clamped with an outer LIMIT and capped in bytes; values
are capped at SQLite's length limit.
"""

from dispatcher_tools.sql._toolkit import QueryResult, SqlToolkit

__all__ = ["QueryResult", "SqlToolkit"]
