"""The authority API under /api: views parse, call the issuer service, and render."""

from __future__ import annotations

import re
import time
import unicodedata

from apiflask import APIBlueprint, FileSchema, abort
from flask import Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _

from verifier.claims import CTI_LENGTH

from ..keys.keystore import DAY
from ..render.qr import IMAGE_TYPES, link_svg
from ..service import cards, corrections
from ..store.holders import ENROLMENT_TTL
from ..store.phones import PhoneError
from .auth import auth
from .codeimages import MAX_AGE, code_images
from .phones import parse_phone, phone_message, phone_problem
from .schemas import (
    AssessmentOut,
    AuditOut,
    AuditQuery,
    CardIn,
    CredentialIn,
    CredentialOut,
    EraseOut,
    NewEnrolmentOut,
    ObservationIn,
    ObservationOut,
    PeopleFound,
    PeopleQuery,
    PersonIn,
    PersonOut,
    RankingOut,
    RankingQuery,
    RevokeIn,
    RevokeOut,
    VoidIn,
)

api = APIBlueprint("api", __name__, url_prefix="/api", tag="authority")


def _service():
    return current_app.extensions["healthcode"]


def _actor() -> str:
    return auth.current_user.id


#: The shape of a person id ("p-" and URL-safe letters): anything else is no one, and never
#: reaches a query (a NUL in a path made PostgreSQL fail with a 500).
PERSON_ID = re.compile(r"p-[A-Za-z0-9_-]{1,32}")


@api.url_value_preprocessor
def check_person_id(endpoint, values) -> None:
    """404 for a ``person_id`` in the path that is not of a person id's shape."""
    person_id = (values or {}).get("person_id")
    if person_id is not None and not PERSON_ID.fullmatch(person_id):
        abort(404, f"no person {person_id[:64]!r}")


class BadQuery(Exception):
    """A search the API cannot run: 422 with a ``reason`` and the field's error."""

    def __init__(self, reason: str, field: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.field, self.message = reason, field, message


@api.errorhandler(BadQuery)
def _bad_query(exc: BadQuery):
    return jsonify({"message": exc.message, "reason": exc.reason,
                    "detail": {"query": {exc.field: [exc.message]}}}), 422


@api.errorhandler(PhoneError)
def _bad_phone(exc: PhoneError):
    return phone_problem(exc)


@api.post("/people")
@api.auth_required(auth, roles=["write"])
@api.input(PersonIn, location="json")
@api.output(PersonOut, status_code=201)
@api.doc(responses={422: "a field is missing or wrong; a phone number that cannot be valid "
                         "has a `reason`"})
def create_person(json_data):
    """Enrol a person; returns their pseudonymous id (the only id other calls use) and a
    one-time enrolment link for their phone, with a QR code of it for a letter."""
    person_id = _service().create_person(actor=_actor(), **{
        **json_data, "phone": parse_phone(json_data["phone"])})
    return {"id": person_id, "organisation": json_data["organisation"],
            "enrolment": _enrolment(person_id)}


def _enrolment(person_id: str) -> dict:
    token = _service().store.create_enrolment(person_id, actor=_actor())
    # From the configured public URL: the request's Host header is the client's to choose.
    url = current_app.config["PUBLIC_URL"] + url_for("holder.enrol", token=token)
    return {"url": url, "expires_at": int(time.time()) + ENROLMENT_TTL, "qr_svg": link_svg(url)}


#: An ID number as staff type it (after NFKC: full-width digits are plain digits).
_ID_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z \-]{3,39}")


@api.get("/people")
@api.auth_required(auth, roles=["read"])
@api.input(PeopleQuery, location="query")
@api.output(PeopleFound)
@api.doc(responses={422: "neither or both of id_number and phone (`reason`: one_of), an ID "
                         "number that cannot be one (bad_id_number), or a phone number that "
                         "cannot be valid (its reason)"})
