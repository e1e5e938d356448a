"""``healthcode-issuer`` commands for the service: serve, token, audit (verify, head)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import BinaryIO

import click

from verifier.timefmt import parse_duration, shown

from ..keys.home import Home
from ..service import NotFound
from ..service.issuance import AuditReport
from ..service.retention import DailyPurge
from .common import fail, home_option, open_service

DEFAULT_PORT = 8080
MAX_HEAD_BYTES = 64 * 1024  # a signed head is well under 1 KiB
_PLURAL = {"person": "people", "observation": "observations", "credential": "credentials",
           "log_leaf": "public log leaves"}
#: Sockets waitress keeps open at once. Idle ones cost a file descriptor and no thread, so the
#: limit is well above what a flood of half-open connections reaches before they time out
#: (at waitress's default of 100, 110 idle sockets stopped the issuer).
DEFAULT_CONNECTION_LIMIT = 1000
#: Seconds a connection may sit idle (no bytes in or out) before waitress closes it.
DEFAULT_CHANNEL_TIMEOUT = 30
#: Lifetime of a new API token unless --expires says otherwise; and the longest allowed.
DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME = "90d", 5 * 365 * 86_400
#: HEALTHCODE_* variables `serve` passes to the app (README).
ENV_SETTINGS = ("DATABASE_URL", "RANKING_MIN_MEMBERS", "POLICY", "PUBLIC_URL", "CODE_SENDER",
                "RATELIMIT_STORAGE", "SIGNIN_CODE_LIMIT", "SIGNIN_GUESS_LIMIT",
                "SIGNIN_TOTAL_LIMIT", "DECLARE_LIMIT")

#: Seconds between the running service's purges (``$HEALTHCODE_PURGE_EVERY``).
PURGE_EVERY, PURGE_EVERY_ENV = 86_400, "HEALTHCODE_PURGE_EVERY"


@click.command(epilog="Example: healthcode-issuer serve --port 8080  (then open /api/docs)")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
@click.option("--connection-limit", default=DEFAULT_CONNECTION_LIMIT, show_default=True,
              type=click.IntRange(10, 100_000),
              help="Connections held open at once (idle ones included); more wait.")
@click.option("--channel-timeout", default=DEFAULT_CHANNEL_TIMEOUT, show_default=True,
              type=click.IntRange(1, 3600), help="Seconds before an idle connection is closed.")
@click.option("--public-url", envvar="HEALTHCODE_PUBLIC_URL", default=None,
              help="Where holders reach the service, e.g. https://health.example; enrolment "
                   "links are made from it [default: $HEALTHCODE_PUBLIC_URL, else "
                   "http://HOST:PORT].")
def serve(home_dir: Path | None, host: str, port: int, threads: int, connection_limit: int,
          channel_timeout: int, public_url: str | None) -> None:
    """Run the issuer service with the waitress production WSGI server."""
    import waitress

    from ..web import create_app

    home = Home.resolve(home_dir)
    config = {"HOME": str(home.root)} | _env_config()
    config["PUBLIC_URL"] = public_url or f"http://{_url_host(host)}:{port}"
    try:
        app = create_app(config)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--public-url") from None
    click.echo(f"healthcode issuer on http://{_url_host(host)}:{port}/  (API docs: /api/docs, "
               f"OpenAPI: /api/openapi.json, policy: /policy/{app.config['POLICY']}; "
               f"public URL {app.config['PUBLIC_URL']})")
    # What is past the policy's retention goes once a day (the first a minute after start).
    every = float(os.environ.get(PURGE_EVERY_ENV) or PURGE_EVERY)
    DailyPurge(app.extensions["healthcode"], every, first=min(60.0, every)).start()
    # Idle connections are swept every cleanup_interval: no longer than the timeout itself.
    waitress.serve(app, host=host, port=port, threads=threads, ident="healthcode",
                   connection_limit=connection_limit, channel_timeout=channel_timeout,
                   cleanup_interval=min(30, channel_timeout))


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _env_config() -> dict[str, str]:
    import os

    prefix = "HEALTHCODE_"
    return {k[len(prefix):]: v for k, v in os.environ.items()
            if k.startswith(prefix) and k[len(prefix):] in ENV_SETTINGS}


@click.group()
def token() -> None:
    """API tokens for authorities (bearer tokens with scopes read, write, review, admin)."""


class LifetimeType(click.ParamType):
    """A token lifetime: a duration (``90d``, ``12h``) up to five years, or ``never``."""

    name = "DURATION|never"

    def convert(self, value, param, ctx) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if str(value).strip().lower() == "never":
            return None
        try:
            seconds = parse_duration(str(value).strip())
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if seconds > MAX_TOKEN_LIFETIME:
            self.fail("at most 1825d (five years); say 'never' for a token that does not "
                      "expire", param, ctx)
        return seconds


@token.command("create", epilog="Example: healthcode-issuer token create --scope write "
                                "--label 'city lab' --expires 90d")
@home_option
@click.option("--scope", type=click.Choice(["read", "write", "review", "admin"]),
              default="read", show_default=True,
              help="write and review (decide appeals) imply read; admin implies all.")
@click.option("--label", default="", help="Who the token is for.")
@click.option("--expires", "lifetime", type=LifetimeType(), default=DEFAULT_TOKEN_LIFETIME,
              show_default=True, help="Refused after this long (30d, 12h, …), or 'never'.")
def token_create(home_dir: Path | None, scope: str, label: str, lifetime: int | None) -> None:
    """Create a token and print its secret (shown once; stored only as a hash)."""
    service = open_service(home_dir)
    now = int(time.time())
    expires_at = None if lifetime is None else now + lifetime
    token_id, secret = service.create_token(scope, label, now, expires_at)
    until = "never expires" if expires_at is None else f"expires {shown(expires_at)}"
    click.echo(f"token {token_id} ({scope}, {until}) created. Secret, shown only now:")
    click.echo(secret)


@token.command("list", epilog="Example: healthcode-issuer token list")
@home_option
def token_list(home_dir: Path | None) -> None:
    """List the tokens: id, scopes, state, expiry, label (never a secret)."""
    service = open_service(home_dir)
    now = int(time.time())
    rows = service.store.list_tokens()
    if not rows:
        click.echo("no tokens (healthcode-issuer token create makes one)")
    for row in rows:
        click.echo(f"{row['id']}  {' '.join(row['scopes']):<5}  {_token_state(row, now):<7}  "
                   f"created {shown(row['created_at'])}  "
                   f"expires {shown(row['expires_at']) if row['expires_at'] else 'never':<29}  "
                   f"{row['label']}")


def _token_state(row: dict, now: int) -> str:
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "revoked" if row["revoked_at"] is not None else "active"


@token.command("revoke", epilog="Example: healthcode-issuer token revoke 3f9c2a0b1d4e5f60 "
                                "--reason 'laptop lost'")
@home_option
@click.argument("token_id")
@click.option("--reason", default="token revoked", show_default=True,
              help="Why, for the audit log.")
def token_revoke(home_dir: Path | None, token_id: str, reason: str) -> None:
    """Revoke a token at once: the API refuses it from the next request (audited)."""
    service = open_service(home_dir)
    try:
        service.store.revoke_token(token_id.strip().lower(), actor="cli", reason=reason)
    except NotFound as exc:
        fail(exc)
    click.echo(f"token {token_id.strip().lower()} revoked")


@click.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify", epilog="""\b
Examples:
  healthcode-issuer audit verify          # what was appended since (hourly, say)
  healthcode-issuer audit verify --full --against head.json   # everything (weekly)""")
