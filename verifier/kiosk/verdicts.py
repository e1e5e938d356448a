"""What a verdict says: its state, a refusal's reason in plain words for the screen, which
scans count as the same code, and when a code refused for its time was (or will be) valid."""

from __future__ import annotations

from ..errors import Reason, VerificationError
from ..labels import PRESENTATION_PREFIX
from ..presentation import decode_presentation
from ..timefmt import humanize, iso
from ..verify import decode_text, decode_unverified


class State:
    """The verdict states, as ``#verdict[data-state]`` on the page."""

    IDLE, ADMIT, DENY, INVALID = "idle", "admit", "deny", "invalid"


#: Plain words for the screen, two metres away: short, no jargon.
SCREEN_WORDS: dict[Reason, str] = {
    Reason.MALFORMED: "Not a health code",
    Reason.UNSUPPORTED_ALGORITHM: "Signed in a way this checkpoint does not accept",
    Reason.UNKNOWN_KEY: "Not signed by a trusted issuer",
    Reason.BAD_SIGNATURE: "Tampered or forged code",
    Reason.EXPIRED: "Code expired",
    Reason.NOT_YET_VALID: "Code not valid yet",
    Reason.KEY_NOT_VALID: "Signed with a key not valid for this code",
    Reason.INVALID_CLAIMS: "Code content is invalid",
    Reason.NO_CODE: "No QR code found",
    Reason.HOLDER_PROOF_MISSING: "Copy of a phone-bound code: show the live code",
    Reason.REVOKED: "Code revoked by the issuer",
    Reason.STALE_PRESENTATION: "Old live code: a photo or a recording?",
    Reason.BAD_HOLDER_SIGNATURE: "Live code not made by its own phone",
}


def code_identity(text: str) -> str:
    """What makes two scans "the same code": the credential inside a live presentation (its
    text changes every 15 s while the phone is held up), else the text itself."""
    if text.startswith(PRESENTATION_PREFIX):
        try:
            return decode_presentation(decode_text(text, PRESENTATION_PREFIX)).credential.hex()
        except VerificationError:
            pass
    return text


def time_detail(error: VerificationError, text: str, now: int) -> str | None:
    """For a code refused for its time, when: an expired or not-yet-valid code's from its
    unverified claims (the signature was good, only the time was wrong), a stale live code's
    age as the verifier gave it."""
    reason = error.reason
    if reason is Reason.STALE_PRESENTATION:
        return error.detail
    if reason not in (Reason.EXPIRED, Reason.NOT_YET_VALID):
        return None
    try:
        claims = decode_unverified(text)
    except VerificationError:
        return None
    if reason is Reason.EXPIRED:
        return f"expired {humanize(now - claims.exp)} ago ({iso(claims.exp)})"
    return f"valid only from {iso(claims.iat)}, in {humanize(claims.iat - now)}: check the clock"
