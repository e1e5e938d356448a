"""The holder's pages (mobile-first, server-rendered): enrolment by one-time link, sign-in by
one-time code, and, once signed in, *My code*, *Why this colour?*, *Declare* and *My data*.

Views parse, call the issuer service, and render. A holder's session is kept server-side
(:mod:`issuer.store.sessions`): the signed cookie (HttpOnly, SameSite=Lax, Secure unless
configured off for plain-http development) holds only a random session id and the CSRF token,
so signing out, a new phone or an operator ends the session everywhere. Every form and every
JSON POST carries a CSRF token (Flask-WTF). Sign-in and declarations are throttled
(:mod:`.throttle`). Pages allow no external assets (Content-Security-Policy).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from apiflask import APIBlueprint
from flask import (
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from verifier import i18n, webui

from ..policy.observations import ObservationError
from ..service import records
from ..store import HolderError, HolderProblem, NotFound
from ..store.phones import PhoneError
from . import holder_text, mydata
from .codesender import SendError
from .family import enrol_choice
from .holder_session import (
    holder_headers,
    holder_json,
    holder_page,
    json_body,
    problem,
    service,
    signed_in,
    start_session,
)
from .phones import parse_phone, phone_message
from .throttle import Throttled, throttle_request, throttle_signin, too_many

holder = APIBlueprint("holder", __name__, enable_openapi=False)
_log = logging.getLogger("healthcode.signin")

MAX_PHONE_LENGTH = 32
MAX_CODE_LENGTH = 16
_LINK_STATUS = {HolderProblem.UNKNOWN_LINK: 404, HolderProblem.USED_LINK: 410,
                HolderProblem.EXPIRED_LINK: 410}


def _issuer_name() -> str:
    """The issuer's name for this reader (its name in their language, if it has one)."""
    config = service().signer()[1]
    return config.names.get(i18n.tag(webui.locale()), config.name)


def _sender():
    return current_app.extensions["healthcode.code_sender"]


holder.after_request(holder_headers)


# Enrolment and sign-in -----------------------------------------------------------------------

@holder.get("/enrol/<token>")
def enrol(token: str):
    """The page an enrolment letter links to; its script binds this phone."""
    try:
        service().store.enrolment_person(token)
        who = signed_in()
        if who is not None and request.args.get("own") != "1":
            return enrol_choice(token)  # a guardian adding a family member?
    except HolderError as exc:
        return render_template("holder/problem.html", title=_("Enrolment link"),
                               message=holder_text.problem_message(exc.problem),
                               problem=exc.problem.value), \
            _LINK_STATUS.get(exc.problem, 400)
    return render_template("holder/enrol.html", token=token)


@holder.post("/enrol/<token>")
def enrol_device(token: str):
    """Bind this phone (JSON ``{"jwk": public key}``) and sign it in."""
    body = json_body()
    if body is None:
        return problem(400, "bad_request")  # not {"jwk": the phone's public key}
    try:
        _, _, session_id = service().store.redeem_enrolment(token, body.get("jwk"))
    except HolderError as exc:
        return problem(_LINK_STATUS.get(exc.problem, 400), exc.problem)
    start_session(session_id)
    return jsonify({"next": url_for("holder.code")})


@holder.get("/signin")
def signin():
    return render_template("holder/signin.html", step="phone")


@holder.post("/signin")
def signin_send():
    """Send a code to the number. The answer, its status and the work done are the same
    whether or not anyone is enrolled with it (a code is made and counted against the
    number's quota either way), so the page cannot be used to find out who is."""
    typed = request.form.get("phone", "").strip()[:MAX_PHONE_LENGTH + 1]
    try:
        # One number however it is written ("137 0000 0003", "+86…", "0086…"): E.164.
        phone = parse_phone(typed)
    except PhoneError as exc:
        return render_template("holder/signin.html", step="phone", phone=typed[:32],
                               error=phone_message(exc)), 422
    try:
        throttle_signin("signin_code")
        code = service().store.send_code(phone)
    except Throttled as exc:
        return _signin_throttled("phone", phone, exc)
    except HolderError as exc:
        return render_template("holder/signin.html", step="phone", phone=phone,
                               error=holder_text.problem_message(exc.problem)), 429
    if code is not None:
        try:
            _sender().send(phone, code)
        except SendError as exc:
            # Said on the page, a failure would tell that the number is enrolled: it goes
            # to the log, and the holder, getting no text, asks again.
            _log.warning("the sign-in code for the number ending %s could not be sent: %s",
                         phone[-4:], exc)
    return render_template("holder/signin.html", step="code", phone=phone)


def _signin_throttled(step: str, phone: str, exc: Throttled) -> Response:
    """The sign-in page at ``step``, saying that this address asked too often (429)."""
    return too_many(render_template("holder/signin.html", step=step, phone=phone, error=_(
        "Too many sign-in attempts from here. Try again in %(wait)s.", wait=exc.wait)), exc)


@holder.post("/signin/code")
def signin_code():
    phone = request.form.get("phone", "")[:MAX_PHONE_LENGTH]
    code = request.form.get("code", "")[:MAX_CODE_LENGTH]
    try:
        throttle_signin("signin_guess")
        person_id = service().store.check_code(phone, code)
    except Throttled as exc:
        return _signin_throttled("code", phone, exc)
    except HolderError as exc:
        return render_template("holder/signin.html", step="code", phone=phone,
                               error=holder_text.problem_message(exc.problem)), 422
    start_session(service().store.start_session(person_id))
    return redirect(url_for("holder.code"))


