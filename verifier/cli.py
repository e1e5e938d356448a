"""``healthcode-verifier``: check health codes offline from the command line.

A code is a static credential (``HCC1:``, a printed card or a plain code) or a phone's live
presentation of a device-bound one (``HCP1:``, at most ``--window`` seconds old). Times people
read are in the deployment's zone, offset shown (``timefmt.shown``); ``--json``: ISO 8601 UTC.

Exit codes: 0 valid; 1 rejected (any reason, ``no_code`` too); 2 usage error, unreadable
input, or an unusable trust list. The transparency log's commands: verifier/logcli.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .checkout import OURS, human, result
from .claims import Credential
from .errors import HealthCodeError, RevocationListError, TrustListError, VerificationError
from .formats import ForeignCode, detect
from .formats.base import combined
from .image import MAX_IMAGE_BYTES, Backend, decode_image
from .labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX
from .logcli import witness
from .monitorcli import monitor
from .presentation import PRESENTATION_WINDOW
from .revocation import Revocations
from .scan import health_codes, verify_image
from .syncwatch import DEFAULT_EVERY, MAX_REVOCATION_AGE
from .timefmt import humanize, parse_duration, parse_instant, shown
from .trust import ANCHOR_FILE, TrustList, default_trust_path, load_anchor
from .trustcli import foreign_options, foreign_trust, trust
from .verify import MAX_TEXT_LENGTH, now_seconds, verify

EXIT_VALID, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
#: The kiosk's waitress limits: connections open at once, and idle seconds before one is closed.
CONNECTION_LIMIT, CHANNEL_TIMEOUT = 100, 15
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_PATH_SUFFIXES = (".png", ".jpg", ".jpeg", ".txt", ".svg")
CONTEXT = {"help_option_names": ["-h", "--help"]}


class InstantType(click.ParamType):
    name = "ISO8601"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        try:
            return parse_instant(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time", param, ctx)


class DurationType(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def read_input(spec: str) -> str | bytes:
    """Return the code text, or the image bytes, that INPUT names. Raises
    ``click.UsageError`` for a missing or unreadable file (exit 2)."""
    if spec == "-":
        data = sys.stdin.buffer.read(MAX_IMAGE_BYTES + 1)
    else:
        path = Path(spec)
        if not path.is_file():
            if spec.startswith((CREDENTIAL_PREFIX, PRESENTATION_PREFIX)) or detect(spec) or not (
                    "/" in spec or spec.lower().endswith(_PATH_SUFFIXES)):
                return spec  # the QR text itself
            raise click.UsageError(f"no such file: {spec}")
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise click.UsageError(f"cannot read {spec}: {exc.strerror}") from None
    if data.startswith(_IMAGE_MAGIC):
        return data
    return data[: 4 * MAX_TEXT_LENGTH].decode("utf-8", "replace").strip()


@click.group(context_settings=CONTEXT, commands=[monitor, witness, trust])  # own modules
@click.version_option(__version__, prog_name="healthcode-verifier")
def main() -> None:
    """Verify healthcode credentials offline, with nothing but public keys."""


@main.command(epilog="""\b
Examples:
  healthcode-verifier check code.png
  healthcode-verifier check 'HCC1:...' --json
  healthcode-verifier check 'HCP1:...' --window 30
  healthcode-verifier check eu.png --dcc-trust dsc.json --at 2021-06-01T08:00:00Z
  cat code.txt | healthcode-verifier check - --at 2026-12-01T08:00:00Z