def find_people(query_data):
    """Find people by their full ID number or by phone number: an exact match through the
    keyed lookups (nothing is decrypted to search). A phone may be a family's: every person
    enrolled with it is listed. Each search is audited (who, by what, whom it found; not the
    value searched)."""
    id_number, phone = query_data.get("id_number"), query_data.get("phone")
    if (id_number is None) == (phone is None):
        raise BadQuery("one_of", "id_number" if id_number is None else "phone",
                       _("Search by ID number or by phone number: give one of the two."))
    if id_number is not None:
        id_number = unicodedata.normalize("NFKC", id_number).strip()
        if not _ID_NUMBER.fullmatch(id_number):
            raise BadQuery("bad_id_number", "id_number",
                           _("An ID number has 4 to 40 letters or digits."))
        return {"people": _service().store.find_people(actor=_actor(), id_number=id_number)}
    try:
        e164 = parse_phone(phone)
    except PhoneError as exc:
        raise BadQuery(exc.reason.value, "phone", phone_message(exc)) from None
    return {"people": _service().store.find_people(actor=_actor(), phone=e164)}


@api.post("/people/<person_id>/enrolment")
@api.auth_required(auth, roles=["write"])
@api.output(NewEnrolmentOut, status_code=201)
def new_enrolment(person_id):
    """A new one-time enrolment link for a person (a lost letter, a new phone). Links sent
    before stay usable until they expire or are used."""
    return _enrolment(person_id)


@api.post("/people/<person_id>/observations")
@api.auth_required(auth, roles=["write"])
@api.input(ObservationIn, location="json")
@api.output(ObservationOut, status_code=201)
def add_observation(person_id, json_data):
    """Record a test result, contact, symptom, travel or lifestyle observation."""
    return _service().add_observation(person_id, actor=_actor(), **json_data)


@api.post("/people/<person_id>/observations/<int:observation_id>/void")
@api.auth_required(auth, roles=["write"])
@api.input(VoidIn, location="json")
@api.output(ObservationOut)
def void_observation(person_id, observation_id, json_data):
    """Void an observation recorded in error: it stays in the person's data and the audit
    log, struck through, and no longer counts; the person is re-scored at once (credentials
    that now show more than the truth are revoked). Voiding it again changes nothing."""
    return corrections.void(_service(), person_id, observation_id, actor=_actor(),
                            reason=json_data["reason"])


@api.get("/people/<person_id>/assessment")
@api.auth_required(auth, roles=["read"])
@api.output(AssessmentOut)
def assessment(person_id):
    """The person's current colour and score, with every contribution that produced it."""
    return _service().assess(person_id).as_dict()


@api.post("/people/<person_id>/credentials")
@api.auth_required(auth, roles=["write"])
@api.input(CredentialIn, location="json")
@api.output(CredentialOut, status_code=201)
def issue_credential(person_id, json_data):
    """Sign a credential from the current assessment."""
    record = _service().issue(person_id, actor=_actor(), ttl=json_data["ttl_hours"] * 3600)
    return {**record, "png": url_for("api.credential_image", cti=record["cti"], fmt="png"),
            "svg": url_for("api.credential_image", cti=record["cti"], fmt="svg")}


_CTI = re.compile(f"[0-9a-fA-F]{{{2 * CTI_LENGTH}}}")


@api.get("/credentials/<cti>.<fmt>")
@api.auth_required(auth, roles=["read"])
@api.doc(responses={200: "the QR code image (image/png or image/svg+xml)",
                    304: "not modified: the client's copy (If-None-Match) is this image"})
