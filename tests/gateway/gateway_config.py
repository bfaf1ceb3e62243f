"""The gateway tests' registry file and shared names (imported by tests and the conftest)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import yaml

from dispatcher.trace.events import Event
from dispatcher.trace.reader import locate_run, read_run

HELPER = """---
name: helper
description: Answers any question.
tier: weak
---
You answer questions.
"""

SLOWPOKE = """---
name: slowpoke
description: Takes forever.
model: hang
---
You never finish.
"""

CLIENT_KEY = "gw-client-key-0123456789"
UNSET_KEY_VARIABLE = "DISPATCHER_GATEWAY_TEST_NEVER_SET_KEY"
UPSTREAM_KEY_VARIABLE = "DISPATCHER_GATEWAY_TEST_UPSTREAM_KEY"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, upstream_url: str, dispatcher: dict[str, Any] | None = None) -> Path:
    """A registry whose models all live on the fake upstream."""
    base = f"{upstream_url}/v1"

    def model(name: str, provider_model: str) -> dict[str, Any]:
        params = {"model": provider_model, "api_base": base, "num_retries": 0}
        return {"model_name": name, "litellm_params": params}

    (folder / "helper.md").write_text(HELPER)
    (folder / "slowpoke.md").write_text(SLOWPOKE)
    config = {
        "model_list": [
            model("brain", "openai/dispatcher-brain"),
            model("echo", "openai/echo"),
            model("tools", "openai/tools"),
            model("hang", "openai/hang"),
            # LiteLLM's `timeout`: at most 0.3 s without a byte from the upstream
            {
                **model("hang-briefly", "openai/hang"),
                "litellm_params": {**model("", "openai/hang")["litellm_params"], "timeout": 0.3},
            },
            *(model(f"s{code}", f"openai/status-{code}") for code in (400, 401, 429, 500, 503)),
            # Fails once with 503, then answers; one retry allowed.
            {
                **model("flaky", "openai/flaky-1-503"),
                "litellm_params": {
                    **model("", "openai/flaky-1-503")["litellm_params"],
                    "num_retries": 1,
                },
            },
            model("broken", "openai/broken"),
            *(
                model(name, f"openai/{name}")
                for name in (
                    *("html", "redirect", "after-done", "crlf", "endless", "huge"),
                    *("error-200", "odd-usage", "wait-nan", "wait-inf", "wait-1e400", "garbled"),
                    "set-cookie",
                )
            ),
            {
                "model_name": "tell-key",
                "litellm_params": {
                    **model("", "openai/tell-key")["litellm_params"],
                    "api_key": f"os.environ/{UPSTREAM_KEY_VARIABLE}",
                },
            },
            # Nothing listens there: every request is a connection error.
            {
                "model_name": "unreachable",
                "litellm_params": {
                    "model": "openai/echo",
                    "api_base": f"http://127.0.0.1:{_closed_port()}/v1",
                    "num_retries": 0,
                },
            },
            {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-x"}},
            # Its key's variable is never set: the gateway's own configuration is incomplete.
            {
                "model_name": "keyless",
                "litellm_params": {
                    **model("", "openai/echo")["litellm_params"],
                    "api_key": f"os.environ/{UNSET_KEY_VARIABLE}",
                },
            },
        ],
        "dispatcher": {
            "tiers": {"weak": "brain", "strong": "brain"},
            "dispatcher_model": "brain",
            "prices": {"brain": {"input": 1.0, "output": 2.0}},
            "agents": ["helper.md", "slowpoke.md"],
            **(dispatcher or {}),
        },
    }
    path = folder / "dispatcher.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


Gateway = Callable[..., tuple[str, openai.OpenAI]]


def run_events(run_id: str) -> list[Event]:
    """A run's trace found as a user would (`dispatcher trace show <run id>`), wherever it is."""
    return read_run(locate_run(run_id))
