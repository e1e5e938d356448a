"""What the ``healthcode-issuer`` commands share: the ``--home`` option, durations, and how
an error becomes a message and exit code 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from verifier.timefmt import parse_duration

from ..keys.home import Home, HomeError
from ..service import IssuerService

#: The policy the service scores with (the web app reads it as its POLICY setting).
POLICY_ENV = "HEALTHCODE_POLICY"

CONTEXT = {"help_option_names": ["-h", "--help"]}
home_option = click.option(
    "--home", "home_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Home folder (keys in HOME/keys) [default: $HEALTHCODE_HOME or the current folder].")


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        try:
            return value if isinstance(value, int) else parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def fail(exc: Exception) -> NoReturn:
    """Print ``Error: <exc>`` on stderr and exit 1."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


def open_service(home_dir: Path | None) -> IssuerService:
    """The issuer service of ``--home`` (its store migrated, its key loaded), under the policy
    the running service uses (``$HEALTHCODE_POLICY``, else the default); exits 1 with the
    reason when the home has no keys."""
    try:
        policy = os.environ.get(POLICY_ENV)
        return IssuerService.open(home=Home.resolve(home_dir).root,
                                  **({"policy_id": policy} if policy else {}))
    except HomeError as exc:
        fail(exc)
