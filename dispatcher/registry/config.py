"""Load a registry file into model profiles and settings, with errors a user can act on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dispatcher._strict_yaml import load_user_yaml
from dispatcher._user_files import read_user_text
from dispatcher.errors import ConfigError
from dispatcher.registry._schema import DispatcherSection, ModelListEntry, RegistryFile
from dispatcher.registry._validation import config_error, did_you_mean, yaml_error
from dispatcher.registry.profiles import ENV_PREFIX, ModelProfile, Price

__all__ = ["RegistryConfig", "load_registry_config", "parse_registry_config"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # matched whole (fullmatch)


@dataclass(frozen=True)
class RegistryConfig:
    """A validated registry file: profiles by name plus the `dispatcher:` settings."""

    profiles: dict[str, ModelProfile]
    settings: DispatcherSection
    path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    digest: str = ""

    def resolve_path(self, value: str) -> Path:
        """A path from the file, relative to the file's folder."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


# The commands read ./dispatcher.yaml unless told otherwise: say how to tell them.
_POINT_AT_A_FILE = (
    "pass the path of a dispatcher.yaml file (on the command line: -c PATH), or run where one is"
)


def load_registry_config(path: str | Path) -> RegistryConfig:
    """Read and validate a registry YAML file."""
    file = Path(path)
    if file.is_dir():
        inside = file / "dispatcher.yaml"
        raise ConfigError(
            "is a folder, not a registry file",
            file=file,
            fix=f"pass {inside}" if inside.is_file() else _POINT_AT_A_FILE,
        )
    if not file.is_file():
        raise ConfigError("registry file not found", file=file, fix=_POINT_AT_A_FILE)
    text = read_user_text(file)
    import yaml  # loaded with the first file, not with the package

    try:
        data = load_user_yaml(text) or {}
    except yaml.YAMLError as exc:
        raise yaml_error(exc, file, what="registry file") from None
    return parse_registry_config(data, file=file, text=text)


def parse_registry_config(
    data: Any, *, file: Path | None = None, text: str | None = None
) -> RegistryConfig:
    """Validate an already-parsed registry mapping."""
    import hashlib

    if not isinstance(data, Mapping):
        raise ConfigError(
            "the top level must be a mapping with model_list and dispatcher", file=file
        )
    try:
        parsed = RegistryFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, data, file) from None
    profiles = _profiles(parsed, file)
    settings = parsed.dispatcher
    _check_references(settings, profiles, file)
    _check_sections(settings, file)
    for index, entry in enumerate(parsed.model_list):
        _check_litellm_params(entry, index, file)
    digest_source = text if text is not None else repr(sorted(data.items(), key=str))
    return RegistryConfig(
        profiles=profiles,
        settings=settings,
        path=file,
        base_dir=file.parent.resolve() if file else Path.cwd(),
        digest=hashlib.sha256(digest_source.encode()).hexdigest()[:16],
    )


def _config_error(exc: ValidationError, data: Mapping[str, Any], file: Path | None) -> ConfigError:
    loc = [str(p) for p in exc.errors()[0]["loc"]]
    entry, skip = None, 0
    if len(loc) >= 2 and loc[0] == "model_list" and loc[1].isdigit():
        index = int(loc[1])
        items = data.get("model_list") or []
        name = items[index].get("model_name") if isinstance(items[index], Mapping) else None
        entry, skip = f"model_list[{index}]" + (f" ({name})" if name else ""), 2
    elif len(loc) >= 3 and loc[0] == "dispatcher" and loc[1] in {"models", "prices", "toolkits"}:
        entry, skip = f"dispatcher.{loc[1]}.{loc[2]}", 3
    return config_error(exc, RegistryFile, file=file, entry=entry, skip=skip)


def _check_sections(settings: DispatcherSection, file: Path | None) -> None:
    """The free-form sections, validated by their own models now rather than mid-run."""
    from dispatcher.detectors._settings import DetectorSettings
    from dispatcher.escalation.settings import EscalationSettings

    try:
        DetectorSettings.from_mapping(settings.detectors, source=file)
    except ConfigError as exc:
        field = f"dispatcher.detectors.{exc.field}" if exc.field else "dispatcher.detectors"
        raise ConfigError(exc.reason, file=file, field=field, fix=exc.fix) from None
    try:
        EscalationSettings.model_validate(settings.escalation)
    except ValidationError as exc:
        raise config_error(
            exc, EscalationSettings, file=file, prefix=("dispatcher", "escalation")
        ) from None
    if settings.router is not None:
        from dispatcher.routing._factory import check_router_config

        try:
            check_router_config(settings.router)
        except ConfigError as exc:
            field = f"dispatcher.router.{exc.field}" if exc.field else "dispatcher.router"
            raise ConfigError(exc.reason, file=file, field=field, fix=exc.fix) from None


def _check_litellm_params(entry: ModelListEntry, index: int, file: Path | None) -> None:
    """What building the model would refuse (options, values, prefix), now, at load."""
    from dispatcher.models.factory import check_model_options

    params = entry.litellm_params.model_dump()
    options = {k: v for k, v in params.items() if k not in {"model", "api_base", "api_key"}}
    try:
        check_model_options(params["model"], api_base=params.get("api_base"), **options)
    except ConfigError as exc:
        raise ConfigError(
            exc.reason,
            file=file,
            entry=f"model_list[{index}] ({entry.model_name})",
            field=exc.field,
            fix=exc.fix,
        ) from None


