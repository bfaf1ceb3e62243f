"""Read YAML a user wrote: safe (no objects), and a key given twice in one mapping is an error.

PyYAML keeps the last of two equal keys silently, so a second `budgets:` block, or an
`overwatch:` written twice, drops the first without a word. Merge keys (`<<: *base`) still
override as YAML means them to.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from dispatcher.errors import ConfigError

__all__ = ["load_user_yaml", "yaml_error"]


def load_user_yaml(text: str) -> Any:
    """The YAML document in `text`; yaml.YAMLError (with its mark) on bad syntax or a key
    given twice."""
    import yaml

    return yaml.load(text, Loader=_strict_loader())  # a SafeLoader subclass


@functools.cache
def _strict_loader() -> type[Any]:
    import yaml
    from yaml.constructor import ConstructorError

    # The pure-Python loader, as yaml.safe_load: its messages name the character at fault
    # (a tab), the C one's do not; config files are small.
    base: type[Any] = yaml.SafeLoader

    class _DuplicateKey(ConstructorError):
        fix = "keep one of the two (merge their contents if both are needed)"

    class StrictLoader(base):  # type: ignore[misc]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:  # an unhashable key: the base loader says so
                        continue
                    if first is not key_node:
                        raise _DuplicateKey(
                            None,
                            None,
                            f"the key {key!r} is given twice in one mapping (first at line "
                            f"{first.start_mark.line + 1}); the second would silently replace "
                            "the first",
                            key_node.start_mark,
                        )
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def yaml_error(exc: Exception, file: str | Path | None, *, what: str = "file") -> ConfigError:
    """A YAML syntax error as a ConfigError naming the file, the line and what to fix.

    PyYAML's own text names ``"<unicode string>"`` instead of the file: only its problem and
    position are kept.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    reason = f"{context}, {problem}" if context else str(problem)
    fix = getattr(exc, "fix", None) or (
        f"correct the YAML syntax{where} (indentation, a missing ':' or closing bracket, or "
        "an unquoted value containing ': ' or '#')"
    )
    return ConfigError(f"the {what} is not valid YAML{where}: {reason}", file=file, fix=fix)
