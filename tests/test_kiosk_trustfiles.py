"""The kiosk serves the lists it uses at the issuer's addresses (/trust/trust-list.json,
/trust/revocations, /trust/revocations/<iss>), with strong ETags and 304s, so the checkpoint app
syncs from whichever origin served it; the issuer answers /trust/revocations/<iss> alike."""

from __future__ import annotations

import pytest
from conftest import NOW
from test_lifecycle import home, service  # noqa: F401 (fixtures)

from issuer.keys.keystore import load_config, load_signing_key
from issuer.service.revocations import publish_revocations
from issuer.web import create_app as create_issuer
from verifier.kiosk import create_app
from verifier.revocation import RevocationList
from verifier.trust import TrustList


@pytest.fixture
def kiosk(home):  # noqa: F811
    app = create_app({"TRUST": home.trust_list, "DEFAULT_LOCALE": "en", "CLOCK": lambda: NOW})
    return app.test_client()


def _publish(home, service) -> bytes:  # noqa: F811
    key, config, _ = load_signing_key(home)
    return publish_revocations(home, service.store, key, config, now=NOW + 30)


def test_the_trust_list_is_the_file_with_a_strong_etag_and_a_304(kiosk, home):  # noqa: F811
    first = kiosk.get("/trust/trust-list.json")
    assert first.status_code == 200 and first.data == home.trust_list.read_bytes()
    assert first.mimetype == "application/jose+json"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "no-cache"
    again = kiosk.get("/trust/trust-list.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    TrustList.from_jws(first.data, TrustList.load(home.trust_list, now=NOW).anchor, NOW)


def test_a_new_trust_list_file_gets_a_new_etag(kiosk, home):  # noqa: F811
    etag = kiosk.get("/trust/trust-list.json").headers["ETag"]
    home.trust_list.write_bytes(home.trust_list.read_bytes() + b"\n")
    changed = kiosk.get("/trust/trust-list.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_revocations_at_both_addresses_and_404_without_them(kiosk, home, service):  # noqa: F811
    iss = load_config(home).iss
    assert kiosk.get("/trust/revocations").status_code == 404
    missing = kiosk.get(f"/trust/revocations/{iss}")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    signed = _publish(home, service)
    for path in ("/trust/revocations", f"/trust/revocations/{iss}"):
        response = kiosk.get(path)
        assert response.status_code == 200 and response.data == signed, path
        assert response.mimetype == "application/cose"
        assert kiosk.get(path, headers={"If-None-Match": response.headers["ETag"]}
                         ).status_code == 304
    trust = TrustList.load(home.trust_list, now=NOW)
    assert RevocationList.from_cose(kiosk.get("/trust/revocations").data, trust).iss == iss


@pytest.mark.parametrize("iss", ["OTHER", "..", "../trust-list.json", "a/../../b", "%2e%2e"])
def test_another_or_a_crafted_issuer_is_a_404(kiosk, home, service, iss):  # noqa: F811
    _publish(home, service)
    response = kiosk.get(f"/trust/revocations/{iss}")
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_no_trust_list_file_is_a_404(tmp_path, home):  # noqa: F811
    trust = tmp_path / "trust-list.json"
    trust.write_bytes(home.trust_list.read_bytes())
    (tmp_path / "anchor.pub.pem").write_bytes(home.anchor_public.read_bytes())
    client = create_app({"TRUST": trust, "DEFAULT_LOCALE": "en", "CLOCK": lambda: NOW}
                        ).test_client()
    trust.unlink()
    assert client.get("/trust/trust-list.json").status_code == 404
    assert client.get("/trust/revocations").status_code == 404


def test_the_issuer_answers_its_own_issuer_address_and_404_for_others(home, tmp_path):  # noqa: F811
    app = create_issuer({"HOME": str(home.root), "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    try:
        client = app.test_client()
        iss = load_config(home).iss
        own = client.get("/trust/revocations")
        by_name = client.get(f"/trust/revocations/{iss}")
        assert by_name.status_code == 200 and by_name.data == own.data
        assert by_name.headers["ETag"] == own.headers["ETag"]
        assert client.get("/trust/revocations/OTHER").status_code == 404
    finally:
        app.extensions["healthcode"].close()
