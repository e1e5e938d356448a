"""The ``healthcode-issuer`` command group: every command, from the modules of this package.

Exit codes: 0 done; 1 the home folder is missing, incomplete or would be overwritten, or the
person, credential or key named is unknown; 2 usage error.
"""

from __future__ import annotations

import click

from .. import __version__
from .codes import init, issue, print_command, trust_list
from .common import CONTEXT
from .keys import keys, revoke
from .reissue import reissue
from .retention import erase, purge
from .service import audit, serve, token
from .sessions import sessions


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="healthcode-issuer")
def main() -> None:
    """Issue signed, expiring health codes that any healthcode verifier checks offline."""


for command in (init, issue, trust_list, print_command, keys, revoke, serve, token, audit,
                reissue, sessions, purge, erase):
    main.add_command(command)
