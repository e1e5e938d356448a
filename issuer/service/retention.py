"""Retention: how long what is held counts and is kept (the policy's ``[retention]`` table),
and the purge that deletes the rest (``healthcode-issuer purge``, and the running service once
a day).

An observation is kept ``observation_days`` after it stops counting toward any code (its kind's
longest rule or factor window), a credential ``credential_days`` after it expires, an appeal
``appeal_days`` after its decision. Each batch deleted is one ``retention.purge`` audit entry
with the cutoffs and the counts, no values: ``audit verify`` then knows a purged row from one
deleted behind the log's back. A policy without a ``[retention]`` table (versions 1 and 2)
keeps everything.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from ..policy import Policy
from ..policy.terms import DAY
from ..store.purge import BATCH, Cutoffs, purge_batch
from .issuance import IssuerService

ACTOR = "system:retention"
_log = logging.getLogger("healthcode.retention")


def counted_days(policy: Policy) -> dict[str, int]:
    """Each observation kind the policy weighs, and for how many days it counts (its longest
    rule or factor window)."""
    counted: dict[str, int] = {}
    for item in (*policy.rules, *policy.factors):
        counted[item.kind.value] = max(counted.get(item.kind.value, 0), item.window_days)
    return counted


def cutoffs(policy: Policy, now: int) -> Cutoffs | None:
    """What goes at ``now`` under ``policy`` (None: the policy keeps everything)."""
    kept = policy.retention
    if kept is None:
        return None
    return Cutoffs({kind: now - days * DAY - kept.observation
                    for kind, days in counted_days(policy).items()},
                   now - kept.observation, now - kept.credential, now - kept.appeal)


def purge(service: IssuerService, *, now: int | None = None, actor: str = ACTOR,
          batch: int = BATCH) -> dict[str, int]:
    """Delete everything past its retention, a batch per transaction, each with its audit
    entry; return how many rows of each kind went (all 0 when the policy keeps everything)."""
    now = int(time.time()) if now is None else now
    totals = {"observations": 0, "credentials": 0, "appeals": 0}
    due = cutoffs(service.policy, now)
    if due is None:
        return totals
    reason = f"retention under {service.policy.id}"
    while True:
        with service.store.writing() as session:
            counts = purge_batch(session, due, actor=actor, reason=reason, now=now, batch=batch)
        for name, count in counts.items():
            totals[name] += count
        if not any(counts.values()):
            return totals


def summary(policy: Policy) -> dict[str, Any]:
    """How long what is held counts and is kept, for *My data*: each kind's ``counted_days``
    (kinds the policy does not weigh are absent), and ``kept_days`` after that (None: kept
    until erased)."""
    kept = policy.retention
    return {"deleted_automatically": kept is not None, "policy_id": policy.id,
            "lookback_days": policy.lookback // DAY, "counted_days": counted_days(policy),
            "kept_days": None if kept is None else {
                "observation": kept.observation // DAY, "credential": kept.credential // DAY,
                "appeal": kept.appeal // DAY, "audit": kept.audit // DAY}}


class DailyPurge:
    """The running service's purge: every ``every`` seconds on a daemon thread, the first
    after ``first`` seconds. Failures are logged, not raised: the next run tries again."""

    def __init__(self, service: IssuerService, every: float, first: float | None = None
                 ) -> None:
        self.service, self.every = service, every
        self.first = every if first is None else first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="daily-purge", daemon=True)

    def start(self) -> DailyPurge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            wait = self.every
            try:
                went = purge(self.service)
            except Exception:  # noqa: BLE001 (a background job: log it, try again later)
                _log.exception("the daily purge failed; it runs again in %d s", self.every)
                continue
            if any(went.values()):
                _log.info("purged %s", ", ".join(f"{n} {k}" for k, n in went.items()))