@home_option
@click.option("--against", "against_file", type=click.File("rb"), default=None,
              help="A head saved before (`audit head`, or /trust/audit-head): fail if the log "
                   "was cut short or rewritten since.")
@click.option("--full", is_flag=True,
              help="Read the whole log and every table row again, not only what was appended "
                   "since the last checkpoint.")
def audit_verify(home_dir: Path | None, against_file: BinaryIO | None, full: bool) -> None:
    """Check the audit log's hash chain, the tables against what it recorded, and (with
    --against) a head saved before; print the head; report every problem (exit 1).

    A check that passes saves a checkpoint (signed, in HOME/audit/). The next one goes on from
    it: that the log still holds the checkpoint's head, then only the entries appended since
    and the rows they record (docs/SECURITY.md says what that leaves to --full)."""
    from ..service.auditlog import (
        HeadError,
        checkpoint_path,
        load_checkpoint,
        read_head,
        save_checkpoint,
    )

    service = open_service(home_dir)
    saved = None
    if against_file is not None:
        try:
            saved = read_head(service, against_file.read(MAX_HEAD_BYTES))
        except HeadError as exc:
            click.echo(f"audit head REFUSED: {exc.problem}: {exc}", err=True)
            sys.exit(1)
    try:
        point = load_checkpoint(service)
    except HeadError as exc:
        click.echo(f"audit checkpoint REFUSED: {exc.problem}: {exc}\n  "
                   f"{checkpoint_path(service)} was not saved by this issuer's `audit verify`: "
                   f"find out who changed it, then move it away and run `audit verify --full`",
                   err=True)
        sys.exit(1)
    since = None if full or point is None else point.marks
    report = service.audit_report(None if saved is None else (saved.size, saved.hash), since,
                                  None if point is None else (point.marks.size, point.marks.hash))
    size, hash_ = report.head
    if report.broken is not None:
        click.echo(f"audit chain BROKEN at {report.broken}", err=True)
        if point is not None and report.broken.seq == point.marks.size:
            click.echo(f"  the log no longer holds the checkpoint of {shown(point.iat)} (size "
                       f"{point.marks.size}). Restored a backup on purpose? Move "
                       f"{checkpoint_path(service)} away and run `audit verify --full`", err=True)
    elif since is None:
        click.echo(f"audit chain OK: {report.count} entries (full check: {report.checked} "
                   f"verified)")
    else:
        click.echo(f"audit chain OK: {report.count} entries ({report.checked} appended since "
                   f"the checkpoint of {shown(point.iat)} at size {since.size} verified; last "
                   f"full check {shown(point.full_at)})")
    click.echo(f"head: size {size}, hash {hash_}")
    if report.broken is None:
        _report_tables(report)
    if saved is not None:
        if report.against is None:
            click.echo(f"against the head of {shown(saved.iat)} (size {saved.size}, key "
                       f"{saved.kid}): held")
        else:
            click.echo(f"audit head MISMATCH against the head of {shown(saved.iat)}: "
                       f"{report.against}", err=True)
    if not report.ok:
        sys.exit(1)
    new = save_checkpoint(service, report, full_at=None if since is None else point.full_at)
    click.echo(f"checkpoint saved: size {new.marks.size} ({checkpoint_path(service)})")


def _report_tables(report: AuditReport) -> None:
    tables = report.tables
    checked = ", ".join(f"{n} {_PLURAL.get(table, table)}" for table, n in tables.checked.items())
    if report.since is not None:
        checked += " (the rows the new entries record)"
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
