"""Request and response shapes of the authority API; APIFlask builds the OpenAPI document
from these, so the published spec cannot drift from what the views accept."""

from __future__ import annotations

import time
from datetime import datetime

from apiflask import Schema
from apiflask.fields import AwareDateTime, Boolean, Dict, Integer, List, Nested, Raw, String
from apiflask.validators import Length, OneOf, Range, Regexp
from marshmallow import ValidationError

from verifier import CLOCK_SKEW

from ..keys.keystore import DAY, MAX_CREDENTIAL_TTL
from ..policy import Kind
from ..service.cards import CARD_TTL
from ..store.audit_store import AUDIT_PAGE

_ID_NUMBER = Regexp(r"^[0-9A-Za-z][0-9A-Za-z \-]{3,39}$",
                    error="4 to 40 letters, digits, spaces or dashes")
#: Phone numbers are checked by the view (issuer/web/phones.py): 422 with a ``reason``.
_PHONE_DOC = {"description": "as people write it: 13700000003, 137 0000 0003, +86 137 0000 "
                             "0003, 0086 …; without a country code it is read in the "
                             "deployment's region (HEALTHCODE_PHONE_REGION, default CN). "
                             "Kept and looked up in E.164; a number that cannot be valid "
                             "gets 422 with a `reason` (too_short, too_long, not_a_number, "
                             "unknown_country, invalid, empty)."}


def _not_blank(text: str) -> None:
    if not text.strip():
        raise ValidationError("must not be blank")


def _not_future(at: datetime) -> None:
    if at.timestamp() > time.time() + CLOCK_SKEW:
        raise ValidationError(f"in the future: at most {CLOCK_SKEW} s after the server's clock")


_REASON = [Length(1, 500), _not_blank]


class PersonIn(Schema):
    name = String(required=True, validate=[Length(1, 200), _not_blank])
    id_number = String(required=True, validate=_ID_NUMBER)
    phone = String(required=True, validate=Length(1, 64), metadata=_PHONE_DOC)
    organisation = String(required=True, validate=[Length(1, 100), _not_blank])
    reason = String(load_default="enrolment", validate=_REASON)


class PeopleQuery(Schema):
    id_number = String(metadata={"description": "the full ID number (any spacing or case)"})
    phone = String(metadata=_PHONE_DOC)


class PersonFound(Schema):
    id = String(metadata={"description": "pseudonymous person id"})
    name = String(metadata={"description": "masked as on a printed card: first character "
                                           "and *"})
    id_tail = String(metadata={"description": "the ID number's last 4 letters or digits"})
    organisation = String()
    enrolled_at = Integer(metadata={"description": "epoch seconds"})
    phone_bound = Boolean(metadata={"description": "a phone holds this person's live code"})


class PeopleFound(Schema):
    people = List(Nested(PersonFound), metadata={"description": "every exact match: a phone "
                                                               "may be a family's"})


class EnrolmentOut(Schema):
    url = String(metadata={"description": "one-time link that binds the person's phone"})
    expires_at = Integer()
    qr_svg = String(metadata={"description": "the link as an SVG QR code, for a letter"})


class NewEnrolmentOut(EnrolmentOut):
    """A fresh link for an enrolled person (its own name in the OpenAPI document: apispec
    warns when one schema class is both a response and a nested field)."""


class PersonOut(Schema):
    id = String(metadata={"description": "pseudonymous person id"})
    organisation = String()
    enrolment = Nested(EnrolmentOut)


class ObservationIn(Schema):
    kind = String(required=True, validate=OneOf([k.value for k in Kind]))
    value = Raw(required=True, metadata={"description": "depends on kind; see /policy"})
    observed_at = AwareDateTime(required=True, format="iso", validate=_not_future,
                                metadata={"description": "ISO 8601 with a UTC offset, not "
                                                         "in the future"})
    source = String(required=True, validate=[Length(1, 100), _not_blank])
    reason = String(load_default="observation recorded", validate=_REASON)


