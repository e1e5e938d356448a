"""``healthcode-issuer`` commands for the service: serve, token, audit, reissue."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .cli import home_option, main
from .home import Home, HomeError
from .issuance import IssuerService

DEFAULT_PORT = 8080


def _open(home_dir: Path | None) -> IssuerService:
    try:
        return IssuerService.open(home=Home.resolve(home_dir).root)
    except HomeError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


@main.command(epilog="Example: healthcode-issuer serve --port 8080  (then open /api/docs)")
@home_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64))
def serve(home_dir: Path | None, host: str, port: int, threads: int) -> None:
    """Run the issuer service with the waitress production WSGI server."""
    import waitress

    from .service import create_app

    home = Home.resolve(home_dir)
    app = create_app({"HOME": str(home.root)} | _env_config())
    click.echo(f"healthcode issuer on http://{host}:{port}/  (API docs: /api/docs, "
               f"OpenAPI: /api/openapi.json, policy: /policy/{app.config['POLICY']})")
    waitress.serve(app, host=host, port=port, threads=threads, ident="healthcode")


def _env_config() -> dict[str, str]:
    import os

    prefix = "HEALTHCODE_"
    return {k[len(prefix):]: v for k, v in os.environ.items()
            if k.startswith(prefix) and k[len(prefix):] in ("DATABASE_URL",
                                                            "RANKING_MIN_MEMBERS", "POLICY")}


@main.group()
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
    service = _open(home_dir)
    token_id, secret = service.create_token(scope, label, int(time.time()))
    click.echo(f"token {token_id} ({scope}) created. Secret, shown only now:")
    click.echo(secret)


@main.group()
def audit() -> None:
    """The append-only, hash-chained audit log."""


@audit.command("verify", epilog="Example: healthcode-issuer audit verify")
@home_option
def audit_verify(home_dir: Path | None) -> None:
    """Check the audit log's hash chain; report the first broken link (exit 1)."""
    service = _open(home_dir)
    count, broken = service.verify_audit()
    if broken is None:
        click.echo(f"audit chain OK: {count} entries")
        return
    click.echo(f"audit chain BROKEN at entry {broken}", err=True)
    sys.exit(1)
