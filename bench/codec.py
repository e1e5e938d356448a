"""Base45: the verifier's hand-written codec against the PyPI ``base45`` package.

This is the evidence for keeping a hand-written codec on the verify hot path. The input is 144
random bytes (216 characters), about the size of a credential's COSE message.
"""

from __future__ import annotations

import random

import base45

from verifier.base45 import b45decode, b45encode

from . import report
from .timing import Settings, compare
from .verify_text import raw_es256_verify

INPUT_BYTES = 144
_SEED = 9285


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for Base45."""
    data = random.Random(_SEED).randbytes(INPUT_BYTES)
    text = b45encode(data)
    # Same answers first: a fast wrong codec would prove nothing.
    assert base45.b45encode(data) == text.encode("ascii")
    assert b45decode(text) == base45.b45decode(text) == data
    decode = compare(lambda: base45.b45decode(text), lambda: b45decode(text), settings)
    encode = compare(lambda: base45.b45encode(data), lambda: b45encode(data), settings)
    crypto = raw_es256_verify(settings)
    rows = [
        [f"decode ({len(text)} chars → {INPUT_BYTES} bytes)", report.stats_us(decode.baseline),
         report.stats_us(decode.candidate), report.ratios(decode),
         f"{decode.baseline.median / crypto:.0%}", f"{decode.candidate.median / crypto:.0%}"],
        [f"encode ({INPUT_BYTES} bytes → {len(text)} chars)", report.stats_us(encode.baseline),
         report.stats_us(encode.candidate), report.ratios(encode),
         f"{encode.baseline.median / crypto:.0%}", f"{encode.candidate.median / crypto:.0%}"],
    ]
    body = "\n".join([
        "### 3. Base45: `verifier.base45` vs the `base45` package",
        "",
        f"Speed-up = package time / our time (interleaved rounds). The last two columns put "
        f"each codec next to one raw ES256 verify timed in this run "
        f"({report.us(crypto)} µs).",
        "",
        report.table(["operation", "`base45` package µs, median (min)",
                      "`verifier.base45` µs, median (min)", "speed-up, median (min/min)",
                      "package / ES256 verify", "ours / ES256 verify"], rows),
        "",
        "(The package's `b45encode` returns `bytes`, ours `str`; outputs are checked equal.)",
    ])
    return report.Section(body, [
        [f"Base45 decode, {INPUT_BYTES} bytes: ours vs `base45` package",
         f"{report.ratios(decode)} × faster", ""],
        [f"Base45 encode, {INPUT_BYTES} bytes: ours vs `base45` package",
         f"{report.ratios(encode)} × faster", ""],
    ])
