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
import resource
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
from issuer.store.db import DATABASE_URL_ENV

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
_DONE = re.compile(r"run \d+ done: (\d+) credentials issued in ([0-9.]+) s(?:, (\d+) people/s)?")


class NeedsWorkers(Exception):
    """This CLI has no ``--workers`` option yet."""


@dataclass
class Row:
    """The runs of one database, size and worker count."""

    database: str
    people: int
    workers: int
    seconds: list[float] = field(default_factory=list)  # the CLI's own, per run
    cpu: list[float] = field(default_factory=list)  # CPU seconds of the CLI and its workers
    start_up: list[float] = field(default_factory=list)  # the rest of the process's time
    bare: list[float] = field(default_factory=list)  # signatures/s on the same cores
    missing: str | None = None

    @property
    def rates(self) -> list[float]:
        return [self.people / s for s in self.seconds]

    @property
    def ratios(self) -> list[float]:
        return [r / b for r, b in zip(self.rates, self.bare, strict=True)]


def _reissue(home: Home, url: str, workers: int, cores: list[int], people: int
             ) -> tuple[float, float, float]:
    """Run ``reissue --all`` once; return its own seconds, the CPU seconds of its processes
    (not the database server's), and the seconds it took to start."""
    command = [CLI, "reissue", "--all", "--log", "--home", str(home.root)]
    if workers > 1:
        command += ["--workers", str(workers)]
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # the child inherits it: N cores for N workers
    try:
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run(command, env={**os.environ, DATABASE_URL_ENV: url},
                              capture_output=True, text=True, check=False)
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
    finally:
        os.sched_setaffinity(0, saved)
    if done.returncode == 2 and "--workers" in done.stderr:
        raise NeedsWorkers
    lines = done.stdout.strip().splitlines()
    found = _DONE.search(lines[-1]) if lines else None
    if done.returncode or found is None or int(found[1]) != people:
        raise RuntimeError(f"{' '.join(command[:4])} failed ({done.returncode}): "
                           f"{(lines or [''])[-1]} {done.stderr[-2000:]}")
    # people/s has more digits than the seconds (printed to a tenth) on short runs
    seconds = people / int(found[3]) if found[3] else float(found[2])
    return seconds, cpu, wall - seconds


def _children_cpu() -> float:
    """User and system CPU seconds of this process's finished children (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
                    seconds, cpu, start_up = _reissue(home, store_url, count, on, people)
                    bare = (before + signatures_per_second(home.root, on, sign_seconds)) / 2
                except NeedsWorkers:
                    row.missing = NEEDS_WORKERS
                    continue
                row.seconds.append(seconds)
                row.cpu.append(cpu)
                row.start_up.append(start_up)
                row.bare.append(bare)
                _say(f"{name}, {people:,} people, {count} worker(s), round {number + 1}: "
                     f"{people / seconds:,.0f} people/s, bare {bare:,.0f}/s")
    return seeded, list(rows.values())


def _say(line: str) -> None:
    """Progress on stderr (a run at a million people takes hours); the report is stdout."""
    print(f"reissue: {line}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def _city_seconds(row: Row) -> float:
    """12M people on 8 cores at this row's rate per core (on one process for SQLite)."""
    cores = 1 if row.database == "SQLite" else CITY_CORES
    return CITY / (statistics.median(row.rates) / row.workers * cores)


def _speed_up(row: Row, rows: list[Row]) -> float | None:
    one = next((r for r in rows if r.database == row.database and r.people == row.people
                and r.workers == 1 and r.seconds), None)
    if row.workers == 1 or one is None or not row.seconds:
        return None
    return statistics.median(r / o for r, o in zip(row.rates, one.rates, strict=False))


def _table_row(row: Row, rows: list[Row]) -> list[str]:
    head = [row.database, f"{row.people:,}", str(row.workers)]
    if row.missing or not row.seconds:
        return [*head, row.missing or "skipped", "", "", "", "", "", ""]
    speed_up = _speed_up(row, rows)
    return [*head, f"{statistics.median(row.rates):,.0f} ({max(row.rates):,.0f})",
            f"{_ms(row):.2f}", f"{1e3 * statistics.median(row.cpu) / row.people:.2f}",
            f"{statistics.median(row.bare):,.0f}",
            f"**{report.ratio(statistics.median(row.ratios))}** "
            f"({report.ratio(max(row.rates) / max(row.bare))})",
            f"{speed_up:.2f}×" if speed_up is not None else "",
            _duration(_city_seconds(row)) + (" (one process)" if row.database == "SQLite"
                                             else "")]


def _ms(row: Row) -> float:
    return 1e3 * statistics.median(row.seconds) / row.people


def _summary(rows: list[Row]) -> list[list[str]]:
    found = [row for row in rows if row.seconds]
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
            lines.append([f"re-issue, {database}: ms per person at {large.people:,} over "
                          f"{small.people:,}", f"{_ms(large) / _ms(small):.2f}",
                          "target: flat (1.00)"])
        for row in rows:
            if row.database == database and row.workers > 1 and row.people == large.people:
                speed_up = _speed_up(row, rows)
                lines.append([f"re-issue {row.people:,} people, {database}: {row.workers} "
                              "workers vs 1", f"{speed_up:.2f}" if speed_up is not None
                              else row.missing or "skipped", "target ≥ 1.8 (2 workers)"])
    scales = [row for row in found if row.database != "SQLite"]
    if scales:
        best = max(scales, key=lambda r: (r.people, statistics.median(r.rates) / r.workers))
        lines.append([f"12M people on 8 cores, from {best.database} at {best.people:,} "
                      f"with {best.workers} worker(s)", _duration(_city_seconds(best)),
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
    start_up = [s for row in rows for s in row.start_up]
    body = "\n".join([
        "### Re-issue at city scale: `healthcode-issuer reissue --all` against bare signing",
        "",
        f"Stores of {', '.join(f'{s:,}' for s in sizes)} people seeded by `bench/seed.py` "
        "(28 lifestyle observations each, audit log included); each run re-issues to "
        "everyone (a new run), the CLI in a subprocess on N cores; bare signing by N "
        f"processes on the same cores for {sign_seconds:g} s next to each run. Median over "
        "rounds (best in brackets); rounds: 3 up to 100,000 people, 1 above. 12M on 8 "
        "cores: linear in cores from the row's rate per core (here the database shares the "
        "machine's cores with the workers; in a city it would have its own); SQLite, one "
        "process, on one core. Not counted: the CLI's start-up, median "
        f"{statistics.median(start_up) if start_up else 0:.1f} s a run.",
        "",
        report.table(["database", "people", "workers", "re-issued people/s", "ms per person",
                      "CPU ms per person (CLI)", "bare signatures/s, same cores",
                      "ratio per core, median (max/max)", "vs 1 worker", "12M on 8 cores"],
                     [_table_row(row, rows) for row in rows]),
        "",
        "Seeding (`python -m bench.seed`, part of the set-up, not of the figures above):",
        "",
        report.table(["database", "people", "observations", "seconds", "people/s"],
                     seeding),
    ])
    return report.Section(body, _summary(rows))
