"""Re-issue at city scale: people/s of the real ``healthcode-issuer reissue --all`` on stores
of 10k to 1M people, on SQLite and PostgreSQL, with 1 and 2 workers, against bare signing on
the same cores in the same run.

For each database and size a fresh store is seeded (bench/seed.py: invented people with 28
lifestyle observations each and their audit entries, as the store writes them). Then, round
by round, for each worker count N: the CLI runs as an operator runs it (``reissue --all
--log``, plus ``--workers N`` when N > 1: a new run over everyone, in a subprocess allowed on
N cores), and just before and just after it N processes sign bare on the same N cores for a
few seconds each (bench/baresign.py; the mean of the two stands for the load in between).
People/s is the CLI's own count over its own time (the last line it prints; its start-up,
imports and unwrapping the keys, is left out and reported apart). The ratio per core is
people/s over bare signatures/s on the same N cores; 2 workers against 1 is the speed-up
within a round. The CPU time of the CLI and its workers (not the database server's) per
person is printed too: it moves far less than wall time when neighbours load the machine.
SQLite is the single-process embedded default: one worker only.

The extrapolation to 12 million people on 8 cores assumes the rate grows linearly with cores:
here the database shares the machine (and its 2 cores) with the workers, in a city the
database would have its own. ``--sizes`` and ``--workers`` (``python -m bench reissue --sizes
10000,100000,1000000 --workers 1,2``) choose the runs; a CLI without ``--workers`` (before the
parallel re-issue) gets its rows marked instead of measured.

PostgreSQL: ``$HEALTHCODE_BENCH_POSTGRES_URL`` (or ``$HEALTHCODE_TEST_POSTGRES_URL``), else a
throwaway server started with ``scripts/postgres-test-server.sh`` when PostgreSQL is installed,
else its rows say it was skipped.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.store import Store
from issuer.store.engine import DATABASE_URL_ENV

from . import machine, report
from .baresign import signatures_per_second
from .fixtures import bench_passphrase
from .pgserver import own_schema, postgres
from .seed import Seeded, seed
from .timing import Settings

CLI = str(Path(sys.executable).with_name("healthcode-issuer"))
DEFAULT_SIZES, QUICK_SIZES = (10_000,), (300,)
DEFAULT_WORKERS = (1, 2)
#: Rounds per size: every run re-issues to everyone, so large stores get one.
ROUNDS_UP_TO = {100_000: 3}
SIGN_SECONDS, QUICK_SIGN_SECONDS = 3.0, 0.5
CITY, CITY_CORES = 12_000_000, 8
NEEDS_WORKERS = "needs `--workers` (the parallel re-issue)"
_STEP = re.compile(r"run \d+: (\d+)/\d+$")
_DONE = re.compile(r"run \d+ done: (\d+) credentials issued in ([0-9.]+) s(?:, (\d+) people/s)?")


class NeedsWorkers(Exception):
    """This CLI has no ``--workers`` option yet."""


@dataclass
class Row:
    """The runs of one database, size and worker count."""

    database: str
    people: int
    workers: int
    steady: list[float] = field(default_factory=list)  # people/s, first to last batch
    whole: list[float] = field(default_factory=list)  # people/s, the CLI's own figure
    bare: list[float] = field(default_factory=list)  # signatures/s on the same cores
    missing: str | None = None

    @property
    def ratios(self) -> list[float]:
        return [r / b for r, b in zip(self.steady, self.bare, strict=True)]


def _reissue(home: Home, url: str, workers: int, cores: list[int], people: int
             ) -> tuple[float, float]:
    """Run ``reissue --all`` once; return its people/s from the first batch to the last
    (the workers' start-up and the first batch left out, the same for any N) and the CLI's
    own figure for the whole run."""
    command = [CLI, "reissue", "--all", "--log", "--home", str(home.root)]
    if workers > 1:
        command += ["--workers", str(workers)]
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # the child inherits it: N cores for N workers
    try:
        process = subprocess.Popen(command, env={**os.environ, DATABASE_URL_ENV: url},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    finally:
        os.sched_setaffinity(0, saved)
    with process:
        lines = [(time.perf_counter(), line.strip()) for line in process.stdout]
        errors = process.stderr.read()
    if process.returncode == 2 and "--workers" in errors:
        raise NeedsWorkers
    found = _DONE.search(lines[-1][1]) if lines else None
    if process.returncode or found is None or int(found[1]) != people:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({process.returncode}): "
                           f"{lines[-1][1] if lines else ''} {errors[-2000:]}")
    # people/s has more digits than the seconds (printed to a tenth) on short runs
    whole = float(found[3]) if found[3] else people / float(found[2])
    steps = [(at, int(m[1])) for at, line in lines if (m := _STEP.match(line))]
    if len(steps) < 2 or steps[-1][0] <= steps[0][0]:
        return whole, whole
    return (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0]), whole


@contextmanager
def _seeded_store(url: str | None, people: int) -> Iterator[tuple[Home, str, Seeded]]:
    """A new home and store (a SQLite file, or a schema of its own) seeded with ``people``."""
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
            own_schema(url) as schema_url:
        home = Home(Path(folder))
        init_home(home)
        store_url = schema_url or f"sqlite:///{home.database}"
        with Store.open(home, store_url) as store:
            seeded = seed(store, people)
        yield home, store_url, seeded


def _measure(name: str, url: str | None, people: int, workers: tuple[int, ...], rounds: int,
             sign_seconds: float, cores: list[int]) -> tuple[Seeded, list[Row]]:
    rows = {count: Row(name, people, count) for count in workers}
    with _seeded_store(url, people) as (home, store_url, seeded):
        _say(f"{name}, {people:,} people: seeded in {seeded.seconds:.0f} s")
        for number in range(rounds):
            for count in workers[::-1] if number % 2 else workers:
                row, on = rows[count], (cores * count)[:count]
                if row.missing:
                    continue
                try:  # bare signing just before and just after: the load in between
                    before = signatures_per_second(home.root, on, sign_seconds)
                    steady, whole = _reissue(home, store_url, count, on, people)
                    bare = (before + signatures_per_second(home.root, on, sign_seconds)) / 2
                except NeedsWorkers:
                    row.missing = NEEDS_WORKERS
                    continue
                row.steady.append(steady)
                row.whole.append(whole)
                row.bare.append(bare)
                _say(f"{name}, {people:,} people, {count} worker(s), round {number + 1}: "
                     f"{steady:,.0f} people/s ({whole:,.0f} over the whole run), bare "
                     f"{bare:,.0f}/s")
    return seeded, list(rows.values())


def _say(line: str) -> None:
    """Progress on stderr (a run at a million people takes hours); the report is stdout."""
    print(f"reissue: {line}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def _city_seconds(row: Row) -> float:
    """12M people on 8 cores at this row's rate per core (on one process for SQLite)."""
    cores = 1 if row.database == "SQLite" else CITY_CORES
    return CITY / (statistics.median(row.steady) / row.workers * cores)


def _speed_up(row: Row, rows: list[Row]) -> float | None:
    """The median over rounds of this row's people/s over one worker's, same store."""
    one = next((r for r in rows if r.database == row.database and r.people == row.people
                and r.workers == 1 and r.steady), None)
    if row.workers == 1 or one is None or not row.steady:
        return None
    return statistics.median(r / o for r, o in zip(row.steady, one.steady, strict=False))


def _table_row(row: Row, rows: list[Row]) -> list[str]:
    head = [row.database, f"{row.people:,}", str(row.workers)]
    if row.missing or not row.steady:
        return [*head, row.missing or "skipped", "", "", "", "", "", ""]
    speed_up = _speed_up(row, rows)
    return [*head, f"{statistics.median(row.steady):,.0f} ({max(row.steady):,.0f})",
            f"{_ms(row):.2f}", f"{statistics.median(row.whole):,.0f}",
            f"{statistics.median(row.bare):,.0f}",
            f"**{report.ratio(statistics.median(row.ratios))}** "
            f"({report.ratio(max(row.steady) / max(row.bare))})",
            f"{speed_up:.2f}×" if speed_up is not None else "",
            _duration(_city_seconds(row)) + (" (one process)" if row.database == "SQLite"
                                             else "")]


def _ms(row: Row) -> float:
    """Milliseconds per person (of wall time, N workers together)."""
    return 1e3 / statistics.median(row.steady)


def _summary(rows: list[Row]) -> list[list[str]]:
    found = [row for row in rows if row.steady]
    lines = []
    for database in dict.fromkeys(row.database for row in rows):
        ones = [row for row in found if row.database == database and row.workers == 1]
        if not ones:
            lines.append([f"re-issue, {database}", "skipped", ""])
            continue
        small, large = ones[0], ones[-1]
        lines.append([f"re-issue {large.people:,} people, {database}, 1 worker: people/s vs "
                      "bare signing per core", report.ratio(statistics.median(large.ratios)),
                      "target ≥ 0.3"])
        if large is not small:
            relative = statistics.median(small.ratios) / statistics.median(large.ratios)
            lines.append([f"re-issue, {database}: cost per person at {large.people:,} over "
                          f"{small.people:,} (in ms; in bare signatures)",
                          f"{_ms(large) / _ms(small):.2f}; {relative:.2f}",
                          "target: flat (1.00)"])
        for row in rows:
            if row.database == database and row.workers > 1 and row.people == large.people:
                speed_up = _speed_up(row, rows)
                lines.append([f"re-issue {row.people:,} people, {database}: {row.workers} "
                              "workers vs 1", f"{speed_up:.2f}" if speed_up is not None
                              else row.missing or "skipped", "target ≥ 1.8 (2 workers)"])
    scales = [row for row in found if row.database != "SQLite"]
    if scales:
        most = max(scales, key=lambda r: (r.people, r.workers))  # the database shares its cores
        lines.append([f"12M people on 8 cores, from {most.database} at {most.people:,} "
                      f"with {most.workers} worker(s)", _duration(_city_seconds(most)),
                      "goal < 1 h (linear in cores)"])
    return lines


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    sizes = tuple(settings.sizes or (QUICK_SIZES if quick else DEFAULT_SIZES))
    workers = tuple(sorted(set(settings.workers or DEFAULT_WORKERS)))
    sign_seconds = QUICK_SIGN_SECONDS if quick else SIGN_SECONDS
    seeding, rows = [], []
    with bench_passphrase(), machine.unpinned(), postgres() as pg_url:
        cores = sorted(os.sched_getaffinity(0))
        for name, url in (("SQLite", None), ("PostgreSQL", pg_url)):
            counts = (1,) if name == "SQLite" else workers
            for size in sizes:
                if name == "PostgreSQL" and url is None:
                    rows += [Row(name, size, n, missing="skipped: no PostgreSQL")
                             for n in counts]
                    continue
                rounds = 1 if quick else next(
                    (r for limit, r in ROUNDS_UP_TO.items() if size <= limit), 1)
                seeded, measured = _measure(name, url, size, counts, rounds, sign_seconds,
                                            cores)
                seeding.append([name, f"{size:,}", f"{seeded.observations:,}",
                                f"{seeded.seconds:.1f}", f"{seeded.people_per_second:,.0f}"])
                rows += measured
    body = "\n".join([
        "### Re-issue at city scale: `healthcode-issuer reissue --all` against bare signing",
        "",
        f"Stores of {', '.join(f'{s:,}' for s in sizes)} people seeded by `bench/seed.py` "
        "(28 lifestyle observations each, audit log included); each run re-issues to "
        "everyone (a new run), the CLI in a subprocess allowed on N cores; bare signing by "
        f"N processes on the same cores for {sign_seconds:g} s just before and just after "
        "each run (their mean). People/s from the first batch to the last (the workers' "
        "start-up left out); the CLI's own figure, start to end, beside it. Median over "
        "rounds (best in brackets); rounds: 3 up to 100,000 people, 1 above. 12M on 8 "
        "cores: linear in cores from the row's rate per core (here the database shares the "
        "machine's cores with the workers; in a city it would have its own); SQLite, one "
        "process, on one core.",
        "",
        report.table(["database", "people", "workers", "re-issued people/s", "ms per person",
                      "CLI's own people/s", "bare signatures/s, same cores",
                      "ratio per core, median (max/max)", "vs 1 worker", "12M on 8 cores"],
                     [_table_row(row, rows) for row in rows]),
        "",
        "Seeding (`python -m bench.seed`, part of the set-up, not of the figures above):",
        "",
        report.table(["database", "people", "observations", "seconds", "people/s"],
                     seeding),
    ])
    return report.Section(body, _summary(rows))
