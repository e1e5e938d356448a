"""The monitor (issue 18): `healthcode-verifier monitor` verifies a real issuer's whole log (on
SQLite and PostgreSQL) and counts what its leaves say; flags a spike of red changes and red
changes no test result accounts for; with --state, catches a history rewritten in the database
(a split view at the same size, an inconsistent one once the log grew); refuses hostile logs
(served by `python -m http.server` or a socket that speaks garbage) with a reason, never a
traceback; writes a self-contained bilingual HTML report."""

from __future__ import annotations

import itertools
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text
from test_public_log import delete_leaf, rewrite_leaves

from issuer.store.db import LogLeaf
from verifier.cli import main
from verifier.i18n import zone
from verifier.tlog import Checkpoint, Ed25519Signer, build_bundles, build_tiles, sign_checkpoint
from verifier.tlog.merkle import leaf_hash, root_hash
from verifier.tlog.monitor import MonitorError, Tally, read_leaf
from verifier.tlog.monitorwalk import check_history

NOW = int(time.time())
_SERIAL = itertools.count()
ORIGIN = "monitor.test/log"


def _monitor(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["monitor", *args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def _vkey(api) -> str:
    with urllib.request.urlopen(f"{api.base}/log/key", timeout=10) as response:  # noqa: S310
        return response.read().decode().strip()


def _people(service, count: int, actor: str = "lab", positive: bool = True) -> None:
    for _ in range(count):
        n = next(_SERIAL)
        id_number = f"3301061990010{n:04d}X"
        service.create_person(actor="clerk", organisation="Xihu", name=f"测试{n}",
                              id_number=id_number, phone=f"+86137{n:08d}")
        person = service.store.find_person(id_number)
        service.add_observation(person, actor=actor, kind="test_result",
                                value="positive" if positive else "negative",
                                observed_at=NOW - 60, source="Xihu lab")


def _stored(service) -> list[dict]:
    with service.store.reading() as session:
        return [json.loads(row.data) for row in session.query(LogLeaf).order_by(LogLeaf.idx)]


def test_the_monitor_verifies_a_real_log_and_counts_its_leaves(api, tmp_path):
    _people(api.service, 3)
    _people(api.service, 1, actor="t-other-lab", positive=False)
    code, result = _monitor(f"{api.base}/log", "--log-key", _vkey(api))
    leaves = _stored(api.service)
    assert code == 0 and result["ok"], result
    assert result["leaves"] == result["size"] == len(leaves) >= 5
    counted = Counter()
    for row in result["days"]:
        key = (row["action"], row["actor"], row["why"], row["from"], row["to"])
        counted[key] += row["count"]
    expected = Counter((b["a"], b["by"], b.get("why"),
                        b.get("from") if b["a"] == "colour.change" else None,
                        b.get("to") if b["a"] == "colour.change" else None) for b in leaves)
    assert counted == expected
    assert counted[("colour.change", "lab", "rescored", "green", "red")] == 3
    assert result["flagged"] == {}


def test_a_spike_of_red_changes_by_one_actor_is_flagged(api):
    _people(api.service, 4)
    code, result = _monitor(f"{api.base}/log", "--log-key", _vkey(api),
                            "--max-red-per-hour", "3")
    assert code == 1 and result["flagged"] == {"red_spike": 1}
    [spike] = result["findings"]
    assert (spike["kind"], spike["actor"], spike["count"], spike["limit"]) == \
        ("red_spike", "lab", 4, 3)
    assert _monitor(f"{api.base}/log", "--log-key", _vkey(api))[0] == 0


def _rewrite(api) -> None:
    """Every leaf rewritten and rehashed in the database: red now says green."""
    rewrite_leaves(api, '"to":"red"', '"to":"green"')


def test_a_history_rewritten_in_the_database_is_caught_on_the_next_run(api, tmp_path):
    state, log, key = tmp_path / "monitor.json", f"{api.base}/log", _vkey(api)
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0  # a new checkpoint as soon as it grows
    _people(api.service, 2)
    assert _monitor(log, "--log-key", key, "--state", str(state))[0] == 0
    kept = json.loads(state.read_text())
    _rewrite(api)
    # The checkpoint the log published says otherwise than its rewritten tiles.
    code, result = _monitor(log, "--log-key", key, "--state", str(state))
    assert (code, result["reason"]) == (3, "bad_proof")
    with api.service.store.engine.begin() as connection:  # so the operator signs it afresh
        connection.execute(text("DELETE FROM log_checkpoint"))
    code, result = _monitor(log, "--log-key", key, "--state", str(state))
    assert (code, result["reason"]) == (3, "split_view")
    assert result["kept"] == kept["note"] and result["served"] != kept["note"]
    assert json.loads(state.read_text()) == kept  # the evidence is kept, not overwritten
    _people(api.service, 1, positive=False)  # the log grows over the rewritten history
    code, result = _monitor(log, "--log-key", key, "--state", str(state))
    assert (code, result["reason"]) == (3, "inconsistent") and result["proof"]
    text_run = CliRunner().invoke(main, ["monitor", log, "--log-key", key, "--state", str(state)])
    assert text_run.exit_code == 3 and "REFUSED (inconsistent)" in text_run.output
    assert "Traceback" not in text_run.output and kept["note"].splitlines()[2] in text_run.output


def test_a_colour_change_deleted_from_the_database_is_caught(api, tmp_path):
    state, log, key = tmp_path / "monitor.json", f"{api.base}/log", _vkey(api)
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    _people(api.service, 2)
    assert _monitor(log, "--log-key", key, "--state", str(state))[0] == 0
    delete_leaf(api, '"to":"red"')  # one red never happened; the shorter log is re-signed
    assert _monitor(log, "--log-key", key, "--state", str(state))[1]["reason"] == "rolled_back"
    _people(api.service, 2, positive=False)  # and once it has grown past what was seen
    code, result = _monitor(log, "--log-key", key, "--state", str(state))
    assert (code, result["reason"]) == (3, "inconsistent") and result["proof"]


def test_the_html_report_is_self_contained_and_bilingual(api, tmp_path):
    _people(api.service, 2)
    page = tmp_path / "report.html"
    code, _ = _monitor(f"{api.base}/log", "--log-key", _vkey(api), "--html", str(page))
    html = page.read_text(encoding="utf-8")
    assert code == 0 and html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
    assert "<svg" in html and "<rect" in html
    assert "公开日志监测报告" in html and "Public log monitor report" in html
    assert re.findall(r"<script|<link|<img|src=|href=|@import|url\(", html) == []


# A log made by hand, signed by a test key, served by python -m http.server.

def _leaf(t: int, a: str, by: str, **more) -> bytes:
    return json.dumps({"v": 1, "t": t, "a": a, "by": by, **more}, sort_keys=True,
                      separators=(",", ":")).encode()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mirrors(tmp_path_factory):
    """``(folder, base URL)``: a folder served by python -m http.server on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("mirrors")
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base, timeout=1).close()  # noqa: S310
            break
        except OSError:
            time.sleep(0.05)
    yield folder, base
    server.terminate()
    server.wait(10)


SIGNER = Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.generate())


def _publish(mirrors, name: str, entries: list[bytes], root: bytes | None = None) -> str:
    folder, base = mirrors
    hashes = [leaf_hash(e) for e in entries]
    files = {t.path: data for t, data in {**build_tiles(hashes), **build_bundles(entries)}.items()}
    files["checkpoint"] = sign_checkpoint(
        Checkpoint(ORIGIN, len(entries), root or root_hash(hashes)), [SIGNER]).encode()
    for path, data in files.items():
        (folder / name / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / name / path).write_bytes(data)
    return f"{base}/{name}"


def test_red_changes_no_test_result_accounts_for_are_flagged(mirrors):
    t = NOW - 7200 - NOW % 3600
    entries = [_leaf(t, "observation.add", "lab", kind="test_result", why="recorded"),
               _leaf(t, "colour.change", "lab", why="rescored", **{"from": "green", "to": "red"}),
               _leaf(t + 5, "colour.change", "t-ops", why="rescored",
                     **{"from": "green", "to": "red"}),
               _leaf(t + 9, "colour.change", "t-ops", why="rescored",
                     **{"from": "yellow", "to": "red"})]
    code, result = _monitor(_publish(mirrors, "unexplained", entries), "--log-key",
                            SIGNER.verifier.vkey)
    assert code == 1 and result["flagged"] == {"red_without_test": 1}
    assert [(f["actor"], f["count"], f["limit"]) for f in result["findings"]] == \
        [("t-ops", 2, 0)]


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


GOOD = [_leaf(NOW - 100 + i, "observation.add", "lab", kind="steps", why="recorded")
        for i in range(300)]


@pytest.mark.parametrize(("case", "reason"), [
    ("non_json", "bad_leaf"), ("huge_time", "bad_leaf"), ("huge_int", "bad_leaf"),
    ("control_chars", "bad_leaf"), ("not_an_object", "bad_leaf"),
    ("garbage_tile", "bad_tile"), ("oversized_tile", "fetch_failed"),
    ("bundle_mismatch", "bad_tile"), ("garbage_checkpoint", "bad_note"),
    ("oversized_checkpoint", "fetch_failed"),
    ("wrong_root", "bad_proof"), ("leaves_off_the_signed_root", "bad_proof"),
    ("missing_bundle", "fetch_failed"),
])
def test_a_hostile_log_is_refused_with_a_reason(mirrors, case, reason):
    entries = list(GOOD)
    bad = {"non_json": b"\xff{not json", "huge_time": _leaf(10**30, "a", "b"),
           "huge_int": b'{"v":1,"t":' + b"9" * 5000 + b',"a":"x","by":"y"}',
           "control_chars": _leaf(NOW, "colour.change", "\x1b[31mlab"),
           "not_an_object": b"[1,2,3]"}
    if case in bad:
        entries[7] = bad[case]
    url = _publish(mirrors, case, entries,
                   root=b"\x00" * 32 if case == "wrong_root" else None)
    folder = mirrors[0] / case
    tile0, bundle0 = folder / "tile/0/000", folder / "tile/entries/000"
    if case == "garbage_tile":
        tile0.write_bytes(_flip(tile0.read_bytes()))
    elif case == "oversized_tile":
        tile0.write_bytes(tile0.read_bytes() * 2)
    elif case == "bundle_mismatch":
        bundle0.write_bytes(_flip(bundle0.read_bytes()))
    elif case == "garbage_checkpoint":
        (folder / "checkpoint").write_bytes(b"\x00garbage\n" * 100)
    elif case == "oversized_checkpoint":
        (folder / "checkpoint").write_bytes(b"a" * 70_000)
    elif case == "missing_bundle":
        bundle0.unlink()
    elif case == "leaves_off_the_signed_root":  # tile and bundle agree, not with the tree
        other = [_leaf(NOW, "observation.add", "x", why="recorded")] * 256
        tile0.write_bytes(b"".join(leaf_hash(e) for e in other))
        bundle0.write_bytes(b"".join(len(e).to_bytes(2, "big") + e for e in other))
    result = CliRunner().invoke(main, ["monitor", url, "--log-key", SIGNER.verifier.vkey])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 3, result.output
    assert result.output.startswith(f"REFUSED ({reason})"), result.output
    assert "Traceback" not in result.output
    assert _monitor(_publish(mirrors, "good", GOOD), "--log-key", SIGNER.verifier.vkey)[0] == 0


def test_a_server_speaking_garbage_is_a_fetch_failure():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer() -> None:  # one request: the checkpoint's
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"\x00garbage, not HTTP\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    code, result = _monitor(f"http://127.0.0.1:{port}/log", "--log-key", SIGNER.verifier.vkey)
    thread.join(10)
    listener.close()
    assert (code, result["reason"]) == (3, "fetch_failed")


def test_a_wrong_key_or_a_foreign_state_is_a_usage_error(mirrors, tmp_path):
    url = _publish(mirrors, "usage", GOOD[:3])
    assert CliRunner().invoke(main, ["monitor", url, "--log-key", "nonsense"]).exit_code == 2
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"v": 1, "origin": "other.example/log", "note": "x"}))
    result = CliRunner().invoke(main, ["monitor", url, "--log-key", SIGNER.verifier.vkey,
                                       "--state", str(state)])
    assert result.exit_code == 2 and "bad_state" in result.output
    other = Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    code, result = _monitor(url, "--log-key", other.verifier.vkey)
    assert (code, result["reason"]) == (3, "unknown_key")


def test_a_log_that_shrank_is_a_roll_back(mirrors, tmp_path):
    state = tmp_path / "state.json"
    url = _publish(mirrors, "shrinks", GOOD[:10])
    assert _monitor(url, "--log-key", SIGNER.verifier.vkey, "--state", str(state))[0] == 0
    _publish(mirrors, "shrinks", GOOD[:9])
    code, result = _monitor(url, "--log-key", SIGNER.verifier.vkey, "--state", str(state))
    assert (code, result["reason"]) == (3, "rolled_back")


def test_the_tally_reads_leaves_strictly_and_flags_times():
    tally = Tally(zone("UTC"), NOW)
    tally.add(0, _leaf(NOW, "observation.add", "lab", kind="steps"))
    tally.add(1, _leaf(NOW - 7200, "colour.change", "lab", **{"from": "green", "to": "red"}))
    tally.add(2, _leaf(NOW + 3600, "observation.add", "lab"))
    findings, totals = tally.findings()
    assert totals == {"backdated": 1, "future": 1, "red_without_test": 1}
    assert {f.index for f in findings} == {1, 2, None}
    for data in (b"", b"{}", _leaf(True, "a", "b"), _leaf(1, "a", ""), _leaf(1, "a", "b" * 200),
                 _leaf(-1, "a", "b"), b'{"v":2,"t":1,"a":"x","by":"y"}', b"[" * 100_000):
        with pytest.raises(MonitorError) as refused:
            read_leaf(5, data)
        assert refused.value.reason == "bad_leaf"


def test_check_history_needs_the_kept_checkpoint_signed_by_the_log():
    class Client:
        origin, log_keys = ORIGIN, [SIGNER.verifier]

    forged = sign_checkpoint(Checkpoint(ORIGIN, 1, b"\x01" * 32),
                             [Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.generate())])
    with pytest.raises(MonitorError) as refused:
        check_history(Client(), forged, None)  # type: ignore[arg-type]
    assert refused.value.reason == "bad_state"
