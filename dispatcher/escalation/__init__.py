"""Escalation from a worker to the overwatch."""

__all__: list[str] = []  # the public names are exported from dispatcher/__init__.py
