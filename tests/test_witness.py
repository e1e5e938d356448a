"""Witnesses of the public log (issue 18), on SQLite and PostgreSQL: `healthcode-verifier
witness` (a real process) checks the issuer's checkpoint against its tiles and against the last
one it cosigned, cosigns it, and sends the cosignature, which the issuer then serves with the
checkpoint; a history rewritten behind the log (even rehashed, even at the same size: a split
view) is refused, with both checkpoints printed; the issuer takes cosignatures only from the
witnesses it names."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import text
from test_public_log import delete_leaf, rewrite_leaves

from issuer.service.publiclog import WITNESSES_FILE
from verifier.tlog import LogClient
from verifier.tlog.cosignature import CosignatureVerifier
from verifier.tlog.witness import PASSPHRASE_ENV

CLI = str(Path(sys.executable).with_name("healthcode-verifier"))
ENV = {"PATH": "/usr/bin:/bin", PASSPHRASE_ENV: "a witness's own passphrase"}


def _grow(service, n: int) -> None:
    person = service.store.find_person("330106199001011234") or service.create_person(
        actor="clerk", organisation="Xihu", name="李四", id_number="330106199001011234",
        phone="+8613700000099")
    for _ in range(n):
        service.add_observation(person, actor="lab", kind="steps", value=9000,
                                observed_at=int(time.time()), source="watch")


def _witness(api, key: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    vkey = api.app.extensions["healthcode.log"].verifier.vkey
    return subprocess.run([CLI, "witness", f"{api.base}/log", "--key", str(key), "--log-key",
                           vkey, *extra], env=ENV, capture_output=True, text=True, timeout=60)


@pytest.fixture
def witnessed(api, tmp_path):
    """The issuer's log, a witness key it names, and a log of a few leaves."""
    key = tmp_path / "witness.json"
    made = subprocess.run([CLI, "witness", "--key", str(key), "--init", "court.example/w1"],
                          env=ENV, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    vkey = made.stdout.strip()
    (api.service.home.root / WITNESSES_FILE).write_text(f"# the court\n{vkey}\n")
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    _grow(api.service, 3)
    return api, key, CosignatureVerifier.from_vkey(vkey)


def _client(api, witness=None) -> LogClient:
    log = api.app.extensions["healthcode.log"]
    return LogClient(f"{api.base}/log", log.origin, [log.verifier],
                     [witness] if witness else [], 1 if witness else 0)


def test_a_witness_cosigns_and_the_log_serves_the_cosignature(witnessed):
    api, key, witness = witnessed
    first = _witness(api, key)
    assert first.returncode == 0, first.stderr
    cosigned = _client(api, witness).checkpoint()  # quorum 1: the court's cosignature
    assert list(cosigned.witnesses) == ["court.example/w1"]
    _grow(api.service, 2)
    again = _witness(api, key)
    assert again.returncode == 0, again.stderr
    assert _client(api, witness).checkpoint().checkpoint.size == cosigned.checkpoint.size + 2


def _rewrite(api, same_size: bool) -> None:
    """The operator rewrites every leaf that said red, rehashing them; for the same size,
    it also drops the checkpoints it published, so that it signs the new history afresh."""
    rewrite_leaves(api, '"kind":"steps"', '"kind":"sleep_hours"')
    if same_size:
        with api.service.store.engine.begin() as connection:
            connection.execute(text("DELETE FROM log_checkpoint"))
    else:
        _grow(api.service, 1)


@pytest.mark.parametrize(("same_size", "reason"), [(False, "inconsistent"),
                                                   (True, "split_view")])
def test_a_rewritten_history_is_refused_with_the_evidence(witnessed, same_size, reason):
    api, key, _ = witnessed
    assert _witness(api, key).returncode == 0
    state = key.with_name(key.name + ".state").read_text()
    _rewrite(api, same_size)
    refused = _witness(api, key)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"REFUSED: {reason}" in refused.stderr
    assert "--- cosigned checkpoint ---" in refused.stderr
    assert "--- shown checkpoint ---" in refused.stderr
    assert key.with_name(key.name + ".state").read_text() == state  # nothing signed


def test_leaves_rewritten_under_the_checkpoint_it_cosigned_are_refused(witnessed):
    api, key, _ = witnessed
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 3600  # the operator signs nothing new
    assert _witness(api, key).returncode == 0
    state = key.with_name(key.name + ".state").read_text()
    rewrite_leaves(api, '"kind":"steps"', '"kind":"sleep_hours"')
    refused = _witness(api, key)  # exit 2: the log's own files disagree (no signed evidence)
    assert refused.returncode == 2 and "REFUSED: bad_proof" in refused.stderr
    assert key.with_name(key.name + ".state").read_text() == state


def test_a_deleted_change_is_refused(witnessed):
    api, key, _ = witnessed
    assert _witness(api, key).returncode == 0
    delete_leaf(api, '"kind":"steps"')  # a past change taken out, the rest moved down
    refused = _witness(api, key)
    assert refused.returncode == 1 and "REFUSED: rollback" in refused.stderr
    _grow(api.service, 2)  # the shorter history grown past the size the witness cosigned
    refused = _witness(api, key)
    assert refused.returncode == 1 and "REFUSED: inconsistent" in refused.stderr


def test_the_log_takes_cosignatures_only_from_its_witnesses(witnessed, tmp_path):
    api, key, _ = witnessed
    stranger = tmp_path / "stranger.json"
    assert subprocess.run([CLI, "witness", "--key", str(stranger), "--init", "someone/else"],
                          env=ENV, capture_output=True, timeout=60).returncode == 0
    refused = _witness(api, stranger)
    assert refused.returncode == 2 and "fetch_failed" in refused.stderr
    url = f"{api.base}/log/cosignature"
    note = requests.get(f"{api.base}/log/checkpoint", timeout=10).text
    for body, problem in ((note, "unknown_key"), ("garbage", "bad_note")):
        response = requests.post(url, data=body.encode(), timeout=10)
        assert (response.status_code, response.json()["problem"]) == (400, problem)
    assert requests.post(url, data=b"x" * 70_000, timeout=10).status_code == 413
