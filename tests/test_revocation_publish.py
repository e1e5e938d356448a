"""The published revocation list with several ``healthcode-issuer serve`` processes on one
database (issue 13): the same list for the same state from every process, a revocation on
the next request to any of them, and a verifier that syncs from one then another never fails.
Real server processes on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pytest
from click.testing import CliRunner
from conftest import TEST_PASSPHRASE
from procs import get, issuer_serve

from issuer.keys.home import Home
from issuer.service.issuance import IssuerService
from verifier import RevocationList, TrustList
from verifier.cli import main as verifier_cli
from verifier.sync import sync


@pytest.fixture
def home(fresh_home) -> Home:
    """An issuer home of the test's own (conftest's fresh_home)."""
    return fresh_home


@pytest.fixture
def service(home, db_url):
    """The service opened in the test (it migrates the schema before the servers start)."""
    service = IssuerService.open(home, db_url)
    yield service
    service.close()


def _revoke(url: str, token: str, cti: str) -> int:
    request = urllib.request.Request(f"{url}/api/credentials/{cti}/revoke", method="POST",
                                     data=json.dumps({"reason": "test corrected"}).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return response.status


def _check(text: str, trust_path) -> str | None:
    out = CliRunner().invoke(verifier_cli, ["check", text, "--trust", str(trust_path), "--json"])
    return json.loads(out.stdout)["reason"]


def test_every_serve_process_publishes_the_same_list_at_once(home, service, db_url, tmp_path):
    person = service.create_person(actor="t", name="A", id_number="X1", phone="13700000001",
                                   organisation="O")
    first, second = (service.issue(person, actor="t") for _ in range(2))
    token = service.create_token("write", "lab", 0)[1]
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    shutil.copy(home.anchor_public, folder / "anchor.pub.pem")
    trust_path = folder / "trust-list.json"
    with issuer_serve(home.root, db_url, TEST_PASSPHRASE, tmp_path / "a.log") as a, \
            issuer_serve(home.root, db_url, TEST_PASSPHRASE, tmp_path / "b.log") as b:

        def lists() -> tuple[bytes, bytes]:
            (status_a, body_a, _), (status_b, body_b, _) = (
                get(f"{url}/trust/revocations") for url in (a, b))
            assert status_a == status_b == 200
            return body_a, body_b

        from_a, from_b = lists()
        assert from_a == from_b  # the same state: the same bytes, whichever process signs
        for url in (a, b, a):
            report = sync([url], trust_path)
            assert report.ok, report.as_dict()
        assert _check(first["text"], trust_path) is None
        # Revoked through B: the next request to A serves it, and so does B, identically.
        assert _revoke(b, token, first["cti"]) == 200
        from_a, from_b = lists()
        assert from_a == from_b
        trust = TrustList.load(trust_path)
        assert bytes.fromhex(first["cti"]) in RevocationList.from_cose(from_a, trust)
        report = sync([a], trust_path)
        assert report.ok and report.revocations == {"HZ": "updated"}, report.as_dict()
        assert _check(first["text"], trust_path) == "revoked"
        assert sync([b], trust_path).ok
        # Revoked by another writer altogether (the CLI, another host): B has it at once.
        service.store.revoke(second["cti"], actor="cli", reason="error")
        report = sync([b], trust_path)
        assert report.ok and report.revocations == {"HZ": "updated"}, report.as_dict()
        assert _check(second["text"], trust_path) == "revoked"
        assert sync([a], trust_path).ok
        assert lists()[0] == lists()[1]
