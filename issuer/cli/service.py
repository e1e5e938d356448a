"""``healthcode-issuer`` commands for the service: serve, token, audit (verify, head), reissue."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import BinaryIO

import click

from verifier.timefmt import iso

from ..keys.home import Home
from ..service.issuance import DEFAULT_TTL, AuditReport
from ..service.reissue import DEFAULT_BATCH, open_run, run_batches
from .common import home_option, open_service

DEFAULT_PORT = 8080
MAX_HEAD_BYTES = 64 * 1024  # a signed head is well under 1 KiB
_PLURAL = {"person": "people", "observation": "observations", "credential": "credentials"}


@click.command(epilog="Example: healthcode-issuer serve --port 8080  (then open /api/docs)")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(home_dir: Path | None, host: str, port: int, threads: int) -> None:
    """Run the issuer service with the waitress production WSGI server."""
    import waitress

    from ..web import create_app

    home = Home.resolve(home_dir)
    app = create_app({"HOME": str(home.root)} | _env_config())
    click.echo(f"healthcode issuer on http://{host}:{port}/  (API docs: /api/docs, "
               f"OpenAPI: /api/openapi.json, policy: /policy/{app.config['POLICY']})")
    waitress.serve(app, host=host, port=port, threads=threads, ident="healthcode")


def _env_config() -> dict[str, str]:
    import os

    prefix = "HEALTHCODE_"
    return {k[len(prefix):]: v for k, v in os.environ.items()
            if k.startswith(prefix) and k[len(prefix):] in _ENV_SETTINGS}


#: The settings ``serve`` takes from ``HEALTHCODE_*`` environment variables (README).
_ENV_SETTINGS = ("DATABASE_URL", "RANKING_MIN_MEMBERS", "POLICY", "CODE_SENDER",
                 "RATELIMIT_STORAGE", "SIGNIN_CODE_LIMIT", "SIGNIN_GUESS_LIMIT",
                 "SIGNIN_TOTAL_LIMIT", "DECLARE_LIMIT")


@click.group()
def token() -> None:
    """API tokens for authorities (bearer tokens with scopes read, write, admin)."""


@token.command("create", epilog="Example: healthcode-issuer token create --scope write "
                                "--label 'city lab'")
@home_option
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="read",
              show_default=True, help="write implies read; admin implies write.")
@click.option("--label", default="", help="Who the token is for.")
def token_create(home_dir: Path | None, scope: str, label: str) -> None:
    """Create a token and print its secret (shown once; stored only as a hash)."""
    service = open_service(home_dir)
    token_id, secret = service.create_token(scope, label, int(time.time()))
    click.echo(f"token {token_id} ({scope}) created. Secret, shown only now:")
    click.echo(secret)


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify", epilog="Example: healthcode-issuer audit verify --against head.json")
@home_option
@click.option("--against", "against_file", type=click.File("rb"), default=None,
              help="A head saved before (`audit head`, or /trust/audit-head): fail if the log "
                   "was cut short or rewritten since.")
def audit_verify(home_dir: Path | None, against_file: BinaryIO | None) -> None:
    """Check the audit log's hash chain, the tables against what it recorded, and (with
    --against) a head saved before; print the head; report every problem (exit 1)."""
    from ..service.auditlog import HeadError, read_head

    service = open_service(home_dir)
    saved = None
    if against_file is not None:
        try:
            saved = read_head(service, against_file.read(MAX_HEAD_BYTES))
        except HeadError as exc:
            click.echo(f"audit head REFUSED: {exc.problem}: {exc}", err=True)
            sys.exit(1)
    report = service.audit_report((saved.size, saved.hash) if saved is not None else None)
    size, hash_ = report.head
    if report.broken is not None:
        click.echo(f"audit chain BROKEN at {report.broken}", err=True)
    else:
        click.echo(f"audit chain OK: {report.count} entries")
    click.echo(f"head: size {size}, hash {hash_}")
    if report.broken is None:
        _report_tables(report)
    if saved is not None:
        if report.against is None:
            click.echo(f"against the head of {iso(saved.iat)} (size {saved.size}, key "
                       f"{saved.kid}): held")
        else:
            click.echo(f"audit head MISMATCH against the head of {iso(saved.iat)}: "
                       f"{report.against}", err=True)
    if not report.ok:
        sys.exit(1)


def _report_tables(report: AuditReport) -> None:
    tables = report.tables
    checked = ", ".join(f"{n} {_PLURAL.get(table, table)}" for table, n in tables.checked.items())
    if tables.count == 0:
        click.echo(f"tables OK: {checked} match the log")
    else:
        click.echo(f"audit tables DIFFER from the log: {tables.count} problems "
                   f"(checked {checked})", err=True)
        for mismatch in tables.mismatches:
            click.echo(f"  {mismatch}", err=True)
        if tables.count > len(tables.mismatches):
            click.echo(f"  … and {tables.count - len(tables.mismatches)} more", err=True)
    if report.legacy:
        click.echo(f"note: {report.legacy} entries were written before the log kept record "
                   f"MACs: their rows' values are not checked")


@audit.command("head", epilog="Example: healthcode-issuer audit head > head.json")
@home_option
def audit_head(home_dir: Path | None) -> None:
    """Print the log's head (size, last hash, time), signed by the issuer: keep it somewhere
    else, and check the log against it later with `audit verify --against`."""
    from ..service.auditlog import signed_head

    service = open_service(home_dir)
    click.echo(signed_head(service).decode(), nl=False)


@click.command(epilog="Example: healthcode-issuer reissue --all   (run it again after a crash: "
                     "it resumes)")
@home_option
@click.option("--all", "everyone", is_flag=True, help="Re-issue to everyone (required).")
@click.option("--batch", "batch_size", default=DEFAULT_BATCH, show_default=True,
              type=click.IntRange(1, 10_000), help="People per transaction.")
@click.option("--ttl-hours", default=DEFAULT_TTL // 3600, show_default=True,
              type=click.IntRange(1, 24 * 30), help="Validity of the new credentials.")
@click.option("--new", is_flag=True,
              help="Abandon an unfinished run (closed as failed) instead of resuming it.")
@click.option("--log", "log_batches", is_flag=True,
              help="One line per committed batch instead of a progress bar (for logs).")
def reissue(home_dir: Path | None, everyone: bool, batch_size: int, ttl_hours: int, new: bool,
            log_batches: bool) -> None:
    """Re-score everyone and issue fresh credentials, in batches, resumable after a crash."""
    if not everyone:
        raise click.UsageError("say --all to re-issue to everyone")
    service = open_service(home_dir)
    actor = "cli:reissue"
    run = open_run(service, actor=actor, new=new)
    state = "resuming" if run.resumed else "starting"
    click.echo(f"{state} re-issue run {run.run_id}: {run.done} of {run.total} already issued")
    started, done = time.perf_counter(), run.done
    if log_batches:
        def logged(count: int) -> None:
            nonlocal done
            done += count
            click.echo(f"run {run.run_id}: {done}/{run.total}")

        issued = run_batches(service, run.run_id, actor=actor, batch_size=batch_size,
                             ttl=ttl_hours * 3600, on_batch=logged)
    else:
        with click.progressbar(length=run.total, label=f"run {run.run_id}",
                               show_pos=True, show_eta=True) as bar:
            bar.update(run.done)
            issued = run_batches(service, run.run_id, actor=actor, batch_size=batch_size,
                                 ttl=ttl_hours * 3600, on_batch=bar.update)
    elapsed = time.perf_counter() - started
    rate = f", {issued / elapsed:.0f} people/s" if issued and elapsed > 0 else ""
    click.echo(f"run {run.run_id} done: {issued} credentials issued in {elapsed:.1f} s{rate}")
    service.close()
