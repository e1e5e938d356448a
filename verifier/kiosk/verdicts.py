"""What a verdict says: its state, a refusal's reason in plain words for the screen (in the
reader's language), which scans count as the same code, and when a code refused for its time
was (or will be) valid.

Words are looked up when a verdict is made: inside a request in the reader's language (the
kiosk's switch, else ``Accept-Language``, else the deployment's default), outside one (the
command line, the tests of the logic) in English. Reason codes never change with the language.
"""

from __future__ import annotations

from flask import current_app, has_app_context, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import i18n, webui
from ..errors import Reason, VerificationError
from ..formats import ForeignCode, detect
from ..labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX
from ..presentation import decode_presentation
from ..timefmt import iso
from ..verify import decode_text, decode_unverified


class State:
    """The verdict states, as ``#verdict[data-state]`` on the page."""

    IDLE, ADMIT, DENY, INVALID = "idle", "admit", "deny", "invalid"


#: Plain words for the screen, two metres away: short, no jargon.
SCREEN_WORDS = {
    Reason.MALFORMED: _l("Not a health code"),
    Reason.UNSUPPORTED_ALGORITHM: _l("Signed in a way this checkpoint does not accept"),
    Reason.UNKNOWN_KEY: _l("Not signed by a trusted issuer"),
    Reason.BAD_SIGNATURE: _l("Tampered or forged code"),
    Reason.EXPIRED: _l("Code expired"),
    Reason.NOT_YET_VALID: _l("Code not valid yet"),
    Reason.KEY_NOT_VALID: _l("Signed with a key not valid for this code"),
    Reason.INVALID_CLAIMS: _l("Code content is invalid"),
    Reason.NO_CODE: _l("No QR code found"),
    Reason.HOLDER_PROOF_MISSING: _l("Copy of a phone-bound code: show the live code"),
    Reason.REVOKED: _l("Code revoked by the issuer"),
    Reason.STALE_PRESENTATION: _l("Old live code: a photo or a recording?"),
    Reason.BAD_HOLDER_SIGNATURE: _l("Live code not made by its own phone"),
    Reason.TRUST_LIST_MALFORMED: _l("Checkpoint has no valid trust list"),
    Reason.TRUST_LIST_BAD_SIGNATURE: _l("Checkpoint has no valid trust list"),
    Reason.TRUST_LIST_EXPIRED: _l("Checkpoint's trust list has expired"),
    Reason.TRUST_LIST_ROLLBACK: _l("Checkpoint has no valid trust list"),
    Reason.REVOCATION_LIST_MALFORMED: _l("Revocation list refused"),
    Reason.REVOCATION_LIST_BAD_SIGNATURE: _l("Revocation list refused"),
    Reason.REVOCATION_LIST_ROLLBACK: _l("Revocation list refused"),
}
#: The reason explained, the line under the screen words (errors.EXPLANATIONS, translated).
DETAILS = {
    Reason.MALFORMED: _l("this is not a readable health code"),
    Reason.UNSUPPORTED_ALGORITHM: _l("signed with an algorithm this verifier does not accept"),
    Reason.UNKNOWN_KEY: _l("not signed by a trusted issuer"),
    Reason.BAD_SIGNATURE: _l("the signature does not match: the code was altered or forged"),
    Reason.EXPIRED: _l("the code has expired"),
    Reason.NOT_YET_VALID: _l("the code is not valid yet (issued in the future)"),
    Reason.KEY_NOT_VALID: _l("signed with a key that was not valid for this code"),
    Reason.INVALID_CLAIMS: _l("the code's contents are invalid"),
    Reason.NO_CODE: _l("no QR code found in the image"),
    Reason.HOLDER_PROOF_MISSING: _l("this code is bound to a phone: show the live code, "
                                    "not a copy"),
    Reason.REVOKED: _l("the issuer has revoked this code"),
    Reason.STALE_PRESENTATION: _l("this live code is not live: it was made too long ago (a "
                                  "photo or a recording?)"),
    Reason.BAD_HOLDER_SIGNATURE: _l("the live code was not made by the phone the code is "
                                    "bound to"),
    Reason.TRUST_LIST_MALFORMED: _l("the trust list is unreadable"),
    Reason.TRUST_LIST_BAD_SIGNATURE: _l("the trust list is not signed by the pinned trust "
                                        "anchor"),
    Reason.TRUST_LIST_EXPIRED: _l("the trust list has expired: fetch a fresh one"),
    Reason.TRUST_LIST_ROLLBACK: _l("the trust list is older than the one this verifier "
                                   "already has"),
    Reason.REVOCATION_LIST_MALFORMED: _l("the revocation list is unreadable"),
    Reason.REVOCATION_LIST_BAD_SIGNATURE: _l("the revocation list is not signed by a key of "
                                             "its issuer in the trust list"),
    Reason.REVOCATION_LIST_ROLLBACK: _l("the revocation list is older than the one this "
                                        "verifier already has"),
}
#: Each foreign format's name (one code, and several: for rules), as a checkpoint says it.
FORMAT_NAMES = {
    "dcc": (_l("EU Digital COVID Certificate"), _l("EU certificates")),
    "shc": (_l("SMART Health Card"), _l("SMART Health Cards")),
    "nzcp": (_l("NZ COVID Pass"), _l("NZ COVID Passes")),
}
#: What a foreign code certifies (``ForeignCode.kind``), in words; other kinds as they are.
KIND_WORDS = {"vaccination": _l("vaccination"), "test": _l("test"),
              "recovery": _l("recovery"), "immunization": _l("immunization"),
              "laboratory": _l("laboratory result"), "pass": _l("pass")}
