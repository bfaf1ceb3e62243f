"""The `dispatcher` command line."""

from dispatcher.cli.app import main

__all__ = ["main"]
