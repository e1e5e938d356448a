"""Bulk re-issuance rate (people/s) on SQLite and PostgreSQL, against bare signing.

A store is seeded with people who each hold a week of lifestyle observations (28 rows, as the
demo data has). A round times one whole ``run_batches`` over everyone (re-score, sign, store
the credential and its audit entry, one transaction per batch) and, interleaved, the bare
signing of as many credentials (``issue_credential`` with the same key, nothing stored). The
figure is people/s as a ratio to credentials signed/s in the same round.

PostgreSQL: ``$HEALTHCODE_BENCH_POSTGRES_URL`` (or ``$HEALTHCODE_TEST_POSTGRES_URL``), else a
throwaway server started with ``scripts/postgres-test-server.sh`` when PostgreSQL is installed,
else that row says it was skipped.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.keys.signing import issue_credential
from issuer.service.issuance import IssuerService
from issuer.service.reissue import DEFAULT_BATCH, open_run, run_batches
from issuer.store.db import Observation

from . import report
from .fixtures import bench_passphrase
from .timing import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_SCRIPT = ROOT / "scripts" / "postgres-test-server.sh"
DAY = 86_400
NOW = 1_790_000_000
_LIFESTYLE = (("steps", (4000, 9000, 15000, 17000)), ("sleep_hours", (5.5, 6.5, 7.5, 8.0)),
              ("alcohol_ml", (0, 0, 100, 200)), ("cigarettes", (0, 0, 5, 10)))


def _seed(service: IssuerService, people: int) -> None:
    ids = [service.create_person(actor="bench", name=f"Bench Person {n}", id_number=f"B{n:09d}",
                                 phone="+86 137 0000 0000", organisation=f"Org {n % 7}",
                                 now=NOW) for n in range(people)]
    rows = [{"person_id": pid, "kind": kind, "value_json": json.dumps(values[(n + day) % 4]),
             "observed_at": NOW - day * DAY, "source": "bench", "recorded_at": NOW,
             "recorded_by": "bench"}
            for n, pid in enumerate(ids) for day in range(1, 8) for kind, values in _LIFESTYLE]
    with service.store.writing() as session:
        session.execute(insert(Observation), rows)


@contextmanager
def _postgres() -> Iterator[str | None]:
    url = os.environ.get("HEALTHCODE_BENCH_POSTGRES_URL") or os.environ.get(
        "HEALTHCODE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="healthcode-bench-pg."))
    try:
        started = subprocess.run(["bash", str(PG_SCRIPT), "start", str(folder / "pg")],
                                 capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        started = None
    if started is None or started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(folder / "pg")],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _rounds(service: IssuerService, people: int, rounds: int, batch: int
            ) -> tuple[list[float], list[float]]:
    """Per round: seconds for the whole re-issue, seconds to sign as many bare credentials."""
    key, iss, policy = service.key, service.config.iss, service.policy.digest
    reissue_s, sign_s = [], []
    for number in range(rounds):
        clock = NOW + 60 * (number + 1)

        def sign_all(at: int = clock) -> None:
            for _ in range(people):
                issue_credential(key, iss=iss, colour="green", score=88, iat=at, ttl=DAY,
                                 policy=policy)

        def reissue_all(at: int = clock) -> None:
            run = open_run(service, actor="bench", now=at)
            run_batches(service, run.run_id, actor="bench", batch_size=batch,
                        clock=lambda: at)

        for fn, out in ((sign_all, sign_s), (reissue_all, reissue_s))[::1 - 2 * (number % 2)]:
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return reissue_s, sign_s


def _backend_row(name: str, url: str | None, people: int, rounds: int, batch: int
                 ) -> tuple[list[str], float | None]:
    if url is None and name != "SQLite":
        return [name, "skipped: no PostgreSQL", "", "", ""], None
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
            _own_schema(url) as store_url:
        home = Home(Path(folder))
        init_home(home, now=NOW)
        service = IssuerService.open(home, database_url=store_url)
        try:
            _seed(service, people)
            reissue_s, sign_s = _rounds(service, people, rounds, batch)
        finally:
            service.close()
    ratios = [s / r for s, r in zip(sign_s, reissue_s, strict=True)]
    median_ratio = statistics.median(ratios)
    rate = people / statistics.median(reissue_s)
    return [name, f"{rate:,.0f} ({people / min(reissue_s):,.0f})",
            f"{people / statistics.median(sign_s):,.0f}",
            f"{1e3 * statistics.median(reissue_s) / people:.2f}",
            f"**{median_ratio:.2f}** ({min(sign_s) / min(reissue_s):.2f})"], median_ratio


@contextmanager
def _own_schema(url: str | None) -> Iterator[str | None]:
    """A URL whose tables live in a new schema of their own (dropped afterwards), so the
    bench starts from an empty store on a database that may hold other data."""
    if url is None:
        yield None
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield (make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
               .render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    people, rounds, batch = (60, 2, DEFAULT_BATCH) if quick else (1000, 5, DEFAULT_BATCH)
    rows, summary = [], []
    with _postgres() as pg_url:
        for name, url in (("SQLite", None), ("PostgreSQL", pg_url)):
            row, ratio = _backend_row(name, url, people, rounds, batch)
            rows.append(row)
            summary.append([f"bulk re-issue, {name}: people/s vs bare signing",
                            f"{ratio:.2f}" if ratio is not None else "skipped",
                            "no target set"])
    body = "\n".join([
        "### Bulk re-issuance: everyone re-scored, signed and stored",
        "",
        f"`issuer.service.reissue.run_batches` over {people:,} people with 28 observations each, "
        f"{batch} people per transaction, {rounds} rounds (each a new run over everyone), "
        "interleaved with the bare signing of as many credentials (`issue_credential`, same "
        "key, nothing scored or stored). Median over rounds (best in brackets).",
        "",
        report.table(["database", "re-issued people/s", "bare signatures/s",
                      "ms per person", "ratio to bare signing, median (min/min)"], rows),
    ])
    return report.Section(body, summary)
