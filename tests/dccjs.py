"""What the EU certificate's browser tests share (tests/test_formats_js_dcc*.py): a German
signer, and running calls through both verifiers (the page's fixtures: formatspage)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import dccmaker
from formatspage import clean, js_verdicts, python_verdict

from verifier.formats import ForeignTrust
from verifier.formats.dcckeys import DccKeys
from verifier.formats.published import to_published


def make_signer():
    """``(key, DSC DER, published keys)``: a German DSC for every kind, valid around NOW."""
    key, der = dccmaker.dsc()
    return key, der, published(DccKeys.from_der(der))


def published(keys: DccKeys) -> dict[str, Any]:
    return to_published(ForeignTrust(dcc=keys))


def python(texts: tuple[str, ...], keys: dict[str, Any], now: int) -> dict[str, Any]:
    return python_verdict(texts, keys, now)


def same(page, calls: Iterable[tuple[tuple[str, ...], dict[str, Any], int]]) -> Counter[str]:
    """Run ``calls`` through both verifiers: the same verdict for each (asserted), no page
    error, no request off 127.0.0.1. Returns the verdicts counted, ``valid`` or
    ``step reason``."""
    calls = list(calls)
    want = [python(*call) for call in calls]
    got = js_verdicts(page, calls)
    differ = [(call[0][0][:80], call[2], w, g)
              for call, w, g in zip(calls, want, got, strict=True) if w != g]
    assert differ == [], (len(differ), differ[:4])
    clean(page)
    return Counter("valid" if v["valid"] else f"{v['step']} {v['reason']}" for v in want)


def params(test: Any) -> list[Any]:
    """The argument values a parametrized test of tests/test_interop_dcc.py runs with."""
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return list(mark.args[1])


def signed_text(key: Any, der: bytes, payload: Any = None, **options: Any) -> str:
    return dccmaker.text(dccmaker.cose(key, der, payload, **options))
