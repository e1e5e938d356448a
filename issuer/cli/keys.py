"""``healthcode-issuer`` commands for the trust lifecycle: keys (rotate, retire, anchor
roll-over, several issuers) and revocation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from verifier.anchorqr import anchor_qr_text
from verifier.errors import TrustListError
from verifier.timefmt import shown
from verifier.trust import load_anchor
from verifier.trustcli import add_dcc, add_nzcp, add_shc, list_foreign
from verifier.trustcli import remove as remove_foreign

from ..keys.home import Home, HomeError
from ..keys.keystore import (
    add_issuer,
    export_issuer,
    load_config,
    publish_trust_list,
    retire_key,
    rotate_anchor,
    rotate_key,
)
from ..render.qr import write_text_qr
from ..service import NotFound
from ..service.revocations import publish_revocations, revocation_path
from .common import fail, home_option, open_service


@click.group()
def keys() -> None:
    """Signing keys and the trust anchor: list, rotate, retire, roll over, other issuers."""


@keys.command("list")
@home_option
def list_keys(home_dir: Path | None) -> None:
    """The keys in the trust list, their signing windows, and the retired ones."""
    try:
        config = load_config(Home.resolve(home_dir))
    except HomeError as exc:
        fail(exc)
    click.echo(f"Issuer {config.iss!r} ({config.name}), trust list #{config.trust_list_seq} "
               f"valid to {shown(config.trust_list_exp)}")
    for record in config.keys:
        state = "current" if record["kid"] == config.current else "verification only"
        until = f", in the list until {shown(record['verify_until'])}" \
            if "verify_until" in record else ""
        click.echo(f"  {record['kid']} {record['alg']:5} {state}: signs "
                   f"{shown(record['nbf'])} to {shown(record['exp'])}{until}")
    for record in config.retired:
        click.echo(f"  {record['kid']} retired {shown(record['retired_at'])}"
                   f"{' (compromised)' if record['compromised'] else ''}: {record['reason']}")
    for other in config.issuers:
        click.echo(f"  other issuer {other['iss']!r} ({other['name']}): "
                   f"{len(other['keys'])} key(s)")


@keys.command(epilog="Example: healthcode-issuer keys rotate")
@home_option
def rotate(home_dir: Path | None) -> None:
    """Make a new signing key current. The old key signs no more but stays in the trust list
    until every credential it signed has expired."""
    home = Home.resolve(home_dir)
    try:
        old = load_config(home).current
        config = rotate_key(home)
    except HomeError as exc:
        fail(exc)
    kept = config.key_record(old)
    click.echo(f"New signing key {config.current}; {old} verifies until "
               f"{shown(kept['verify_until'])}. Trust list #{config.trust_list_seq} published.")


# A kid is base64url and may start with "-": an unknown "option" is taken as the KID.
@keys.command(context_settings={"ignore_unknown_options": True}, epilog="""\b
Examples:
  healthcode-issuer keys retire 9peUMaMv --compromised --reason "laptop stolen"
  healthcode-issuer keys retire 9peUMaMv      # stop signing now (not the current key)
  healthcode-issuer keys retire -- -Xb2kQ7a   # a key id that starts with a dash""")
@home_option
@click.argument("kid")
@click.option("--compromised", is_flag=True,
              help="Remove the key from the trust list at once: everything it signed stops "
                   "verifying as verifiers sync.")
@click.option("--reason", default="", help="Why, for the record.")
def retire(home_dir: Path | None, kid: str, compromised: bool, reason: str) -> None:
    """Take key KID out of service."""
    home = Home.resolve(home_dir)
    try:
        config = retire_key(home, kid, compromised=compromised, reason=reason)
    except HomeError as exc:
        fail(exc)
    if compromised:
        click.echo(f"Removed {kid} from the trust list (#{config.trust_list_seq}); current "
                   f"signing key {config.current}. Credentials it signed no longer verify: "
                   "re-issue them (healthcode-issuer reissue --all).")
    else:
        click.echo(f"{kid} signs no more; trust list #{config.trust_list_seq} published.")


@keys.command("rotate-anchor")
@home_option
def rotate_anchor_command(home_dir: Path | None) -> None:
    """Make a new trust anchor; lists are signed by both anchors for the transition, so
    verifiers that sync move their pin to the new one."""
    home = Home.resolve(home_dir)
    try:
        config = rotate_anchor(home)
    except HomeError as exc:
        fail(exc)
    click.echo(f"New trust anchor {home.anchor_public}; lists are signed by the old and the new "
               f"anchor until {shown(config.previous_anchor_until)}. Trust list "
               f"#{config.trust_list_seq} published.")


