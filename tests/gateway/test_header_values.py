"""Header values come from the operator's registry (model and agent names): whatever they
hold, the headers stay printable ASCII, one header each, and the answer is still sent."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
import yaml
from fake_upstream import FakeUpstream, ServerThread
from gateway_config import write_config

from dispatcher.gateway import create_app

HELLO = [{"role": "user", "content": "hello there"}]
ODD = {"modèle": "mod%C3%A8le", "evil\r\nx-injected: 1": "evil%0D%0Ax-injected: 1"}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("name", list(ODD))
def test_odd_model_names_are_percent_encoded_in_headers(
    tmp_path: Path, upstream: FakeUpstream, name: str, stream: bool
) -> None:
    path = write_config(tmp_path, upstream.base_url)  # type: ignore[attr-defined]
    config = yaml.safe_load(path.read_text())
    params = {"model": "openai/echo", "api_base": f"{upstream.base_url}/v1", "num_retries": 0}  # type: ignore[attr-defined]
    config["model_list"].append({"model_name": name, "litellm_params": params})
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    server = ServerThread(create_app(path)).start()
    try:
        response = httpx2.post(
            f"{server.base_url}/v1/chat/completions",
            json={"model": name, "messages": HELLO, "stream": stream},
            timeout=30,
        )
    finally:
        server.stop()
    assert response.status_code == 200
    assert "there" in response.text  # the answer (streamed word by word, or whole)
    raw = dict(response.headers.raw)
    assert raw[b"x-dispatcher-route"] == f"direct/{ODD[name]}".encode()
    assert b"x-injected" not in raw
    assert all(value.isascii() for value in raw.values())
