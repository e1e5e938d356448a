"""`python -m bench js-foreign`'s inputs (the browser run itself is the bench's): the member it
loads is a trust list's `foreign` member Python accepts, as large as the bench says, its bare
imports one per key, and each code valid with the member's keys."""

from __future__ import annotations

from bench import js_foreign
from bench.timing import Settings
from verifier import verify
from verifier.formats.published import from_published


def test_the_member_is_a_trust_list_member_holding_every_code_key():
    args = js_foreign.inputs(Settings.quick())
    trust = from_published(args["member"])
    assert len(trust.dcc) == js_foreign.SIGNERS + 2  # the two EU corpus codes' signers
    rsa = sum(kind == "RSA" for _, _, kind in args["imports"])
    assert rsa == js_foreign.SIGNERS * js_foreign.RSA_SHARE + 1  # and the PS256 code's
    keys = sum(len(issuer["keys"]) for issuer in args["member"]["shc"]) + len(trust.dcc) + 1
    assert len(args["imports"]) == keys
    for case in args["cases"]:
        assert verify(case["text"], None, case["now"], foreign=trust).format in (
            "dcc", "shc", "nzcp")
