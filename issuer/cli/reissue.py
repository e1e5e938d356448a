"""``healthcode-issuer reissue``: re-score everyone and issue fresh credentials, in slices,
with as many workers as it takes (:mod:`issuer.service.reissue`).

``--all`` opens a run (or resumes the running one) and works on it with ``--workers N``
processes on this machine; ``--join RUN`` adds a worker from any machine with the same
database, key and policy. The progress shown is the run's, over every worker.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import click

from ..keys.home import Home
from ..service.issuance import DEFAULT_TTL, IssuerService
from ..service.reissue import (
    DEFAULT_BATCH,
    DEFAULT_LEASE,
    RunError,
    joined_run,
    open_run,
    progress,
    run_batches,
    run_status,
)
from .common import fail, home_option, open_service

ACTOR = "cli:reissue"
#: Seconds between two looks at the run's progress on screen.
SHOW_EVERY = 0.5


class Shown:
    """The run's progress on screen: a bar, or one line per change (``--log``), or nothing."""

    def __init__(self, service: IssuerService, run_id: int, done: int, total: int, *,
                 log: bool, quiet: bool) -> None:
        self.service, self.run_id, self.total, self.log, self.quiet = (
            service, run_id, total, log, quiet)
        self.base = done - progress(service, run_id).issued  # issued before slices existed
        self.done, self.started, self.seen_at = done, done, 0.0
        self.bar = None
        if not (log or quiet):
            self.bar = click.progressbar(length=total, label=f"run {run_id}", show_pos=True,
                                         show_eta=True)
            self.bar.__enter__()
            self.bar.update(done)

    def look(self, force: bool = False) -> None:
        """Read the run's progress (at most every SHOW_EVERY seconds unless ``force``)."""
        if self.quiet or (not force and time.monotonic() - self.seen_at < SHOW_EVERY):
            return
        self.seen_at = time.monotonic()
        done = self.base + progress(self.service, self.run_id).issued
        if done == self.done:
            return
        if self.bar is not None:
            self.bar.update(done - self.done)
        else:
            click.echo(f"run {self.run_id}: {done}/{self.total}")
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command(epilog="Examples: healthcode-issuer reissue --all --workers 4   (run it again "
                      "after a crash: it resumes);  healthcode-issuer reissue --join 7   "
                      "(on another machine)")
@home_option
@click.option("--all", "everyone", is_flag=True,
              help="Re-issue to everyone: start a run, or resume the running one.")
@click.option("--join", "join_run", type=click.IntRange(1), default=None, metavar="RUN",
              help="Work on the running run RUN (e.g. from another machine with the same "
                   "database, key and policy).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on this machine (more than one needs PostgreSQL).")
@click.option("--batch", "batch_size", default=DEFAULT_BATCH, show_default=True,
              type=click.IntRange(1, 10_000), help="People per slice (one transaction each).")
@click.option("--ttl-hours", default=DEFAULT_TTL // 3600, show_default=True,
              type=click.IntRange(1, 24 * 30), help="Validity of the new credentials.")
@click.option("--new", is_flag=True,
              help="Abandon an unfinished run (closed as failed) instead of resuming it.")
@click.option("--lease", default=DEFAULT_LEASE, show_default=True,
              type=click.IntRange(1, 3600),
              help="Seconds a stalled worker may hold a slice before PostgreSQL ends its "
                   "session and the slice goes to another worker.")
@click.option("--log", "log_batches", is_flag=True,
              help="One line per step of progress instead of a bar (for logs).")
@click.option("--quiet", is_flag=True, hidden=True, help="No output (workers of --workers).")
def reissue(home_dir: Path | None, everyone: bool, join_run: int | None, workers: int,
            batch_size: int, ttl_hours: int, new: bool, lease: int, log_batches: bool,
            quiet: bool) -> None:
    """Re-score everyone and issue fresh credentials, in slices, resumable after a crash."""
    if everyone == (join_run is not None):
        raise click.UsageError("say --all to re-issue to everyone, or --join RUN to work on "
                               "a running run")
    if join_run is not None and new:
        raise click.UsageError("--new starts a run; --join works on one")
    service = open_service(home_dir)
    try:
        if service.store.engine.dialect.name != "postgresql" and (
                workers > 1 or join_run is not None):
            fail(ValueError("SQLite has one writer at a time: --workers and --join need "
                            "PostgreSQL (HEALTHCODE_DATABASE_URL)"))
        if join_run is not None:
            run = joined_run(service, join_run)
            run_id, done, total = run.run_id, run.done, run.total
            if not quiet:
                click.echo(f"joining re-issue run {run_id}: {done} of {total} issued")
        else:
            run = open_run(service, actor=ACTOR, new=new, batch_size=batch_size,
                           ttl=ttl_hours * 3600)
            run_id, done, total = run.run_id, run.done, run.total
            state = "resuming" if run.resumed else "starting"
            click.echo(f"{state} re-issue run {run_id}: {done} of {total} already issued")
        shown = Shown(service, run_id, done, total, log=log_batches, quiet=quiet)
        started = time.perf_counter()
        try:
            if workers == 1:
                run_batches(service, run_id, actor=ACTOR, batch_size=batch_size,
                            ttl=ttl_hours * 3600, lease=lease,
                            on_batch=lambda _: shown.look(force=log_batches), on_lost=_lost)
            else:
                _spawn(service, run_id, workers, lease, home_dir, shown)
        finally:
            shown.look(force=True)
            shown.close()
        _summary(service, run_id, shown, time.perf_counter() - started, quiet)
    except RunError as exc:
        fail(exc)
    finally:
        service.close()


def _lost(exc: Exception) -> None:
    click.echo("a slice was lost: the database ended this worker's transaction (stalled longer "
               f"than --lease?); carrying on with the next ({type(exc).__name__})", err=True)


def _spawn(service: IssuerService, run_id: int, workers: int, lease: int,
           home_dir: Path | None, shown: Shown) -> None:
    """Run ``workers`` processes of ``reissue --join RUN`` and show the run until they end."""
    home = str(Home.resolve(home_dir).root)
    command = [sys.executable, "-m", "issuer.cli", "reissue", "--join", str(run_id),
               "--quiet", "--lease", str(lease), "--home", home]
    processes = [subprocess.Popen(command) for _ in range(workers)]  # noqa: S603 (our own CLI)
    try:
        while any(p.poll() is None for p in processes):
            time.sleep(SHOW_EVERY / 5)
            shown.look()
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
            process.wait()
    lost = [p.returncode for p in processes if p.returncode != 0]
    if lost:
        click.echo(f"{len(lost)} of {workers} workers stopped early (exit "
                   f"{', '.join(map(str, lost))})", err=True)


def _summary(service: IssuerService, run_id: int, shown: Shown, elapsed: float,
             quiet: bool) -> None:
    status = run_status(service, run_id)
    issued = shown.done - shown.started
    if status != "done":
        fail(RunError(f"re-issue run {run_id} is {status}: {shown.done} of {shown.total} "
                      "issued; `healthcode-issuer reissue --all` resumes it"))
    if not quiet:
        rate = f", {issued / elapsed:.0f} people/s" if issued and elapsed > 0 else ""
        click.echo(f"run {run_id} done: {issued} credentials issued in {elapsed:.1f} s{rate}")
