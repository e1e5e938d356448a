"""Delivery of one-time sign-in codes: pluggable, because every deployment has its own SMS
gateway.

The default, :class:`LogSender`, writes the code to the server log (for development and for
the demo: whoever runs the server reads it there). To send real text messages, write a class
with a ``send(phone, code)`` method that calls your gateway, and name it in the
``HEALTHCODE_CODE_SENDER`` setting as ``module:Class`` (README, "Sign-in codes by SMS").
``send`` may raise :class:`SendError`; the page then says the code could not be sent.
"""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

log = logging.getLogger("healthcode.signin")


class SendError(Exception):
    """The code could not be delivered (the gateway refused or is down)."""


class CodeSender(Protocol):
    """Sends a sign-in code to a phone number."""

    def send(self, phone: str, code: str) -> None: ...


class LogSender:
    """Writes the code to the server log; only the last digits of the number are logged."""

    def send(self, phone: str, code: str) -> None:
        log.warning("sign-in code for the phone number ending %s: %s", phone[-4:], code)


def load_sender(spec: str | CodeSender | None) -> CodeSender:
    """Return the sender ``spec`` names (``module:Class``, instantiated without arguments),
    ``spec`` itself if it is already a sender, or a :class:`LogSender` for None/"log".

    Raises ``ValueError`` for a spec that does not name a class with a ``send`` method.
    """
    if spec is None or spec == "log":
        return LogSender()
    if not isinstance(spec, str):
        return spec
    module_name, _, attr = spec.partition(":")
    try:
        sender = getattr(importlib.import_module(module_name), attr)()
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise ValueError(f"HEALTHCODE_CODE_SENDER={spec!r}: {exc}") from None
    if not callable(getattr(sender, "send", None)):
        raise ValueError(f"HEALTHCODE_CODE_SENDER={spec!r} has no send(phone, code) method")
    return sender
