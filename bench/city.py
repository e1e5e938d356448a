"""The city run: re-issue to everyone with several workers, kill them all midway, resume, and
check that every person got exactly one credential from the run and the audit log holds.

``python -m bench.city --people 1000000 --workers 2`` (PostgreSQL: ``--database-url``, else
``$HEALTHCODE_BENCH_POSTGRES_URL`` / ``$HEALTHCODE_TEST_POSTGRES_URL``, else a throwaway
server). The store is seeded with :mod:`bench.seed` (COPY), then the real CLI runs:
``healthcode-issuer reissue --all --workers N --log`` until ``--kill-at`` of the people are
issued, when the whole process group is killed (SIGKILL: the workers die mid-slice), then the
same command again, which resumes the run. The checks afterwards read the database directly
(everyone enrolled holds exactly one credential of the run; no slice left open) and run
``healthcode-issuer audit verify``. Prints a markdown summary for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.store import Store
from issuer.store.engine import DATABASE_URL_ENV

from .fixtures import bench_passphrase
from .pgserver import own_schema, postgres
from .seed import seed

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
_PROGRESS = re.compile(r"^run (\d+): (\d+)/(\d+)$")
_CHECKS = {
    "people without a credential of the run": (
        "SELECT count(*) FROM person p WHERE NOT EXISTS (SELECT 1 FROM credential c "
        "WHERE c.run_id = :run AND c.person_id = p.id)"),
    "people with two or more credentials of the run": (
        "SELECT count(*) FROM (SELECT person_id FROM credential WHERE run_id = :run "
        "GROUP BY person_id HAVING count(*) > 1) twice"),
    "slices not done": (
        "SELECT count(*) FROM reissue_batch WHERE run_id = :run AND done_at IS NULL"),
}


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _killed_midway(command: list[str], env: dict[str, str], people: int, kill_at: float
                   ) -> tuple[int, float]:
    """Run ``command`` until ``kill_at`` of ``people`` are issued, then SIGKILL its whole
    process group; return (people issued when killed, seconds it ran)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True,
                               start_new_session=True)
    done = 0
    try:
        for line in process.stdout:
            found = _PROGRESS.match(line.strip())
            if found and int(found[2]) >= kill_at * people:
                done = int(found[2])
                os.killpg(process.pid, signal.SIGKILL)
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    return done, time.perf_counter() - started


def _audit_verify(home: Home, env: dict[str, str]) -> tuple[tuple[int, str], float, float]:
    """Run ``healthcode-issuer audit verify``; return (exit code, output), its seconds, and
    its peak memory (RSS, MB)."""
    started = time.perf_counter()
    process = subprocess.Popen([CLI, "audit", "verify", "--home", str(home.root)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return ((process.returncode, output), time.perf_counter() - started,
            usage.ru_maxrss / 1024)


def city_run(url: str, people: int, workers: int, kill_at: float) -> list[str]:
    """Seed, run, kill, resume, check; return the report's lines."""
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-city-") as folder, \
            own_schema(url) as store_url:
        home = Home(Path(folder))
        init_home(home)
        with Store.open(home, store_url) as store:
            seeded = seed(store, people, progress=_say)
        _say(f"seeded {people:,} people in {seeded.seconds:.0f} s")
        env = {**os.environ, DATABASE_URL_ENV: store_url}
        command = [CLI, "reissue", "--all", "--workers", str(workers), "--log",
                   "--home", str(home.root)]
        killed_at, first = _killed_midway(command, env, people, kill_at)
        _say(f"killed at {killed_at:,} issued after {first:.0f} s")
        started = time.perf_counter()
        resumed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        second = time.perf_counter() - started
        if resumed.returncode:
            raise RuntimeError(f"the resumed run failed: {resumed.stderr[-2000:]}")
        with Store.open(home, store_url) as store, store.engine.connect() as connection:
            run = connection.scalar(text("SELECT max(id) FROM reissue_run"))
            issued = connection.scalar(text(
                "SELECT count(*) FROM credential WHERE run_id = :run"), {"run": run})
            found = {name: connection.scalar(text(sql), {"run": run})
                     for name, sql in _CHECKS.items()}
        _say("verifying the whole audit log (no checkpoint yet: the full check)")
        verified, verify_s, verify_mb = _audit_verify(home, env)
    lines = [f"`python -m bench.city --people {people} --workers {workers}` on PostgreSQL:",
             "",
             "| step | result |", "|---|---|",
             f"| seed ({seeded.observations:,} observations, COPY) | {seeded.seconds:.0f} s |",
             f"| `reissue --all --workers {workers}`, killed (SIGKILL, whole group) | "
             f"{killed_at:,} issued in {first:.0f} s |",
             f"| the same command again: resumed run {run} | {people - killed_at:,} more in "
             f"{second:.0f} s; exit {resumed.returncode} |",
             f"| credentials of run {run} | {issued:,} for {people:,} people |"]
    lines += [f"| {name} | {count} |" for name, count in found.items()]
    said = "; ".join(line for line in verified[1].splitlines()
                     if line.startswith(("audit chain", "tables")))
    lines.append(f"| `audit verify` (no checkpoint: the full check) | exit {verified[0]} in "
                 f"{verify_s:.0f} s, peak memory {verify_mb:,.0f} MB: {said} |")
    ok = issued == people and not any(found.values()) and verified[0] == 0
    lines.append("| every person exactly one credential, audit holds | "
                 f"**{'yes' if ok else 'NO'}** |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.city", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.4,
                        help="share of the people issued when the workers are killed")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    url = args.database_url or os.environ.get("HEALTHCODE_BENCH_POSTGRES_URL") or \
        os.environ.get("HEALTHCODE_TEST_POSTGRES_URL")
    if url:
        lines = city_run(url, args.people, args.workers, args.kill_at)
    else:
        with postgres() as started:
            if started is None:
                parser.exit(1, "no PostgreSQL: set --database-url\n")
            lines = city_run(started, args.people, args.workers, args.kill_at)
    print("\n".join(lines))
    return 0 if lines[-1].endswith("**yes** |") else 1


if __name__ == "__main__":
    sys.exit(main())