class ContributionOut(Schema):
    factor = String()
    input = Raw(allow_none=True)
    points = Raw()
    rule = String()
    text = String()
    kind = String()


class AssessmentOut(Schema):
    score = Integer()
    colour = String()
    contributions = List(Nested(ContributionOut))
    policy_id = String()
    policy_digest = String()
    assessed_at = Integer()


class ObservationOut(Schema):
    id = Integer()
    kind = String()
    value = Raw()
    observed_at = Integer()
    source = String()
    voided_at = Integer(allow_none=True, metadata={
        "description": "when it was voided (it no longer counts); null while it counts"})
    voided_by = String(allow_none=True)
    void_reason = String(allow_none=True)
    assessment = Nested(AssessmentOut)


class VoidIn(Schema):
    reason = String(required=True, validate=_REASON,
                    metadata={"description": "why it no longer counts: the holder reads it"})


class CredentialIn(Schema):
    ttl_hours = Integer(load_default=24, validate=Range(1, 24 * 30))


class CredentialOut(Schema):
    cti = String()
    text = String(metadata={"description": "the QR text"})
    colour = String()
    score = Integer()
    issued_at = Integer()
    expires_at = Integer()
    png = String(metadata={"description": "URL of the QR code as PNG"})
    svg = String(metadata={"description": "URL of the QR code as SVG"})


class RevokeIn(Schema):
    reason = String(required=True, validate=_REASON,
                    metadata={"description": "why, for the audit log, which keeps it for good: "
                                             "no personal data"})


class EraseOut(Schema):
    person = String(metadata={"description": "the pseudonymous id, all that is kept"})
    erased_at = Integer()
    observations = Integer(metadata={"description": "records deleted"})
    appeals = Integer(metadata={"description": "appeals deleted (words, photos, decisions)"})
    revoked = Integer(metadata={"description": "unexpired codes revoked"})
    credentials = Integer(metadata={"description": "codes whose signed text was cleared"})
    devices = Integer(metadata={"description": "phones unbound"})
    sessions = Integer(metadata={"description": "phone sign-ins ended"})
    enrolments = Integer(metadata={"description": "enrolment links deleted"})
    revocation_list = String(metadata={"description": "URL of the signed revocation list"})


class RevokeOut(Schema):
    revoked = List(String(), metadata={"description": "ids of the credentials newly revoked"})
    revocation_list = String(metadata={"description": "URL of the signed revocation list"})


class RankingQuery(Schema):
    k = Integer(load_default=None, validate=Range(1, 1_000_000),
                metadata={"description": "minimum members; never below the server's k"})


class RankingEntry(Schema):
    organisation = String()
    members = Integer()
    mean_score = Raw()


class RankingOut(Schema):
    k = Integer()
    organisations = List(Nested(RankingEntry))


class AuditEntryOut(Schema):
    seq = Integer()
    at = Integer()
    actor = String()
    action = String()
    reason = String()
    details = Dict()


class AuditQuery(Schema):
    after = Integer(load_default=0, validate=Range(0, 2**62), metadata={
        "description": "only entries after this seq (the previous page's next_after)"})
    limit = Integer(load_default=AUDIT_PAGE, validate=Range(1, AUDIT_PAGE), metadata={
        "description": "at most this many entries"})


class CheckpointOut(Schema):
    size = Integer(metadata={"description": "entries verified by `audit verify`"})
    at = Integer(metadata={"description": "when (epoch seconds)"})
    full_at = Integer(metadata={"description": "when it last read the whole log (epoch "
                                               "seconds)"})


class AuditOut(Schema):
    person_id = String()
    entries = List(Nested(AuditEntryOut))
    next_after = Integer(allow_none=True, metadata={
        "description": "more entries follow: pass this as after; null on the last page"})
    chain_ok = Boolean(metadata={"description": "the chain holds: checked from the head last "
                                                "verified, with this person's entries and "
                                                "their neighbours"})
    verified_through = Integer(metadata={"description": "the size of the log verified"})
    full_check_at = Integer(allow_none=True, metadata={
        "description": "when this process last verified the chain from the checkpoint on "
                       "(from the first entry when there is none; epoch seconds)"})
    checkpoint = Nested(CheckpointOut, allow_none=True, metadata={
        "description": "where `healthcode-issuer audit verify` last verified the log up to, "
                       "which this process goes on from; null when there is none"})


