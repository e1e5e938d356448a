"""Foreign key sets inside our signed trust list (verifier/formats/published.py): an authority
adds EU, SMART and NZ keys with ``healthcode-issuer keys foreign``, the list it signs carries
them, ``sync`` brings them to a checkpoint that holds nothing else, and every face of the
verifier (``verify``, ``check``, the kiosk) verifies those codes with them; the published form
reads back to the same verdicts on every corpus code, and a malformed one refuses the list."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import dccmaker
import pytest
from click.testing import CliRunner
from conftest import NOW
from foreigncases import cases, verdict
from nzcppasses import DROP, set_at
from test_lifecycle import pin_of, serving
from werkzeug.serving import make_server

from issuer.cli import main as issuer_cli
from issuer.keys.home import Home, HomeError
from issuer.keys.keystore import load_config, publish_trust_list
from issuer.web import create_app
from verifier import Reason, TrustList, TrustListError, VerificationError, verify
from verifier.cli import main as verifier_cli
from verifier.formats import ForeignTrust, verify_foreign
from verifier.formats.base import combined
from verifier.formats.dcckeys import DccKeys
from verifier.formats.published import from_published, to_published
from verifier.jws import decode_jws_all
from verifier.kiosk import Rule
from verifier.kiosk.checkpoint import Checkpoint
from verifier.sync import sync

INTEROP = Path(__file__).parent / "interop"
DID = INTEROP / "nzcp" / "examples" / "valid" / "did.json"
NZ_PASS = (INTEROP / "nzcp" / "examples" / "valid" / "nzcp.txt").read_text().strip()
NZ_ISSUER = "did:web:nzcp.covid19.health.nz"
NZ_CLOCK = 1636502400  # 2021-11-10, as the NZ corpus test pins it
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"
SHC_JWKS = INTEROP / "shc" / "examples" / "issuer" / ".well-known" / "jwks.json"


# The published form -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["dcc", "shc", "nzcp"])
def test_the_published_form_gives_every_corpus_code_the_same_verdict(name):
    """Each case's keys are in the published form: read back and written again they are the
    same, and a code verified with them is verified as with the keys read from the owners'
    files (tests/foreigncases.py keeps those too)."""
    found = cases(name)
    assert len(found) == {"dcc": 485, "shc": 37, "nzcp": 8}[name]
    for case in found:
        assert to_published(from_published(case.keys)) == case.keys, case.id
        assert case.python() == verdict(case.texts, case.original, case.now), case.id


def test_the_published_form_is_far_smaller_than_the_certificates():
    dcc = [c for c in cases("dcc")][:50]
    published = sum(len(json.dumps(c.keys)) for c in dcc)
    raw = sum(len(c.original.dcc.to_json()) for c in dcc)
    assert published < raw / 2


def _dcc_member() -> dict:
    return copy.deepcopy(cases("dcc")[0].keys)


def _shc_member() -> dict:
    return copy.deepcopy(next(c.keys for c in cases("shc") if c.python()["valid"]))


def _nzcp_member() -> dict:
    return copy.deepcopy(cases("nzcp")[0].keys)


BAD = {
    "not an object": lambda: [],
    "unknown format": lambda: {"xyz": []},
    "dcc not a list": lambda: {"dcc": {}},
    "dcc entry not an object": lambda: {"dcc": ["x"]},
    "dcc kid not base64": lambda: set_at(_dcc_member(), ("dcc", 0, "kid"), "***"),
    "dcc kid of 7 bytes": lambda: set_at(_dcc_member(), ("dcc", 0, "kid"), "AAAAAAAAAA=="),
    "dcc spki not a key": lambda: set_at(_dcc_member(), ("dcc", 0, "spki"), "AAAA"),
    "dcc spki missing": lambda: set_at(_dcc_member(), ("dcc", 0, "spki"), DROP),
    "dcc country lower case": lambda: set_at(_dcc_member(), ("dcc", 0, "country"), "de"),
    "dcc unknown type": lambda: set_at(_dcc_member(), ("dcc", 0, "types"), ["passport"]),
    "dcc types not a list": lambda: set_at(_dcc_member(), ("dcc", 0, "types"), "test"),
    "dcc types of lists": lambda: set_at(_dcc_member(), ("dcc", 0, "types"), [["test"]]),
    "dcc nbf a float": lambda: set_at(_dcc_member(), ("dcc", 0, "nbf"), 1.5),
    "dcc nbf true": lambda: set_at(_dcc_member(), ("dcc", 0, "nbf"), True),
    "dcc empty window": lambda: set_at(_dcc_member(), ("dcc", 0, "exp"),
                                     _dcc_member()["dcc"][0]["nbf"]),
    "dcc too many": lambda: {"dcc": [_dcc_member()["dcc"][0]] * 20_001},
    "shc issuer not https": lambda: set_at(_shc_member(), ("shc", 0, "iss"), "http://x.example"),
    "shc no keys": lambda: set_at(_shc_member(), ("shc", 0, "keys"), []),
    "shc kid not thumbprint": lambda: set_at(_shc_member(), ("shc", 0, "keys", 0, "kid"), "abc"),
    "shc x not a point": lambda: set_at(_shc_member(), ("shc", 0, "keys", 0, "x"), "AAAA"),
    "shc crlVersion zero": lambda: set_at(_shc_member(), ("shc", 0, "keys", 0, "crlVersion"), 0),
    "shc issuer twice": lambda: {"shc": _shc_member()["shc"] * 2},
    "shc crl of another key": lambda: set_at(_shc_member(), ("shc", 0, "crls"),
                                           [{"kid": "nope", "ctr": 1, "rids": {}}]),
    "nzcp not a list": lambda: {"nzcp": {}},
    "nzcp not a did:web": lambda: set_at(_nzcp_member(), ("nzcp", 0, "id"), "did:key:x"),
    "nzcp document twice": lambda: {"nzcp": _nzcp_member()["nzcp"] * 2},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_malformed_member_is_refused_by_name(name):
    with pytest.raises(TrustListError) as caught:
        from_published(BAD[name]())
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED
    assert "foreign keys" in caught.value.detail


def test_signers_sharing_a_kid_are_all_kept_in_the_published_form():
    """The published form has no certificate to tell two signers of one kid apart: they used
    to collapse into the last one, so a code verified before publishing and not after."""
    key, der = dccmaker.dsc()
    rsa_key, rsa_der = dccmaker.dsc(dccmaker.rsa_key())
    rsa = DccKeys.from_der(rsa_der)
    impostor = DccKeys.from_der(der, kid=rsa.certificates[0].kid)
    code = dccmaker.text(dccmaker.cose(rsa_key, rsa_der, alg=dccmaker.PS256))
    for keys in (impostor.merged(rsa), rsa.merged(impostor)):
        back = from_published(to_published(ForeignTrust(dcc=keys)))
        assert len(back.dcc) == 2
        assert verify_foreign(code, back, NOW).alg == "PS256"
        again = from_published(to_published(back) | {"dcc": to_published(back)["dcc"] * 2})
        assert len(again.dcc) == 2  # an entry listed twice is one signer


def test_revocation_lists_travel_in_the_published_form():
    """The SMART example 03 is revoked by its issuer's list: so it is with the published keys."""
    revoked = [c for c in cases("shc") if c.python().get("reason") == "revoked"]
    assert revoked and all(c.keys["shc"][0]["crls"] for c in revoked)


