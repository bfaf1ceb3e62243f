"""Read-only SQL tools over SQLite: list tables, describe a table, run one query.

What holds (tests in tests/toolkits/test_sql_security.py): the file is opened with a
``mode=ro`` URI; an authorizer allows only SELECT, READ, FUNCTION (minus file and extension
functions) and RECURSIVE; exactly one statement per call, checked by a tokenizer that skips
strings and comments, before SQLite sees it; every statement is compiled with EXPLAIN first, so
a denied one fails at prepare time, never at run time; a progress handler stops each call at
its time limit (``printf``/``format``, whose ``%c`` repeats would spin inside one VM step, are
replaced by a version that refuses fields over 100000 characters, and LIKE/GLOB patterns are
capped at 200 characters, since both run inside one VM step); results are clamped with
an outer LIMIT and capped in bytes; values are capped at SQLite's length limit.
"""

from dispatcher_tools.sql._toolkit import QueryResult, SqlToolkit

__all__ = ["QueryResult", "SqlToolkit"]