class CardIn(Schema):
    days = Integer(load_default=CARD_TTL // DAY, validate=Range(1, MAX_CREDENTIAL_TTL // DAY),
                   metadata={"description": "validity of the printed card, in days"})


class AppealsQuery(Schema):
    state = String(load_default="open", validate=OneOf(["open", "upheld", "rejected"]))


class ContestedOut(Schema):
    """The record an appeal contests (the spec keeps it apart from ObservationOut)."""

    id = Integer()
    kind = String()
    value = Raw()
    observed_at = Integer()
    source = String()
    voided_at = Integer(allow_none=True)


class DecidedAssessmentOut(AssessmentOut):
    """The person's assessment after a decision."""


class AppealOut(Schema):
    id = String()
    person_id = String()
    observation_id = Integer(allow_none=True, metadata={
        "description": "the record contested; null: the colour as a whole"})
    observation = Nested(ContestedOut, allow_none=True)
    reason = String(metadata={"description": "the holder's words, verbatim"})
    attachment = String(allow_none=True, metadata={
        "description": "URL of the holder's photo (a JPEG, metadata removed), or null"})
    created_at = Integer()
    due_at = Integer(allow_none=True, metadata={"description": "the review deadline"})
    overdue = Boolean()
    state = String(metadata={"description": "open, upheld or rejected"})
    decided_at = Integer(allow_none=True)
    decided_by = String(allow_none=True, metadata={"description": "the reviewer's token id"})
    decision = String(allow_none=True, metadata={"description": "the reviewer's written reason"})
    assessment = Nested(DecidedAssessmentOut, metadata={"description": "after a decision"})


class QueuedAppealOut(AppealOut):
    """An appeal in the queue (the spec names nested and top-level schemas apart)."""


class AppealsOut(Schema):
    appeals = List(Nested(QueuedAppealOut))


class DecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["uphold", "reject"]))
    reason = String(required=True, validate=[Length(1, 1000), _not_blank],
                    metadata={"description": "why, in writing: the holder reads it"})
    void = List(Integer(validate=Range(1, 2**63 - 1)), load_default=list,
                validate=Length(0, 50), metadata={
                    "description": "upholding an appeal against the colour: the person's "
                                   "records that no longer count (an appeal against a "
                                   "record voids that record)"})


class StatusOut(Schema):
    policy = String()
    appeals = Dict(keys=String(), values=Integer(), metadata={
        "description": "open appeals, and those past their review deadline (overdue)"})



class FamilyLinkIn(Schema):
    guardian = String(required=True, validate=Regexp(r"^p-[A-Za-z0-9_-]{1,32}$",
                                                     error="a person id (p-…)"),
                      metadata={"description": "the person whose phone will show the code"})
    reason = String(required=True, validate=_REASON,
                    metadata={"description": "why (a birth certificate seen, a signed "
                                             "consent…), for the audit log"})


class FamilyLinkOut(Schema):
    id = String(metadata={"description": "the link's id (f-…)"})
    guardian_id = String()
    dependant_id = String()
    created_at = Integer()
    created_by = String()
    revoked_at = Integer(allow_none=True)
    revoked_by = String(allow_none=True)
    revocation_reason = String(allow_none=True)


class NewFamilyLinkOut(FamilyLinkOut):
    """A link just made (its own name in the OpenAPI document, as NewEnrolmentOut)."""


class FamilyOut(Schema):
    dependants = List(Nested(FamilyLinkOut), metadata={"description": "whose codes this "
                                                                      "person's phone shows"})
    guardians = List(Nested(FamilyLinkOut), metadata={"description": "whose phones show "
                                                                     "this person's code"})


class FamilyRevokeOut(RevokeOut):
    link = Nested(FamilyLinkOut)
