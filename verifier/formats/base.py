"""What the three foreign formats share: the result (:class:`ForeignCode`), the keys a
checkpoint holds for them (:class:`ForeignTrust`), and the dispatch by prefix.

Each format is a module (``dcc``, ``shc``, ``nzcp``) with ``PREFIXES`` (the text prefixes it
reads, matched case-sensitively as the format's own readers do, after stripping surrounding
whitespace), a key-set class, and ``verify(text, keys, now) -> ForeignCode``, which raises
:class:`~verifier.errors.VerificationError` with ``context["format"]`` set (and ``step``: the
stage that refused it, e.g. ``decode``, ``signature``, ``expiry``, ``key_usage``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import Reason, VerificationError

#: Each format's name, its module, and the prefixes it reads (the detection table).
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "dcc": ("verifier.formats.dcc", ("HC1:",)),
    "shc": ("verifier.formats.shc", ("shc:/",)),
    "nzcp": ("verifier.formats.nzcp", ("NZCP:/",)),
}


@dataclass(frozen=True)
class Holder:
    """Who a foreign code names, as the code writes it (shown, never stored or logged)."""

    name: str
    #: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as the code has it ("" when it has none).
    birth_date: str


@dataclass(frozen=True)
class ForeignCode:
    """A verified foreign code: what a checkpoint shows and decides on."""

    #: ``dcc``, ``shc`` or ``nzcp``.
    format: str
    #: Who signed it: the issuing country (DCC), the ``iss`` URL (SHC), the issuer's DID (NZCP).
    issuer: str
    #: ISO 3166-1 alpha-2 of the issuing country when the format says it (else None).
    country: str | None
    #: What it certifies: DCC ``vaccination``, ``test`` or ``recovery``; SHC
    #: ``immunization``, ``laboratory`` (or another FHIR resource kind); NZCP ``pass``.
    kind: str
    holder: Holder
    issued_at: int | None
    not_before: int | None
    expires_at: int | None
    #: The key that signed it, as the format names keys (DCC kid base64, SHC thumbprint, NZCP
    #: the DID URL's fragment), and its algorithm (``ES256``, ``PS256``).
    kid: str
    alg: str
    #: What the checkpoint shows beside the verdict, machine names and values: e.g.
    #: ``(("dose", "2/2"), ("product", "EU/1/20/1528"), ("date", "2021-06-01"))``.
    shows: tuple[tuple[str, str], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "issuer": self.issuer, "country": self.country,
                "kind": self.kind, "holder": {"name": self.holder.name,
                                              "birth_date": self.holder.birth_date},
                "issued_at": self.issued_at, "not_before": self.not_before,
                "expires_at": self.expires_at, "kid": self.kid, "alg": self.alg,
                "shows": dict(self.shows)}


@dataclass
class ForeignTrust:
    """The keys a checkpoint holds for foreign codes, one key set per format (None: that
    format's codes are all ``unknown_key``). The classes are each format module's."""

    dcc: Any = None
    shc: Any = None
    nzcp: Any = None

    def add(self, name: str, keys: Any) -> None:
        """Hold ``keys`` for format ``name`` beside those held (each key set's ``merged``:
        the newer wins where both name one issuer)."""
        held = getattr(self, name)
        setattr(self, name, keys if held is None else held.merged(keys))


def combined(*sets: ForeignTrust | None) -> ForeignTrust:
    """One :class:`ForeignTrust` holding the keys of all ``sets`` (None: none), a later set's
    winning where two name one issuer (see :meth:`ForeignTrust.add`). A checkpoint combines
    what its trust list carries with what its operator added there (``trust add-*``), in that
    order: the keys added by hand at a checkpoint are the later word. Raises
    :class:`~verifier.errors.RevocationListError` (``revocation_list_rollback``) where a later
    set holds an older SMART revocation list than an earlier one."""
    together = ForeignTrust()
    for held in sets:
        for name in FORMATS:
            keys = getattr(held, name) if held is not None else None
            if keys is not None:
                together.add(name, keys)
    return together


def detect(text: object) -> str | None:
    """The format of ``text`` by its prefix (``dcc``, ``shc``, ``nzcp``), or None (ours, or
    not a code)."""
    if not isinstance(text, str):
        return None
    stripped = text.strip()
    for name, (_, prefixes) in FORMATS.items():
        if stripped.startswith(prefixes):
            return name
    return None


def verify_foreign(text: str, trust: ForeignTrust, now: int) -> ForeignCode:
    """Verify a foreign code at ``now`` (epoch seconds). Raises
    :class:`~verifier.errors.VerificationError` (``malformed`` for a text of no foreign
    format)."""
    name = detect(text)
    if name is None:
        raise VerificationError(Reason.MALFORMED, "not a code of a foreign format",
                                format=None, step="detect")
    module = importlib.import_module(FORMATS[name][0])
    return module.verify(text.strip(), getattr(trust, name), now)
