"""The audit log at 9,500 entries (SQLite): one person's trail as the API serves it, before
and after it stopped re-verifying the whole chain per request, and the full ``audit verify``.

A store is seeded through the real write paths' formats: 100 people (``person.create``), then
observations with their ``observation.add`` entries (keyed row MACs, as
:meth:`issuer.store.Store.add_observation` writes them), 9,500 entries in all.

- *before*: what ``GET /api/people/<id>/audit`` did until issue 13: look the person up,
  verify the whole chain, read the person's entries;
- *after, steady*: :meth:`IssuerService.audit` with its :class:`ChainWatch` warm (entries
  added since the last check, the person's entries and their neighbours);
- *after, full check due*: the same call with a fresh watch (once per process and at most
  every ``FULL_CHECK_INTERVAL`` seconds), which reads the whole chain;
- ``audit verify``: :meth:`Store.audit_report`, the chain and every table against it.

Then (issue 16) ``audit verify`` in full and resumed from a checkpoint, on logs of
:data:`SIZES` entries with :data:`APPENDED` appended since the checkpoint, on SQLite and (on
the server :func:`bench.pgserver.postgres` finds) PostgreSQL; and the API watch's first
check in a new process, from the first entry and from the checkpoint.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.store import audit
from issuer.store.audit_since import Marks
from issuer.store.audit_store import ChainWatch, Verified
from issuer.store.audit_tables import row_mac
from issuer.store.db import Observation

from . import report
from .fixtures import bench_passphrase
from .pgserver import own_schema, postgres
from .timing import Settings

NOW = 1_790_000_000
ENTRIES = 9_500
PEOPLE = 100
#: Log sizes for the incremental check, and how many entries are appended after its
#: checkpoint (a city re-issue appends about 12 million a day).
SIZES = (100_000, 1_000_000)
APPENDED = 1_000
_FILL_BATCH = 10_000


def _seed(service: IssuerService, entries: int, people: int) -> list[str]:
    ids = [service.create_person(actor="bench", name=f"Person {n}", id_number=f"B{n:09d}",
                                 phone=f"+86 139 {n:08d}", organisation=f"Org {n % 7}",
                                 now=NOW) for n in range(people)]
    next_id = 1
    for person in ids:
        next_id = _fill(service.store, person, (entries - people) // people, next_id)
    return ids


def _fill(store, person: str, count: int, first_id: int) -> int:
    """Record ``count`` observations of ``person`` (ids from ``first_id``) with their
    entries, as :meth:`issuer.store.Store.add_observation` writes them, in big
    transactions; return the next free id."""
    for start in range(first_id, first_id + count, _FILL_BATCH):
        ids = range(start, min(start + _FILL_BATCH, first_id + count))
        rows = [{"id": i, "person_id": person, "kind": "steps", "value_json": str(4000 + i % 9000),
                 "observed_at": NOW - i, "source": "phone", "recorded_at": NOW,
                 "recorded_by": "holder"} for i in ids]
        with store.writing() as session:
            session.execute(insert(Observation), rows)
            audit.append_many(session, [audit.Pending(
                "holder", "observation.add", "declared by the holder", person,
                {"observation": row["id"], "kind": "steps", "source": "phone",
                 "observed_at": row["observed_at"],
                 "mac": row_mac(store.data_keys, "observation", row)}, NOW) for row in rows])
    return first_id + count


def _incremental(backend: str, server: str | None, size: int, appended: int, rounds: int
                 ) -> list[str]:
    """One row: a log of ``size`` entries checked in full; ``appended`` more, checked from
    the checkpoint the full check ended at; the API watch's first check either way.
    ``server``: PostgreSQL's URL (None: SQLite)."""
    if backend != "SQLite" and server is None:
        return [backend, f"{size:,}", "skipped: no PostgreSQL", "", "", "", ""]
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
            own_schema(server) as schema:
        url = schema or f"sqlite:///{folder}/issuer.db"
        home = Home(Path(folder))
        init_home(home, now=NOW)
        service = IssuerService.open(home, database_url=url)
        try:
            store = service.store
            person = service.create_person(actor="bench", name="Person", id_number="B000000001",
                                           phone="+86 139 00000001", organisation="Org",
                                           now=NOW)
            next_id = _fill(store, person, size - store.audit_head()[0], 1)
            marks = _checked(store.audit_report())
            _fill(store, person, appended, next_id)
            full = _median(lambda: _checked(store.audit_report()), rounds)
            since = _median(lambda: _checked(store.audit_report(since=marks), appended),
                            rounds * 3)
            cold = _median(lambda: _watch(store, None), rounds)
            warm = _median(lambda: _watch(store, marks), rounds * 3)
        finally:
            service.close()
    total = size + appended
    return [backend, f"{size:,}", f"{full:.2f} ({total / full:,.0f}/s)",
            f"{since * 1e3:.0f} ({appended / since:,.0f}/s)", f"**{full / since:,.0f}×**",
            f"{cold * 1e3:,.0f}", f"{warm * 1e3:.0f}"]


