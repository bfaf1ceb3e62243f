"""Turn a pydantic ValidationError into a ConfigError a user can act on.

Generic over the models: the keys allowed at the failing location are read from the pydantic
model itself (so fields added to a model are accepted without touching this file), an unknown
key gets a did-you-mean, a bad value gets the constraint and the value to change. No pydantic
traceback or URL reaches the user.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dispatcher._did_you_mean import did_you_mean
from dispatcher._strict_yaml import yaml_error
from dispatcher.errors import ConfigError

__all__ = ["config_error", "did_you_mean", "model_at", "yaml_error"]

# Fields whose values may be credentials (api_key, api_keys, a token, a header...).
_SECRET_FIELD = re.compile(
    r"(^|_)(api_?keys?|secrets?|passwords?|auth\w*|headers?)$|^(key|token)$", re.IGNORECASE
)


def _unwrap(annotation: Any) -> Any:
    """The model inside ``X | None`` / ``Optional[X]`` / ``Annotated[X, ...]``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
        return options[0] if len(options) == 1 else annotation
    return annotation


def model_at(model: type[BaseModel], location: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that holds the key at `location` (the key itself excluded)."""
    current: Any = model
    parts = list(location)
    while parts:
        current = _unwrap(current)
        origin = typing.get_origin(current)
        part = parts.pop(0)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif origin in (dict, Mapping) or current is dict:
            args = typing.get_args(current)
            current = args[1] if len(args) == 2 else Any
        elif origin in (list, tuple, Sequence):
            args = typing.get_args(current)
            current = args[0] if args else Any
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _fix_for(error: Mapping[str, Any], dotted: str, known: list[str]) -> tuple[str, str]:
    kind = str(error["type"])
    key = str(error["loc"][-1]) if error["loc"] else dotted
    if kind == "extra_forbidden":
        listing = f"; the keys allowed here are: {', '.join(known)}" if known else ""
        return (
            f"unknown key {key!r}",
            f"{did_you_mean(key, known)}check its spelling or remove it{listing}",
        )
    if kind == "missing":
        return "required field is missing", f"add `{key}:` here"
    message = str(error["msg"])
    if kind == "value_error":  # a validator's own words: kept as written (os.environ/NAME)
        message = message.removeprefix("Value error, ")
        return message, f"change {key}: {message}"
    value = error.get("input")
    secret = any(_SECRET_FIELD.search(str(part)) for part in error["loc"])
    # Never echo a value where a key belongs: it may be a real key pasted into the file.
    shown = "" if secret or isinstance(value, Mapping | list) else f" (got {value!r})"
    # Only the first letter is lowered: the values a message quotes keep their case.
    lowered = message[:1].lower() + message[1:]
    if kind.startswith(("greater_than", "less_than")) or kind.endswith("_constraint"):
        return f"{message}{shown}", f"change {key} to a value where: {lowered}"
    if kind == "literal_error" or kind == "enum":
        return f"{message}{shown}", f"use one of the values listed: {lowered}"
    return f"{message}{shown}", f"give {key} a value of the right type ({lowered})"


def config_error(
    exc: ValidationError,
    model: type[BaseModel],
    *,
    file: str | Path | None,
    entry: str | None = None,
    prefix: Sequence[str | int] = (),
    skip: int = 0,
) -> ConfigError:
    """A ConfigError for the first problem in `exc`, naming file, entry, field and a fix.

    Args:
        model: The model that was validated (to find the allowed keys).
        prefix: Where that model sits in the file, e.g. ``("dispatcher", "escalation")``.
        skip: Leading location parts already named by `entry` (left out of `field`).
    """
    # A typo shows as an unknown key *and* a missing one: the unknown key explains both.
    errors = sorted(exc.errors(), key=lambda error: error["type"] != "extra_forbidden")
    first = errors[0]
    location = list(first["loc"])
    holder = model_at(model, location[:-1]) if location else model
    known = list(holder.model_fields) if holder is not None else []
    message, fix = _fix_for(first, ".".join(map(str, location)), known)
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s) after this one)"
    field = ".".join(str(part) for part in [*prefix, *location][skip:]) or None
    return ConfigError(message, file=file, entry=entry, field=field, fix=fix)
