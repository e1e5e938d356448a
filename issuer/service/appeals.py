"""Appeals: a holder contests a record, or their colour as a whole; a reviewer (an API token
with the ``review`` scope) upholds or rejects it in writing, by the deadline the policy sets
(``[recourse] review_days``). An upheld appeal voids what it contested and re-scores the
person (:mod:`.corrections`); an appeal past its deadline is overdue, on the queue and in
``/api/status``.

An attachment (a photo of a test result) is checked and re-encoded before it is stored: at most
:data:`MAX_ATTACHMENT` bytes, a JPEG, PNG or WebP image of at most :data:`MAX_PIXELS` pixels,
stored as a JPEG no larger than :data:`MAX_SIDE` pixels a side with no metadata (a phone's photo
carries where and when it was taken, and the camera's serial number: none of that is needed).
"""

from __future__ import annotations

import io
import time
import warnings
from enum import StrEnum
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

from ..policy.scoring import Assessment
from ..store.appeal_store import OPEN
from ..store.db import Conflict
from .issuance import IssuerService

MAX_REASON = 1000
MAX_ATTACHMENT = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
ATTACHMENT_TYPE = "image/jpeg"
_FORMATS = {"JPEG", "PNG", "WEBP"}


class AppealProblem(StrEnum):
    """Why an appeal or a decision was refused (stable strings)."""

    REASON_REQUIRED = "reason_required"
    REASON_TOO_LONG = "reason_too_long"
    ATTACHMENT_TOO_LARGE = "attachment_too_large"
    NOT_AN_IMAGE = "attachment_not_an_image"
    ALREADY_VOIDED = "already_voided"
    ALREADY_OPEN = "appeal_already_open"
    TOO_MANY_OPEN = "too_many_open_appeals"
    DECIDED = "already_decided"


class AppealError(Exception):
    """An appeal or a decision refused; ``reason`` says why."""

    def __init__(self, reason: AppealProblem, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


#: The store's conflicts (by field) as problems.
_CONFLICTS = {"voided": AppealProblem.ALREADY_VOIDED, "observation": AppealProblem.ALREADY_OPEN,
              "appeals": AppealProblem.TOO_MANY_OPEN}


def checked_reason(reason: Any) -> str:
    """The written reason, trimmed; raises :class:`AppealError` if empty or too long."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise AppealError(AppealProblem.REASON_REQUIRED, "say why, in a few words")
    if len(text) > MAX_REASON:
        raise AppealError(AppealProblem.REASON_TOO_LONG, f"at most {MAX_REASON} characters")
    return text


def checked_attachment(data: bytes) -> bytes:
    """``data`` as the JPEG that is stored: the image upright, at most :data:`MAX_SIDE` a
    side, no metadata. Raises :class:`AppealError` for anything too large or not an image."""
    if len(data) > MAX_ATTACHMENT:
        raise AppealError(AppealProblem.ATTACHMENT_TOO_LARGE,
                          f"a photo of at most {MAX_ATTACHMENT // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in _FORMATS or image.width * image.height > MAX_PIXELS:
                    raise AppealError(AppealProblem.NOT_AN_IMAGE,
                                      "a photo (JPEG, PNG or WebP) of a sensible size")
                image.load()
                upright = ImageOps.exif_transpose(image).convert("RGB")
    except AppealError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise AppealError(AppealProblem.NOT_AN_IMAGE,
                          "a photo (JPEG, PNG or WebP) that opens") from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=85, optimize=True)  # no EXIF, no ICC: nothing but pixels
    return out.getvalue()


def open_appeal(service: IssuerService, person_id: str, *, observation_id: int | None,
                reason: Any, attachment: bytes | None = None, now: int | None = None
                ) -> dict[str, Any]:
    """Record the holder's appeal against their record ``observation_id`` (None: their colour
    as a whole); return it with ``due_at``, the review deadline. Raises :class:`AppealError`,
    NotFound (no such record of this person)."""
    now = int(time.time()) if now is None else now
    text = checked_reason(reason)
    stored = None if attachment is None else (checked_attachment(attachment), ATTACHMENT_TYPE)
    review = service.policy.recourse.review
    try:
        return service.store.open_appeal(
            person_id, observation_id=observation_id, reason=text, attachment=stored,
            due_at=None if review is None else now + review, now=now)
    except Conflict as exc:
        raise AppealError(_CONFLICTS.get(exc.field or "", AppealProblem.TOO_MANY_OPEN),
                          str(exc)) from None


def decide(service: IssuerService, appeal_id: str, *, upheld: bool, reason: Any, actor: str,
           void: list[int] | tuple[int, ...] = (), now: int | None = None) -> dict[str, Any]:
    """Uphold or reject an open appeal in writing (``void``: for an upheld appeal against the
    colour, which of the person's records no longer count); return the appeal and the
    person's ``assessment`` now. Raises :class:`AppealError`, NotFound."""
    now = int(time.time()) if now is None else now
    text = checked_reason(reason)
    assessed: list[Assessment] = []
    try:
        appeal = service.store.decide_appeal(
            appeal_id, upheld=upheld, reason=text, actor=actor, now=now, void=void,
            consequence=service.rescorer(now, assessed), since=now - service.policy.lookback)
    except Conflict as exc:
        raise AppealError(AppealProblem.DECIDED, str(exc)) from None
    assessment = assessed[-1] if assessed else service.assess(appeal["person_id"], now)
    return {**appeal, "assessment": assessment.as_dict()}


def with_deadline(appeal: dict[str, Any], now: int) -> dict[str, Any]:
    """The appeal with ``overdue``: still open past its deadline."""
    due = appeal["due_at"]
    return {**appeal, "overdue": appeal["state"] == OPEN and due is not None and due < now}


def queue(service: IssuerService, state: str = OPEN, now: int | None = None
          ) -> list[dict[str, Any]]:
    """Appeals in ``state``, oldest first, each with ``overdue`` and the record it contests
    (``observation``: kind, value, when, from where; None for the colour as a whole)."""
    now = int(time.time()) if now is None else now
    found = []
    for appeal in service.store.appeal_queue(state):
        observation = None
        if appeal["observation_id"] is not None:  # kept while an appeal speaks of it
            observation = service.store.observation(appeal["person_id"],
                                                    appeal["observation_id"])
        found.append({**with_deadline(appeal, now), "observation": observation})
    return found

