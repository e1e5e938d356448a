"""``healthcode-verifier witness``: cosign a transparency log's checkpoints as an independent
witness (verifier/tlog/witness.py), refusing, with the evidence, a log that rolled back, showed
two histories of one size, or rewrote a past leaf.

Exit codes: 0 cosigned (or a key made); 1 refused: the log is not consistent with what this
witness cosigned before; 2 usage error, unreadable key, or a log that could not be read or
verified.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .tlog import TlogError
from .tlog.client import LogClient
from .tlog.note import Ed25519Verifier
from .tlog.witness import Witness, WitnessRefusal, create_key, load_key

EXIT_COSIGNED, EXIT_REFUSED, EXIT_ERROR = 0, 1, 2


@click.command(epilog="""\b
Examples:
  healthcode-verifier witness --key witness.json --init court.example/witness
  healthcode-verifier witness https://issuer.example/log --key witness.json \\
      --log-key "$(cat log.vkey)"      # every few minutes, from cron""")
@click.argument("url", required=False)
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="This witness's key file (encrypted under "
              "$HEALTHCODE_WITNESS_PASSPHRASE).")
@click.option("--init", "init_name", metavar="NAME",
              help="Make a new key named NAME, print its verifier key for the log, and stop.")
@click.option("--log-key", "log_vkey", metavar="VKEY",
              help="The log's note verifier key (what the log serves at /log/key), pinned.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where the last cosigned checkpoint is kept [default: KEY.state].")
@click.option("--no-submit", is_flag=True, help="Cosign, keep and print; do not send.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def witness(url: str | None, key_path: Path, init_name: str | None, log_vkey: str | None,
            state_path: Path | None, no_submit: bool, as_json: bool) -> None:
    """Check a log's checkpoint against its tiles and against the last one this witness
    cosigned, then cosign it and send the cosignature to the log (URL/cosignature)."""
    try:
        if init_name is not None:
            signer = create_key(key_path, init_name)
            click.echo(signer.verifier.vkey)
            return
        if url is None or log_vkey is None:
            raise click.UsageError("give the log's URL and --log-key")
        log_key = Ed25519Verifier.from_vkey(log_vkey.strip())
        base = url.rstrip("/")
        client = LogClient(base, log_key.name, [log_key])
        state = state_path or key_path.with_name(key_path.name + ".state")
        note = Witness(load_key(key_path), client, log_key.name, [log_key], state).cosign(
            None if no_submit else f"{base}/cosignature")
    except WitnessRefusal as exc:
        _say({"ok": False, "reason": exc.reason, "message": str(exc), **exc.evidence},
             as_json, err=True)
        raise SystemExit(EXIT_REFUSED) from None
    except TlogError as exc:
        _say({"ok": False, "reason": str(exc.reason), "message": str(exc)}, as_json, err=True)
        raise SystemExit(EXIT_ERROR) from None
    _say({"ok": True, "note": note}, as_json)


def _say(result: dict[str, object], as_json: bool, err: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False), err=err)
        return
    if result["ok"]:
        click.echo(f"cosigned:\n{result['note']}")
        return
    click.echo(f"REFUSED: {result['message']}", err=True)
    for name in ("cosigned", "shown"):
        if isinstance(result.get(name), str):
            click.echo(f"--- {name} checkpoint ---\n{result[name]}", err=True)
