"""Public-log leaves appended through the issuer's own write path (issue 18): 1,000,000 leaves
on SQLite and on PostgreSQL, against the same audit entries appended with no leaf.

Two stores side by side, each opened as the issuer opens it (:meth:`issuer.store.Store.open`:
a SQLite file in WAL mode, or a PostgreSQL schema of its own). Into the first the entries go
through the store's write sessions, which carry the public log's publisher, so each gets its
leaf (:mod:`issuer.store.public_log`); into the second the same entries go through a session
the store did not open (no publisher: no leaf), the baseline. The entries are those a re-issue
appends (``credential.issue``, a leaf each). Rounds alternate between the two stores, and which
goes first, and a ratio is the median of the per-round ratios (leaves/s with a leaf over
entries/s without): first ``audit.append_many`` in transactions of the re-issue's batch (500)
up to ``--leaves``, then single ``audit.append`` calls, a transaction each (an API write and its
entry), one for every 50 leaves.

Then, on disk: the ``log_leaf`` table and its indexes per leaf (SQLite ``dbstat``; PostgreSQL
``pg_total_relation_size``), and the whole store with leaves less the store without, per leaf.
Then the first checkpoint at ``--leaves`` (:meth:`issuer.service.publiclog.PublicLog.checkpoint`
building its tiles from the table): cold (a newly opened store and log, nothing kept in
memory; the OS's file cache and PostgreSQL's buffers stay warm), warm (the same log again: its
full tiles kept), and at the size after the single appends (a minute later, as it serves one);
against reading every leaf hash in one query and ``root_hash`` over them in memory.

PostgreSQL: as ``python -m bench reissue`` finds it (bench/pgserver.py), else skipped.
"""

from __future__ import annotations

import base64
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from issuer.keys.home import Home
from issuer.service.publiclog import PublicLog
from issuer.service.reissue import DEFAULT_BATCH
from issuer.store import Store, audit, public_log
from issuer.store.db import LogLeaf
from issuer.store.pii import DataKeys
from verifier.tlog.merkle import root_hash
from verifier.tlog.note import Ed25519Signer

from . import machine, report
from .pgserver import own_schema, postgres
from .timing import Settings

LEAVES, QUICK_LEAVES = 1_000_000, 2_000
ROUNDS, SINGLE_ROUNDS, CHECKPOINT_ROUNDS = 20, 10, 3
SINGLES_EVERY = 50  # one single append for every 50 leaves appended in batches
NOW, TTL, PEOPLE = 1_790_000_000, 7 * 86_400, 100_000
ACTOR, POLICY, ORIGIN = "cli:reissue", "hangzhou-2020-v3", "bench.example/log"
REASON = f"green 87 under {POLICY}, valid to 2026-09-20T12:00:00Z (re-issue run 1)"
Write = Callable[[], AbstractContextManager[Session]]


def _entries(first: int, count: int) -> list[audit.Pending]:
    """Entries ``first`` to ``first + count`` as a re-issue appends them, a leaf each."""
    out = []
    for n in range(first, first + count):
        cti = f"{n:032x}"
        out.append(audit.Pending(ACTOR, "credential.issue", REASON, f"p-{n % PEOPLE:012d}",
                                 {"cti": cti, "policy_id": POLICY, "exp": NOW + TTL, "run": 1,
                                  "mac": hashlib.sha256(cti.encode()).hexdigest()}, NOW))
    return out


def in_batches(write: Write, entries: list[audit.Pending]) -> None:
    for at in range(0, len(entries), DEFAULT_BATCH):
        with write() as session:
            audit.append_many(session, entries[at:at + DEFAULT_BATCH])


def _one_by_one(write: Write, entries: list[audit.Pending]) -> None:
    for e in entries:
        with write() as session:
            audit.append(session, e.actor, e.action, e.reason, e.person_id, e.details, e.at)


@dataclass
class Rates:
    """Per round: leaves/s with a leaf, entries/s without."""

    leaves: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)

    @property
    def ratios(self) -> list[float]:
        return [a / b for a, b in zip(self.leaves, self.bare, strict=True)]


@dataclass
class Result:
    """What one database gave."""

    database: str
    leaves: int = 0
    singles: int = 0
    batched: Rates = field(default_factory=Rates)
    single: Rates = field(default_factory=Rates)
    leaf_bytes: int = 0  # log_leaf and its indexes
    store_bytes: tuple[int, int] = (0, 0)  # the store with leaves, the one without
    checkpoint: dict[str, list[float]] = field(default_factory=dict)
    skipped: str | None = None