@keys.command("export", epilog="""\b
Examples:
  healthcode-issuer keys export > hangzhou.json
  healthcode-issuer keys export --anchor-qr anchor.png --url https://hc.example.cn""")
@home_option
@click.option("--anchor-qr", "anchor_qr", type=click.Path(dir_okay=False, path_type=Path),
              help="Instead, write the anchor QR (PNG) that checkpoint phones scan to pin "
                   "this trust anchor (docs/FORMAT.md, \"Anchor QR\").")
@click.option("--url", help="With --anchor-qr: the address checkpoints sync the lists from.")
def export(home_dir: Path | None, anchor_qr: Path | None, url: str | None) -> None:
    """Print this issuer's public keys as JSON, for another trust anchor's `keys add-issuer`;
    or write the anchor QR for checkpoint phones."""
    if url and anchor_qr is None:
        raise click.UsageError("--url goes with --anchor-qr")
    try:
        home = Home.resolve(home_dir)
        if anchor_qr is None:
            click.echo(json.dumps(export_issuer(home), indent=1))
            return
        text = anchor_qr_text(load_anchor(home.anchor_public), url)
    except (HomeError, OSError, TrustListError) as exc:
        fail(exc)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    write_text_qr(text, anchor_qr)
    click.echo(f"Anchor QR written to {anchor_qr}: {text}")


@keys.command("add-issuer", epilog="Example: healthcode-issuer keys add-issuer shanghai.json")
@home_option
@click.argument("exported", type=click.File("rb"))
def add_issuer_command(home_dir: Path | None, exported) -> None:
    """Vouch for another issuer (the JSON of its `keys export`) in this trust list."""
    try:
        document = json.loads(exported.read(1024 * 1024))
        config = add_issuer(Home.resolve(home_dir), document)
    except (ValueError, HomeError) as exc:
        fail(exc)
    click.echo(f"Trust list #{config.trust_list_seq} now carries issuer "
               f"{document['iss']!r} ({len(document['keys'])} key(s)).")


@keys.group("foreign", epilog="""\b
Examples:
  healthcode-issuer keys foreign add-dcc DE-dsc.json
  healthcode-issuer keys foreign add-shc https://spec.smarthealth.cards/examples/issuer jwks.json
  healthcode-issuer keys foreign add-nzcp did.json
  healthcode-issuer keys foreign remove dcc DE""")
@home_option
@click.pass_context
def foreign(ctx: click.Context, home_dir: Path | None) -> None:
    """Keys of EU, SMART and NZ issuers whose codes this trust list's checkpoints accept:
    each file checked in its owner's format, then the list re-signed (`sync` carries it)."""
    home = Home.resolve(home_dir)
    ctx.obj = home
    ctx.default_map = {name: {"trust_path": home.trust_list} for name in foreign.commands}


for _command in (add_dcc, add_shc, add_nzcp, remove_foreign, list_foreign):
    foreign.add_command(_command)


@foreign.result_callback()
@click.pass_context
def _republish(ctx: click.Context, *_: object, **__: object) -> None:
    if ctx.invoked_subcommand == "list":
        return
    try:
        config = publish_trust_list(ctx.obj)
    except HomeError as exc:
        fail(exc)
    click.echo(f"Trust list #{config.trust_list_seq} signed with them.")


@click.command(epilog="""\b
Examples:
  healthcode-issuer revoke 0f1e2d3c4b5a69788796a5b4 --reason "issued in error"
  healthcode-issuer revoke --person P7K2M9Q4X1B8ZC --reason "test result corrected\"""")
@home_option
@click.argument("cti", required=False)
@click.option("--person", "person_id", help="Revoke every unexpired credential of this person.")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@click.option("--actor", default="cli", show_default=True, help="Who, for the audit log.")
def revoke(home_dir: Path | None, cti: str | None, person_id: str | None, reason: str,
           actor: str) -> None:
    """Revoke credential CTI (hex), or all of a person's, and publish the revocation list."""
    if (cti is None) == (person_id is None):
        raise click.UsageError("give a CTI or --person, not both")
    service = open_service(home_dir)
    now = int(time.time())
    try:
        if cti is not None:
            try:
                record = service.store.revoke(cti, actor=actor, reason=reason, now=now)
            except ValueError:
                raise click.BadParameter("a credential id is hex", param_hint="CTI") from None
            revoked = [record["cti"]]
        else:
            revoked = service.store.revoke_person(person_id, actor=actor, reason=reason,
                                                  now=now)
        key, config = service.signer()
        publish_revocations(service.home, service.store, key, config, now)
    except NotFound as exc:
        fail(exc)
    finally:
        service.close()
    click.echo(f"Revoked {len(revoked)} credential(s); revocation list "
               f"{revocation_path(service.home, config.iss)} published.")
