"""The checkpoint's logic, free of HTTP: from a frame, an upload or a text to a verdict, on a
code of ours or of a foreign format (:mod:`verifier.formats`, with the keys stored beside the
trust list: :class:`.lists.ForeignState`).

Nothing about a scanned code is written anywhere (a foreign code's holder, whose name and date
of birth go to the screen, neither). To announce a code once while it stays in
view, the checkpoint keeps, in memory and for a few seconds only, a keyed hash of the codes it
has just seen (the key is random per process, so the hashes mean nothing outside it). What
it keeps for longer are counters: admitted, denied, invalid by reason.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from .. import i18n
from ..claims import Credential
from ..errors import (
    HealthCodeError,
    Reason,
    TrustListError,
    VerificationError,
)
from ..formats import ForeignCode
from ..formats.store import ForeignStore
from ..image import MAX_FRAME_PIXELS, UPLOAD_PIXELS, decode_frame, decode_image, load_image
from ..presentation import PRESENTATION_WINDOW
from ..scan import health_codes
from ..sync import read_state
from ..syncwatch import MAX_REVOCATION_AGE, BackgroundSync
from ..timefmt import iso
from ..trust import TrustList, load_anchor
from ..verify import MAX_TEXT_LENGTH, verify
from .lists import ForeignState, RevocationState, TrustState
from .rules import Rule
from .verdicts import (
    ADMIT_WORD,
    DETAILS,
    OURS,
    SCREEN_WORDS,
    STATIC_REFUSED,
    State,
    code_format,
    code_identity,
    foreign_verdict,
    reader,
    span,
    time_detail,
    when,
)

#: A code seen again within this many seconds of the last time it was seen is not announced.
REPEAT_SECONDS = 5.0


class Checkpoint:
    """Verdicts for one checkpoint: its trust list, its rule, its counters."""

    def __init__(self, trust_path: str | Path, rule: Rule, *, accept_static: bool = True,
                 anchor: str | Path | bytes | None = None,
                 clock: Callable[[], float] = time.time,
                 repeat_seconds: float = REPEAT_SECONDS,
                 window: int = PRESENTATION_WINDOW,
                 max_revocation_age: int = MAX_REVOCATION_AGE,
                 background: BackgroundSync | None = None) -> None:
        trust_path = Path(trust_path)
        anchor = trust_path.with_name("anchor.pub.pem") if anchor is None else anchor
        pin = anchor if isinstance(anchor, bytes) else load_anchor(anchor)
        self.trust = TrustState(trust_path, pin, clock)
        self.revocations = RevocationState(trust_path.parent)
        self.foreign = ForeignState(ForeignStore.beside(trust_path))
        self.rule = rule
        self.accept_static = accept_static
        self.clock = clock
        self.repeat_seconds = repeat_seconds
        self.window = window
        self.max_revocation_age = max_revocation_age
        self.background = background
        self.started_at = int(clock())
        self._key = secrets.token_bytes(32)
        self._seen: dict[bytes, float] = {}
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.trust.current()
        self.foreign.current()

    # Inputs ----------------------------------------------------------------------------------

    def frame(self, data: bytes) -> dict[str, Any]:
        """A camera frame (JPEG or PNG bytes): ``idle`` when it shows no QR code. A frame
        larger than a camera's (:data:`MAX_FRAME_PIXELS`) is ``malformed``."""
        try:
            image = load_image(data, max_pixels=MAX_FRAME_PIXELS)
        except VerificationError as exc:
            return self._invalid(exc, None)
        texts = decode_frame(image)
        if not texts:
            with self._lock:
                self._counts["frames"] += 1
                self._counts["frames_without_code"] += 1
            return {"state": State.IDLE, "message": _("Show your code to the camera")}
        with self._lock:
            self._counts["frames"] += 1
        return self._judge(texts)

    def upload(self, data: bytes) -> dict[str, Any]:
        """A photo or screenshot, scaled down to :data:`UPLOAD_PIXELS` first: every decoding
        pass is tried; no code is ``no_code``."""
        try:
            texts = decode_image(data, fit=UPLOAD_PIXELS)
        except VerificationError as exc:
            return self._invalid(exc, None)
        if not texts:
            return self._invalid(VerificationError(Reason.NO_CODE), None)
        return self._judge(texts)

    def text(self, text: str) -> dict[str, Any]:
        """The code's text, pasted or typed."""
        text = text.strip()
        if not text:
            return self._invalid(VerificationError(Reason.NO_CODE, "no code text given"), None)
        return self._judge([text[:MAX_TEXT_LENGTH + 1]])

    # Verdicts --------------------------------------------------------------------------------

    def _judge(self, texts: list[str]) -> dict[str, Any]:
        codes = health_codes(texts) or texts[:1]
        fingerprint = self._fingerprint(code_identity(codes[0]))
        trust = self.trust.current()
        # Foreign codes alone need none of our trust list: only keys of their own.
        if trust is None and any(code_format(text) in (None, OURS) for text in codes):
            error = self.trust.error or TrustListError(Reason.TRUST_LIST_MALFORMED)
            return {"state": State.INVALID, "reason": error.reason.value,
                    "message": str(SCREEN_WORDS[error.reason]),
                    "detail": str(DETAILS[error.reason]),
                    "code": fingerprint, "announce": self._announce(fingerprint, None)}
        now = int(self.clock())
        if trust is not None and now > trust.expires_at:
            # Out of date but genuine (TrustState keeps such a list): verify() would refuse every
            # code with trust_list_expired, so check codes against a copy that is current now;
            # the status and the screen still say the list expired.
            trust = replace(trust, expires_at=now)
        first_error: tuple[VerificationError, str] | None = None
        for text in codes:
            try:
                credential = verify(text, trust, now,
                                    None if trust is None else self.revocations.current(trust),
                                    window=self.window,
                                    foreign=self.foreign.current(trust and trust.foreign))
            except VerificationError as exc:
                first_error = first_error or (exc, text)
                continue
            return self._valid(credential, fingerprint, now)
        assert first_error is not None
        error, text = first_error
        return self._invalid(error, fingerprint, time_detail(error, text, now, self.window))

    def _valid(self, credential: Credential | ForeignCode, fingerprint: str,
               now: int) -> dict[str, Any]:
        if isinstance(credential, ForeignCode):
            refusal = self.rule.decide(credential)
            verdict = {"state": State.ADMIT if refusal is None else State.DENY,
                       **foreign_verdict(credential, refusal, now), "code": fingerprint}
            verdict["announce"] = self._announce(fingerprint, "admitted" if refusal is None
                                                 else "denied")
            return verdict
        static = credential.static
        refusal = self.rule.decide(credential)
        if refusal is None and static and not self.accept_static:
            refusal = str(STATIC_REFUSED)
        state = State.ADMIT if refusal is None else State.DENY
        left = max(credential.exp - now, 0)
        verdict = {
            "state": state, "format": OURS, "colour": credential.colour.value,
            "score": credential.score,
            "expires_at": iso(credential.exp), "seconds_left": left,
            "time_left": span(left), "issuer": credential.iss,
            "issuer_name": self.trust.trust.issuer_name(credential.iss, i18n.tag(reader()))
            if self.trust.trust else credential.iss,
            "static": static, "message": str(ADMIT_WORD) if refusal is None else refusal,
            "id_check": credential.id_check._asdict() if credential.id_check else None,
            "family": credential.family,
            "presented_ago": None if credential.presented_at is None
            else now - credential.presented_at,
            "code": fingerprint}
        verdict["announce"] = self._announce(fingerprint, "admitted" if refusal is None
                                             else "denied")
        return verdict

    def _invalid(self, error: HealthCodeError, fingerprint: str | None,
                 detail: str | None = None) -> dict[str, Any]:
        reason = error.reason
        verdict = {"state": State.INVALID, "reason": reason.value,
                   "format": error.context.get("format") if isinstance(error, VerificationError)
                   and "format" in error.context else None,
                   "message": str(SCREEN_WORDS[reason]),
                   "detail": detail or str(DETAILS[reason]), "code": fingerprint}
        verdict["announce"] = self._announce(fingerprint, f"invalid:{reason.value}")
        return verdict

    def _fingerprint(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8", "replace"),
                        hashlib.sha256).hexdigest()[:16]

    def _announce(self, fingerprint: str | None, outcome: str | None) -> bool:
        """True when this verdict is news: the code was not seen in the last few seconds.
        Counts each announced outcome."""
        now = self.clock()
        with self._lock:
            if fingerprint is not None:
                # Per code and outcome: a live code held in view is announced once, but a
                # refused recording followed by the live phone is announced again.
                key = bytes.fromhex(fingerprint) + (outcome or "").encode()
                last = self._seen.get(key)
                self._seen[key] = now
                if len(self._seen) > 256:  # bounded: drop codes not seen for a while
                    cutoff = now - self.repeat_seconds
                    self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
                if last is not None and now - last < self.repeat_seconds:
                    return False
            if outcome is not None:
                self._counts[outcome] += 1
            return True

    # Status ----------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters only: nothing about any code."""
        with self._lock:
            counts = dict(self._counts)
        invalid = {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("invalid:")}
        return {"since": iso(self.started_at), "admitted": counts.get("admitted", 0),
                "denied": counts.get("denied", 0), "invalid": sum(invalid.values()),
                "invalid_by_reason": dict(sorted(invalid.items())),
                "frames": counts.get("frames", 0),
                "frames_without_code": counts.get("frames_without_code", 0)}

    def status(self) -> dict[str, Any]:
        """The rule in force and the trust list's age and validity, for the screen."""
        trust = self.trust.current()
        now = int(self.clock())
        info: dict[str, Any] = {"rule": self.rule.text, "rule_text": self.rule.describe(),
                                "accept_static": self.accept_static, "now": iso(now)}
        held = self.foreign.held(trust and trust.foreign)
        problem = self.foreign.error
        info["foreign"] = {"formats": held, "warning": problem and _(
            "Keys for foreign codes ignored (%(why)s): EU, SMART and NZ codes cannot be "
            "checked.", why=problem.detail)}
        if trust is None:
            error = self.trust.error
            info["trust"] = {"ok": False, "reason": error.reason.value if error else None,
                             "warning": _("No usable trust list (%(why)s): codes cannot be "
                                          "checked.", why=DETAILS[error.reason] if error
                                          else "?")}
            return info
        age = max(now - trust.issued_at, 0)
        warning = None
        if self.trust.expired:
            warning = _("The trust list expired %(age)s ago (valid until %(when)s): fetch "
                        "a fresh one.", age=span(now - trust.expires_at),
                        when=when(trust.expires_at))
        elif self.trust.rejected is not None:
            warning = _("A newer trust list file was refused (%(why)s); the list in force is "
                        "#%(sequence)s.", why=DETAILS[self.trust.rejected.reason],
                        sequence=trust.sequence)
        info["trust"] = {"ok": True, "sequence": trust.sequence,
                         "issued_at": iso(trust.issued_at), "expires_at": iso(trust.expires_at),
                         "age": span(age), "age_seconds": age,
                         "expired": self.trust.expired, "warning": warning,
                         "issuers": sorted(trust.issuer_name(iss, i18n.tag(reader()))
                                           for iss in trust.issuers)}
        info["revocations"] = self._revocation_status(trust, now)
        info["sync"] = self._sync_status(now)
        return info

    def _revocation_status(self, trust: TrustList, now: int) -> dict[str, Any]:
        revocations = self.revocations.current(trust)
        checked = read_state(self.trust.path.parent).get("checked")
        checked = checked if isinstance(checked, dict) else {}
        lists, warnings = [], []
        for r in revocations:
            name = trust.issuer_name(r.iss, i18n.tag(reader()))
            confirmed = checked.get(r.iss)
            age = max(now - max(r.issued_at, confirmed if type(confirmed) is int else 0), 0)
            stale = age > self.max_revocation_age
            lists.append({"iss": r.iss, "issuer": name, "sequence": r.sequence,
                          "entries": len(r), "issued_at": iso(r.issued_at),
                          "expires_at": iso(r.expires_at), "expired": r.expired(now),
                          "age": span(age), "age_seconds": age, "stale": stale})
            if r.expired(now):
                warnings.append(_("The revocation list of %(issuer)s expired %(age)s ago: "
                                  "codes revoked since then still pass here. Sync.",
                                  issuer=name, age=span(now - r.expires_at)))
            elif stale:
                warnings.append(_("The revocation list of %(issuer)s is %(age)s old (the "
                                  "limit is %(limit)s): codes revoked since then still pass "
                                  "here. Check the network and the sync.", issuer=name,
                                  age=span(age), limit=span(self.max_revocation_age)))
        warnings += [_("Revocation list %(name)s ignored: %(problem)s", name=name,
                       problem=problem)
                     for name, problem in sorted(self.revocations.problems.items())]
        missing = sorted(set(trust.issuers) - {r.iss for r in revocations})
        return {"lists": lists, "missing": missing, "warning": " ".join(warnings) or None}

    def _sync_status(self, now: int) -> dict[str, Any]:
        state = read_state(self.trust.path.parent)
        last = state.get("last_sync")
        background = self.background.status(now) if self.background is not None else None
        if background is not None and self.background is not None:
            background["every"] = span(self.background.every)
            if background["warning"] is not None:
                background["warning"] = self._sync_warning(background, now)
        info: dict[str, Any] = {"last_sync": None, "age": None, "urls": [],
                                "background": background,
                                "warning": background and background["warning"]}
        if type(last) is int:
            info.update(last_sync=iso(last), age=span(max(now - last, 0)),
                        urls=[u for u in state.get("urls", []) if isinstance(u, str)])
        return info

    def _sync_warning(self, background: dict[str, Any], now: int) -> str:
        """The background sync's warning in the reader's words."""
        if not background["running"]:
            return _("Background sync has stopped: restart the kiosk.")
        attempt = self.background.last_attempt if self.background is not None else None
        report = self.background.last_report if self.background is not None else None
        reasons = ", ".join(dict.fromkeys(e.reason for e in report.errors)) if report else ""
        return _("The last sync, %(age)s ago, failed (%(reasons)s); the lists in use were "
                 "kept. Retrying every %(every)s.", age=span(max(now - (attempt or now), 0)),
                 reasons=reasons, every=background["every"])
