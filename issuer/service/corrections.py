"""Corrections without deletion: an observation is voided, not deleted.

An authority voids any observation, with a reason; a holder voids what they declared
themselves, within the policy's undo window (``[recourse] holder_undo_hours``). A voided
observation stays in the person's data and in the audit log, and no longer counts: the person
is re-scored in the same transaction, a colour change logged with its rules, and credentials
that now show more than the truth revoked.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Any

from ..policy.scoring import Assessment
from .issuance import SELF_DECLARED, IssuerService

#: The actor the store records for what holders do on their phone.
HOLDER = "holder"


class CorrectionProblem(StrEnum):
    """Why a holder may not void an observation (stable strings)."""

    NOT_OWN_DECLARATION = "not_own_declaration"  # recorded by an authority, not declared
    UNDO_WINDOW_PASSED = "undo_window_passed"  # declared longer ago than the policy allows


class CorrectionError(Exception):
    """A holder's void was refused; ``reason`` says why."""

    def __init__(self, reason: CorrectionProblem, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def holder_may_void(service: IssuerService, observation: dict[str, Any], now: int) -> bool:
    """Whether the holder may still void ``observation`` (a dict as the store gives it)."""
    try:
        _check_holder(service, observation, now)
    except CorrectionError:
        return False
    return observation["voided_at"] is None


def _check_holder(service: IssuerService, observation: dict[str, Any], now: int) -> None:
    if observation["recorded_by"] != HOLDER or observation["source"] != SELF_DECLARED:
        raise CorrectionError(CorrectionProblem.NOT_OWN_DECLARATION,
                              "only what you declared yourself can be withdrawn here: "
                              "appeal against the rest")
    window = service.policy.recourse.undo
    if now - observation["recorded_at"] > window:
        raise CorrectionError(CorrectionProblem.UNDO_WINDOW_PASSED,
                              f"a declaration can be withdrawn for {window // 3600} hours "
                              f"after it was sent: appeal against it instead")


def effect(service: IssuerService, person_id: str, observation_id: int,
           now: int | None = None) -> tuple[dict[str, Any], Assessment, Assessment]:
    """What voiding the person's observation would do, nothing stored: the observation (with
    ``withdrawable``: whether the holder may void it now), the assessment now and the one
    without it. Raises NotFound."""
    now = int(time.time()) if now is None else now
    found = service.store.observation(person_id, observation_id)
    counted = service.store.observations(person_id, since=now - service.policy.lookback)
    before = service.score_observations(counted, now)
    after = service.score_observations([o for o in counted if o["id"] != observation_id], now)
    return {**found, "withdrawable": holder_may_void(service, found, now)}, before, after


def void(service: IssuerService, person_id: str, observation_id: int, *, actor: str,
         reason: str, now: int | None = None, by_holder: bool = False) -> dict[str, Any]:
    """Void the person's observation and re-score them; return the observation (with
    ``voided_at``, ``voided_by``, ``void_reason``) and ``assessment``, the new one.
    ``by_holder``: the holder withdraws their own declaration (``actor`` is then
    :data:`HOLDER`). Raises :class:`CorrectionError` (a holder's void refused),
    ``NotFound``, ``ValueError`` (no reason)."""
    now = int(time.time()) if now is None else now
    assessed: list[Assessment] = []
    row = service.store.void_observation(
        person_id, observation_id, actor=HOLDER if by_holder else actor, reason=reason, now=now,
        consequence=service.rescorer(now, assessed), since=now - service.policy.lookback,
        allowed=(lambda o: _check_holder(service, o, now)) if by_holder else None)
    assessment = assessed[-1] if assessed else service.assess(person_id, now)
    return {**row, "assessment": assessment.as_dict()}
