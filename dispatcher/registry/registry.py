"""The registry: models, agents and tools, with plugins loaded through entry points."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, cast, get_args

from dispatcher._did_you_mean import did_you_mean
from dispatcher.agent import Agent
from dispatcher.errors import ConfigError, MissingKeyError
from dispatcher.models.base import Model
from dispatcher.registry._approval_names import check_approval_names
from dispatcher.registry.agent_files import load_agent_file
from dispatcher.registry.config import RegistryConfig, load_registry_config, parse_registry_config
from dispatcher.registry.profiles import ModelProfile, Tier
from dispatcher.tools.tool import Tool

__all__ = ["ModelFactory", "Registry", "ToolkitFactory"]

ToolkitFactory = Callable[[Mapping[str, Any]], Sequence[Tool]]
ModelFactory = Callable[[ModelProfile], Model]

AGENT_ENTRY_POINTS = "dispatcher.agents"
TOOL_ENTRY_POINTS = "dispatcher.tools"
_PATH_KEYS = ("database", "root", "path", "dir", "file")
# The worker's own tool (escalation.request.ESCALATE_TOOL_NAME; this layer cannot import it).
_ESCALATE = "escalate"


def _default_model_factory(profile: ModelProfile) -> Model:
    """The profile's adapter inside the one retry layer (SDK retries are off)."""
    from dispatcher.models import RetryingModel, RetryPolicy, build_model

    adapter = build_model(
        profile.provider_model,
        # A named variable that is unset is an error here: None would let the SDK fall back
        # to its own variable (OPENAI_API_KEY), i.e. possibly another project's key.
        api_key=profile.require_api_key() if profile.api_key_env else None,
        api_base=profile.api_base,
        **dict(profile.options),
    )
    return RetryingModel(adapter, policy=RetryPolicy(max_retries=_num_retries(profile)))


def _num_retries(profile: ModelProfile) -> int:
    """LiteLLM's `num_retries` (or `max_retries`) from litellm_params; 3 if unset."""
    value = profile.options.get("num_retries", profile.options.get("max_retries", 3))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"num_retries must be a whole number >= 0, got {value!r}",
            entry=f"model_list ({profile.name})",
            field="litellm_params.num_retries",
            fix="e.g. num_retries: 3 (0 turns retries off)",
        )
    return value


