"""A holder putting their record right: withdrawing their own declaration within the policy's
undo window, and appealing against any record or against their colour as a whole.

Server-rendered forms with a CSRF token, like the other holder pages (:mod:`.holder`): each
step shows what it would do to the code before anything is sent.
"""

from __future__ import annotations

import time
from typing import Any

from apiflask import APIBlueprint
from flask import redirect, render_template, request, url_for

from ..policy.scoring import Assessment
from ..service import appeals, corrections
from ..service.appeals import AppealError
from ..service.corrections import CorrectionError
from ..store import NotFound
from . import holder_text, mydata
from .holder_session import holder_headers, holder_page, service

recourse = APIBlueprint("recourse", __name__, enable_openapi=False)
recourse.after_request(holder_headers)

#: The reason recorded when a holder gives none.
WITHDRAWN = "withdrawn by the holder"
MAX_REASON = 500
#: The largest appeal form accepted (a photo of at most MAX_ATTACHMENT, and the words).
MAX_APPEAL_BODY = appeals.MAX_ATTACHMENT + 64 * 1024


def _withdraw_page(person_id: str, observation_id: int, **extra: Any) -> str:
    observation, before, after = corrections.effect(service(), person_id, observation_id)
    return render_template(
        "holder/withdraw.html", record=mydata.observation_row(observation),
        observation=observation, undo_hours=service().policy.recourse.undo // 3600,
        before=_code(before), after=_code(after), **extra)


def _code(assessment: Assessment) -> dict[str, Any]:
    colour = assessment.colour.value
    return {"colour": colour, "name": holder_text.colour_name(colour), "score": assessment.score}


@recourse.get("/me/records/<int:observation_id>/withdraw")
@holder_page
def withdraw(person_id: str, device: dict[str, Any] | None, observation_id: int):
    """One of the holder's records: withdraw it if they declared it themselves within the
    undo window, with what that does to the code; else why not."""
    return _withdraw_page(person_id, observation_id)


@recourse.post("/me/records/<int:observation_id>/withdraw")
@holder_page
def withdraw_send(person_id: str, device: dict[str, Any] | None, observation_id: int):
    reason = request.form.get("reason", "").strip()[:MAX_REASON] or WITHDRAWN
    try:
        corrections.void(service(), person_id, observation_id, actor=corrections.HOLDER,
                         reason=reason, now=int(time.time()), by_holder=True)
    except CorrectionError as exc:
        return _withdraw_page(person_id, observation_id, error=exc.reason), 409
    return redirect(url_for("holder.my_data", withdrawn=observation_id, _anchor="records"))


def _appeal_page(person_id: str, record: int | None, **extra: Any) -> str:
    service_ = service()
    observation = None
    if record is not None:
        observation = service_.store.observation(person_id, record)
    assessment = service_.assess(person_id)
    review = service_.policy.recourse.review
    return render_template(
        "holder/appeal.html", observation=observation,
        record=None if observation is None else mydata.observation_row(observation),
        code=_code(assessment), review_days=None if review is None else review // 86_400,
        max_mb=appeals.MAX_ATTACHMENT // (1024 * 1024), max_reason=appeals.MAX_REASON,
        **extra)


@recourse.get("/me/appeals/new")
@holder_page
def appeal(person_id: str, device: dict[str, Any] | None):
    """Contest a record (``?record=ID``) or the colour as a whole: say why, and attach a
    photo if it helps."""
    return _appeal_page(person_id, request.args.get("record", type=int))


@recourse.post("/me/appeals/new")
@holder_page
def appeal_send(person_id: str, device: dict[str, Any] | None):
    record = request.args.get("record", type=int)
    upload = request.files.get("photo")
    data = upload.read(appeals.MAX_ATTACHMENT + 1) if upload and upload.filename else None
    reason = request.form.get("reason", "")
    try:
        sent = appeals.open_appeal(service(), person_id, observation_id=record, reason=reason,
                                   attachment=data or None)
    except AppealError as exc:
        return _appeal_page(person_id, record, error=str(exc.reason), reason=reason[:2000]), \
            422 if exc.reason in _UNREADABLE else 409
    return redirect(url_for("holder.my_data", appealed=sent["id"], _anchor="appeals"))


_UNREADABLE = {appeals.AppealProblem.REASON_REQUIRED, appeals.AppealProblem.REASON_TOO_LONG,
               appeals.AppealProblem.ATTACHMENT_TOO_LARGE, appeals.AppealProblem.NOT_AN_IMAGE}


def allow_a_photo() -> None:
    """An app-wide ``before_request``, registered before anything reads a form (the CSRF
    check does): the appeal form may carry a photo, more than the app's usual 64 KiB (still
    bounded; 413 beyond)."""
    if request.endpoint == "recourse.appeal_send":
        request.max_content_length = MAX_APPEAL_BODY


@recourse.errorhandler(NotFound)
def _gone(exc: NotFound):
    # No such record of this person (or no such person: My data then ends the session).
    return redirect(url_for("holder.my_data", _anchor="records"))
