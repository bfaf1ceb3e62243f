"""`CheckedModel`: a pydantic base whose mistakes made in code are ConfigErrors.

Users build settings (and escalation requests) in code, ``EscalationSettings(mode="advise")``,
as well as in files. A bad argument or assignment in code raises a ConfigError naming the
class, the field and a fix, the way a bad key in a file does. Only ``Cls(...)`` is converted,
in the metaclass's ``__call__``: `model_validate`, the path the config loaders take, keeps
pydantic's ValidationError, which they turn into errors naming the file and the full field
path. (A custom ``__init__`` would not do: pydantic calls it from `model_validate` too.)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

# pydantic has no public name for its metaclass; `type(BaseModel)` is the same class but
# hides its type from mypy. tests/test_settings_errors.py fails first if it ever moves.
from pydantic._internal._model_construction import ModelMetaclass

from dispatcher.errors import ConfigError

__all__ = ["CheckedModel"]


class _ConfigErrorsOnCall(ModelMetaclass):
    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if args:
            names = ", ".join(f"{name}=..." for name in list(cls.model_fields)[:3])  # type: ignore[attr-defined]
            raise ConfigError(
                f"takes keyword arguments only, got {len(args)} positional",
                entry=cls.__name__,
                fix=f"name each value, e.g. {cls.__name__}({names})",
            )
        try:
            return super().__call__(**kwargs)
        except ValidationError as exc:
            raise checked_error(exc, cls) from None  # type: ignore[arg-type]


class CheckedModel(BaseModel, metaclass=_ConfigErrorsOnCall):
    """Base of the public pydantic classes that users construct in code."""

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise checked_error(exc, type(self)) from None


def checked_error(exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """The first problem of `exc` as a ConfigError whose entry is the class name."""
    from dispatcher.registry._validation import config_error  # one wording for files and code

    first = exc.errors()[0]
    name = model.__name__
    if first["type"] == "frozen_instance":
        field = ".".join(str(part) for part in first["loc"])
        return ConfigError(
            f"{name} is frozen: its fields cannot be changed after it is built",
            entry=name,
            field=field,
            fix=f"build a new one with the value you want: {name}(..., {field}=...)",
        )
    error = config_error(exc, model, file=None, entry=name)
    if first["type"] == "missing":  # the file wording says "add `key:` here"
        fix = f"pass {error.field}=... to {name}(...)"
        return ConfigError(error.reason, entry=name, field=error.field, fix=fix)
    if first["type"] != "value_error" or error.field:
        return error
    # A check across arguments (a model validator) names no field: point at the call.
    fix = f"change the arguments of {name}(...): {error.reason}"
    return ConfigError(error.reason, entry=name, fix=fix)
