"""The monitor (issue 18) on a log of 1,000,000 issuer-like leaves served from a mirror folder.

The log (JSON leaves as the issuer writes them: times, actions, 50 actors, colours, a random
commitment each) is built once into tiles and entry bundles on disk, with a signed checkpoint.
Timed: the monitor's whole pass in this process reading the folder (every bundle checked
against its tile, the root recomputed from the leaves, every leaf parsed and counted),
interleaved with its baseline, bare leaf hashing of the same entries (``leaf_hash`` over each,
the least any verifier of the whole log must do); then the real command,
``healthcode-verifier monitor`` over HTTP from ``python -m http.server`` on the folder, in a
child process whose peak memory is read from ``getrusage``, at a tenth of the size and at the
full size (memory that does not grow with the log is what "aggregates only" means).
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519

from verifier.i18n import zone
from verifier.tlog import (
    Checkpoint,
    Ed25519Signer,
    LogClient,
    build_bundles,
    build_tiles,
    leaf_hash,
    root_hash,
    sign_checkpoint,
)
from verifier.tlog.monitor import Tally
from verifier.tlog.monitorwalk import verified_entries

from . import report
from .timing import Settings
from .tlog import _interleaved

LEAVES = 1_000_000
ORIGIN = "bench.example/log"
_SEED = 18


def _entries(n: int, start: int) -> list[bytes]:
    rng = random.Random(_SEED)
    actors = [f"t-{rng.randbytes(4).hex()}" for _ in range(50)] + ["holder", "cli:reissue"]
    out = []
    for i in range(n):
        body = {"v": 1, "t": start + i // 12, "by": rng.choice(actors),
                "who": rng.randbytes(16).hex()}
        roll = rng.random()
        if roll < 0.5:
            body.update(a="observation.add", kind=rng.choice(["test_result", "steps"]),
                        why="recorded")
        elif roll < 0.7:
            old, new = rng.sample(["green", "yellow", "red"], 2)
            body.update({"a": "colour.change", "from": old, "to": new, "why": "rescored",
                         "band": ["60-79", "0-39"], "policy": "hangzhou-2020-v3"})
        else:
            body.update(a="credential.issue", policy="hangzhou-2020-v3", purpose="live",
                        run=None, why="issued")
        out.append(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    return out


def _mirror(folder: Path, entries: list[bytes], signer: Ed25519Signer) -> None:
    hashes = [leaf_hash(e) for e in entries]
    for tile, data in {**build_tiles(hashes), **build_bundles(entries)}.items():
        path = folder / tile.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    note = sign_checkpoint(Checkpoint(ORIGIN, len(entries), root_hash(hashes)), [signer])
    (folder / "checkpoint").write_text(note)


def _folder_fetch(folder: Path):
    def fetch(path: str, max_bytes: int) -> bytes:
        data = (folder / path).read_bytes()
        assert len(data) <= max_bytes
        return data
    return fetch


def _monitor_pass(folder: Path, signer: Ed25519Signer, now: int) -> Tally:
    client = LogClient("", ORIGIN, [signer.verifier], fetch=_folder_fetch(folder))
    opened = client.checkpoint()
    tally = Tally(zone("Asia/Shanghai"), now)
    for index, entry in verified_entries(client, opened):
        tally.add(index, entry)
    tally.findings()
    return tally


_CHILD = """import atexit, sys
def _peak():
    sys.stderr.write([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0])
atexit.register(_peak)
from verifier.cli import main
main()
"""


def _cli_run(folder: Path, vkey: str) -> tuple[float, int, int]:
    """Seconds, exit code and peak RSS (KiB, the child's own ``VmHWM``: ``getrusage`` would
    count the pages of this process it was forked from) of ``healthcode-verifier monitor``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/checkpoint", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", _CHILD, "monitor",
                               f"http://127.0.0.1:{port}", "--log-key", vkey, "--json"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              check=False)
        seconds = time.perf_counter() - started
        peak = int(done.stderr.split("VmHWM:")[1].split()[0])
    finally:
        server.terminate()
        server.wait(10)
    return seconds, done.returncode, peak


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    n, rounds = (20_000, 1) if quick else (LEAVES, 3)
    now = int(time.time())
    signer = Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    entries = _entries(n, now - n // 12 - 60)
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    try:
        small, full = work / "small", work / "full"
        _mirror(small, entries[:n // 10], signer)
        _mirror(full, entries, signer)
        size = sum(len(e) for e in entries)
        tallies: list[Tally] = []
        base, ours, ratio = _interleaved(
            lambda: [leaf_hash(e) for e in entries],
            lambda: tallies.append(_monitor_pass(full, signer, now)), rounds)
        assert tallies[-1].leaves == n
        flagged = tallies[-1].findings()[1]
        small_cli = _cli_run(small, signer.verifier.vkey)
        full_cli = _cli_run(full, signer.verifier.vkey)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [
        ["bare leaf hashing (`leaf_hash` of each entry), the baseline", f"{base:.2f} s",
         f"{n / base:,.0f}/s", "1"],
        ["monitor pass, in process, from the folder (`verified_entries` + `Tally`)",
         f"{ours:.2f} s", f"{n / ours:,.0f}/s", f"**{report.ratio(ratio)}**"],
    ]
    cli = [[f"{count:,} leaves", f"{seconds:.1f} s", f"{count / seconds:,.0f}/s",
            f"{peak / 1024:.0f} MiB", str(code)]
           for count, (seconds, code, peak) in ((n // 10, small_cli), (n, full_cli))]
    body = "\n".join([
        f"### Monitor: {n:,} leaves",
        "",
        f"{n:,} issuer-like JSON leaves ({size / n:.0f} bytes on average, {size:,} in all), "
        f"52 actors, served as tiles and entry bundles from a folder. In process: medians of "
        f"{rounds} rounds, each interleaved with its baseline; ratio = baseline time / monitor "
        "time (median of the per-round ratios).",
        "",
        report.table(["pass", "time", "rate", "ratio vs bare leaf hashing"], rows),
        "",
        "`healthcode-verifier monitor URL --log-key VKEY --json`, a child process reading "
        "`python -m http.server` on 127.0.0.1 (peak RSS includes the interpreter, click, "
        "cryptography and Babel):",
        "",
        report.table(["log", "wall time", "rate", "peak RSS", "exit"], cli),
        "",
        f"Flags raised on the full (random) log: {dict(sorted(flagged.items())) or 'none'}"
        + (" (hence exit 1)." if flagged else "."),
    ])
    summary = [[f"monitor: {n:,} leaves verified and counted",
                f"{n / ours:,.0f} leaves/s in process, {full_cli[0]:.0f} s over HTTP",
                f"{report.ratio(ratio)} of bare leaf hashing; peak RSS "
                f"{small_cli[2] / 1024:.0f} / {full_cli[2] / 1024:.0f} MiB at {n // 10:,} / "
                f"{n:,}"]]
    return report.Section(body, summary)
