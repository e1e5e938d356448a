"""The issuer's business operations, used by the web views and the CLI alike.

Assessment is a pure function of the stored observations and the published policy; issuing
signs the current assessment with the current key and records it. Colour changes are appended
to the audit log with the rule that caused them, so no colour changes without a trace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from verifier import CLOCK_SKEW, IdCheck, cnf_for
from verifier.timefmt import iso

from ..keys.home import Home
from ..keys.keystore import MAX_CREDENTIAL_TTL, IssuerConfig, load_signing_key
from ..keys.signing import PrivateKey, sign_credential
from ..policy import DEFAULT_POLICY, Outlook, advice, load_policy, outlook
from ..policy.observations import Observation, ObservationError
from ..policy.scoring import Assessment, Policy
from ..store import Rescored, Store
from ..store.audit_since import Marks
from ..store.audit_store import AuditReport, ChainWatch
from ..store.db import Conflict, NotFound
from ..store.holders import load_device_key
from ..store.observation_store import Consequence
from .auditlog import verified_head

__all__ = ["AuditReport", "Conflict", "IssuerService", "NotFound", "colour_change_entry"]

DEFAULT_TTL = 24 * 3600
#: The source recorded for what holders declare on their phone.
SELF_DECLARED = "self-declared"
#: Lifetime of a phone's live credential. The phone keeps showing it offline until then; it
#: is replaced when the colour or score changes, or after half of it.
LIVE_TTL = 24 * 3600


def colour_change_entry(before: Assessment, after: Assessment, policy_id: str,
                        cause: str = "") -> tuple[str, str, dict[str, Any]]:
    """The audit entry ``(action, reason, details)`` for a colour change: the reason names
    the rules in force (or the score movement when no rule fired)."""
    rules = "; ".join(c.text for c in after.contributions if c.kind.value == "rule")
    why = rules or f"score {before.score} -> {after.score}"
    return ("colour.change", f"{cause}{why}",
            {"from": before.colour.value, "to": after.colour.value,
             "score": [before.score, after.score], "policy": policy_id})


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now


def _issued(record: dict[str, Any]) -> dict[str, Any]:
    """What :meth:`IssuerService.issue` returns, from a stored credential."""
    return {"cti": record["cti"], "text": record["text"], "colour": record["colour"],
            "score": record["score"], "issued_at": record["iat"], "expires_at": record["exp"]}


def _stored(rows: list[dict[str, Any]]) -> list[Observation]:
    """Observations as the store returns them (checked when recorded) for the policy."""
    stored = Observation.stored
    return [stored(o["kind"], o["value"], o["observed_at"], o["source"]) for o in rows]


def _observed_at(observed_at: datetime | int, now: int) -> int:
    """``observed_at`` as epoch seconds, no later than ``now``; raises
    :class:`ObservationError` for a naive datetime or a time more than
    :data:`verifier.CLOCK_SKEW` after ``now``."""
    if isinstance(observed_at, datetime):
        if observed_at.tzinfo is None or observed_at.utcoffset() is None:
            raise ObservationError("observed_at", "a time with a UTC offset (e.g. Z, +08:00)")
        observed_at = int(observed_at.timestamp())
    if isinstance(observed_at, int) and not isinstance(observed_at, bool) and observed_at > now:
        if observed_at > now + CLOCK_SKEW:
            raise ObservationError("observed_at", f"in the future: at most {CLOCK_SKEW} s "
                                                  f"after the server's clock")
        # Ahead by no more than the skew: the sender's clock is fast. Recorded as of now, so
        # that it counts at once (with its colour change audited), not silently later.
        return now
    return observed_at


@dataclass
class IssuerService:
    """One issuer: its store, its current signing key, its published policy."""

    home: Home
    store: Store
    key: PrivateKey
    config: IssuerConfig
    policy: Policy
    ranking_min_members: int = 10
    _stamp: tuple[int, int] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _audit_watch: ChainWatch = field(default_factory=ChainWatch, repr=False)

    def __post_init__(self) -> None:
        self._stamp = self._config_stamp()
        if self._audit_watch.saved is None:  # from the checkpoint `audit verify` saved
            self._audit_watch.saved = lambda: verified_head(self)

    def _config_stamp(self) -> tuple[int, int] | None:
        try:
            info = self.home.issuer_config.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size

    def signer(self) -> tuple[PrivateKey, IssuerConfig]:
        """The current signing key and issuer configuration, re-read when ``issuer.json``
        changed on disk (``healthcode-issuer keys rotate`` while the service runs)."""
        stamp = self._config_stamp()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self.key, self.config, _ = load_signing_key(self.home)
                    self._stamp = stamp
        return self.key, self.config

    @classmethod
    def open(cls, home: str | Path | Home | None = None, database_url: str | None = None,
             policy_id: str = DEFAULT_POLICY, ranking_min_members: int = 10,
             phone_region: str | None = None) -> IssuerService:
        """Open the home's store (migrating it) and load the signing key and the policy.
        ``phone_region``: where phone numbers without a country code are read (default
        ``$HEALTHCODE_PHONE_REGION``, else CN).

        Raises :class:`issuer.keys.home.HomeError` when the home has no keys yet.
        """
        home = home if isinstance(home, Home) else Home.resolve(home)
        key, config, _ = load_signing_key(home)
        store = Store.open(home, database_url, phone_region=phone_region)
        return cls(home, store, key, config, load_policy(policy_id), ranking_min_members)

    def close(self) -> None:
        self.store.close()

    # People and observations ----------------------------------------------------------------

    def create_person(self, *, actor: str, name: str, id_number: str, phone: str,
                      organisation: str, reason: str = "enrolment", now: int | None = None
                      ) -> str:
        """Enrol a person; return the pseudonymous id. Raises :class:`Conflict`, and
        ``ValueError`` (:class:`issuer.store.phones.PhoneError`) for a phone number that
        cannot be valid."""
        return self.store.create_person(name, id_number, phone, organisation, actor=actor,
                                        reason=reason, now=_now(now))

    def add_observation(self, person_id: str, *, actor: str, kind: str, value: Any,
                        observed_at: datetime | int, source: str,
                        reason: str = "observation recorded", now: int | None = None
                        ) -> dict[str, Any]:
        """Validate and record an observation; return it with the new assessment.

        Raises :class:`issuer.policy.ObservationError` (naming the field) before
        anything is written, and :class:`NotFound`. ``observed_at`` may not be a naive
        datetime, nor more than the clock skew after ``now``: a future-dated observation
        would change the colour later, with no colour change recorded when it did.
        """
        now = _now(now)
        at = _observed_at(observed_at, now)
        checked = Observation(kind, value, at, source)
        assessed: list[Assessment] = []
        row = self.store.add_observation(person_id, checked.kind, checked.value, at,
                                         checked.source, actor=actor, reason=reason, now=now,
                                         consequence=self.rescorer(now, assessed),
                                         since=now - self.policy.lookback)
        return {**row, "assessment": assessed[-1].as_dict()}

    def rescorer(self, now: int, assessed: list[Assessment]) -> Consequence:
        """The store's ``consequence`` of a write at ``now`` that changes what counts (an
        observation recorded or voided): it scores the counted observations before and after,
        appends the new assessment to ``assessed``, and logs a colour change with its rules."""
        def rescore(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> Rescored:
            old, new = self.score_observations(before, now), self.score_observations(after, now)
            assessed.append(new)
            entry = colour_change_entry(old, new, self.policy.id) \
                if old.colour != new.colour else None
            return Rescored(new.colour, new.score, entry)
        return rescore

    def score_observations(self, observations: list[dict[str, Any]], now: int) -> Assessment:
        """Score stored observations (dicts as the store returns them) under the policy. They
        were checked when they were recorded and are not checked again."""
        return self.policy.score(_stored(observations), now)

    def assess(self, person_id: str, now: int | None = None) -> Assessment:
        """The person's assessment under the published policy now (only the observations the
        policy can still count are read). Raises NotFound."""
        now = _now(now)
        return self.score_observations(
            self.store.observations(person_id, since=now - self.policy.lookback), now)

    def outlook(self, person_id: str, now: int | None = None) -> Outlook:
        """The person's colour now and when it changes if nothing new is recorded
        (:func:`issuer.policy.outlook`, on the observations the policy can still count).
        Raises NotFound."""
        now = _now(now)
        stored = self.store.observations(person_id, since=now - self.policy.lookback)
        return outlook(self.policy, _stored(stored), now)

    def guidance(self, person_id: str, locale: str, zone: tzinfo | None = None,
                 now: int | None = None) -> dict[str, Any]:
        """What to do and when the colour changes, said in ``locale`` with times in ``zone``
        (:func:`issuer.policy.advice`; the deployment's zone by default). Raises NotFound."""
        return advice(self.policy, self.outlook(person_id, now), locale, zone)

    # What holders declare themselves ---------------------------------------------------------

    def preview(self, person_id: str, declared: list[tuple[str, Any]], now: int | None = None
                ) -> Assessment:
        """The assessment the person would get if ``declared`` (``(kind, value)`` pairs,
        observed now) were recorded; nothing is stored. Raises ObservationError (the
        declaration is checked as recording it would check it), NotFound."""
        now = _now(now)
        stored = self.store.observations(person_id, since=now - self.policy.lookback)
        extra = [Observation(kind, value, now, SELF_DECLARED) for kind, value in declared]
        return self.policy.score(_stored(stored) + extra, now)

    def declare(self, person_id: str, declared: list[tuple[str, Any]],
                now: int | None = None) -> Assessment:
        """Record what the holder declared (each audited, with any colour change it
        caused); return the new assessment. Raises ObservationError, NotFound."""
        now = _now(now)
        for kind, value in declared:
            self.add_observation(person_id, actor="holder", kind=kind, value=value,
                                 observed_at=now, source=SELF_DECLARED,
                                 reason="declared by the holder", now=now)
        return self.assess(person_id, now)

    # Credentials ----------------------------------------------------------------------------

    def issue(self, person_id: str, *, actor: str, ttl: int = DEFAULT_TTL,
              now: int | None = None, run_id: int | None = None,
              device: dict[str, Any] | None = None, purpose: str | None = None,
              current: Callable[[dict[str, Any]], bool] | None = None,
              family_link: str | None = None) -> dict[str, Any]:
        """Sign a credential from the current assessment and record it; return its record
        (cti, text, colour, score, issued_at, expires_at). ``device`` (from
        :meth:`Store.device`): bind the credential to that phone's key (``cnf``), making it
        a live code; without one it is a static code and carries the check-ID fields (the
        masked name and the id number's last characters) for checkpoints to compare with an
        ID document. ``current`` (with ``device``): keep the phone's current code instead if
        it satisfies this (:meth:`Store.record_credential`). ``family_link`` (with ``device``, a
        guardian's phone): a family code, issued only while that link is live (checked under
        its lock: :meth:`Store.record_credential`). Raises NotFound, Conflict."""
        if not 0 < ttl <= MAX_CREDENTIAL_TTL:
            raise ValueError(f"a credential lives at most {MAX_CREDENTIAL_TTL // 86400} days")
        now = _now(now)
        assessment = self.assess(person_id, now)
        key, config = self.signer()
        if device is not None:
            cnf, id_check = cnf_for(load_device_key(device["public_key"])), None
        else:
            person = self.store.get_person(person_id)
            cnf, id_check = None, IdCheck.of(person["name"], person["id_number"])
        text, cti = sign_credential(key, iss=config.iss, colour=assessment.colour,
                                    score=assessment.score, iat=now, ttl=ttl,
                                    policy=self.policy.digest, cnf=cnf, id_check=id_check,
                                    family=family_link is not None)
        record = self.store.record_credential(
            person_id, cti=cti, text=text, colour=assessment.colour, score=assessment.score,
            policy_id=self.policy.id, policy_digest=self.policy.digest, iat=now, exp=now + ttl,
            actor=actor, run_id=run_id, now=now,
            device_id=device["id"] if device is not None else None, purpose=purpose,
            reason=f"{assessment.colour.value} {assessment.score} under {self.policy.id}, "
                   f"valid to {iso(now + ttl)}", current=current, family_link=family_link)
        return _issued(record)

    def live_credential(self, person_id: str, device: dict[str, Any],
                        now: int | None = None, *, family_link: str | None = None
                        ) -> dict[str, Any]:
        """The live credential of the person's bound phone ``device`` (from
        :meth:`Store.device`): the phone's current one if it still matches the assessment and
        has at least half its life left, else a new one (which supersedes it). ``family_link``:
        ``device`` is a guardian's phone and the code a family code under that link
        (:mod:`issuer.service.family`)."""
        now = _now(now)
        assessment = self.assess(person_id, now)

        def fits(row: dict[str, Any]) -> bool:
            return (row["colour"] == assessment.colour.value
                    and row["score"] == assessment.score
                    and row["policy_digest"] == self.policy.digest.hex()
                    and now < row["exp"] - (row["exp"] - row["iat"]) // 2)

        row = self.store.device_credential(person_id, device["id"], now)
        if row is not None and fits(row):
            return _issued(row)
        # Checked again under the phone's lock: the same phone asking at once (the page and
        # its service worker) must get one code, not each its own.
        family = family_link is not None
        return self.issue(person_id, actor="guardian" if family else "holder", ttl=LIVE_TTL,
                          now=now, device=device, purpose="family" if family else "live",
                          current=fits, family_link=family_link)

    def credential_text(self, cti: str) -> str:
        """The QR text of an issued credential. Raises NotFound."""
        return self.store.credential(cti)["text"]

    # Reports --------------------------------------------------------------------------------

    def ranking(self, k: int | None = None) -> dict[str, Any]:
        """Organisations by mean score, only those with at least k members (never below the
        configured minimum, whatever the caller asks)."""
        k = max(k or 0, self.ranking_min_members)
        return {"k": k, "organisations": self.store.ranking(k)}

    def audit(self, person_id: str, now: int | None = None, after: int = 0,
              limit: int | None = None) -> dict[str, Any]:
        """The person's audit entries (after entry ``after``, at most ``limit``) and whether
        the chain holds: checked from the head this process last verified, the entries with
        their neighbours, and everything from the last checkpoint of ``audit verify`` at
        most every few minutes (:class:`ChainWatch`), not on every request."""
        self.store.get_person(person_id)  # NotFound for an unknown id
        return {"person_id": person_id, **self.store.audit_trail(
            person_id, self._audit_watch, _now(now), after, limit)}

    def create_token(self, scope: str, label: str, now: int, expires_at: int | None = None
                     ) -> tuple[str, str]:
        return self.store.create_token(scope, label, actor="cli", now=now,
                                       expires_at=expires_at)

    def verify_audit(self) -> tuple[int, Any]:
        return self.store.verify_audit()

    def audit_report(self, against: tuple[int, str] | None = None, since: Marks | None = None,
                     hold: tuple[int, str] | None = None) -> AuditReport:
        """The check: the chain, the tables against it, and a saved head; in full, or from
        the checkpoint ``since`` on (:meth:`issuer.store.Store.audit_report`)."""
        return self.store.audit_report(against, since, hold)
