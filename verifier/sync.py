"""Fetch the trust list and the revocation lists from an issuer when online, safely.

``sync(urls, trust_path)`` downloads ``URL/trust/trust-list.json`` and ``URL/trust/revocations``
(conditional requests: an unchanged list costs a 304), checks each document as the verifier
would use it (the pinned anchor, expiry, no rollback to an older list, signatures by keys in the
trust list) and only then replaces the local file, atomically. A dropped connection, a
truncated or corrupted download, a list signed by anyone else or an older list leave the
files in place: a verifier is never left with a broken or empty trust list.

What it remembers (``sync.json`` beside the trust list): where it syncs from, when it last
synced, when each issuer's revocation list was last confirmed current (fetched and checked, or
a 304: ``checked``) and the ETags; nothing about any code or person.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import HealthCodeError, RevocationListError, TrustListError
from .fileio import write_atomic
from .jws import MAX_JWS_BYTES
from .revocation import MAX_REVOCATION_BYTES, RevocationList, file_name
from .revocation import check_successor as newer_revocations
from .trust import ANCHOR_FILE, TrustList, check_successor, load_anchor, save_anchor

SYNC_STATE_FILE = "sync.json"
TIMEOUT_SECONDS = 15.0


class SyncError(Exception):
    """The download failed (``reason`` ``unreachable``, ``incomplete_download`` or
    ``http_error``) or the document was
    refused (``reason`` from the list's own check: ``trust_list_rollback``, …)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass
class SyncReport:
    """What one sync did: per document, ``updated``, ``unchanged`` or an error."""

    trust_list: str = "unchanged"
    trust_sequence: int | None = None
    anchor_rolled_over: bool = False
    revocations: dict[str, str] = field(default_factory=dict)
    errors: list[SyncError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "trust_list": self.trust_list,
                "trust_sequence": self.trust_sequence,
                "anchor_rolled_over": self.anchor_rolled_over, "revocations": self.revocations,
                "errors": [{"reason": e.reason, "detail": e.detail} for e in self.errors]}


def read_state(folder: Path) -> dict[str, Any]:
    """The sync state beside the trust list (empty when there is none or it is unreadable)."""
    try:
        state = json.loads((folder / SYNC_STATE_FILE).read_bytes()[:64 * 1024])
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _fetch(url: str, etag: str | None, limit: int) -> tuple[bytes | None, str | None]:
    """GET ``url``: ``(body, etag)``, or ``(None, etag)`` for 304 Not Modified."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SyncError("http_error", f"{url}: only http and https URLs are synced from")
    request = urllib.request.Request(url, headers={"User-Agent": "healthcode-verifier"})  # noqa: S310
    if isinstance(etag, str) and etag.isprintable() and len(etag) < 256:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            body = response.read(limit + 1)
            if len(body) > limit:
                raise SyncError("http_error", f"{url}: larger than {limit} bytes")
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) != len(body):
                raise SyncError("incomplete_download",
                                f"{url}: got {len(body)} of {declared} bytes")
            return body, response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection
        if exc.code == 304:
            return None, etag
        raise SyncError("http_error", f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # ValueError: a bad URL; OSError includes timeouts and http.client.IncompleteRead's
        # base (a connection dropped mid-body).
        reason = getattr(exc, "reason", exc)
        raise SyncError("unreachable", f"{url}: {reason}") from None
    except http.client.HTTPException as exc:  # a broken or truncated response
        raise SyncError("incomplete_download", f"{url}: {type(exc).__name__}: {exc}") from None


def _local_trust(path: Path, pin: bytes) -> TrustList | None:
    try:
        return TrustList.load(path, pin, now=0)
    except (OSError, TrustListError):
        return None


def sync(urls: list[str], trust_path: Path, anchor_path: Path | None = None,
         now: int | None = None) -> SyncReport:
    """Sync the trust list (from the first URL) and each URL's revocation list."""
    now = int(time.time()) if now is None else now
    trust_path = Path(trust_path)
    folder = trust_path.parent
    anchor_path = Path(anchor_path) if anchor_path else folder / ANCHOR_FILE
    pin = load_anchor(anchor_path)
    state = read_state(folder)
    etags: dict[str, str] = state.get("etags", {}) if isinstance(state.get("etags"), dict) else {}
    report = SyncReport()
    bases = [url.rstrip("/") for url in urls]
    trust = _local_trust(trust_path, pin)
    # Which issuer's list each URL gave last time (so a 304 can be reported by issuer).
    sources: dict[str, str] = state.get("sources", {}) \
        if isinstance(state.get("sources"), dict) else {}
    # When each issuer's list was last confirmed current: how old what the verifier knows is.
    checked: dict[str, int] = state.get("checked", {}) \
        if isinstance(state.get("checked"), dict) else {}
    url = f"{bases[0]}/trust/trust-list.json"
    try:
        body, etag = _fetch(url, etags.get(url) if trust is not None else None, MAX_JWS_BYTES)
        if body is not None:
            new = TrustList.from_jws(body, pin, now)
            check_successor(trust, new)
            if trust is None or new.digest != trust.digest:
                write_atomic(trust_path, body, 0o644)
                report.trust_list = "updated"
            if new.rolled_over_from is not None and new.anchor_jwk is not None:
                save_anchor(anchor_path, new.anchor_jwk)  # after the list: see trust.py
                report.anchor_rolled_over = True
            trust = new
        if etag:
            etags[url] = etag
    except SyncError as exc:
        report.trust_list = exc.reason
        report.errors.append(exc)
    except TrustListError as exc:
        report.trust_list = exc.reason.value
        report.errors.append(SyncError(exc.reason.value, f"{url}: {exc.detail}"))
    if trust is None:
        return _finish(folder, state, etags, bases, report, now)
    report.trust_sequence = trust.sequence
    current = trust if now <= trust.expires_at else None
    for base in bases:
        url = f"{base}/trust/revocations"
        try:
            if current is None:
                raise SyncError("trust_list_expired", "no current trust list to check it with")
            # Ask "changed since?" only while the file that URL gave last time is still here.
            known = sources.get(url)
            have = isinstance(known, str) and (folder / file_name(known)).is_file()
            body, etag = _fetch(url, etags.get(url) if have else None, MAX_REVOCATION_BYTES)
            if body is not None:
                sources[url] = known = _store_revocations(folder, body, current, report)
            else:
                report.revocations[str(known)] = "unchanged"
            checked[str(known)] = now
            if etag:
                etags[url] = etag
        except SyncError as exc:
            report.revocations[url] = exc.reason
            report.errors.append(exc)
        except HealthCodeError as exc:
            report.revocations[url] = exc.reason.value
            report.errors.append(SyncError(exc.reason.value, f"{url}: {exc.detail}"))
    state["sources"], state["checked"] = sources, checked
    return _finish(folder, state, etags, bases, report, now)


def _store_revocations(folder: Path, body: bytes, trust: TrustList, report: SyncReport) -> str:
    new = RevocationList.from_cose(body, trust)
    path = folder / file_name(new.iss)
    try:
        previous: RevocationList | None = RevocationList.load(path, trust)
    except (OSError, RevocationListError):
        previous = None
    newer_revocations(previous, new)
    if previous is None or previous.digest != new.digest:
        write_atomic(path, body, 0o644)
        report.revocations[new.iss] = "updated"
    else:
        report.revocations[new.iss] = "unchanged"
    return new.iss


def _finish(folder: Path, state: dict[str, Any], etags: dict[str, str], bases: list[str],
            report: SyncReport, now: int) -> SyncReport:
    state = {**state, "urls": bases, "etags": etags, "last_attempt": now}
    if report.ok:
        state["last_sync"] = now
    else:
        state["last_error"] = [e.reason for e in report.errors]
    try:
        write_atomic(folder / SYNC_STATE_FILE, json.dumps(state, indent=1).encode(), 0o644)
    except OSError as exc:
        report.errors.append(SyncError("state_not_written", str(exc)))
    return report
