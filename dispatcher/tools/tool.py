"""A typed Python function becomes a tool the model can call."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, get_args, overload

from pydantic.errors import PydanticSchemaGenerationError

from dispatcher._unicode import scrub_text
from dispatcher.errors import ConfigError
from dispatcher.messages import ToolSpec
from dispatcher.tools._fast_schema import FastCheck, compile_fast_check
from dispatcher.tools._schema import SignatureSchema, parse_docstring

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

__all__ = ["Tool", "ToolContext", "ToolOutput", "tool"]

# What OpenAI and Anthropic accept as a function name (the wire name: '.' becomes '_').
_WIRE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """A tool's result with optional progress signals for the detectors.

    `signals` carries domain facts such as ``{"tests_failed": 2}``, ``{"sql_error": "syntax"}`` or
    ``{"state_changed": False}``; the loop and stall detectors read them.
    """

    content: str
    is_error: bool = False
    signals: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.content, str):
            # Refused here, in the tool's own call (a tool error the trace shows), not later
            # inside the executor where it ended the run.
            raise ConfigError(
                f"ToolOutput content must be text, got {type(self.content).__name__}",
                field="content",
                fix="return ToolOutput(str(value)), or return the value itself (it is sent "
                "as JSON)",
            )
        if not isinstance(self.signals, Mapping):
            raise ConfigError(
                f"ToolOutput signals must be a mapping, got {type(self.signals).__name__}",
                field="signals",
                fix='e.g. ToolOutput("...", signals={"state_changed": True})',
            )
        # Tool output is untrusted text too: a lone surrogate (a file name that is not UTF-8,
        # a careless tool) becomes U+FFFD before it reaches the trace and the next request.
        content = scrub_text(self.content)
        if content is not self.content:
            object.__setattr__(self, "content", content)


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool may know about the call: injected when a parameter is annotated with it."""

    run_id: str
    agent: str
    call_id: str


@dataclass(eq=False)
class Tool:
    """A callable with a name, a description and the exact JSON Schema sent to the model.

    `name` is the registry name (may contain dots, e.g. ``sql.run_query``); the model sees
    `wire_name`, which providers accept (letters, digits, ``_`` and ``-``).
    """

    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Any]
    timeout_s: float | None = 60.0
    idempotent: bool = True
    context_param: str | None = None
    source: str | None = None  # where the tool comes from, e.g. "mcp:files"; None for ours
    requires_approval: bool = False  # a human approves each call before it runs
    _signature: SignatureSchema | None = field(default=None, repr=False)
    _validator: Draft202012Validator | None = field(default=None, repr=False)
    _is_async: bool = field(default=False, repr=False)
    _fast_check: FastCheck | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _WIRE_NAME.match(self.wire_name):
            raise ConfigError(
                f"invalid tool name {self.name!r}: providers accept letters, digits, '_' and "
                "'-' (1 to 128 of them; '.' becomes '_' on the wire)",
                field="name",
                fix="rename the tool, e.g. @tool(name='orders.lookup')",
            )
        timeout = self.timeout_s
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0
        ):
            raise ConfigError(
                f"tool {self.name!r}: timeout_s must be a positive number of seconds or None, "
                f"got {self.timeout_s!r}",
                field="timeout_s",
                fix="e.g. timeout_s=30 (None: no time limit)",
            )
        if self._signature is None:
            # A hand-written schema is checked now. One derived from a signature (pydantic)
            # is valid by construction: jsonschema then loads only when a call needs it.
            _validator_class().check_schema(self.parameters)
        self._fast_check = compile_fast_check(self.parameters)
        self._is_async = inspect.iscoroutinefunction(self.function)

    @property
    def is_async(self) -> bool:
        """An ``async def`` tool (runs on the event loop); a sync one runs in a thread."""
        return self._is_async

    @property
    def wire_name(self) -> str:
        return self.name.replace(".", "_")

    @property
    def spec(self) -> ToolSpec:
        return ToolSpec(self.wire_name, self.description, self.parameters)

    def validation_errors(self, arguments: Any) -> list[str]:
        """Messages for every way `arguments` breaks the schema that was sent (empty if valid)."""
        if self._fast_check is not None and self._fast_check(arguments):
            return []  # certainly valid (see _fast_schema); jsonschema decides everything else
        if self._validator is None:
            self._validator = _validator_class()(self.parameters)
        errors = sorted(self._validator.iter_errors(arguments), key=lambda e: list(e.path))
        return [f"{'/'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors]

    async def invoke(self, arguments: dict[str, Any], context: ToolContext) -> Any:
        """Run the function with validated arguments (sync functions run inline)."""
        result = self.call(arguments, context)
        if inspect.isawaitable(result):
            return await result
        return result

    def call(self, arguments: dict[str, Any], context: ToolContext) -> Any:
        """Call the function with validated arguments: a sync tool runs to completion here,
        an async one returns its awaitable, not yet started."""
        kwargs = self._signature.to_kwargs(arguments) if self._signature else arguments
        if self.context_param:
            kwargs = {**kwargs, self.context_param: context}  # never mutate the caller's dict
        return self.function(**kwargs)

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = 60.0,
        idempotent: bool = True,
        requires_approval: bool = False,
    ) -> Tool:
        """Derive name, description and schema from the function's signature and docstring."""
        if isinstance(function, Tool):
            raise ConfigError(
                f"{function.name!r} is already a Tool", fix="use it as it is, without @tool again"
            )
        if not callable(function):
            raise ConfigError(
                f"a tool is made from a function, got {type(function).__name__}",
                fix="decorate a typed function with @tool",
            )
        hints = inspect.get_annotations(function, eval_str=True)
        context_param = next(
            (p for p, h in hints.items() if h is ToolContext or ToolContext in get_args(h)), None
        )
        try:
            signature = SignatureSchema(
                function, skip=frozenset({context_param}) if context_param else frozenset()
            )
        except PydanticSchemaGenerationError as exc:
            raise ConfigError(
                f"tool {getattr(function, '__name__', function)!r}: a parameter's type has no "
                f"JSON Schema ({str(exc).splitlines()[0]}); its parameters: "
                f"{', '.join(h for h in hints if h != 'return') or '(none)'}",
                fix="annotate each parameter with a JSON type: str, int, float, bool, a list, "
                "a dict, a Literal, an Enum or a pydantic model",
            ) from None
        doc_description, _ = parse_docstring(function.__doc__)
        return cls(
            name=name or function.__name__,
            description=description or doc_description or function.__name__,
            parameters=signature.json_schema,
            function=function,
            timeout_s=timeout_s,
            idempotent=idempotent,
            context_param=context_param,
            requires_approval=requires_approval,
            _signature=signature,
        )


def _validator_class() -> type[Draft202012Validator]:
    from jsonschema import Draft202012Validator  # ~0.1 s to import: only when needed

    return Draft202012Validator


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = 60.0,
    idempotent: bool = True,
    requires_approval: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = 60.0,
    idempotent: bool = True,
    requires_approval: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a typed function into a `Tool`; usable as ``@tool`` or ``@tool(name=...)``."""

    def wrap(func: Callable[..., Any]) -> Tool:
        return Tool.from_function(
            func,
            name=name,
            description=description,
            timeout_s=timeout_s,
            idempotent=idempotent,
            requires_approval=requires_approval,
        )

    if function is not None:
        return wrap(function)
    return wrap
