"""What the public log's leaves cost a re-issue: ``python -m bench.leafcost [--people N]
[--rounds N] [--leaves N]``.

One store per database (SQLite; PostgreSQL as bench/pgserver.py finds it) seeded with
``--people`` (bench/seed.py), then whole re-issue runs over everyone
(:func:`issuer.service.reissue.run_batches`, the library call under ``healthcode-issuer
reissue --all``, one worker, in this process pinned to one core) in rounds; in each round one
run per variant, which goes first rotating: leaves as the store writes them (an ``INSERT`` a
row, in one ``executemany``); no leaves (the sessions' publisher hidden); and on PostgreSQL
leaves by ``COPY``, which halves a leaf's own cost there (bench/logappend.py) but was not
adopted (docs/PERFORMANCE.md, "Public-log leaves: append rate"). The store grows by a run's
credentials and entries each time, which the rotation spreads over the variants. Reported:
people/s and the process's CPU time per person (not the database server's), medians over
rounds, and each variant's people/s over the stored way's, the median of the per-round
ratios. Then, on PostgreSQL, the appends alone: ``--leaves`` re-issue-like entries appended
with ``audit.append_many`` (as bench/logappend.py does) into two new stores, by ``COPY`` into
one and as stored into the other, interleaved round by round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.service.reissue import DEFAULT_BATCH, open_run, run_batches
from issuer.store import Store, public_log
from issuer.store.pii import DataKeys
from verifier.tlog.merkle import leaf_hash

from . import machine, report
from .fixtures import bench_passphrase
from .logappend import Rates, in_batches, interleaved
from .pgserver import own_schema, postgres
from .seed import seed

ACTOR = "cli:reissue"
STORED, NONE, COPY = "leaves, as stored", "no leaves", "leaves by COPY (not adopted)"
_COPY = "COPY log_leaf (idx, seq, data, hash) FROM STDIN"


def _copy(self: public_log.Publisher, session, rows) -> None:
    """Leaves by ``COPY`` in the session's transaction (psycopg 3)."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(_COPY) as copy:
        for idx, seq, data in rows:
            copy.write_row((idx, seq, data.decode(), leaf_hash(data)))


def _variants(postgresql: bool) -> dict[str, tuple[Callable, Callable]]:
    stored = (public_log.Publisher.add, public_log.publisher)
    found = {STORED: stored, NONE: (stored[0], lambda _session: None)}
    if postgresql:
        found[COPY] = (_copy, stored[1])
    return found


def reissue_rounds(service: IssuerService, people: int, rounds: int, postgresql: bool,
                   name: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per variant: people/s and CPU µs a person, a run each per round."""
    variants = _variants(postgresql)
    names = list(variants)
    found: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in names}
    try:
        for number in range(rounds):
            for variant in names[number % len(names):] + names[:number % len(names)]:
                public_log.Publisher.add, public_log.publisher = variants[variant]
                run = open_run(service, actor=ACTOR, new=True, batch_size=DEFAULT_BATCH)
                wall, cpu = time.perf_counter(), time.process_time()
                done = run_batches(service, run.run_id, actor=ACTOR)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert done == people, done
                found[variant][0].append(done / wall)
                found[variant][1].append(cpu / done * 1e6)
                print(f"leafcost: {name}, round {number + 1}, {variant}: {done / wall:,.0f} "
                      f"people/s, {cpu / done * 1e6:.0f} µs CPU a person", file=sys.stderr,
                      flush=True)
    finally:
        public_log.Publisher.add, public_log.publisher = variants[STORED]
    return found


def _rows(name: str, found: dict[str, tuple[list[float], list[float]]]) -> list[list[str]]:
    stored = found[STORED][0]
    return [[name, variant, f"{statistics.median(rates):,.0f} ({max(rates):,.0f})",
             f"{statistics.median(cpu):.0f}",
             f"**{statistics.median(r / s for r, s in zip(rates, stored, strict=True)):.3f}**"]
            for variant, (rates, cpu) in found.items()]


def appends(server: str, leaves: int, rounds: int) -> list[str]:
    """A row: leaves/s by COPY and as stored, ``append_many`` alone, on two new stores."""
    keys, rates = DataKeys.generate(), Rates()
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
            own_schema(server) as copied, own_schema(server) as stored, \
            Store.open(Home(Path(folder)), copied, data_keys=keys) as by_copy, \
            Store.open(Home(Path(folder)), stored, data_keys=keys) as as_stored:

        @contextmanager
        def copying() -> Iterator[object]:
            saved, public_log.Publisher.add = public_log.Publisher.add, _copy
            try:
                with by_copy.writing() as session:
                    yield session
            finally:
                public_log.Publisher.add = saved

        interleaved(in_batches, (copying, as_stored.writing), 0, leaves, rounds, rates,
                     "leafcost: appends, COPY vs as stored:")
    copy, insert = statistics.median(rates.leaves), statistics.median(rates.bare)
    return [f"{leaves:,}", f"{insert:,.0f}", f"{copy:,.0f}", f"{1e6 / insert - 1e6 / copy:.1f}",
            f"**{statistics.median(rates.ratios):.2f}**"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.leafcost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--leaves", type=int, default=200_000)
    args = parser.parse_args(argv)
    core = machine.pin_to_one_core()
    print(machine.describe(core))
    rows, alone = [], []
    with ExitStack() as stack, bench_passphrase():
        with machine.unpinned():  # a throwaway server gets every core; this process one
            server = stack.enter_context(postgres())
        for name, url in (("SQLite", None), ("PostgreSQL", server)):
            if name == "PostgreSQL" and url is None:
                rows.append([name, "skipped: no PostgreSQL", "", "", ""])
                continue
            with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
                    own_schema(url) as schema:
                home = Home(Path(folder))
                init_home(home)
                service = IssuerService.open(home, database_url=schema or
                                             f"sqlite:///{home.database}")
                try:
                    seed(service.store, args.people)
                    rows += _rows(name, reissue_rounds(service, args.people, args.rounds,
                                                       url is not None, name))
                finally:
                    service.close()
            if url is not None:
                alone.append(appends(url, args.leaves, 10))
    print(f"\n### What the public log's leaves cost a re-issue of {args.people:,} people\n")
    print(f"`run_batches` in this process, one worker, slices of {DEFAULT_BATCH}; {args.rounds} "
          "rounds of one run per variant (the first rotating); median over rounds (best in "
          "brackets); CPU of this process only; ratio: people/s over the stored way's in the "
          "same round, median.\n")
    print(report.table(["database", "variant", "people/s", "CPU µs a person",
                        "vs leaves as stored"], rows, align="llrrr"))
    if alone:
        print("\nPostgreSQL, `audit.append_many` alone, batches of 500, 10 rounds interleaved; "
              "leaves/s median; ratio: COPY over as stored, median of the per-round ratios:\n")
        print(report.table(["leaves", "as stored, leaves/s", "by COPY, leaves/s",
                            "µs saved a leaf", "COPY / as stored"], alone))
    return 0


if __name__ == "__main__":
    sys.exit(main())
