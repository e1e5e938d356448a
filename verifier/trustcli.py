"""``healthcode-verifier trust``: the keys of the foreign formats a checkpoint reads (EU
certificates, SMART Health Cards, NZ COVID Passes), in the formats their owners publish, each
checked and stored atomically beside the trust list (:mod:`verifier.formats.store`); and the
options that give ``check`` such keys for one check only.

Exit codes: 0 stored; 2 unreadable or refused (the reason is printed; nothing is stored).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import click

from .errors import HealthCodeError
from .formats import ForeignTrust
from .formats.dcckeys import DccKeys
from .formats.nzcpdid import NzcpIssuers
from .formats.shckeys import ShcIssuers
from .formats.store import MAX_FILE, ForeignStore
from .trust import default_trust_path

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE)
    except OSError as exc:
        raise click.UsageError(f"cannot read {path}: {exc.strerror}") from None


def _refused(exc: HealthCodeError) -> click.UsageError:
    return click.UsageError(f"refused ({exc.reason.value}): {exc.detail}")


_trust_option = click.option(
    "--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
    help="The trust list the keys are stored beside "
         "[default: $HEALTHCODE_HOME/keys/trust-list.json].")


@click.group()
def trust() -> None:
    """Keys of foreign code formats, checked and stored beside the trust list."""


@trust.command("add-dcc")
@click.argument("file", type=_FILE)
@_trust_option
def add_dcc(file: Path, trust_path: Path | None) -> None:
    """Add EU DCC document signer certificates: a national backend's list (JSON,
    {"certificates": [{"certificateType": "DSC", "country", "kid", "rawData"}, ...]}) or a
    PEM bundle."""
    try:
        held = ForeignStore.beside(trust_path or default_trust_path()).add_dcc(_read(file))
    except HealthCodeError as exc:
        raise _refused(exc) from None
    click.echo(f"stored: {len(held)} EU DCC document signer certificates held")


@trust.command("add-shc")
@click.argument("iss")
@click.argument("file", type=_FILE)
@click.option("--crl", type=_FILE, help="The issuer's revocation list for one key "
                                        "(crl/<kid>.json).")
@_trust_option
def add_shc(iss: str, file: Path, crl: Path | None, trust_path: Path | None) -> None:
    """Trust the SMART Health Card issuer ISS (its URL) with its key set FILE (jwks.json)."""
    try:
        ForeignStore.beside(trust_path or default_trust_path()).add_shc(
            iss, _read(file), None if crl is None else _read(crl))
    except HealthCodeError as exc:
        raise _refused(exc) from None
    click.echo(f"stored: SMART Health Card issuer {iss}")


@trust.command("add-nzcp")
@click.argument("file", type=_FILE)
@_trust_option
def add_nzcp(file: Path, trust_path: Path | None) -> None:
    """Trust the NZ COVID Pass issuer whose DID document is FILE (did.json)."""
    try:
        added = ForeignStore.beside(trust_path or default_trust_path()).add_nzcp(_read(file))
    except HealthCodeError as exc:
        raise _refused(exc) from None
    click.echo(f"stored: NZ COVID Pass issuer {', '.join(added.issuers)}")


def foreign_options(command: Any) -> Any:
    """``check``'s options for foreign keys given for one check only."""
    for option in reversed([
            click.option("--dcc-trust", "dcc_files", type=_FILE, multiple=True,
                         help="EU DCC signer certificates (JSON list or PEM), for this check."),
            click.option("--shc-jwks", "shc_specs", metavar="ISS=FILE", multiple=True,
                         help="A SMART Health Card issuer's jwks.json, for this check."),
            click.option("--nzcp-did", "nzcp_files", type=_FILE, multiple=True,
                         help="An NZ COVID Pass issuer's DID document, for this check.")]):
        command = option(command)
    return command


def foreign_trust(trust_path: Path, dcc_files: tuple[Path, ...], shc_specs: tuple[str, ...],
                  nzcp_files: tuple[Path, ...]) -> ForeignTrust:
    """The keys stored beside ``trust_path`` and those given on the command line. Raises
    ``click.UsageError`` (exit 2) for a file that cannot be read or is refused."""
    try:
        found = ForeignStore.beside(trust_path).load()
        for path in dcc_files:
            found.add("dcc", DccKeys.from_bytes(_read(path)))
        for spec in shc_specs:
            iss, sep, name = spec.rpartition("=")
            if not sep or not iss:
                raise click.UsageError(f"--shc-jwks wants ISS=FILE, not {spec!r}")
            found.add("shc", ShcIssuers.from_bytes(iss, _read(Path(name))))
        for path in nzcp_files:
            found.add("nzcp", NzcpIssuers.from_bytes(_read(path)))
    except HealthCodeError as exc:
        raise _refused(exc) from None
    return found


@trust.command("remove")
@click.argument("kind", type=click.Choice(["dcc", "shc", "nzcp"]))
@click.argument("which")
@_trust_option
def remove(kind: str, which: str, trust_path: Path | None) -> None:
    """Stop trusting foreign keys: `dcc KID` (base64) or `dcc COUNTRY` (e.g. DE), `shc ISS`
    (the issuer's URL), `nzcp DID`."""
    try:
        removed = ForeignStore.beside(trust_path or default_trust_path()).remove(kind, which)
    except HealthCodeError as exc:
        raise _refused(exc) from None
    if not removed:
        raise click.UsageError(f"no {kind} keys held match {which!r}")
    click.echo(f"removed: {removed} {'certificate(s)' if kind == 'dcc' else 'issuer'}")


@trust.command("list")
@_trust_option
def list_foreign(trust_path: Path | None) -> None:
    """The foreign keys stored beside the trust list."""
    try:
        held = ForeignStore.beside(trust_path or default_trust_path()).load()
    except HealthCodeError as exc:
        raise _refused(exc) from None
    for dsc in held.dcc or ():
        click.echo(f"dcc  {dsc.country or '--'} kid {base64.b64encode(dsc.kid).decode()} "
                   f"types {','.join(sorted(dsc.types)) or 'any'}")
    for iss in held.shc.issuers if held.shc else ():
        click.echo(f"shc  {iss}")
    for did in held.nzcp.issuers if held.nzcp else ():
        click.echo(f"nzcp {did}")
