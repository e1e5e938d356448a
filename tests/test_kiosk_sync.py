"""Checkpoints that keep their lists fresh by themselves (issue 13, finding 1): ``kiosk --sync
URL --every`` and ``sync --watch`` against a real issuer on 127.0.0.1; a revocation made at the
issuer is refused by a running kiosk process without anyone running ``sync``; a failing or
hostile source leaves the good files in place and the page says so in plain words; an old
revocation list is named on the page."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from conftest import DAY
from procs import free_port, get, running, script
from test_lifecycle import (  # noqa: F401 (fixtures)
    _person,
    checkpoint,
    evil_server,
    home,
    issuer_server,
    snapshot,
)

from verifier.kiosk import create_app
from verifier.sync import SYNC_STATE_FILE, sync


def kiosk_app(config):
    """A kiosk whose readers get English unless they ask otherwise (the words are asserted)."""
    return create_app({"DEFAULT_LOCALE": "en", **config})

#: How long a test waits for a background round (they run every second here).
PATIENCE = 30.0


def _post_text(url: str, text: str) -> dict:
    import urllib.request

    request = urllib.request.Request(f"{url}/api/text", data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Origin": url})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def _until(probe, done, what: str):
    """Call ``probe()`` until ``done(result)``; fail after PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while True:
        result = probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {result!r}")
        time.sleep(0.2)


def test_a_kiosk_with_sync_refuses_a_revocation_without_anyone_running_sync(
        issuer_server, checkpoint, tmp_path):  # noqa: F811
    url, app = issuer_server
    service = app.extensions["healthcode"]
    record = service.issue(_person(service), actor="t")
    port = free_port()
    kiosk = f"http://127.0.0.1:{port}"
    command = [script("healthcode-verifier"), "kiosk", "--trust", str(checkpoint), "--port",
               str(port), "--rule", "green,yellow,red", "--sync", url, "--every", "1s",
               "--lang", "en"]
    with running(command, f"{kiosk}/api/status", log=tmp_path / "kiosk.log"):
        # The kiosk started with nothing but the pinned anchor: its first round brings the lists.
        verdict = _until(lambda: _post_text(kiosk, record["text"]),
                         lambda v: v["state"] == "admit", "the first background sync")
        service.store.revoke(record["cti"], actor="t", reason="test corrected")
        verdict = _until(lambda: _post_text(kiosk, record["text"]),
                         lambda v: v["state"] != "admit", "the revocation reaching the kiosk")
        assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
        status = json.loads(get(f"{kiosk}/api/status")[1])
        assert status["sync"]["last_sync"] and status["sync"]["urls"] == [url]
        assert status["sync"]["background"]["ok"] and status["sync"]["warning"] is None
        assert status["revocations"]["lists"][0]["entries"] == 1
        page = get(f"{kiosk}/")[1].decode()
        assert "Synced" in page and "every 1s" in page


def test_sync_watch_keeps_syncing_until_stopped(issuer_server, checkpoint, tmp_path):  # noqa: F811
    url, app = issuer_server
    service = app.extensions["healthcode"]
    record = service.issue(_person(service), actor="t")
    command = [script("healthcode-verifier"), "sync", url, "--trust", str(checkpoint),
               "--watch", "--every", "1s", "--json"]
    log = tmp_path / "watch.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        def revoked_rounds() -> list[dict]:
            rounds = [json.loads(line) for line in log.read_text().splitlines() if line]
            return [r for r in rounds if r["ok"] and r["revocations"] == {"HZ": "updated"}]

        _until(revoked_rounds, lambda r: len(r) >= 1, "the first round")
        service.store.revoke(record["cti"], actor="t", reason="error")
        _until(revoked_rounds, lambda r: len(r) >= 2, "a round bringing the revocation")
        assert process.poll() is None  # still watching
    finally:
        process.terminate()
        process.wait(10)
    from verifier import Revocations, TrustList

    trust = TrustList.load(checkpoint)
    assert Revocations.load_dir(checkpoint.parent, trust)[0].is_revoked(
        "HZ", bytes.fromhex(record["cti"]))


def test_background_sync_from_a_bad_source_keeps_the_good_files_and_says_so(
        issuer_server, checkpoint, evil_server, home):  # noqa: F811
    url, app = issuer_server
    service = app.extensions["healthcode"]
    record = service.issue(_person(service), actor="t")
    service.store.revoke(record["cti"], actor="t", reason="error")
    assert sync([url], checkpoint).ok
    before = snapshot(checkpoint.parent)
    evil_url, handler = evil_server
    handler.mode = "corrupt"
    handler.bodies.update({"/trust/trust-list.json": home.trust_list.read_bytes(),
                           "/trust/revocations": b"\xd2" + b"\x00" * 200})
    app = kiosk_app({"TRUST": checkpoint, "RULE": "green,yellow,red", "SYNC": [evil_url],
                     "SYNC_EVERY": 1})
    background = app.extensions["checkpoint"].background
    try:
        client = app.test_client()
        status = _until(lambda: client.get("/api/status").get_json(),
                        lambda s: s["sync"]["background"]["last_attempt"], "a round")
        assert status["sync"]["background"]["ok"] is False
        assert "failed" in status["sync"]["warning"] and "kept" in status["sync"]["warning"]
        assert "failed" in client.get("/").get_data(as_text=True)
        verdict = client.post("/api/text", json={"text": record["text"]}).get_json()
        assert (verdict["state"], verdict["reason"]) == ("invalid", "revoked")
    finally:
        background.stop(10)
    assert snapshot(checkpoint.parent) == before


def test_an_old_revocation_list_is_named_on_the_page(issuer_server, checkpoint):  # noqa: F811
    url, _ = issuer_server
    assert sync([url], checkpoint).ok
    state = json.loads((checkpoint.parent / SYNC_STATE_FILE).read_bytes())
    assert set(state["checked"]) == {"HZ"}
    fresh = kiosk_app({"TRUST": checkpoint}).test_client().get("/api/status").get_json()
    assert fresh["revocations"]["warning"] is None
    assert fresh["revocations"]["lists"][0]["stale"] is False
    # Two hours without a sync confirming it: older than the default limit of an hour.
    later = kiosk_app({"TRUST": checkpoint, "CLOCK": lambda: time.time() + 2 * 3600})
    status = later.test_client().get("/api/status").get_json()
    warning = status["revocations"]["warning"]
    assert status["revocations"]["lists"][0]["stale"] is True
    assert "old" in warning and "limit is 1h" in warning and "still pass here" in warning
    assert warning in later.test_client().get("/").get_data(as_text=True)
    # The limit is the kiosk's to set.
    lenient = kiosk_app({"TRUST": checkpoint, "CLOCK": lambda: time.time() + 2 * 3600,
                         "MAX_REVOCATION_AGE": DAY})
    assert lenient.test_client().get("/api/status").get_json()["revocations"]["warning"] is None
