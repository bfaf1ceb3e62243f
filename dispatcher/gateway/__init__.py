"""`dispatcher serve`: an OpenAI-compatible HTTP gateway (Chat Completions, SSE streaming).

Needs the `gateway` extra (docs/gateway.md says how to install it). Nothing heavy is imported
until `create_app` is called, so `import dispatcher` never pays for Starlette.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatcher.errors import ConfigError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from dispatcher.dispatching import Dispatcher

__all__ = ["create_app"]


def create_app(config: str | Path | Dispatcher, **options: Any) -> Starlette:
    """The ASGI app serving a registry file (or a ready `Dispatcher`).

    `options` go to `Dispatcher.from_config` when `config` is a path.
    """
    try:
        import aiohttp  # noqa: F401
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"the gateway needs the `gateway` extra ({exc.name} is missing)",
            fix='pip install -e ".[gateway]" (from the dispatcher repository root)',
        ) from None
    from dispatcher.dispatching import Dispatcher
    from dispatcher.gateway._app import build_app

    dispatcher = (
        config if isinstance(config, Dispatcher) else Dispatcher.from_config(config, **options)
    )
    return build_app(dispatcher)