def _checked(report, appended: int | None = None) -> Marks:
    assert report.ok, report.problem
    assert appended is None or report.checked == appended, report.checked
    return report.marks


def _watch(store, marks: Marks | None) -> None:
    """A new process's first trail request: its watch verifies from the checkpoint (or,
    with none, from the first entry) to the end."""
    saved = None if marks is None else Verified(marks.size, marks.hash, NOW, NOW)
    watch = ChainWatch(saved=lambda: saved)
    with store.reading() as session:
        assert watch.check(session, NOW) is None


def incremental(settings: Settings) -> tuple[str, list[list[str]]]:
    """The incremental ``audit verify`` table (issue 16), and its summary rows."""
    quick = settings.rounds < Settings().rounds
    sizes, appended, rounds = ((2_000,), 100, 1) if quick else (SIZES, APPENDED, 3)
    with postgres() as server:
        rows = [_incremental(backend, url, size, appended, rounds)
                for backend, url in (("SQLite", None), ("PostgreSQL", server)) for size in sizes]
    body = "\n".join([
        f"### `audit verify`: in full, and from a checkpoint with {appended:,} entries "
        f"appended since",
        "",
        f"One person's observations with their `observation.add` entries (record MACs), "
        f"{appended:,} more appended after the checkpoint a full check saved. Seconds for "
        f"the whole check (chain and tables, entries/s in brackets) against milliseconds "
        f"for the check resumed from the checkpoint (the new entries and the rows they "
        f"record); then a new API process's first check of the chain, with no checkpoint "
        f"(from the first entry) and with one. Median of {rounds} (full) and {rounds * 3} "
        f"(incremental) runs, in the store (no CLI start-up, no signing of the checkpoint).",
        "",
        report.table(["database", "log size", "full check, s", "from the checkpoint, ms",
                      "full / incremental", "API watch, first check: no checkpoint, ms",
                      "from the checkpoint, ms"], rows),
    ])
    summary = [[f"audit verify, {row[0]}, {row[1]} entries + {appended:,}: full → from the "
                f"checkpoint", f"{row[2].split(' ')[0]} s → {row[3].split(' ')[0]} ms",
                "reads only what was appended"] for row in rows if row[3]]
    return body, summary


def _median(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    entries, rounds = (1_000, 3) if quick else (ENTRIES, settings.slow_rounds)
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder:
        home = Home(Path(folder))
        init_home(home, now=NOW)
        service = IssuerService.open(home, database_url=f"sqlite:///{folder}/issuer.db")
        try:
            person = _seed(service, entries, PEOPLE)[PEOPLE // 2]
            size = service.store.audit_head()[0]

            def before() -> None:
                service.store.get_person(person)
                with service.store.reading() as session:
                    assert audit.verify_chain(session) is None
                service.store.audit_entries(person)

            def full_due() -> None:
                service._audit_watch = ChainWatch()
                assert service.audit(person)["chain_ok"]

            def steady() -> None:
                assert service.audit(person)["chain_ok"]

            def verify_all() -> None:
                assert service.store.audit_report().ok

            figures = {"before": _median(before, rounds), "full": _median(full_due, rounds)}
            service._audit_watch = ChainWatch()
            service.audit(person)
            figures["steady"] = _median(steady, rounds * 10)
            figures["verify"] = _median(verify_all, rounds)
        finally:
            service.close()
    rows = [["before: whole chain per request", report.ms(figures["before"])],
            ["after, steady (incremental)", report.ms(figures["steady"])],
            ["after, when the full check is due (≤ 1 per 10 min)", report.ms(figures["full"])],
            ["`audit verify` (chain and tables)", report.ms(figures["verify"])]]
    body = "\n".join([
        f"### Audit trail of one person, log of {size:,} entries (SQLite)",
        "",
        f"{PEOPLE} people, {size - PEOPLE:,} observations with their entries; the person "
        f"asked for has {(size - PEOPLE) // PEOPLE + 1} entries. Median of {rounds} calls "
        f"({rounds * 10} for the steady case), in the service (no HTTP).",
        "",
        report.table(["what", "ms per call"], rows),
    ])
    summary = [[f"audit trail per request, {size:,} entries: before → after",
                f"{report.ms(figures['before'])} → {report.ms(figures['steady'])}",
                "no whole-chain check per request"]]
    more, more_summary = incremental(settings)
    return report.Section(body + "\n\n" + more, summary + more_summary)
