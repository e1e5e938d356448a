"""`python -m bench foreign` runs (quick settings): each corpus's valid code verifies through
`verify()` and is timed against the raw signature check of its algorithm."""

from __future__ import annotations

from bench import foreign
from bench.timing import Settings


def test_each_format_is_timed_against_its_signature_check():
    section = foreign.run(Settings.quick())
    assert [row[0] for row in section.summary] == [
        "verify: EU DCC (`HC1:`), ES256", "verify: EU DCC (`HC1:`), PS256, RSA 2048",
        "verify: SMART Health Card (`shc:/`), ES256", "verify: NZ COVID Pass (`NZCP:/`), ES256"]
    for _, rate, note in section.summary:
        assert int(rate.replace(",", "")) > 0 and note.endswith("of the raw signature check")
