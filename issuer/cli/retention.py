"""``healthcode-issuer purge``: delete what is past the policy's retention now."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..service import retention
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
