"""Models: the Model seam, one adapter per wire API, and the retry/fallback layer around them.

Adapters import their vendor SDK on first request, so importing this package is cheap.
"""

from dispatcher.models._fallback import FallbackModel
from dispatcher.models._retry import RetryingModel, RetryPolicy, retry_deadline
from dispatcher.models.anthropic import AnthropicModel
from dispatcher.models.base import Model
from dispatcher.models.factory import build_model
from dispatcher.models.openai import OpenAIModel

__all__ = [
    "AnthropicModel",
    "FallbackModel",
    "Model",
    "OpenAIModel",
    "RetryPolicy",
    "RetryingModel",
    "build_model",
    "retry_deadline",
]