# The issuer signs them into its list; sync carries them ------------------------------------

@pytest.fixture
def home(fresh_home) -> Home:
    """An issuer home of the test's own (conftest's fresh_home)."""
    return fresh_home


def _issuer(home, *args: str) -> object:
    return CliRunner().invoke(issuer_cli, ["keys", "foreign", "--home", str(home.root), *args])


def test_the_authority_adds_and_removes_foreign_keys(home):
    seq = load_config(home).trust_list_seq
    added = _issuer(home, "add-nzcp", str(DID))
    assert added.exit_code == 0, added.output
    assert "Trust list #" in added.output
    assert load_config(home).trust_list_seq == seq + 1
    trust = TrustList.from_jws(home.trust_list.read_bytes(), pin_of(home), NOW)
    assert trust.foreign.nzcp.issuers == (NZ_ISSUER,)
    assert verify(NZ_PASS, trust, NZ_CLOCK).issuer == NZ_ISSUER
    shc = _issuer(home, "add-shc", SHC_ISS, str(SHC_JWKS))
    assert shc.exit_code == 0, shc.output
    listed = _issuer(home, "list")
    assert NZ_ISSUER in listed.output and SHC_ISS in listed.output
    # A file refused: nothing stored, no list signed.
    seq = load_config(home).trust_list_seq
    refused = _issuer(home, "add-nzcp", str(SHC_JWKS))
    assert refused.exit_code == 2 and "trust_list_malformed" in refused.output
    assert load_config(home).trust_list_seq == seq
    # Removed: the next list no longer carries the issuer; its passes are unknown_key.
    removed = _issuer(home, "remove", "nzcp", NZ_ISSUER)
    assert removed.exit_code == 0, removed.output
    trust = TrustList.from_jws(home.trust_list.read_bytes(), pin_of(home), NOW)
    assert trust.foreign.nzcp is None and trust.foreign.shc.issuers == (SHC_ISS,)
    with pytest.raises(VerificationError) as caught:
        verify(NZ_PASS, trust, NZ_CLOCK)
    assert caught.value.reason is Reason.UNKNOWN_KEY
    assert _issuer(home, "remove", "nzcp", NZ_ISSUER).exit_code == 2  # nothing to remove


