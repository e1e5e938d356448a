"""One exception tree for everything the verifier rejects.

Every rejection carries a :class:`Reason` whose value is a stable string (the CLI's ``--json``
``reason``, the kiosk's ``data-reason``); tests assert on it, never on message text.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Why a code or a trust list was refused. Values are part of the public interface."""

    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    KEY_NOT_VALID = "key_not_valid"
    INVALID_CLAIMS = "invalid_claims"
    NO_CODE = "no_code"
    HOLDER_PROOF_MISSING = "holder_proof_missing"
    REVOKED = "revoked"
    STALE_PRESENTATION = "stale_presentation"
    BAD_HOLDER_SIGNATURE = "bad_holder_signature"
    # Trust list problems: the verifier cannot judge any code until they are fixed.
    TRUST_LIST_MALFORMED = "trust_list_malformed"
    TRUST_LIST_BAD_SIGNATURE = "trust_list_bad_signature"
    TRUST_LIST_EXPIRED = "trust_list_expired"
    TRUST_LIST_ROLLBACK = "trust_list_rollback"
    # Revocation list problems: the list is refused (the verifier keeps the one it has).
    REVOCATION_LIST_MALFORMED = "revocation_list_malformed"
    REVOCATION_LIST_BAD_SIGNATURE = "revocation_list_bad_signature"
    REVOCATION_LIST_ROLLBACK = "revocation_list_rollback"


#: Plain words for each reason, for people at a checkpoint or a terminal.
EXPLANATIONS: dict[Reason, str] = {
    Reason.MALFORMED: "this is not a readable health code",
    Reason.UNSUPPORTED_ALGORITHM: "signed with an algorithm this verifier does not accept",
    Reason.UNKNOWN_KEY: "not signed by a trusted issuer",
    Reason.BAD_SIGNATURE: "the signature does not match: the code was altered or forged",
    Reason.EXPIRED: "the code has expired",
    Reason.NOT_YET_VALID: "the code is not valid yet (issued in the future)",
    Reason.KEY_NOT_VALID: "signed with a key that was not valid for this code",
    Reason.INVALID_CLAIMS: "the code's contents are invalid",
    Reason.NO_CODE: "no QR code found in the image",
    Reason.HOLDER_PROOF_MISSING: "this code is bound to a phone: show the live code, not a copy",
    Reason.REVOKED: "the issuer has revoked this code",
    Reason.STALE_PRESENTATION: "this live code is not live: it was made too long ago (a photo "
                               "or a recording?)",
    Reason.BAD_HOLDER_SIGNATURE: "the live code was not made by the phone the code is bound to",
    Reason.TRUST_LIST_MALFORMED: "the trust list is unreadable",
    Reason.TRUST_LIST_BAD_SIGNATURE: "the trust list is not signed by the pinned trust anchor",
    Reason.TRUST_LIST_EXPIRED: "the trust list has expired: fetch a fresh one",
    Reason.TRUST_LIST_ROLLBACK: "the trust list is older than the one this verifier already has",
    Reason.REVOCATION_LIST_MALFORMED: "the revocation list is unreadable",
    Reason.REVOCATION_LIST_BAD_SIGNATURE: "the revocation list is not signed by a key of its "
                                          "issuer in the trust list",
    Reason.REVOCATION_LIST_ROLLBACK: "the revocation list is older than the one this verifier "
                                     "already has",
}


class HealthCodeError(Exception):
    """Root of the verifier's exceptions: ``reason`` says why, ``context`` says about what.

    A subtree with reasons of its own (``verifier.tlog``'s ``TlogError``) sets ``reasons`` and
    ``explanations``."""

    reasons: type[StrEnum] = Reason
    explanations: dict[Any, str] = EXPLANATIONS

    def __init__(self, reason: StrEnum, detail: str | None = None, **context: Any) -> None:
        self.reason = self.reasons(reason)
        self.detail = detail or self.explanations[self.reason]
        self.context = context
        super().__init__(f"{self.reason.value}: {self.detail}")

    @property
    def explanation(self) -> str:
        """The reason in plain words, fit for a verdict screen."""
        return self.explanations[self.reason]


class VerificationError(HealthCodeError):
    """A code (text or image) was rejected. ``context`` may hold ``kid``, ``exp``, ``now``."""


class TrustListError(HealthCodeError):
    """A trust list was rejected: unreadable, not signed by the pinned anchor, expired, or
    older than the one in use (rollback)."""


class RevocationListError(HealthCodeError):
    """A revocation list was rejected: unreadable, not signed by its issuer's key, or older
    than the one in use (rollback)."""
