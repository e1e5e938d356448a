"""``healthcode-issuer`` commands that set up keys and sign codes: init, issue, trust-list,
print (a card)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from verifier.cli import InstantType
from verifier.labels import Alg, Colour
from verifier.timefmt import iso, shown

from ..keys.home import Home, HomeError
from ..keys.keystore import (
    DEFAULT_ISSUER,
    DEFAULT_ISSUER_NAME,
    ISS_QR_BUDGET,
    MAX_CREDENTIAL_TTL,
    init_home,
    load_signing_key,
)
from ..keys.keystore import publish_trust_list as publish
from ..keys.signing import issue_credential
from ..render.qr import FORMATS, write_code
from ..service import NotFound
from ..service.cards import CARD_TTL, print_card
from .common import DurationType, fail, home_option, open_service

DEFAULT_TTL = "24h"


@click.command(epilog="Example: healthcode-issuer init --home ./demo --issuer HZ")
@home_option
@click.option("--issuer", "iss", default=DEFAULT_ISSUER, show_default=True,
              help="Issuer id written into every code (keep it short: it costs QR space).")
@click.option("--name", default=DEFAULT_ISSUER_NAME, show_default=True,
              help="Issuer's display name in the trust list.")
@click.option("--alg", type=click.Choice(["ES256", "EdDSA"]), default="ES256",
              show_default=True, help="Signature algorithm of the signing key.")
def init(home_dir: Path | None, iss: str, name: str, alg: str) -> None:
    """Create a trust anchor, a signing key and a signed trust list in HOME/keys."""
    home = Home.resolve(home_dir)
    if len(iss) > ISS_QR_BUDGET:
        click.echo(f"Warning: an issuer id longer than {ISS_QR_BUDGET} characters pushes codes "
                   "past QR version 8, and larger symbols scan less well.", err=True)
    try:
        config = init_home(home, iss=iss, name=name, alg=Alg.from_jose(alg))
    except HomeError as exc:
        fail(exc)
    click.echo(f"Initialised issuer {config.iss!r} in {home.keys}")
    click.echo(f"  signing key {config.current} ({alg}), trust list {home.trust_list}")
    click.echo(f"  verifiers pin the trust anchor {home.anchor_public}")


@click.command(epilog="""\b
Examples:
  healthcode-issuer issue --colour green --score 87 --out code.png
  healthcode-issuer issue --colour red --score 20 --ttl 1h \\
      --at 2026-01-01T08:00:00Z --out old.txt""")
@home_option
@click.option("--colour", "--color", "colour", required=True,
              type=click.Choice([c.value for c in Colour]), help="Health colour.")
@click.option("--score", required=True, type=click.IntRange(0, 100), help="Score, 0 to 100.")
@click.option("--ttl", type=DurationType(), default=DEFAULT_TTL, show_default=True,
              help="Lifetime: 90s, 15m, 24h, 7d.")
@click.option("--at", "at", type=InstantType(),
              help="Issue time (ISO 8601; no offset means UTC) [default: now].")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=f"Output file: {', '.join(FORMATS)} (the QR text).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def issue(home_dir: Path | None, colour: str, score: int, ttl: int, at: int | None, out: Path,
          as_json: bool) -> None:
    """Sign a code with COLOUR and SCORE and write it to OUT."""
    if out.suffix.lower() not in FORMATS:
        raise click.BadParameter(f"must end in one of {', '.join(FORMATS)}", param_hint="--out")
    if ttl > MAX_CREDENTIAL_TTL:
        raise click.BadParameter(f"at most {MAX_CREDENTIAL_TTL // 86400}d: a retired key stays "
                                 "in the trust list only that long", param_hint="--ttl")
    home = Home.resolve(home_dir)
    iat = at if at is not None else int(time.time())
    try:
        key, config, record = load_signing_key(home)
    except HomeError as exc:
        fail(exc)
    if not record["nbf"] <= iat <= record["exp"]:
        click.echo(f"Warning: {shown(iat)} is outside the signing key's validity "
                   f"({shown(record['nbf'])} to {shown(record['exp'])}); verifiers will refuse "
                   "this code as key_not_valid unless it has expired.", err=True)
    text = issue_credential(key, iss=config.iss, colour=colour, score=score, iat=iat, ttl=ttl)
    qr = write_code(text, out)
    summary = {"out": str(out), "text": text, "colour": colour, "score": score,
               "issued": iso(iat), "expires": iso(iat + ttl), "kid": config.current,
               "qr_version": qr.version, "qr_error": qr.error, "modules": qr.symbol_size(
                   border=0)[0], "characters": len(text)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"Wrote {out}: {colour} {score}, expires {shown(iat + ttl)}, "
                   f"QR version {qr.version}-{qr.error} ({summary['modules']}x"
                   f"{summary['modules']} modules, {len(text)} characters)")


@click.command("trust-list", epilog="Example: healthcode-issuer trust-list --home ./demo")
@home_option
def trust_list(home_dir: Path | None) -> None:
    """Re-sign the trust list (new sequence number, fresh expiry)."""
    home = Home.resolve(home_dir)
    try:
        config = publish(home)
    except HomeError as exc:
        fail(exc)
    click.echo(f"Signed trust list #{config.trust_list_seq}: {home.trust_list}")


@click.command("print", epilog="Example: healthcode-issuer print p-3f9c2a --out card.pdf "
                              "--days 14")
@home_option
@click.argument("person")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output PDF file (an A4 page with the card and cut marks).")
@click.option("--days", default=CARD_TTL // 86400, show_default=True,
              type=click.IntRange(1, MAX_CREDENTIAL_TTL // 86400), help="Validity of the card.")
def print_command(home_dir: Path | None, person: str, out: Path, days: int) -> None:
    """Print a card for PERSON (their pseudonymous id): a static code with their colour and
    score for people without a smartphone; checkpoints check their ID against it.

    Exits 1 when the home has no keys or PERSON is unknown (nothing is signed then).
    """
    service = open_service(home_dir)
    try:
        record, pdf = print_card(service, person, actor="cli:print", ttl=days * 86400)
    except NotFound as exc:
        fail(exc)
    finally:
        service.close()
    try:
        out.write_bytes(pdf)
    except OSError as exc:
        fail(exc)
    click.echo(f"Wrote {out}: {record['colour']} {record['score']}, card {record['cti']}, "
               f"expires {shown(record['expires_at'])}")