@holder.post("/signout")
def signout():
    session_id = session.get("sid")
    if isinstance(session_id, str):
        service().store.end_session(session_id)
    session.clear()
    return redirect(url_for("holder.signin"))


# My code -------------------------------------------------------------------------------------

@holder.get("/me")
@holder_page
def code(person_id: str, device: dict[str, Any] | None):
    """The code page: the script shows the live code and keeps working offline."""
    return render_template("holder/code.html", bound=device is not None,
                           policy_id=service().policy.id,
                           dependants=service().store.dependants(person_id))


@holder.get("/me/credential.json")
@holder_json
def credential(person_id: str, device: dict[str, Any] | None):
    """The phone's current live credential (a new one when the colour or score changed)."""
    if device is None:
        return problem(409, "no_device")
    record = service().live_credential(person_id, device, now := int(time.time()))
    guidance = service().guidance(person_id, webui.locale(),
                                   current_app.extensions["healthcode.zone"], now)
    issuer_name = _issuer_name()
    return jsonify(holder_text.credential_view(record, issuer_name, now, device["public_key"],
                                               guidance))


@holder.post("/me/device")
@holder_json
def bind_device(person_id: str, device: dict[str, Any] | None):
    """Bind this phone (JSON ``{"jwk": public key}``) after a sign-in by code."""
    body = json_body()
    if body is None:
        return problem(400, "bad_request")  # not {"jwk": the phone's public key}
    try:
        new_device = service().store.bind_device(person_id, body.get("jwk"),
                                                  reason="phone bound after sign-in by code",
                                                  session_id=session["sid"])
    except HolderError as exc:
        status = 401 if exc.problem is HolderProblem.SIGNED_OUT else 400
        return problem(status, exc.problem)
    # The person is signed in already: this session now carries the phone (and keeps the
    # page's CSRF token); every other session of the person has ended.
    return jsonify({"device": new_device})


@holder.get("/me/sw.js")
def service_worker():
    response = current_app.send_static_file("holder/sw.js")
    response.headers["Cache-Control"] = "no-cache"
    # Served here so that it may control /me (the page) and /me/… (a worker's scope is its
    # folder unless the server allows more).
    response.headers["Service-Worker-Allowed"] = "/me"
    return response


@holder.get("/me/manifest.webmanifest")
def manifest():
    return Response(json.dumps(holder_text.manifest(), ensure_ascii=False),
                    mimetype="application/manifest+json")


# Why, declare, my data -----------------------------------------------------------------------

@holder.get("/me/why")
@holder_page
def why(person_id: str, device: dict[str, Any] | None):
    assessment = service().assess(person_id)
    return render_template("holder/why.html",
                           **holder_text.explanation(assessment, webui.locale()))


def _declare_page(person_id: str, **extra: Any) -> str:
    return render_template("holder/declare.html", **holder_text.declaration_page(
        service().policy, service().assess(person_id)), **extra)


@holder.get("/me/declare")
@holder_page
def declare(person_id: str, device: dict[str, Any] | None):
    return _declare_page(person_id, done=request.args.get("done") == "1")


def _declared() -> list[tuple[str, Any]]:
    return holder_text.parse_declaration(request.form, service().policy)


@holder.post("/me/declare/preview")
@holder_json
def declare_preview(person_id: str, device: dict[str, Any] | None):
    """What the declaration in the form would do to the colour and score (nothing stored)."""
    try:
        declared = _declared()
    except ObservationError as exc:
        return problem(422, exc.field, str(exc))
    before = service().assess(person_id)
    after = service().preview(person_id, declared)
    return jsonify({"before": {"colour": before.colour.value, "score": before.score},
                    "after": {"colour": after.colour.value, "score": after.score},
                    "lines": [c.text for c in after.contributions]})


@holder.post("/me/declare")
@holder_page
def declare_send(person_id: str, device: dict[str, Any] | None):
    try:
        declared = _declared()
        throttle_request(("declare", person_id))
    except ObservationError as exc:
        return _declare_page(person_id, error=str(exc)), 422
    except Throttled as exc:
        return too_many(_declare_page(person_id, error=_(
            "You have sent many declarations today. Nothing was recorded: try again in "
            "%(wait)s, or call the health office.", wait=exc.wait)), exc)
    service().declare(person_id, declared)
    return redirect(url_for("holder.declare", done=1))


@holder.get("/me/data")
@holder_page
def my_data(person_id: str, device: dict[str, Any] | None):
    now = int(time.time())
    data = {**records.holder_data(service(), person_id, now),
            "issuer": _issuer_name()}
    return render_template("holder/data.html", page=mydata.view(data, now),
                           withdrawn=request.args.get("withdrawn", type=int),
                           appealed=request.args.get("appealed", "")[:20])


@holder.get("/me/data.json")
@holder_page
def my_data_json(person_id: str, device: dict[str, Any] | None):
    response = Response(json.dumps(records.holder_data(service(), person_id), indent=2,
                                   ensure_ascii=False), mimetype="application/json")
    response.headers["Content-Disposition"] = "attachment; filename=my-health-code-data.json"
    return response


@holder.errorhandler(NotFound)
def _gone(exc: NotFound):
    session.clear()
    return redirect(url_for("holder.signin"))

