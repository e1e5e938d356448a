"""The authority API for family codes: staff let a guardian's phone show a dependant's live
codes, list a person's links, and end a link (which revokes the dependant's codes on the
guardian's phones at once). Creating and ending need the ``write`` scope; reading ``read``.

Refusals carry a stable ``reason``: ``self_link`` and ``too_many_dependants`` /
``too_many_guardians`` (422), ``already_linked`` (409); an unknown person or link is 404.
"""

from __future__ import annotations

import re

from apiflask import APIBlueprint, abort
from flask import current_app, url_for

from ..store import FamilyError, FamilyProblem
from .api import check_person_id
from .auth import auth
from .schemas import FamilyLinkIn, FamilyOut, FamilyRevokeOut, NewFamilyLinkOut, RevokeIn

family_api = APIBlueprint("family_api", __name__, url_prefix="/api", tag="family codes")
family_api.url_value_preprocessor(check_person_id)

#: The shape of a link id ("f-" and URL-safe letters): anything else never reaches a query.
_LINK_ID = re.compile(r"f-[A-Za-z0-9_-]{1,32}")


def _service():
    return current_app.extensions["healthcode"]


@family_api.errorhandler(FamilyError)
def _refused(exc: FamilyError):
    status = 409 if exc.problem is FamilyProblem.ALREADY_LINKED else 422
    return {"message": str(exc), "reason": exc.problem.value}, status


@family_api.post("/people/<person_id>/guardians")
@family_api.auth_required(auth, roles=["write"])
@family_api.input(FamilyLinkIn, location="json")
@family_api.output(NewFamilyLinkOut, status_code=201)
@family_api.doc(responses={404: "no such person (the dependant or the guardian)",
                           409: "`already_linked`: this guardian already holds this code",
                           422: "a field is wrong, or `reason`: `self_link`, "
                                "`too_many_dependants`, `too_many_guardians`"})
def add_guardian(person_id, json_data):
    """Let the guardian's phone show this person's live codes as family codes (a child, an
    elderly parent). The guardian's phone fetches them from then on; each is the person's
    own colour, bound to the guardian's phone, and says "family code" at checkpoints."""
    return _service().store.link_family(person_id, json_data["guardian"], actor=_actor(),
                                        reason=json_data["reason"])


@family_api.get("/people/<person_id>/family")
@family_api.auth_required(auth, roles=["read"])
@family_api.output(FamilyOut)
def family_of(person_id):
    """The person's family links, ended ones too: whose codes their phone shows
    (``dependants``) and whose phones show theirs (``guardians``)."""
    return _service().store.family_of(person_id)


@family_api.post("/family/<link_id>/revoke")
@family_api.auth_required(auth, roles=["write"])
@family_api.input(RevokeIn, location="json")
@family_api.output(FamilyRevokeOut)
def end_link(link_id, json_data):
    """End a family link: the guardian's phone no longer shows the dependant's code, and
    every unexpired code of the dependant bound to the guardian's phones is revoked in the
    same transaction (checkpoints refuse them once they sync). Ending it again changes
    nothing."""
    if not _LINK_ID.fullmatch(link_id):
        abort(404, f"no family link {link_id[:64]!r}")
    link, revoked = _service().store.end_family_link(link_id, actor=_actor(),
                                                     reason=json_data["reason"])
    return {"link": link, "revoked": revoked, "revocation_list": url_for("trust.revocations")}


def _actor() -> str:
    return auth.current_user.id