class Registry:
    """Everything a run can use, by name. Built-ins register exactly as a user's code does."""

    def __init__(self, config: RegistryConfig | None = None) -> None:
        self.config = config or parse_registry_config({})
        self.agents: dict[str, Agent] = {}
        self.tools: dict[str, Tool] = {}
        self.toolkits: dict[str, ToolkitFactory] = {}
        self._toolkit_tools: dict[str, list[Tool]] = {}
        self._models: dict[str, Model] = {}
        self._deployments: dict[str, Model] = {}
        self.model_factory: ModelFactory = _default_model_factory
        self._plugins_loaded = False
        # Every key the file names is redacted from the start (reading one registers it): a
        # tool may print a key before the model that uses it is first called.
        for profile in self.config.profiles.values():
            profile.api_key()

    @classmethod
    def from_file(cls, path: str | Path, *, plugins: bool = True) -> Registry:
        """Load a registry file, the plugins, then the agent files it lists."""
        registry = cls(load_registry_config(path))
        if plugins:
            registry.load_plugins()
        for agent_path in registry.config.settings.agents:
            registry.register(load_agent_file(registry.config.resolve_path(agent_path)))
        return registry

    # registration -----------------------------------------------------------------------

    def register(self, item: Agent | Tool) -> None:
        """Add an agent or a tool; a name already taken is an error."""
        if isinstance(item, Agent):
            if item.name in self.agents:
                raise ConfigError(
                    f"agent name {item.name!r} is already registered "
                    f"(by {self.agents[item.name].source})",
                    entry=item.source,
                    fix="rename one of the two agents",
                )
            self.agents[item.name] = item
        elif isinstance(item, Tool):
            if item.name in self.tools:
                raise ConfigError(
                    f"tool name {item.name!r} is already registered", fix="rename one of them"
                )
            self.tools[item.name] = item
        else:
            hint = (
                f"decorate {getattr(item, '__name__', 'the function')} with @tool"
                if callable(item)
                else "pass an Agent(...) or a Tool (a function decorated with @tool)"
            )
            raise ConfigError(f"cannot register {item!r}: expected an Agent or a Tool", fix=hint)

    def register_toolkit(self, name: str, factory: ToolkitFactory) -> None:
        """Add a toolkit: a factory building tools from its `dispatcher.toolkits.<name>` options."""
        if name in self.toolkits:
            raise ConfigError(f"toolkit {name!r} is already registered", fix="rename one of them")
        self.toolkits[name] = factory

    def load_plugins(self) -> None:
        """Run every `dispatcher.tools` then `dispatcher.agents` entry point's `register(self)`."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for group in (TOOL_ENTRY_POINTS, AGENT_ENTRY_POINTS):
            for entry in entry_points(group=group):
                register = entry.load()
                register(self)

    def use_models(self, models: Mapping[str, Model] | Callable[[ModelProfile], Model]) -> None:
        """Replace real models: a mapping by model name, or a factory (scripted runs, tests)."""
        if callable(models):
            self.model_factory = models
            self._models.clear()
            self._deployments.clear()
            return
        if not isinstance(models, Mapping):
            raise ConfigError(
                f"use_models takes a mapping or a factory, got {type(models).__name__}",
                fix="pass {'model name': model} or a function (ModelProfile) -> Model",
            )
        for name, model in models.items():
            if name not in self.profiles:
                raise ConfigError(
                    f"no model {name!r} in the registry",
                    fix=did_you_mean(str(name), self.profiles)
                    + f"model names: {', '.join(self.profiles) or '(none)'}",
                )
            if not isinstance(model, Model):
                raise ConfigError(
                    f"the model for {name!r} is a {type(model).__name__}, not a Model",
                    fix="pass an object with `model_id` and `async request(ModelRequest)`, "
                    "e.g. dispatcher.testing.ScriptedModel",
                )
        self._models.update(models)

    # lookup -------------------------------------------------------------------------------

    @property
    def profiles(self) -> dict[str, ModelProfile]:
        return self.config.profiles

    def agent(self, name: str) -> Agent:
        try:
            return self.agents[name]
        except KeyError:
            raise ConfigError(
                f"unknown agent {name!r}",
                fix=did_you_mean(name, self.agents)
                + f"registered agents: {', '.join(self.agents) or '-'}",
            ) from None

    def profile(self, name: str) -> ModelProfile:
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(self.profiles) or "(none)"
            raise ConfigError(
                f"unknown model {name!r}",
                file=self.config.path,
                fix=did_you_mean(name, self.profiles)
                + f"use a model_name from model_list: {known}",
            ) from None

    def tier_profile(self, tier: str) -> ModelProfile:
        """The model for a tier: `dispatcher.tiers`, else the first profile with that tier."""
        name = self.config.settings.tiers.get(tier)
        if name:
            profile = self.profile(name)
            if profile.tier == tier or tier not in get_args(Tier):
                return profile
            # One model listed for two tiers carries the last one: a call made for this tier
            # is labelled with it (events, the gateway's route header).
            return dataclasses.replace(profile, tier=cast(Tier, tier))
        for profile in self.profiles.values():
            if profile.tier == tier:
                return profile
        if not self.profiles:  # an empty file, say: the missing tier is not the news
            raise ConfigError(
                "no models are registered",
                file=self.config.path,
                entry="model_list",
                fix="list your models under `model_list:` (docs/configuration.md)",
            )
        raise ConfigError(
            f"no model has tier {tier!r}",
            file=self.config.path,
            entry="dispatcher.tiers",
            fix=f"add `tiers: {{{tier}: <model_name>}}` under dispatcher:",
        )

    def strong_profile(self) -> ModelProfile:
        """The overwatch model, which is also the price of the all-strong counterfactual."""
        name = self.config.settings.overwatch
        return self.profile(name) if name else self.tier_profile("strong")

    def profile_for(self, agent: Agent) -> ModelProfile:
        if agent.model:
            return self.profile(agent.model)
        return self.tier_profile(agent.tier or "weak")

    def model(self, name: str) -> Model:
        """The live (or substituted) model for a registry model name, built once.

        With `dispatcher.fallbacks` set for `name`, a FallbackModel over it and its backups.
        """
        model = self._models.get(name)
        if model is None:
            model = self._deployment(name)
            backups = self.config.settings.fallbacks.get(name, [])
            if backups:
                from dispatcher.models import FallbackModel

                candidates = [(name, model)]
                candidates += [(b, self._models.get(b) or self._deployment(b)) for b in backups]
                model = FallbackModel(
                    candidates, cooldown_s=self.config.settings.fallback_cooldown_s
                )
            self._models[name] = model
        return model

    def _deployment(self, name: str) -> Model:
        """One deployment from the model factory, without fallbacks, built once."""
        model = self._deployments.get(name)
        if model is None:
            try:
                model = self.model_factory(self.profile(name))
            except ConfigError as exc:
                if exc.file is not None or self.config.path is None:
                    raise
                where: dict[str, Any] = {
                    "file": self.config.path,
                    "entry": exc.entry or f"model_list ({name})",
                    "field": exc.field,
                    "fix": exc.fix,
                }
                if isinstance(exc, MissingKeyError):  # keep the kind: the gateway answers 502
                    raise MissingKeyError(
                        exc.reason, model=exc.model, variable=exc.variable, **where
                    ) from None
                raise ConfigError(exc.reason, **where) from None
            self._deployments[name] = model
        return model

    def tools_for(self, agent: Agent) -> list[Tool]:
        """Resolve an agent's tool list; unknown names are a ConfigError listing known ones."""
        resolved: list[Tool] = []
        for item in agent.tools:
            if isinstance(item, Tool):
                resolved.append(item)
            else:
                resolved.extend(self._resolve_tool_name(item, agent))
        names = [t.wire_name for t in resolved]
        if _ESCALATE in names:
            raise ConfigError(
                f"agent {agent.name!r} lists a tool named {_ESCALATE!r}: {_ESCALATE!r} is reserved "
                "for the tool every worker gets to ask the overwatch for help",
                entry=f"agent {agent.name!r} ({agent.source})",
                field="tools",
                fix="rename the tool, e.g. @tool(name='page_human')",
            )
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate:
            raise ConfigError(
                f"agent {agent.name!r} lists tool {duplicate!r} twice", fix="remove the duplicate"
            )
        return resolved

    def _resolve_tool_name(self, name: str, agent: Agent) -> Iterable[Tool]:
        if name in self.tools:
            return [self.tools[name]]
        kit, _, member = name.partition(".")
        if kit in self.toolkits:
            tools = self._toolkit(kit)
            if not member or member == "*":
                return tools
            match = [t for t in tools if t.name == name]
            if match:
                return match
            known = ", ".join(t.name for t in tools)
            raise ConfigError(
                f"toolkit {kit!r} has no tool {member!r}",
                entry=f"agent {agent.name!r} ({agent.source})",
                field="tools",
                fix=did_you_mean(name, [t.name for t in tools]) + f"use one of: {known}",
            )
        names = [*self.tools, *(f"{k}.*" for k in self.toolkits)]
        known = ", ".join(names) or "(none registered)"
        raise ConfigError(
            f"unknown tool {name!r}",
            entry=f"agent {agent.name!r} ({agent.source})",
            field="tools",
            fix=did_you_mean(name, names) + f"register it first, or use one of: {known}",
        )

    def _toolkit(self, kit: str) -> list[Tool]:
        if kit not in self._toolkit_tools:
            raw = dict(self.config.settings.toolkits.get(kit, {}))
            for key, value in raw.items():
                if isinstance(value, str) and key.endswith(_PATH_KEYS):
                    raw[key] = str(self.config.resolve_path(value))
            try:
                self._toolkit_tools[kit] = list(self.toolkits[kit](raw))
            except ConfigError as exc:
                if exc.file is not None or self.config.path is None:
                    raise
                field = f"dispatcher.toolkits.{kit}" + (f".{exc.field}" if exc.field else "")
                raise ConfigError(
                    exc.reason, file=self.config.path, field=field, fix=exc.fix
                ) from None
        return self._toolkit_tools[kit]

    def configure_toolkit(self, kit: str, options: Mapping[str, Any]) -> None:
        """Override a toolkit's options for this registry (e.g. a per-run workspace root)."""
        self.config.settings.toolkits[kit] = {
            **self.config.settings.toolkits.get(kit, {}),
            **options,
        }
        self._toolkit_tools.pop(kit, None)

    def check(self) -> None:
        """Resolve every agent's model and tools, the default route and the configured
        toolkits now, so mistakes surface before a run."""
        file = self.config.path
        route = self.config.settings.default_route
        if route is not None and route not in self.agents:
            raise ConfigError(
                f"default_route {route!r} is not a registered agent",
                file=file,
                field="dispatcher.default_route",
                fix=did_you_mean(route, self.agents)
                + f"registered agents: {', '.join(self.agents) or '-'}",
            )
        router = self.config.settings.router or {}
        routes = router.get("routes") if isinstance(router, Mapping) else None
        for name in routes if isinstance(routes, Mapping) else ():
            if name not in self.agents:
                raise ConfigError(
                    f"router route {name!r} is not a registered agent",
                    file=file,
                    field=f"dispatcher.router.routes.{name}",
                    fix=did_you_mean(str(name), self.agents)
                    + f"route names are agent names: {', '.join(self.agents) or '-'}",
                )
        if self._plugins_loaded:
            for kit in self.config.settings.toolkits:
                if kit not in self.toolkits:
                    raise ConfigError(
                        f"unknown toolkit {kit!r}",
                        file=file,
                        field=f"dispatcher.toolkits.{kit}",
                        fix=did_you_mean(kit, self.toolkits)
                        + f"registered toolkits: {', '.join(self.toolkits) or '-'}",
                    )
        known = {n for t in self.tools.values() for n in (t.name, t.wire_name)}
        servers: set[str] = set()
        for agent in self.agents.values():
            self.profile_for(agent)
            names = {n for t in self.tools_for(agent) for n in (t.name, t.wire_name)}
            mine = {server.name for server in agent.mcp_configs}
            where = f"agent {agent.name!r} ({agent.source})"
            check_approval_names(agent.requires_approval, names, mine, entry=where, file=None)
            known |= names
            servers |= mine
        check_approval_names(
            self.config.settings.requires_approval,
            known,
            servers,
            entry="dispatcher",
            file=file,
            strict=False,
        )