def test_a_list_without_foreign_keys_has_no_member(home):
    publish_trust_list(home, now=NOW)
    payload = json.loads(decode_jws_all(home.trust_list.read_bytes())[0].payload)
    assert "foreign" not in payload
    assert TrustList.from_jws(home.trust_list.read_bytes(), pin_of(home), NOW).foreign is None


def test_a_damaged_foreign_file_stops_the_issuer_signing(home):
    """A list that silently dropped an issuer would strand its travellers: no list then."""
    assert _issuer(home, "add-nzcp", str(DID)).exit_code == 0
    seq = load_config(home).trust_list_seq
    (stored,) = (home.keys / "foreign" / "nzcp").glob("*.json")
    stored.write_text("{")
    with pytest.raises(HomeError, match="foreign keys"):
        publish_trust_list(home)
    assert load_config(home).trust_list_seq == seq


def test_sync_carries_them_to_a_checkpoint_that_holds_nothing_else(home, tmp_path):
    assert _issuer(home, "add-nzcp", str(DID)).exit_code == 0
    checkpoint = tmp_path / "checkpoint" / "trust-list.json"
    checkpoint.parent.mkdir()
    checkpoint.with_name("anchor.pub.pem").write_bytes(home.anchor_public.read_bytes())
    app = create_app({"HOME": str(home.root), "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    try:
        with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
            report = sync([url], checkpoint)
    finally:
        app.extensions["healthcode"].close()
    assert report.ok, report.errors
    assert not (checkpoint.parent / "foreign").exists()  # nothing stored by hand
    check = CliRunner().invoke(verifier_cli, ["check", NZ_PASS, "--trust", str(checkpoint),
                                              "--at", str(NZ_CLOCK), "--json"])
    assert check.exit_code == 0, check.output
    assert json.loads(check.stdout)["format"] == "nzcp"
    kiosk = Checkpoint(checkpoint, Rule.parse("green,nzcp:any"), clock=lambda: NZ_CLOCK)
    answer = kiosk.text(NZ_PASS)
    assert answer["state"] == "admit" and answer["format"] == "nzcp"
    assert kiosk.status()["foreign"]["formats"] == ["nzcp"]


def test_an_expired_list_vouches_for_no_foreign_code(home):
    assert _issuer(home, "add-nzcp", str(DID)).exit_code == 0
    trust = TrustList.from_jws(home.trust_list.read_bytes(), pin_of(home), NOW)
    with pytest.raises(TrustListError) as caught:
        verify(NZ_PASS, trust, trust.expires_at + 1)
    assert caught.value.reason is Reason.TRUST_LIST_EXPIRED
    # Keys given for the check itself do not depend on the list.
    assert verify(NZ_PASS, trust, NZ_CLOCK, foreign=trust.foreign).issuer == NZ_ISSUER


def test_keys_added_at_a_checkpoint_are_combined_with_the_lists():
    listed = from_published(cases("nzcp")[0].keys)
    stored = from_published(cases("dcc")[0].keys)
    both = combined(listed, stored)
    assert both.nzcp is listed.nzcp and len(both.dcc) == 1
    assert combined(None, None) == ForeignTrust()
