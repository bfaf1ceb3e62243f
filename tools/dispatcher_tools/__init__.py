"""Built-in toolkits for dispatcher: read-only SQL, a sandboxed coding workspace, and gates.

They plug in through the public seams only (`Tool`, `Gate`, the ``dispatcher.tools`` entry
point calling `register`), exactly like a third-party toolkit.
"""

from dispatcher_tools._registration import register, sql_tools, workspace_tools
from dispatcher_tools.gates import JsonSchemaGate, SqlReturnsRowsGate, TestsPassGate
from dispatcher_tools.sql import QueryResult, SqlToolkit
from dispatcher_tools.workspace import CommandResult, TestReport, WorkspaceToolkit

__all__ = [
    "CommandResult",
    "JsonSchemaGate",
    "QueryResult",
    "SqlReturnsRowsGate",
    "SqlToolkit",
    "TestReport",
    "TestsPassGate",
    "WorkspaceToolkit",
    "register",
    "sql_tools",
    "workspace_tools",
]
