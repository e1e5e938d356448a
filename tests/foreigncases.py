"""Every corpus code of the three foreign formats as one list of cases, for checking another
verifier (the browser's) against the Python one: each case is a QR text, the keys a checkpoint
holds for it (in the form our trust list carries them: verifier/formats/published.py), the
clock pinned for it, and what Python's :func:`~verifier.formats.verify_foreign` says.

- EU: every case of tests/interop/dcc that has a QR text and a usable certificate;
- SMART: every card of tests/interop/shc's cases that is a QR text, a JWS or a health card
  file (a JWS is made the QR text a wallet would show, ``shc:/`` and its digits);
- NZ: every example of tests/interop/nzcp, under the examples' issuer.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import shccards
import test_interop_dcc as dcc_corpus
import test_interop_nzcp as nzcp_corpus
import test_interop_shc as shc_corpus

from verifier.errors import HealthCodeError
from verifier.formats import ForeignTrust, shc, verify_foreign
from verifier.formats.dcckeys import DccKeys
from verifier.formats.nzcpdid import NzcpIssuers
from verifier.formats.published import to_published


@dataclass(frozen=True)
class Case:
    id: str
    format: str
    #: The QR texts: one, or a SMART card's chunks (joined with ``join_chunks`` first).
    texts: tuple[str, ...]
    #: The keys, as a trust list's ``foreign`` member.
    keys: dict[str, Any]
    now: int
    #: The same keys as read from their owners' files.
    original: ForeignTrust = field(compare=False, repr=False, default=None)

    @property
    def trust(self) -> ForeignTrust:
        from verifier.formats.published import from_published
        return from_published(self.keys)

    def python(self) -> dict[str, Any]:
        """Python's verdict: ``{"valid": True, "code": ForeignCode.as_dict()}`` or
        ``{"valid": False, "reason": ..., "step": ...}``."""
        return verdict(self.texts, self.trust, self.now)


def verdict(texts: tuple[str, ...], trust: ForeignTrust, now: int) -> dict[str, Any]:
    try:
        text = texts[0] if len(texts) == 1 else shc.join_chunks(list(texts))
        code = verify_foreign(text, trust, now)
    except HealthCodeError as exc:
        return {"valid": False, "reason": exc.reason.value, "step": exc.context.get("step")}
    return {"valid": True, "code": json.loads(json.dumps(code.as_dict()))}


def _dcc() -> list[Case]:
    found = []
    for name in dcc_corpus.CASES:
        case = json.loads((dcc_corpus.CORPUS / name).read_text(encoding="utf-8"))
        context, text = case.get("TESTCTX", {}), case.get("PREFIX")
        if not isinstance(text, str) or not context.get("CERTIFICATE"):
            continue
        try:
            keys = DccKeys.from_der(base64.b64decode(context["CERTIFICATE"]))
        except HealthCodeError:
            continue
        now = dcc_corpus._epoch(context["VALIDATIONCLOCK"])
        found.append(Case(f"dcc:{name}", "dcc", (text,), to_published(ForeignTrust(dcc=keys)), now,
                          ForeignTrust(dcc=keys)))
    return found


def _shc() -> list[Case]:
    found, seen = [], set()
    for case in shc_corpus.CASES:
        if case.kind not in ("qrnumeric", "jws", "healthcard", "fhirbundle"):
            continue
        try:
            original = ForeignTrust(shc=shc_corpus.trusted(case.trust))
            keys = to_published(original)
            if case.kind == "qrnumeric":
                texts = [shc_corpus._read(name) for name in case.files]
                codes = [tuple(texts)]
            else:
                codes = [(shccards.qr(jws),) for name in case.files for jws in
                         ([shc_corpus._read(name)] if case.kind == "jws"
                          else shc_corpus._jws_in(case, name))]
        except (HealthCodeError, ValueError, KeyError, TypeError):
            continue
        for index, texts in enumerate(codes):
            if (texts, case.clock) in seen:
                continue
            seen.add((texts, case.clock))
            found.append(Case(f"shc:{shccards.case_id(case.title)}:{index}", "shc", texts,
                              keys, case.clock, original))
    return found


def _nzcp() -> list[Case]:
    issuer = NzcpIssuers.load(nzcp_corpus.EXAMPLES / "valid" / "did.json")
    keys = to_published(ForeignTrust(nzcp=issuer))
    return [Case(f"nzcp:{name}", "nzcp", (nzcp_corpus.qr_text(stem).strip(),), keys,
                 nzcp_corpus.PINNED, ForeignTrust(nzcp=issuer))
            for name, (stem, _, _) in nzcp_corpus.CASES.items()]


@cache
def cases(format_: str | None = None) -> tuple[Case, ...]:
    """The cases of one format (``dcc``, ``shc``, ``nzcp``), or of all three."""
    makers = {"dcc": _dcc, "shc": _shc, "nzcp": _nzcp}
    names = [format_] if format_ else list(makers)
    return tuple(case for name in names for case in makers[name]())
