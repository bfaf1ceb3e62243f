"""The `local/` provider in registries: clear errors, lazy imports, install hints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from dispatcher.errors import ConfigError
from dispatcher.messages import ModelRequest, UserMessage
from dispatcher.models import build_model
from dispatcher.models.local import LocalModel
from dispatcher.registry.config import parse_registry_config


def registry_with(params: dict[str, object]) -> None:
    parse_registry_config(
        {
            "model_list": [
                {"model_name": "tiny", "litellm_params": {"model": "local/smollm2", **params}}
            ]
        }
    )


def test_local_smollm2_builds_without_loading_the_runtime() -> None:
    code = (
        "import sys; from dispatcher.models import build_model; "
        "m = build_model('local/smollm2', api_key=None, api_base=None, n_ctx=2048); "
        "print(type(m).__name__, 'llama_cpp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["LocalModel", "False"]


def test_a_registry_accepts_local_options() -> None:
    registry_with({"n_ctx": 4096, "n_threads": 2, "max_tokens": 128, "constrained": False})


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"api_base": "http://127.0.0.1:8080/v1"}, "litellm_params.api_base"),
        ({"n_ctx": "big"}, "litellm_params.n_ctx"),
        ({"constrained": "yes"}, "litellm_params.constrained"),
        ({"n_threadz": 2}, "litellm_params.n_threadz"),
    ],
)
def test_a_wrong_local_option_is_a_config_error_naming_the_field(
    params: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        registry_with(params)
    assert caught.value.field == field and caught.value.fix


def test_an_unknown_local_model_name_says_what_to_write() -> None:
    model = build_model("local/gpt-5", api_key=None, api_base=None)
    with pytest.raises(ConfigError, match="unknown local model") as caught:
        anyio.run(model.request, ModelRequest(messages=[UserMessage("hi")]))
    assert "local/smollm2" in str(caught.value.fix)


def test_a_missing_gguf_file_is_named(tmp_path: Path) -> None:
    model = LocalModel(str(tmp_path / "nothing.gguf"))
    with pytest.raises(ConfigError, match="not found"):
        anyio.run(model.request, ModelRequest(messages=[UserMessage("hi")]))


def test_without_llama_cpp_the_error_gives_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dispatcher.models.local import _runtime

    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp raises ImportError
    with pytest.raises(ConfigError, match="llama-cpp-python") as caught:
        _runtime.load_model(tmp_path / "model.gguf", n_ctx=512, n_threads=None)
    assert "CMAKE_ARGS" in str(caught.value.fix) and '-e ".[local]"' in str(caught.value.fix)
