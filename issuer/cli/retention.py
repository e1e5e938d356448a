"""``healthcode-issuer purge``: delete what is past the policy's retention now;
``healthcode-issuer erase``: erase one person."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..service import Erased, NotFound, retention
from .common import home_option, open_service


@click.command("purge", epilog="Example: healthcode-issuer purge (the running service also "
                               "purges once a day)")
@home_option
def purge(home_dir: Path | None) -> None:
    """Delete the observations, credentials and appeals past the policy's retention, each
    batch audited with its cutoffs and counts (no values). Under a policy without a
    [retention] table nothing is deleted."""
    service = open_service(home_dir)
    try:
        if service.policy.retention is None:
            click.echo(f"policy {service.policy.id} keeps everything: nothing to purge")
            return
        went = retention.purge(service, now=int(time.time()), actor="cli:purge")
    finally:
        service.close()
    click.echo("purged: " + ", ".join(f"{count} {name}" for name, count in went.items()))


@click.command("erase", epilog="Example: healthcode-issuer erase p-3q2Xv0bBqKJ7 --reason "
                               "\"request of 2026-12-01, no law keeps it\"")
@click.argument("person_id")
@click.option("--reason", required=True, help="Why, for the audit log (no personal data).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@home_option
def erase(person_id: str, reason: str, yes: bool, home_dir: Path | None) -> None:
    """Erase a person: delete their own data key (nothing personal of theirs can be
    decrypted again), their records and appeals; unbind their phones and revoke their codes.
    Only the pseudonymous id and the audit log remain. Cannot be undone."""
    if not yes:
        click.confirm(f"Erase {person_id}? This cannot be undone", abort=True)
    service = open_service(home_dir)
    try:
        went = service.store.erase_person(person_id, actor="cli:erase", reason=reason)
    except Erased as exc:
        raise click.ClickException(
            f"{person_id} was erased already (at {exc.erased_at})") from None
    except NotFound:
        raise click.ClickException(f"no person {person_id}") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        service.close()
    click.echo(f"erased {person_id}: " + ", ".join(
        f"{went[name]} {name}" for name in ("observations", "appeals", "revoked", "devices")))
