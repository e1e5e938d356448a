"""``healthcode-issuer sessions``: holders' sessions, kept server-side (end them from here)."""

from __future__ import annotations

from pathlib import Path

import click

from ..service import NotFound
from .common import fail, home_option, open_service


@click.group()
def sessions() -> None:
    """Holders' sessions on their phones (signed in by enrolment link or by code)."""


@sessions.command("revoke", epilog="Example: healthcode-issuer sessions revoke --person "
                                   "p-3f9c2a... --reason 'phone stolen'")
@home_option
@click.option("--person", "person_id", required=True, help="The person's pseudonymous id.")
@click.option("--reason", default="ended by an operator", show_default=True,
              help="Why (kept in the audit log).")
def sessions_revoke(home_dir: Path | None, person_id: str, reason: str) -> None:
    """Sign the person out everywhere: every session ends at once (audited). Their bound
    phone stays bound; it signs in again with the enrolment letter or a code."""
    service = open_service(home_dir)
    try:
        ended = service.store.end_sessions(person_id, actor="cli:sessions", reason=reason)
    except NotFound as exc:
        fail(exc)
    finally:
        service.close()
    click.echo(f"{person_id}: {ended} session{'s' if ended != 1 else ''} ended")


@sessions.command("purge", epilog="Example: healthcode-issuer sessions purge   (daily, from "
                                  "cron)")
@home_option
def sessions_purge(home_dir: Path | None) -> None:
    """Delete ended and expired sessions, ended rate-limit windows and sign-in codes older
    than an hour."""
    service = open_service(home_dir)
    try:
        purged = service.store.purge_holder_state()
    finally:
        service.close()
    click.echo(", ".join(f"{count} {what.replace('_', ' ')}" for what, count in purged.items())
               + " deleted")
