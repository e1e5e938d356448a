"""Codes of other formats, read by the same checkpoint as ours: the EU Digital COVID
Certificate (``HC1:``, :mod:`.dcc`), SMART Health Cards (``shc:/``, :mod:`.shc`) and the NZ
COVID Pass (``NZCP:/``, :mod:`.nzcp`).

One interface for the three: :func:`detect` recognises a text's format by its prefix;
:func:`verify_foreign` decodes it, finds the key in :class:`ForeignTrust` (offline: the keys
their owners publish, loaded beforehand), verifies the signature, checks the times and returns
a :class:`ForeignCode`, or raises :class:`~verifier.errors.VerificationError` with a reason
from the verifier's one list (:class:`~verifier.errors.Reason`) and ``context["format"]``.

A foreign code names its holder (name and date of birth, for the checkpoint to compare with an
identity document): :class:`ForeignCode` holds them for the screen only; nothing here logs or
stores them.
"""

from __future__ import annotations

from .base import FORMATS, ForeignCode, ForeignTrust, Holder, detect, verify_foreign

__all__ = ["FORMATS", "ForeignCode", "ForeignTrust", "Holder", "detect", "verify_foreign"]