\b
Exit codes: 0 valid, 1 rejected, 2 usage error / unreadable input / unusable trust list.""")
@click.argument("input_spec", metavar="INPUT")
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Signed trust list [default: $HEALTHCODE_HOME/keys/trust-list.json].")
@click.option("--anchor", "anchor_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Pinned trust anchor: public key (PEM or JWK) or its sha256 thumbprint "
                   "[default: anchor.pub.pem beside the trust list].")
@click.option("--at", "at", type=InstantType(),
              help="Check as of this time (ISO 8601; no offset means UTC) instead of now.")
@click.option("--window", metavar="SECONDS", type=click.IntRange(0), default=PRESENTATION_WINDOW,
              show_default=True,
              help="How old a phone's live code (HCP1:) may be; older ones are refused as "
                   "stale_presentation (a photo or a recording).")
@click.option("--backend", type=click.Choice([b.value for b in Backend]),
              default=Backend.ZXING.value, show_default=True, help="QR decoder for images.")
@foreign_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check(input_spec: str, trust_path: Path | None, anchor_path: Path | None, at: int | None,
          window: int, backend: str, dcc_files: tuple[Path, ...], shc_specs: tuple[str, ...],
          nzcp_files: tuple[Path, ...], as_json: bool) -> None:
    """Check the health code in INPUT: an image (PNG/JPEG), a text file, the code text
    (HCC1: or a live HCP1:; an EU certificate HC1:, a SMART Health Card shc:/, an NZ COVID
    Pass NZCP:/, checked with the keys stored by `trust` or given here), or - for standard
    input."""
    now = at if at is not None else now_seconds()
    trust_path = trust_path or default_trust_path()
    credential: Credential | ForeignCode | None = None
    source = read_input(input_spec)
    form = None if isinstance(source, bytes) else detect(source) or OURS
    foreign = foreign_trust(trust_path, dcc_files, shc_specs, nzcp_files)
    trust: TrustList | None = None
    error: HealthCodeError | None = None
    try:
        trust = TrustList.load(trust_path, anchor_path, now=now)
    except (OSError, TrustListError) as exc:
        if not _foreign_only(source, backend):  # a foreign code needs none of ours
            if isinstance(exc, OSError):
                raise click.UsageError(f"cannot read trust list or anchor: {exc}") from None
            error = exc
    if error is None:
        revocations = None if trust is None else _revocations(trust_path.parent, trust, now)
        try:
            foreign = combined(trust and trust.foreign, foreign)
            if isinstance(source, bytes):
                credential = verify_image(source, trust, now, backend, revocations,
                                          window=window, foreign=foreign)
            else:
                credential = verify(source, trust, now, revocations, window=window,
                                    foreign=foreign)
        except (VerificationError, RevocationListError) as exc:
            error = exc
    outcome = result(credential, error, now, trust, form)
    click.echo(json.dumps(outcome) if as_json else human(outcome, now))
    if isinstance(error, TrustListError):
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_VALID if credential is not None else EXIT_REJECTED)


def _foreign_only(source: str | bytes, backend: str) -> bool:
    """Whether the input holds codes of foreign formats only (checked without our trust
    list)."""
    texts = [source] if isinstance(source, str) else health_codes(decode_image(source, backend))
    return bool(texts) and all(detect(text) for text in texts)


def _revocations(folder: Path, trust: TrustList, now: int) -> Revocations:
    """The revocation lists beside the trust list; a bad or out-of-date one is named on
    stderr (never on stdout, which scripts parse)."""
    revocations, problems = Revocations.load_dir(folder, trust)
    for name, problem in sorted(problems.items()):
        click.echo(f"Warning: ignoring revocation list {name}: {problem}", err=True)
    for listed in revocations:
        if listed.expired(now):
            click.echo(f"Warning: the revocation list of {listed.iss} expired "
                       f"{humanize(now - listed.expires_at)} ago: run healthcode-verifier "
                       "sync", err=True)
    return revocations


@main.command(epilog="""\b
Examples:
  healthcode-verifier sync http://issuer.example:8080
  healthcode-verifier sync https://hz.example https://sh.example --json
  healthcode-verifier sync http://issuer.example:8080 --watch --every 5m
\b
Exit codes: 0 everything fetched and checked (or unchanged); 1 something was unreachable or
refused (the local files it concerns were left as they were); 2 usage error.""")
@click.argument("urls", nargs=-1, required=True, metavar="URL...")
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Local trust list to update [default: $HEALTHCODE_HOME/keys/"
                   "trust-list.json]; revocation lists go beside it.")
@click.option("--anchor", "anchor_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Pinned trust anchor [default: anchor.pub.pem beside the trust list].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (a line per "
              "round with --watch).")
@click.option("--watch", is_flag=True,
              help="Keep running: sync again every --every (Ctrl-C stops it).")
@click.option("--every", type=DurationType(), default=DEFAULT_EVERY, show_default="5m",
              help="With --watch: how often, e.g. 90s, 5m, 1h.")
def sync(urls: tuple[str, ...], trust_path: Path | None, anchor_path: Path | None,
         as_json: bool, watch: bool, every: int) -> None:
    """Fetch the trust list from the first URL and each URL's revocation list, check them,
    and replace the local files atomically (never with an older, unsigned or broken list)."""
    from .sync import SyncReport
    from .sync import sync as run_sync
    from .syncwatch import BackgroundSync
    trust_path = trust_path or default_trust_path()

    def show(report: SyncReport) -> None:
        if as_json:
            click.echo(json.dumps(report.as_dict()))
            return
        stamp = f"{shown(now_seconds(), seconds=True)} " if watch else ""
        sequence = f" (#{report.trust_sequence})" if report.trust_sequence is not None else ""
        click.echo(f"{stamp}trust list: {report.trust_list}{sequence}"
                   f"{'; trust anchor rolled over' if report.anchor_rolled_over else ''}")
        for source, outcome in report.revocations.items():
            click.echo(f"{stamp}revocations {source}: {outcome}")
        for error in report.errors:
            click.echo(f"{stamp}Error: {error}", err=True)

    if watch:
        try:  # fail now on a missing pin, not once a round
            load_anchor(anchor_path or trust_path.with_name(ANCHOR_FILE))
        except (OSError, TrustListError) as exc:
            raise click.UsageError(f"cannot read the pinned anchor: {exc}") from None
        try:  # a round that fails is reported and retried; the files in use stay
            BackgroundSync(list(urls), trust_path, anchor_path, every, on_report=show).run()
        except KeyboardInterrupt:
            sys.exit(EXIT_VALID)
    try:
        report = run_sync(list(urls), trust_path, anchor_path)
    except (OSError, TrustListError) as exc:
        raise click.UsageError(f"cannot read the pinned anchor: {exc}") from None
    show(report)
    sys.exit(EXIT_VALID if report.ok else EXIT_REJECTED)


@main.command(epilog="""\b
Examples:
  healthcode-verifier kiosk                        # then open http://127.0.0.1:8090/
  healthcode-verifier kiosk --rule green,yellow --reject-static
  healthcode-verifier kiosk --rule 'score>=60' --port 8091
  healthcode-verifier kiosk --rule green,dcc:vaccination,recovery,nzcp:any
  healthcode-verifier kiosk --sync http://issuer.example:8080 --every 5m