def interleaved(how: Callable[[Write, list[audit.Pending]], None], writes: tuple[Write, Write],
                 first: int, total: int, rounds: int, rates: Rates, say: str) -> None:
    """Append ``total`` entries from number ``first`` in ``rounds`` rounds, the same chunk to
    each store, alternating which goes first."""
    chunk = -(-total // rounds)
    for number, start in enumerate(range(first, first + total, chunk)):
        entries = _entries(start, min(chunk, first + total - start))
        sides = [(writes[0], rates.leaves), (writes[1], rates.bare)]
        for write, into in sides if number % 2 == 0 else sides[::-1]:
            started = time.perf_counter()
            how(write, entries)
            into.append(len(entries) / (time.perf_counter() - started))
        _say(f"{say} {start - first + len(entries):,}/{total:,}: {rates.leaves[-1]:,.0f} "
             f"leaves/s, {rates.bare[-1]:,.0f} without")


def _bare_writes(store: Store) -> Write:
    """Write sessions of ``store``'s engine that the store did not open: no publisher."""
    plain = sessionmaker(store.engine, expire_on_commit=False)
    with plain.begin() as session:
        assert public_log.publisher(session) is None
    return plain.begin


@contextmanager
def _stores(server: str | None, folder: Path) -> Iterator[tuple[str, str]]:
    """The URLs of two new empty stores (SQLite files in ``folder``, or two schemas)."""
    with own_schema(server) as leaves, own_schema(server) as bare:
        yield (leaves or f"sqlite:///{folder / 'leaves.db'}",
               bare or f"sqlite:///{folder / 'bare.db'}")


def _leaf_table_bytes(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        return int(session.scalar(text("SELECT pg_total_relation_size('log_leaf')")))
    names = list(session.scalars(text("SELECT name FROM sqlite_master "
                                      "WHERE tbl_name = 'log_leaf'")))
    return int(session.scalar(text("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                                   f"({', '.join(repr(n) for n in names)})")))


def _store_bytes(session: Session) -> int:
    """Every table and index of the store (SQLite: the file as checkpointed)."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.scalar(text(
            "SELECT sum(pg_total_relation_size(oid)) FROM pg_class "
            "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'")))
    return int(session.scalar(text("SELECT page_count * page_size "
                                   "FROM pragma_page_count(), pragma_page_size()")))


def _checkpoints(home: Home, url: str, keys: DataKeys, size: int, result: Result) -> None:
    """The checkpoint at ``size`` from a newly opened store, cold then warm; one at the size
    now; the bare reference. Each root checked against the reference's."""
    signer = Ed25519Signer(ORIGIN, ed25519.Ed25519PrivateKey.generate())
    times = result.checkpoint
    for _ in range(CHECKPOINT_ROUNDS):
        with Store.open(home, url, data_keys=keys) as store:
            started = time.perf_counter()
            with store.reading() as session:
                root = root_hash([bytes(h) for h in session.scalars(
                    select(LogLeaf.hash).where(LogLeaf.idx < size).order_by(LogLeaf.idx))])
            times.setdefault("bare", []).append(time.perf_counter() - started)
        with Store.open(home, url, data_keys=keys) as store:
            log = PublicLog(store, signer, ORIGIN)
            for name, at in (("cold", size), ("warm", size), ("grown", None)):
                started = time.perf_counter()
                note = log.checkpoint(at)
                times.setdefault(name, []).append(time.perf_counter() - started)
                assert at is None or f"\n{base64.b64encode(root).decode()}\n" in note, note
    _say(f"{result.database}: checkpoint at {size:,} cold {min(times['cold']):.2f} s, warm "
         f"{min(times['warm']):.3f} s")


def measure(database: str, server: str | None, leaves: int, rounds: int = ROUNDS,
            single_rounds: int = SINGLE_ROUNDS) -> Result:
    """Everything above on one database (``server``: PostgreSQL's URL; None: SQLite)."""
    result = Result(database, leaves, max(1, leaves // SINGLES_EVERY))
    keys = DataKeys.generate()
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder, \
            _stores(server, Path(folder)) as (with_leaves, without):
        home = Home(Path(folder))
        with Store.open(home, with_leaves, data_keys=keys) as store, \
                Store.open(home, without, data_keys=keys) as bare:
            writes = (store.writing, _bare_writes(bare))
            interleaved(in_batches, writes, 0, leaves, rounds, result.batched,
                         f"{database}, batches of {DEFAULT_BATCH}:")
            interleaved(_one_by_one, writes, leaves, result.singles, single_rounds,
                         result.single, f"{database}, one by one:")
            with store.reading() as session:
                last = session.scalar(select(LogLeaf.idx).order_by(LogLeaf.idx.desc()).limit(1))
                assert last == leaves + result.singles - 1, last
                result.leaf_bytes = _leaf_table_bytes(session)
                ours = _store_bytes(session)
            with bare.reading() as session:
                assert session.scalar(select(LogLeaf.idx).limit(1)) is None
                result.store_bytes = (ours, _store_bytes(session))
        _checkpoints(home, with_leaves, keys, leaves, result)
    return result


def _say(line: str) -> None:
    """Progress on stderr; the report is stdout."""
    print(f"logappend: {line}", file=sys.stderr, flush=True)


def _rate_row(result: Result, how: str, count: int, rates: Rates) -> list[str]:
    return [result.database, how, f"{count:,}",
            f"{statistics.median(rates.leaves):,.0f} ({rates.leaves[0]:,.0f} → "
            f"{rates.leaves[-1]:,.0f})", f"{statistics.median(rates.bare):,.0f}",
            f"**{report.ratio(statistics.median(rates.ratios))}** "
            f"({report.ratio(min(rates.ratios))}–{report.ratio(max(rates.ratios))})"]


def section(results: list[Result]) -> report.Section:
    """The report of :func:`measure`'s results."""
    rates, disk, checkpoints, summary = [], [], [], []
    for r in results:
        if r.skipped:
            rates.append([r.database, r.skipped, "", "", "", ""])
            summary.append([f"log append, {r.database}", "skipped", ""])
            continue
        total = r.leaves + r.singles
        rates.append(_rate_row(r, f"`append_many`, {DEFAULT_BATCH} a transaction", r.leaves,
                               r.batched))
        rates.append(_rate_row(r, "`append`, one a transaction", r.singles, r.single))
        disk.append([r.database, f"{total:,}", f"{r.leaf_bytes / total:.0f}",
                     f"{(r.store_bytes[0] - r.store_bytes[1]) / total:.0f}",
                     f"{r.store_bytes[0] / 2**20:,.0f} / {r.store_bytes[1] / 2**20:,.0f}"])
        med = {name: statistics.median(times) for name, times in r.checkpoint.items()}
        checkpoints.append([r.database, f"{med['cold']:.2f} ({min(r.checkpoint['cold']):.2f})",
                            f"{med['warm'] * 1e3:.1f} ({min(r.checkpoint['warm']) * 1e3:.1f})",
                            f"{med['grown'] * 1e3:.1f}", f"{med['bare']:.2f}",
                            report.ratio(med['bare'] / med['cold'])])
        summary.append([f"log append, {r.database}: leaves/s in batches of {DEFAULT_BATCH}, "
                        f"vs the same entries without a leaf",
                        f"{statistics.median(r.batched.leaves):,.0f}/s; "
                        f"{report.ratio(statistics.median(r.batched.ratios))}",
                        f"one by one {report.ratio(statistics.median(r.single.ratios))}; "
                        f"{r.leaf_bytes / total:.0f} B a leaf; first checkpoint at "
                        f"{r.leaves:,}: {med['cold']:.1f} s cold, {med['warm'] * 1e3:.0f} ms "
                        "warm"])
    done = [r for r in results if not r.skipped]
    leaves = done[0].leaves if done else 0
    body = "\n".join([
        f"### Public-log leaves through the store's audit append: {leaves:,} leaves",
        "",
        "Re-issue-like `credential.issue` entries appended by `issuer.store.audit` into a "
        "store whose write sessions carry the log's publisher (a leaf each), interleaved "
        "round by round with the same entries appended into a second store through a session "
        f"without one (no leaf). Rounds: {ROUNDS} of batches, {SINGLE_ROUNDS} one by one; "
        "leaves/s median over rounds (first → last round); ratio = leaves/s over entries/s "
        "without, median of the per-round ratios (min–max).",
        "",
        report.table(["database", "appended as", "leaves", "leaves/s, median (first → last)",
                      "entries/s without a leaf", "ratio, median (min–max)"], rates,
                     align="llrrrr"),
        "",
        "On disk at the end (`log_leaf` with its indexes; the store with leaves less the "
        "store without, over the leaves: the audit entries' `\"log\"` index included):",
        "",
        report.table(["database", "leaves", "bytes a leaf, `log_leaf`",
                      "bytes a leaf, whole store", "MiB, stores with / without"], disk),
        "",
        f"`PublicLog.checkpoint()` at {leaves:,} leaves, {CHECKPOINT_ROUNDS} rounds: cold (a "
        "newly opened store and log; the OS file cache and the server's buffers warm), warm "
        "(again, full tiles kept), and at the size after the single appends; reference: every "
        "leaf hash in one query and `root_hash` in memory:",
        "",
        report.table(["database", "cold, s, median (min)", "warm, ms, median (min)",
                      "grown, warm, ms", "reference, s", "reference / cold"], checkpoints),
    ])
    return report.Section(body, summary)


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    leaves = settings.leaves or (QUICK_LEAVES if quick else LEAVES)
    results = []
    with ExitStack() as stack:
        with machine.unpinned():  # a throwaway server gets every core; this process one
            server = stack.enter_context(postgres())
        for name, url in (("SQLite", None), ("PostgreSQL", server)):
            if name == "PostgreSQL" and url is None:
                results.append(Result(name, skipped="skipped: no PostgreSQL"))
                continue
            results.append(measure(name, url, leaves))
    return section(results)
