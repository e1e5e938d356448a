"""``healthcode-issuer``: the command line."""

from .codes import main

__all__ = ["main"]