def _api_key_env(entry: ModelListEntry, index: int, file: Path | None) -> str | None:
    key = entry.litellm_params.api_key
    if key is None:
        return None
    if not key.startswith(ENV_PREFIX) or len(key) == len(ENV_PREFIX):
        # Never echo the value: it may be a real key pasted into the file.
        raise ConfigError(
            "api_key must name an environment variable, not hold the key itself",
            file=file,
            entry=f"model_list[{index}] ({entry.model_name})",
            field="litellm_params.api_key",
            fix="write api_key: os.environ/PROVIDER_API_KEY and export that variable",
        )
    name = key[len(ENV_PREFIX) :]
    if not _ENV_NAME.fullmatch(name):
        # Not echoed either: a key pasted after the prefix would land in the message.
        raise ConfigError(
            "the text after os.environ/ is not an environment variable name (letters, digits "
            "and '_', not starting with a digit, no spaces)",
            file=file,
            entry=f"model_list[{index}] ({entry.model_name})",
            field="litellm_params.api_key",
            fix="write api_key: os.environ/PROVIDER_API_KEY and export that variable",
        )
    return name


def _profiles(parsed: RegistryFile, file: Path | None) -> dict[str, ModelProfile]:
    settings = parsed.dispatcher
    tier_of = {model: tier for tier, model in settings.tiers.items()}
    profiles: dict[str, ModelProfile] = {}
    for index, entry in enumerate(parsed.model_list):
        name = entry.model_name
        if name in profiles:
            raise ConfigError(
                "duplicate model_name",
                file=file,
                entry=f"model_list[{index}] ({name})",
                fix="give each deployment a unique model_name (fallback lists come later)",
            )
        spec = settings.models.get(name)
        price_spec = (spec.price if spec else None) or settings.prices.get(name)
        price = (
            Price(price_spec.input, price_spec.output, price_spec.cached_input)
            if price_spec
            else None
        )
        info = entry.model_info
        if price is None and info and info.input_cost_per_token is not None:
            price = Price(
                info.input_cost_per_token * 1e6, (info.output_cost_per_token or 0.0) * 1e6
            )
        tier = (spec.tier if spec else None) or tier_of.get(name)
        if tier not in (None, "strong", "weak", "specialist"):
            raise ConfigError(
                f"unknown tier {tier!r}",
                file=file,
                entry="dispatcher.tiers",
                fix="use strong, weak or specialist",
            )
        capabilities = (
            frozenset(spec.capabilities) if spec and spec.capabilities is not None else None
        )
        extra = {
            k: v
            for k, v in entry.litellm_params.model_dump().items()
            if k not in {"model", "api_base", "api_key"}
        }
        profiles[name] = ModelProfile(
            name=name,
            provider_model=entry.litellm_params.model,
            tier=tier,  # type: ignore[arg-type]
            price=price,
            context_window=(spec.context_window if spec else None)
            or (info.max_input_tokens if info else None),
            max_output_tokens=(spec.max_output_tokens if spec else None)
            or (info.max_output_tokens if info else None),
            capabilities=capabilities if capabilities is not None else frozenset({"tools"}),
            api_base=entry.litellm_params.api_base,
            api_key_env=_api_key_env(entry, index, file),
            options=extra,
        )
    return profiles


def _check_references(
    settings: DispatcherSection, profiles: Mapping[str, ModelProfile], file: Path | None
) -> None:
    known = ", ".join(sorted(profiles)) or "(none: add a model_list)"
    refs: list[tuple[str, str | None]] = [
        ("dispatcher.overwatch", settings.overwatch),
        ("dispatcher.dispatcher_model", settings.dispatcher_model),
    ]
    refs += [(f"dispatcher.tiers.{tier}", model) for tier, model in settings.tiers.items()]
    refs += [(f"dispatcher.prices.{model}", model) for model in settings.prices]
    refs += [(f"dispatcher.models.{model}", model) for model in settings.models]
    for model, backups in settings.fallbacks.items():
        refs.append((f"dispatcher.fallbacks.{model}", model))
        refs += [(f"dispatcher.fallbacks.{model}", backup) for backup in backups]
        if model in backups:
            raise ConfigError(
                f"model {model!r} lists itself as its own fallback",
                file=file,
                entry=f"dispatcher.fallbacks.{model}",
                fix="list other model_names from model_list",
            )
    for where, name in refs:
        if name is not None and name not in profiles:
            raise ConfigError(
                f"unknown model {name!r}",
                file=file,
                entry=where,
                fix=did_you_mean(name, profiles) + f"use a model_name from model_list: {known}",
            )
    for tier in settings.tiers:
        if tier not in ("strong", "weak", "specialist"):
            raise ConfigError(
                f"unknown tier {tier!r}",
                file=file,
                entry="dispatcher.tiers",
                fix="use strong or weak",
            )
