"""``healthcode-verifier monitor``: download and verify an issuer's whole public log, and print
what the public should see (docs/SECURITY.md, "A history rewritten by whoever runs the
database"). Only parses, calls :mod:`verifier.tlog` and maps its errors to exit codes; kept
apart from :mod:`verifier.cli`, which registers it, so that module stays small.

Exit codes: 0 the log verified and nothing was flagged; 1 it verified and something was flagged;
2 usage error (a bad key, an unreadable or foreign state file); 3 the log was refused (a bad
checkpoint, tile, bundle or leaf, unreachable, or a history that contradicts the kept one).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import click

from .i18n import zone as deployment_zone
from .timefmt import iso, parse_duration, shown
from .tlog import Ed25519Verifier, LogClient, TlogError
from .tlog.monitor import Finding, MonitorError, MonitorReason, Tally, Thresholds
from .tlog.monitorwalk import check_history, kept_note, state_json, verified_entries
from .verify import now_seconds

EXIT_OK, EXIT_FLAGGED, EXIT_USAGE, EXIT_REFUSED = 0, 1, 2, 3
#: The most day groups printed as text (``--json`` and ``--html`` carry them all).
MAX_LINES = 500
_WHAT = {
    "red_spike": "{count} red changes in one hour (more than {limit})",
    "red_without_test": "{count} red changes in one hour, {limit} test results recorded by "
                        "the same actor",
    "backdated": "leaf {index} dated {count} s before a leaf logged earlier (more than {limit})",
    "future": "leaf {index} dated {count} s after this run (more than {limit})",
}


def _duration(ctx: Any, param: Any, value: str) -> int:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(epilog="""\b
Examples:
  healthcode-verifier monitor http://issuer.example:8080/log \\
      --log-key "$(cat log.vkey)" --state monitor.json --html report.html
  healthcode-verifier monitor https://mirror.example/hz-log --log-key FILE --json