\b
The camera needs a secure context: http://127.0.0.1 or http://localhost on this machine,
or HTTPS. To serve tablets on a LAN, put a TLS proxy in front (see README).""")
@click.option("--trust", "trust_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Signed trust list [default: $HEALTHCODE_HOME/keys/trust-list.json].")
@click.option("--anchor", "anchor_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Pinned trust anchor [default: anchor.pub.pem beside the trust list].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8090, show_default=True, type=click.IntRange(1, 65535))
@click.option("--rule", default="green", show_default=True,
              help="Who is admitted: colours and/or score conditions, e.g. green,yellow or "
                   "score>=60; foreign codes (keys: trust add-dcc/add-shc/add-nzcp) only if "
                   "named with their kinds: dcc:vaccination,recovery (test), "
                   "shc:immunization (laboratory), nzcp:pass, or dcc:any, shc:any, nzcp:any.")
@click.option("--accept-static/--reject-static", default=True, show_default=True,
              help="Admit static codes (printed cards, codes not bound to a phone) after an "
                   "ID check, or refuse them.")
@click.option("--window", default=PRESENTATION_WINDOW, show_default=True,
              type=click.IntRange(1, 3600), metavar="SECONDS",
              help="How old a live code (a phone's presentation) may be.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option("--sync", "sync_urls", multiple=True, metavar="URL",
              help="Sync the trust and revocation lists from this issuer in the background "
                   "(repeat for several issuers; the first gives the trust list).")
@click.option("--every", type=DurationType(), default=DEFAULT_EVERY, show_default="5m",
              help="With --sync: how often, e.g. 90s, 5m, 1h.")
@click.option("--max-revocation-age", type=DurationType(), default=MAX_REVOCATION_AGE,
              show_default="1h", help="Warn on the page when the revocation list is older "
                                      "(not confirmed current by a sync for this long).")
@click.option("--connection-limit", default=CONNECTION_LIMIT, show_default=True,
              type=click.IntRange(1, 10_000), help="Most connections open at once.")
@click.option("--channel-timeout", type=DurationType(), default=CHANNEL_TIMEOUT,
              show_default=f"{CHANNEL_TIMEOUT}s",
              help="Close a connection idle (or sending nothing) for this long.")
@click.option("--lang", type=click.Choice(["zh-CN", "en"], case_sensitive=False), help="Page "
              "language when the browser asks for neither [default: $HEALTHCODE_DEFAULT_LOCALE"
              ", else zh-CN].")
def kiosk(trust_path: Path | None, anchor_path: Path | None, host: str, port: int, rule: str,
          accept_static: bool, window: int, threads: int, sync_urls: tuple[str, ...],
          every: int, max_revocation_age: int, connection_limit: int,
          channel_timeout: int, lang: str | None) -> None:
    """Run the checkpoint kiosk: a local page that scans codes with a webcam, offline."""
    import waitress

    from .kiosk import RuleError, create_app
    try:
        app = create_app({"TRUST": trust_path or default_trust_path(), "ANCHOR": anchor_path,
                          "RULE": rule, "ACCEPT_STATIC": accept_static, "WINDOW": window,
                          "SYNC": list(sync_urls), "SYNC_EVERY": every,
                          "MAX_REVOCATION_AGE": max_revocation_age, "DEFAULT_LOCALE": lang})
    except RuleError as exc:
        raise click.BadParameter(str(exc), param_hint="--rule") from None
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"cannot read the trust anchor: {exc}") from None
    status = app.extensions["checkpoint"].status()
    click.echo(f"Checkpoint kiosk on http://{host}:{port}/  ({status['rule_text']}; "
               f"static codes {'admitted after an ID check' if accept_static else 'refused'})")
    if status["trust"].get("warning"):
        click.echo(f"WARNING: {status['trust']['warning']}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo("Note: browsers allow the camera only on secure origins: other machines "
                   "must reach this kiosk over HTTPS.", err=True)
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="healthcode-kiosk",
                       connection_limit=connection_limit, channel_timeout=channel_timeout,
                       cleanup_interval=max(1, min(channel_timeout // 2, 30)))
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
