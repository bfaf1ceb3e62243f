"""dispatcher: decide at run time which model does each piece of work, and escalate when stuck.

The public API is what `__all__` lists; everything else is internal. Names are imported on
first use (module `__getattr__`), so `import dispatcher` stays cheap: a CLI command or a
script that needs only part of the framework never loads pydantic models, jsonschema or
structlog it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dispatcher._streaming import ModelTextDelta, RunStream, TextDelta
    from dispatcher.agent import Agent
    from dispatcher.approvals import Approval, ApprovalRequest
    from dispatcher.budgets import Budgets
    from dispatcher.detectors.base import Detector, Step, Verdict
    from dispatcher.dispatching import Dispatcher
    from dispatcher.errors import (
        BudgetExceeded,
        ConfigError,
        DataError,
        DispatcherError,
        MissingKeyError,
        ModelError,
        ProviderError,
        RunError,
        UserError,
    )
    from dispatcher.escalation.request import EscalationRequest
    from dispatcher.escalation.settings import EscalationSettings
    from dispatcher.gates import Gate, GateResult
    from dispatcher.messages import (
        AssistantMessage,
        ForcedTool,
        Message,
        ModelRequest,
        ModelResponse,
        ToolCall,
        ToolResultMessage,
        ToolSpec,
        Usage,
        UserMessage,
    )
    from dispatcher.models.base import Model
    from dispatcher.registry.profiles import ModelProfile, Price
    from dispatcher.registry.registry import Registry
    from dispatcher.runner import RunResult
    from dispatcher.tools.tool import Tool, ToolContext, ToolOutput, tool
    from dispatcher.worker import AgentResult, run_agent

__all__ = [
    "Agent",
    "AgentResult",
    "Approval",
    "ApprovalRequest",
    "AssistantMessage",
    "BudgetExceeded",
    "Budgets",
    "ConfigError",
    "DataError",
    "Detector",
    "Dispatcher",
    "DispatcherError",
    "EscalationRequest",
    "EscalationSettings",
    "ForcedTool",
    "Gate",
    "GateResult",
    "Message",
    "MissingKeyError",
    "Model",
    "ModelError",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "ModelTextDelta",
    "Price",
    "ProviderError",
    "Registry",
    "RunError",
    "RunResult",
    "RunStream",
    "Step",
    "TextDelta",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolOutput",
    "ToolResultMessage",
    "ToolSpec",
    "Usage",
    "UserError",
    "UserMessage",
    "Verdict",
    "run_agent",
    "tool",
]

# Where each public name lives.
_EXPORTS: dict[str, str] = {
    "Agent": "dispatcher.agent",
    "AgentResult": "dispatcher.worker",
    "Approval": "dispatcher.approvals",
    "ApprovalRequest": "dispatcher.approvals",
    "AssistantMessage": "dispatcher.messages",
    "BudgetExceeded": "dispatcher.errors",
    "Budgets": "dispatcher.budgets",
    "ConfigError": "dispatcher.errors",
    "DataError": "dispatcher.errors",
    "Detector": "dispatcher.detectors.base",
    "Dispatcher": "dispatcher.dispatching",
    "DispatcherError": "dispatcher.errors",
    "EscalationRequest": "dispatcher.escalation.request",
    "EscalationSettings": "dispatcher.escalation.settings",
    "ForcedTool": "dispatcher.messages",
    "Gate": "dispatcher.gates",
    "GateResult": "dispatcher.gates",
    "Message": "dispatcher.messages",
    "Model": "dispatcher.models.base",
    "MissingKeyError": "dispatcher.errors",
    "ModelError": "dispatcher.errors",
    "ModelProfile": "dispatcher.registry.profiles",
    "ModelRequest": "dispatcher.messages",
    "ModelResponse": "dispatcher.messages",
    "Price": "dispatcher.registry.profiles",
    "ProviderError": "dispatcher.errors",
    "Registry": "dispatcher.registry.registry",
    "RunError": "dispatcher.errors",
    "RunResult": "dispatcher.runner",
    "ModelTextDelta": "dispatcher._streaming",
    "RunStream": "dispatcher._streaming",
    "Step": "dispatcher.detectors.base",
    "TextDelta": "dispatcher._streaming",
    "Tool": "dispatcher.tools.tool",
    "ToolCall": "dispatcher.messages",
    "ToolContext": "dispatcher.tools.tool",
    "ToolOutput": "dispatcher.tools.tool",
    "ToolResultMessage": "dispatcher.messages",
    "ToolSpec": "dispatcher.messages",
    "Usage": "dispatcher.messages",
    "UserError": "dispatcher.errors",
    "UserMessage": "dispatcher.messages",
    "Verdict": "dispatcher.detectors.base",
    "run_agent": "dispatcher.worker",
    "tool": "dispatcher.tools.tool",
}


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule) the first time it is used."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