\b
Exit codes: 0 verified, nothing flagged; 1 verified, something flagged; 2 usage error;
3 the log was refused (bad checkpoint, tile or leaf, unreachable, history rewritten).""")
@click.argument("url")
@click.option("--log-key", "vkey", required=True, metavar="VKEY",
              help="The log's note verifier key (the text at URL/key), or a file holding it: "
                   "pin it from a source you trust, not from the log itself.")
@click.option("--origin", help="The log's origin [default: the key's name].")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Keep the last verified checkpoint here; the next run requires the log to "
                   "be consistent with it.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report with charts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--max-red-per-hour", type=click.IntRange(1), default=Thresholds.red_per_hour,
              show_default=True, help="Flag an actor with more red changes in one hour.")
@click.option("--max-backdate", default="1h", show_default=True, callback=_duration,
              help="Flag a leaf dated this much before one logged earlier.")
@click.option("--zone", "zone_name", help="Time zone of days and hours [default: "
              "$HEALTHCODE_TIMEZONE, else Asia/Shanghai].")
def monitor(url: str, vkey: str, origin: str | None, state_path: Path | None,
            html_path: Path | None, as_json: bool, max_red_per_hour: int, max_backdate: int,
            zone_name: str | None) -> None:
    """Download the log at URL (the folder holding its checkpoint and tiles, e.g.
    http://issuer:8080/log), verify all of it against the pinned key, and print colour changes
    per day by actor, action and reason, and what looks wrong."""
    now = now_seconds()
    try:
        zone = deployment_zone(zone_name)
        key = Ed25519Verifier.from_vkey(_read_key(vkey))
    except (ValueError, TlogError) as exc:
        raise click.UsageError(f"--log-key/--zone: {exc}") from None
    origin = origin or key.name
    kept = _read_state(state_path, origin) if state_path else None
    tally = Tally(zone, now, Thresholds(max_red_per_hour, max_backdate))
    result: dict[str, Any] = {"ok": False, "origin": origin, "url": url, "checked_at": iso(now)}
    try:
        client = LogClient(url, origin, [key])
        opened = client.checkpoint()
        result.update(size=opened.checkpoint.size, checkpoint=opened.note)
        if kept is not None:
            proof = check_history(client, kept, opened)
            result["history"] = {"kept": kept, "proof": [p.hex() for p in proof]}
        for index, entry in verified_entries(client, opened):
            tally.add(index, entry)
    except TlogError as exc:
        result.update(reason=str(exc.reason), message=exc.detail,
                      **{k: v for k, v in exc.context.items() if k in ("kept", "served",
                                                                         "proof", "index")})
        click.echo(json.dumps(result) if as_json else _refusal(result))
        raise SystemExit(EXIT_REFUSED) from None
    findings, totals = tally.findings()
    result.update(ok=True, zone=str(zone), leaves=tally.leaves, days=tally.per_day(),
                  findings=[{**f.as_dict(), "at": iso(f.at)} for f in findings],
                  flagged=dict(totals))
    if state_path is not None:
        _write(state_path, state_json(opened))
    if html_path is not None:
        from .monitorpage import render

        _write(html_path, render(tally, findings, totals, result))
    click.echo(json.dumps(result) if as_json else _text(result, findings, totals, state_path))
    raise SystemExit(EXIT_FLAGGED if totals else EXIT_OK)


def _read_key(value: str) -> str:
    path = Path(value)
    if "+" not in value and path.is_file():
        try:
            return path.read_text(encoding="utf-8")[:4096].strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {value}: {exc}") from None
    return value.strip()


def _read_state(path: Path, origin: str) -> str | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None  # the first run
    except OSError as exc:
        raise click.UsageError(f"cannot read --state {path}: {exc.strerror}") from None
    try:
        return kept_note(data, origin)
    except MonitorError as exc:
        raise click.UsageError(f"--state {path}: {exc.detail} (reason "
                               f"{MonitorReason.BAD_STATE})") from None


def _write(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all (a temporary file renamed over ``path``)."""
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        raise click.UsageError(f"cannot write {path}: {exc.strerror}") from None


def _refusal(result: dict[str, Any]) -> str:
    lines = [f"REFUSED ({result['reason']}): {result['message']}"]
    for name, label in (("kept", "kept checkpoint"), ("served", "checkpoint served now")):
        if name in result:
            lines += [f"{label}:", result[name].rstrip("\n"), ""]
    if "proof" in result:
        lines += ["consistency proof (base64 hashes), not leading to the served root:"]
        lines += [f"  {p}" for p in result["proof"]] or ["  (none)"]
    return "\n".join(lines).rstrip("\n")


def _text(result: dict[str, Any], findings: list[Finding], totals: Counter[str],
          state_path: Path | None) -> str:
    lines = [f"log OK: {result['origin']}, {result['leaves']:,} leaves verified (signed "
             "checkpoint, every bundle against its tile, the root recomputed from the leaves)"]
    if "history" in result:
        proof = result["history"]["proof"]
        lines.append(f"history: consistent with the kept checkpoint ({len(proof)}-hash proof)")
    elif state_path is not None:
        lines.append(f"history: first run, checkpoint kept in {state_path}")
    lines += ["", f"per day ({result['zone']}): day, action, actor, reason, colours, count"]
    for row in result["days"][:MAX_LINES]:
        colours = f"{row['from']}->{row['to']}" if row["action"] == "colour.change" else "-"
        lines.append(f"  {row['day']}  {row['action']}  {row['actor']}  {row['why'] or '-'}  "
                     f"{colours}  {row['count']}")
    if len(result["days"]) > MAX_LINES:
        lines.append(f"  … {len(result['days']) - MAX_LINES:,} more (see --json or --html)")
    lines += ["", "flagged: " + (", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
                                 or "nothing")]
    for f in findings:
        what = _WHAT[f.kind].format(**f.as_dict())
        lines.append(f"  {f.kind.upper()}  {shown(f.at)}  actor {f.actor}: {what}")
    return "\n".join(lines)
