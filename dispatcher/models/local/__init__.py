"""Local models run in-process by llama-cpp-python (the `local` extra), no server and no key.

A registry entry says ``model: local/smollm2`` for the bundled SmolLM2-135M-Instruct, or
``model: local/<path to a .gguf file>``. Importing this package does not import llama-cpp-python;
the first request does, with an install hint if it is missing.
"""

from dispatcher.models.local.model import LocalModel

__all__ = ["LocalModel"]
