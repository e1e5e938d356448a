"""Family codes at the checkpoint (issue 17): a dependant's live code shown on a guardian's
phone carries the family mark (docs/FORMAT.md, health key 5). The kiosk's verdict and the
command line say "family code" and nothing about whose it is; the mark is refused on a static
code. The browser's judge agrees with these verdicts (tests/test_js_verifier.py)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import NOW
from cryptography.hazmat.primitives.asymmetric import ec
from test_presentation import present

from verifier import cnf_for
from verifier.cli import main as verifier_cli
from verifier.kiosk import create_app


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def phone() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _kiosk_verdict(home, text: str, locale: str = "en") -> dict:
    client = create_app({"TRUST": home.trust_list, "RULE": "green,yellow",
                         "CLOCK": Clock(NOW + 3), "DEFAULT_LOCALE": locale}).test_client()
    response = client.post("/api/text", data=json.dumps({"text": text}),
                           content_type="application/json")
    assert response.status_code == 200
    return response.get_json()


@pytest.mark.parametrize("family", [False, True], ids=["own code", "family code"])
def test_the_kiosk_says_family_code_and_names_no_one(home, make_code, phone, family):
    code = make_code("yellow", 59, cnf=cnf_for(phone.public_key()), family=family)
    verdict = _kiosk_verdict(home, present(phone, code, NOW))
    assert (verdict["state"], verdict["colour"], verdict["score"]) == ("admit", "yellow", 59)
    assert verdict["family"] is family and verdict["static"] is False
    assert verdict["id_check"] is None  # a family code carries no personal field


def test_a_family_mark_on_a_static_code_is_refused_by_the_kiosk(home, signing):
    import cbor2

    from issuer.keys.signing import sign_cose
    from verifier.base45 import b45encode

    key, config = signing
    claims = {1: config.iss, 6: NOW, 4: NOW + 3600, 7: bytes(12),
              -65537: {1: 0, 2: 80, 5: True}}
    text = "HCC1:" + b45encode(sign_cose(key, cbor2.dumps(claims)))
    verdict = _kiosk_verdict(home, text)
    assert (verdict["state"], verdict["reason"]) == ("invalid", "invalid_claims")


def test_check_prints_family_code(home, make_code, phone):
    code = make_code("green", 80, cnf=cnf_for(phone.public_key()), family=True)
    text = present(phone, code, NOW)
    args = ["check", text, "--trust", str(home.trust_list), "--at", str(NOW + 4)]
    human = CliRunner().invoke(verifier_cli, args)
    assert human.exit_code == 0, human.output
    assert human.output.startswith("VALID  GREEN  score 80  family code (live), made 4 s ago")
    result = json.loads(CliRunner().invoke(verifier_cli, [*args, "--json"]).output)
    assert result["family"] is True and result["id_check"] is None
