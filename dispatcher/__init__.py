"""dispatcher: decide at run time which model does each piece of work, and escalate when stuck.

The public API is what `__all__` lists; everything else is internal.
"""

from dispatcher.agent import Agent
from dispatcher.budgets import Budgets
from dispatcher.detectors.base import Detector, Step, Verdict
from dispatcher.dispatching import Dispatcher
from dispatcher.errors import (
    BudgetExceeded,
    ConfigError,
    DataError,
    DispatcherError,
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
    "Model",
    "ModelError",
    "ModelProfile",
    "ModelRequest",
    "ModelResponse",
    "Price",
    "ProviderError",
    "Registry",
    "RunError",
    "RunResult",
    "Step",
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
