"""The authority API for appeals (the ``review`` scope) and the service's status: reviewers
work through the queue, oldest first, and uphold or reject each appeal in writing.

A decision is final (a second one is 409); upholding voids what the appeal contested and
re-scores the person in the same transaction. The holder's words and photo are personal data:
they are shown to reviewers only (``review``), never written to the audit log or the server's
log.
"""

from __future__ import annotations

import time
from typing import Any

from apiflask import APIBlueprint, abort
from flask import Response, current_app, url_for

from ..service import appeals
from ..service.appeals import AppealError
from .auth import auth
from .schemas import AppealOut, AppealsOut, AppealsQuery, DecisionIn, StatusOut

review = APIBlueprint("review", __name__, url_prefix="/api", tag="review")


def _service():
    return current_app.extensions["healthcode"]


def _out(appeal: dict[str, Any]) -> dict[str, Any]:
    attachment = url_for("review.appeal_attachment", appeal_id=appeal["id"]) \
        if appeal.get("attachment_type") else None
    return {**appeal, "attachment": attachment}


@review.errorhandler(AppealError)
def _refused(exc: AppealError):
    return {"message": str(exc), "reason": str(exc.reason)}, 409


@review.get("/appeals")
@review.auth_required(auth, roles=["review"])
@review.input(AppealsQuery, location="query")
@review.output(AppealsOut)
def appeal_queue(query_data):
    """Appeals in a state (``open`` by default), oldest first, each with the record it
    contests and whether it is past its review deadline (``overdue``)."""
    return {"appeals": [_out(a) for a in appeals.queue(_service(), query_data["state"])]}


@review.get("/appeals/<appeal_id>")
@review.auth_required(auth, roles=["review"])
@review.output(AppealOut)
def appeal(appeal_id):
    """One appeal."""
    return _out(appeals.with_deadline(_service().store.appeal(appeal_id), int(time.time())))


@review.get("/appeals/<appeal_id>/attachment")
@review.auth_required(auth, roles=["review"])
@review.doc(responses={200: "the holder's photo (image/jpeg)", 404: "no such appeal or photo"})
def appeal_attachment(appeal_id):
    """The photo the holder attached (a JPEG with no metadata)."""
    found = _service().store.appeal_attachment(appeal_id)
    if found is None:
        abort(404, "this appeal has no attachment")
    response = Response(found[0], mimetype=found[1])
    response.cache_control.no_store = True
    return response


@review.post("/appeals/<appeal_id>/decision")
@review.auth_required(auth, roles=["review"])
@review.input(DecisionIn, location="json")
@review.output(AppealOut)
def decide(appeal_id, json_data):
    """Uphold or reject an open appeal, with the reason the holder reads. Upheld, the record
    it contests is voided (for an appeal against the colour, the records in ``void``) and the
    person re-scored; credentials that then show more than the truth are revoked."""
    decided = appeals.decide(_service(), appeal_id, upheld=json_data["decision"] == "uphold",
                             reason=json_data["reason"], actor=auth.current_user.id,
                             void=json_data["void"])
    return _out(appeals.with_deadline(decided, int(time.time())))


@review.get("/status")
@review.auth_required(auth, roles=["read"])
@review.output(StatusOut)
def status():
    """The service at a glance: the policy in force, open appeals and overdue ones."""
    service = _service()
    return {"policy": service.policy.id, "appeals": service.store.appeal_counts()}