#: The state words of a verdict's ``message`` (the page shows its own, from its catalog).
ADMIT_WORD = _l("ADMIT")
STATIC_REFUSED = _l("static (printed or copied) codes are not accepted here")


def reader() -> str:
    """The reader's locale: the request's; English outside a request."""
    return webui.locale() if has_request_context() else "en"


def span(seconds: int) -> str:
    """A duration in the reader's words: ``2d 0h``, ``2天0小时``."""
    return i18n.format_duration(seconds, reader())


def when(epoch: int) -> str:
    """An instant in the reader's words, in the deployment's zone with its offset."""
    zone = current_app.extensions.get("healthcode.zone") if has_app_context() else None
    return i18n.format_time(epoch, reader(), zone)


def code_identity(text: str) -> str:
    """What makes two scans "the same code": the credential inside a live presentation (its
    text changes every 15 s while the phone is held up), else the text itself."""
    if text.startswith(PRESENTATION_PREFIX):
        try:
            return decode_presentation(decode_text(text, PRESENTATION_PREFIX)).credential.hex()
        except VerificationError:
            pass
    return text


def time_detail(error: VerificationError, text: str, now: int, window: int) -> str | None:
    """For a code refused for its time, when: an expired or not-yet-valid code's from its
    unverified claims (the signature was good, only the time was wrong), a stale live code's
    age from the verifier's context."""
    reason = error.reason
    if reason is Reason.STALE_PRESENTATION:
        made = error.context.get("presented_at")
        if type(made) is not int:
            return None
        if made <= now:
            return _("made %(age)s ago; a live code is at most %(window)s old",
                     age=span(now - made), window=span(window))
        return _("dated %(ahead)s in the future: the phone's clock is wrong",
                 ahead=span(made - now))
    if reason not in (Reason.EXPIRED, Reason.NOT_YET_VALID):
        return None
    exp = error.context.get("exp")
    if error.context.get("format") is not None:  # a foreign code: its reader says when
        return _("expired %(age)s ago (%(when)s)", age=span(now - exp), when=when(exp)) \
            if reason is Reason.EXPIRED and type(exp) is int else None
    try:
        claims = decode_unverified(text)
    except VerificationError:
        return None
    if reason is Reason.EXPIRED:
        return _("expired %(age)s ago (%(when)s)", age=span(now - claims.exp),
                 when=when(claims.exp))
    return _("valid only from %(when)s, in %(wait)s: check the clock", when=when(claims.iat),
             wait=span(claims.iat - now))


#: ``format`` of a verdict on a code of ours (as ``healthcode-verifier check --json`` says).
OURS = "healthcode"


def code_format(text: str) -> str | None:
    """The format a text is read as: ``healthcode`` (ours), ``dcc``, ``shc``, ``nzcp``, or None
    for a text of no format."""
    if text.startswith((CREDENTIAL_PREFIX, PRESENTATION_PREFIX)):
        return OURS
    return detect(text)


def foreign_verdict(code: ForeignCode, refusal: str | None, now: int) -> dict:
    """The verdict on a verified foreign code (the caller adds ``state``, ``code`` and
    ``announce``): what it is, whose it is (the holder's name and date of birth, for staff to
    compare with an identity document: sent to the screen, never logged or kept), and when it
    expires (None: it does not)."""
    left = None if code.expires_at is None else max(code.expires_at - now, 0)
    return {"format": code.format, "format_name": str(FORMAT_NAMES[code.format][0]),
            "issuer": code.issuer, "country": code.country, "kind": code.kind,
            "kind_name": str(KIND_WORDS.get(code.kind, code.kind)),
            "name": code.holder.name, "birth_date": code.holder.birth_date,
            "expires": None if code.expires_at is None else iso(code.expires_at),
            "expires_at": None if code.expires_at is None else iso(code.expires_at),
            "seconds_left": left, "time_left": None if left is None else span(left),
            "shows": dict(code.shows), "colour": None, "score": None, "static": False,
            "message": str(ADMIT_WORD) if refusal is None else refusal}
