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
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.store import audit
from issuer.store.audit_store import ChainWatch
from issuer.store.audit_tables import row_mac
from issuer.store.db import Observation

from . import report
from .fixtures import bench_passphrase
from .timing import Settings

NOW = 1_790_000_000
ENTRIES = 9_500
PEOPLE = 100


def _seed(service: IssuerService, entries: int, people: int) -> list[str]:
    ids = [service.create_person(actor="bench", name=f"Person {n}", id_number=f"B{n:09d}",
                                 phone=f"+86 139 {n:08d}", organisation=f"Org {n % 7}",
                                 now=NOW) for n in range(people)]
    store, per = service.store, (entries - people) // people
    for person in ids:
        with store.writing() as session:
            rows = [Observation(person_id=person, kind="steps", value_json=str(4000 + i),
                                observed_at=NOW - i * 3600, source="phone",
                                recorded_at=NOW, recorded_by="holder") for i in range(per)]
            session.add_all(rows)
            session.flush()
            audit.append_many(session, [audit.Pending(
                "holder", "observation.add", "declared by the holder", person,
                {"observation": row.id, "kind": row.kind, "source": row.source,
                 "observed_at": row.observed_at,
                 "mac": row_mac(store.data_keys, "observation",
                                {c.name: getattr(row, c.name) for c in row.__table__.columns})},
                NOW) for row in rows])
    return ids


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
    return report.Section(body, summary)
