"""trace."""

__all__: list[str] = []  # the public names are exported from dispatcher/__init__.py