def credential_image(cti, fmt):
    """The QR code of an issued credential, as PNG or SVG. It never changes (a strong ETag;
    a client may keep it a day); a revoked or expired credential keeps its image."""
    if fmt not in IMAGE_TYPES:
        abort(404, "format must be png or svg")
    if not _CTI.fullmatch(cti):
        abort(404, f"no credential {cti[:64]!r}: a credential id is {2 * CTI_LENGTH} hex digits")
    image = code_images(current_app).get(cti, fmt, _service().credential_text(cti))
    response = Response(image.data, mimetype=IMAGE_TYPES[fmt])
    response.set_etag(image.etag)
    response.cache_control.private = True
    response.cache_control.max_age = MAX_AGE
    response.cache_control.immutable = True
    return response.make_conditional(request)


@api.post("/credentials/<cti>/revoke")
@api.auth_required(auth, roles=["write"])
@api.input(RevokeIn, location="json")
@api.output(RevokeOut)
def revoke_credential(cti, json_data):
    """Revoke one credential: verifiers reject it as `revoked` once they sync. Revoking it
    again changes nothing."""
    if not _CTI.fullmatch(cti):
        abort(404, f"no credential {cti[:64]!r}: a credential id is {2 * CTI_LENGTH} hex digits")
    before = _service().store.credential(cti)["revoked_at"]
    _service().store.revoke(cti, actor=_actor(), reason=json_data["reason"])
    return {"revoked": [cti.lower()] if before is None else [],
            "revocation_list": url_for("trust.revocations")}


@api.post("/people/<person_id>/revoke")
@api.auth_required(auth, roles=["write"])
@api.input(RevokeIn, location="json")
@api.output(RevokeOut)
def revoke_person(person_id, json_data):
    """Revoke every unexpired credential of a person (one audit entry)."""
    revoked = _service().store.revoke_person(person_id, actor=_actor(),
                                             reason=json_data["reason"])
    return {"revoked": revoked, "revocation_list": url_for("trust.revocations")}


@api.post("/people/<person_id>/erase")
@api.auth_required(auth, roles=["admin"])
@api.input(RevokeIn, location="json")
@api.output(EraseOut)
@api.doc(responses={410: "erased already (`problem`: erased)"})
def erase_person(person_id, json_data):
    """Erase a person (admin scope): their own data key is deleted, so nothing personal of
    theirs can be decrypted again; their records and appeals are deleted, their phones
    unbound, their codes revoked. Only the pseudonymous id and the audit log remain
    (docs/STORAGE.md, "Erasure"). Cannot be undone."""
    erased = _service().store.erase_person(person_id, actor=_actor(),
                                           reason=json_data["reason"])
    return {**erased, "revocation_list": url_for("trust.revocations")}


@api.get("/organisations/ranking")
@api.auth_required(auth, roles=["read"])
@api.input(RankingQuery, location="query")
@api.output(RankingOut)
def ranking(query_data):
    """Organisations by mean score, only those with at least k members; never a person's."""
    return _service().ranking(query_data["k"])


@api.get("/people/<person_id>/audit")
@api.auth_required(auth, roles=["read"])
@api.input(AuditQuery, location="query")
@api.output(AuditOut)
def audit(person_id, query_data):
    """The audit trail of changes to this person's data and codes: who, when, why; oldest
    first, a page at a time (``next_after``)."""
    return _service().audit(person_id, after=query_data["after"], limit=query_data["limit"])


@api.post("/people/<person_id>/card")
@api.auth_required(auth, roles=["write"])
@api.input(CardIn, location="json")
@api.output(FileSchema(), content_type="application/pdf",
            description="the printable card: an A4 page with one A6 card and cut marks")
@api.doc(responses={404: "no such person"})
def print_card(person_id, json_data):
    """Print a card: a static code as a PDF, for people without a smartphone.

    Issues a static credential (purpose `card`) from the current assessment; checkpoints
    check the holder's ID against the name and id digits printed beside the code."""
    record, pdf = cards.print_card(_service(), person_id, actor=_actor(),
                                  ttl=json_data["days"] * DAY,
                                  zone=current_app.extensions["healthcode.zone"])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="card-{record["cti"][:8]}.pdf"',
        "Cache-Control": "no-store"})
