"""Family codes on the guardian's phone: the holder's pages for the family members whose
codes this phone shows (children, elderly parents). Switch between one's own code and each
dependant's, read their *Why?* and *My data* (read-only), remove one (which revokes the codes
this phone showed), and add one by opening their enrolment letter's link while signed in.

Every view checks the link against the signed-in holder
(:func:`issuer.service.family.dependant_of`): a link that is someone else's, ended or unknown
is the same 404. The dependant is named only by a masked label (first character and ``*``),
here, on the guardian's own phone; never in a code.
"""

from __future__ import annotations

import time
from typing import Any

from apiflask import APIBlueprint
from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from verifier import i18n, webui

from ..service import family as family_service
from ..service import records
from ..store import FamilyError, HolderError, NotFound
from ..store.family_store import GUARDIAN, REMOVED
from . import holder_text, mydata
from .holder_session import holder_headers, holder_json, holder_page, problem, service

family = APIBlueprint("family", __name__, enable_openapi=False)
family.after_request(holder_headers)

_LINK_STATUS = {"unknown_link": 404, "used_link": 410, "expired_link": 410}


@family.errorhandler(NotFound)
def _not_theirs(exc: NotFound):
    if request.path.endswith(".json"):
        return problem(404, "not_family")
    return render_template("holder/problem.html", title=_("Family codes"),
                           message=holder_text.problem_message("not_family"),
                           problem="not_family"), 404


def _page(person_id: str, link_id: str) -> dict[str, Any]:
    """What every family page needs: the link (raises NotFound) and the switch's entries."""
    dependants = service().store.dependants(person_id)
    return {"family": family_service.dependant_of(service(), person_id, link_id),
            "dependants": dependants}


@family.get("/me/family")
@holder_page
def manage(person_id: str, device: dict[str, Any] | None):
    """The family members whose codes this phone shows, and how to add or remove one."""
    return render_template("holder/family.html",
                           dependants=service().store.dependants(person_id),
                           removed=request.args.get("removed") == "1",
                           added=request.args.get("added") == "1")


@family.get("/me/family/<link_id>")
@holder_page
def code(person_id: str, device: dict[str, Any] | None, link_id: str):
    """A family member's live code on this phone (the code page's script, another URL)."""
    return render_template("holder/code.html", bound=device is not None,
                           policy_id=service().policy.id, **_page(person_id, link_id))


@family.get("/me/family/<link_id>/credential.json")
@holder_json
def credential(person_id: str, device: dict[str, Any] | None, link_id: str):
    """The family member's current live code bound to this phone, marked as a family code."""
    if device is None:
        return problem(409, "no_device")
    now = int(time.time())
    link = family_service.dependant_of(service(), person_id, link_id)
    record = family_service.family_credential(service(), person_id, device, link_id, now)
    guidance = service().guidance(link["dependant_id"], webui.locale(),
                                  current_app.extensions["healthcode.zone"], now)
    config = service().signer()[1]
    issuer = config.names.get(i18n.tag(webui.locale()), config.name)
    return jsonify({**holder_text.credential_view(record, issuer, now, device["public_key"],
                                                  guidance), "family": True})


@family.get("/me/family/<link_id>/why")
@holder_page
def why(person_id: str, device: dict[str, Any] | None, link_id: str):
    page = _page(person_id, link_id)
    assessment = service().assess(page["family"]["dependant_id"])
    return render_template("holder/why.html", **page,
                           **holder_text.explanation(assessment, webui.locale()))


@family.get("/me/family/<link_id>/data")
@holder_page
def data(person_id: str, device: dict[str, Any] | None, link_id: str):
    """The family member's *My data*, read-only."""
    page, now = _page(person_id, link_id), int(time.time())
    held = {**records.holder_data(service(), page["family"]["dependant_id"], now),
            "issuer": service().signer()[1].name}
    return render_template("holder/data.html", page=mydata.view(held, now), withdrawn=None,
                           appealed="", **page)


@family.post("/me/family/<link_id>/remove")
@holder_page
def remove(person_id: str, device: dict[str, Any] | None, link_id: str):
    """End the link from the guardian's phone: the codes it showed are revoked at once."""
    if request.form.get("confirm") != "yes":
        return redirect(url_for("family.manage"))
    service().store.end_family_link(link_id, actor=GUARDIAN, reason=REMOVED,
                                    guardian_id=person_id)
    return redirect(url_for("family.manage", removed=1))


def _label(token: str) -> str:
    """The masked name of the person an unused enrolment link is for; raises
    :class:`HolderError`."""
    dependant = service().store.enrolment_person(token)
    return service().store.get_person(dependant)["name"].strip()[:1] + "*"


def enrol_choice(token: str) -> str:
    """The enrolment page for a holder already signed in: add the letter's person as a
    family member, or set this phone up as theirs. Raises :class:`HolderError`."""
    return render_template("holder/enrol_family.html", token=token, label=_label(token))


@family.post("/enrol/<token>/family")
@holder_page
def enrol(person_id: str, device: dict[str, Any] | None, token: str):
    """Redeem a dependant's enrolment letter on the guardian's signed-in phone."""
    try:
        service().store.redeem_enrolment_for_guardian(token, person_id)
    except HolderError as exc:
        return render_template("holder/problem.html", title=_("Enrolment link"),
                               message=holder_text.problem_message(exc.problem),
                               problem=exc.problem.value), \
            _LINK_STATUS.get(exc.problem.value, 400)
    except FamilyError as exc:  # the link stays unused
        return render_template("holder/enrol_family.html", token=token, label=_label(token),
                               error=holder_text.problem_message(exc.problem)), \
            409 if exc.problem.value == "already_linked" else 422
    return redirect(url_for("family.manage", added=1))
