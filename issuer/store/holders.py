"""Holders in the database: their phones (device keys), one-time enrolment links and one-time
sign-in codes. Functions take a session in a transaction; :class:`issuer.store.Store` wraps
them with their audit entries.

Secrets are never stored: an enrolment token and a sign-in code are kept as hashes (the code
keyed, because six digits are easy to try offline), and a phone number only as its keyed
lookup MAC.

Several server processes may share one PostgreSQL database, so every check-then-write here is
atomic there too: a link is claimed, and a guess counted, by one conditional ``UPDATE …
RETURNING`` (a concurrent one waits for the row, then finds the condition false); the codes
sent to a number are counted under a transaction-scoped advisory lock on that number. SQLite
lets one writer in at a time, which serialises them already.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from verifier.keys import b64url_decode

from .db import CredentialRecord, Device, Enrolment, NotFound, OneTimeCode, Person

#: How long an enrolment link (a letter, a text message) stays usable.
ENROLMENT_TTL = 30 * 86_400
#: How long a sign-in code is valid, how many guesses it allows, how many codes a number may
#: be sent in an hour (each text message costs money and annoys a person who did not ask).
CODE_TTL = 10 * 60
CODE_ATTEMPTS = 5
CODES_PER_HOUR = 5
CODE_DIGITS = 6
_P256_COORD = 32


class HolderProblem(StrEnum):
    """Why an enrolment link, a sign-in code or a device key was refused (stable strings)."""

    UNKNOWN_LINK = "unknown_link"
    USED_LINK = "used_link"
    EXPIRED_LINK = "expired_link"
    BAD_DEVICE_KEY = "bad_device_key"
    WRONG_CODE = "wrong_code"
    TOO_MANY_CODES = "too_many_codes"
    SHARED_PHONE = "shared_phone"
    SIGNED_OUT = "signed_out"


class HolderError(Exception):
    """A holder's request was refused; ``problem`` says why, the message says it in words."""

    def __init__(self, problem: HolderProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


# Enrolment links -----------------------------------------------------------------------------

def new_enrolment(session: Session, person_id: str, actor: str, now: int) -> str:
    """Add a one-time enrolment link for the person; return its secret token."""
    if session.get(Person, person_id) is None:
        raise NotFound(f"no person {person_id}")
    token = secrets.token_urlsafe(24)
    session.add(Enrolment(token_hash=token_hash(token), person_id=person_id, created_at=now,
                          expires_at=now + ENROLMENT_TTL, created_by=actor))
    session.flush()
    return token


def open_enrolment(session: Session, token: str, now: int) -> Enrolment:
    """Return the unused, unexpired enrolment of ``token``; raises :class:`HolderError`."""
    row = session.get(Enrolment, token_hash(token)) if len(token) <= 128 else None
    if row is None:
        raise HolderError(HolderProblem.UNKNOWN_LINK, "this enrolment link is not known")
    if row.used_at is not None:
        raise HolderError(HolderProblem.USED_LINK,
                          "this enrolment link was already used; sign in with your phone "
                          "number instead")
    if now > row.expires_at:
        raise HolderError(HolderProblem.EXPIRED_LINK,
                          "this enrolment link has expired; ask for a new letter, or sign in "
                          "with your phone number")
    return row


def claim_enrolment(session: Session, token: str, now: int) -> str:
    """Mark the enrolment of ``token`` used and return its person id; exactly one of many
    concurrent claims succeeds. Raises :class:`HolderError` as :func:`open_enrolment`."""
    claimed = None
    if len(token) <= 128:
        claimed = session.execute(
            update(Enrolment).where(Enrolment.token_hash == token_hash(token),
                                    Enrolment.used_at.is_(None), Enrolment.expires_at >= now)
            .values(used_at=now).returning(Enrolment.person_id)
            .execution_options(synchronize_session=False)).scalar()
    if claimed is None:
        open_enrolment(session, token, now)  # raises: unknown, expired, or used (maybe just now)
        raise HolderError(HolderProblem.USED_LINK, "this enrolment link was already used")
    return claimed


# Devices -------------------------------------------------------------------------------------

def device_public_key(jwk: Any) -> bytes:
    """Return the compressed SEC1 point of a phone's public P-256 JWK (``kty``, ``crv``,
    ``x``, ``y``). Raises :class:`HolderError` (``bad_device_key``)."""
    try:
        if not isinstance(jwk, dict) or "d" in jwk:
            raise ValueError("a public JWK object")
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise ValueError("an EC P-256 key")
        x, y = b64url_decode(jwk["x"]), b64url_decode(jwk["y"])
        if len(x) != _P256_COORD or len(y) != _P256_COORD:
            raise ValueError("32-byte coordinates")
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except (KeyError, TypeError, ValueError) as exc:
        raise HolderError(HolderProblem.BAD_DEVICE_KEY,
                          f"the phone's key is not usable: {exc}") from None
    return key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)


def load_device_key(public_key: bytes) -> ec.EllipticCurvePublicKey:
    """Return a stored device key as a key object."""
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_key)


def add_device(session: Session, person_id: str, public_key: bytes, now: int,
               replaced_reason: str = "replaced by a new phone") -> tuple[Device, list[str]]:
    """Bind a phone to the person (flushed). A person has one phone at a time: the others
    are retired, and their unexpired live credentials revoked. Returns ``(device, revoked
    ctis)``."""
    revoked: list[str] = []
    for old in session.scalars(select(Device).where(Device.person_id == person_id,
                                                    Device.revoked_at.is_(None))):
        old.revoked_at, old.revocation_reason = now, replaced_reason
        revoked += revoke_device_credentials(session, old.id, now, replaced_reason)
    device = Device(id="d-" + secrets.token_urlsafe(12), person_id=person_id,
                    public_key=public_key, created_at=now)
    session.add(device)
    session.flush()
    return device, revoked


def lock_device(session: Session, device_id: str) -> None:
    """Hold the phone's row until the transaction ends (PostgreSQL; SQLite's write lock
    serialises writers already): one phone's live codes are then written one at a time, and
    each writer sees the code the one before it stored."""
    session.execute(select(Device.id).where(Device.id == device_id).with_for_update())


def revoke_device_credentials(session: Session, device_id: str, now: int, reason: str,
                              keep: str | None = None, person_id: str | None = None
                              ) -> list[str]:
    """Revoke the device's unexpired, unrevoked credentials except ``keep`` (``person_id``:
    only that person's; a guardian's phone holds its family's codes too); return their
    ctis."""
    query = select(CredentialRecord).where(
        CredentialRecord.device_id == device_id, CredentialRecord.exp >= now,
        CredentialRecord.revoked_at.is_(None))
    if person_id is not None:
        query = query.where(CredentialRecord.person_id == person_id)
    rows = session.scalars(query)
    revoked = []
    for row in rows:
        if row.cti == keep:
            continue
        row.revoked_at, row.revoked_by, row.revocation_reason = now, "holder", reason
        revoked.append(row.cti)
    session.flush()
    return revoked


def current_credential(session: Session, person_id: str, device_id: str, now: int
                       ) -> CredentialRecord | None:
    """The newest unrevoked, unexpired credential bound to the device, or None."""
    return session.scalars(select(CredentialRecord).where(
        CredentialRecord.person_id == person_id, CredentialRecord.device_id == device_id,
        CredentialRecord.revoked_at.is_(None), CredentialRecord.exp >= now)
        .order_by(CredentialRecord.iat.desc(), CredentialRecord.cti).limit(1)).first()


def live_device(session: Session, person_id: str, device_id: str) -> Device | None:
    """The person's device ``device_id`` if it is still bound, else None."""
    device = session.get(Device, device_id)
    if device is None or device.person_id != person_id or device.revoked_at is not None:
        return None
    return device


def devices_of(session: Session, person_id: str) -> list[dict[str, Any]]:
    """The person's phones, newest first (public facts only)."""
    rows = session.scalars(select(Device).where(Device.person_id == person_id)
                           .order_by(Device.created_at.desc(), Device.id))
    return [{"id": d.id, "created_at": d.created_at, "revoked_at": d.revoked_at,
             "revocation_reason": d.revocation_reason} for d in rows]


# Sign-in codes -------------------------------------------------------------------------------

def code_hash(phone_mac: bytes, code: str) -> str:
    """A sign-in code's stored form: HMAC keyed by the phone's lookup MAC."""
    return hmac.new(phone_mac, code.encode(), hashlib.sha256).hexdigest()


def people_with_phone(session: Session, phone_mac: bytes) -> list[str]:
    return list(session.scalars(select(Person.id).where(Person.phone_mac == phone_mac)))


def lock_phone(session: Session, phone_mac: bytes) -> None:
    """Hold a lock on the number until the transaction ends (PostgreSQL: an advisory lock;
    SQLite's write lock already serialises writers)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(b"otp\0" + phone_mac).digest()[:8], "big",
                             signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def new_code(session: Session, phone_mac: bytes, now: int) -> str:
    """Add a sign-in code for the phone and return it. Raises :class:`HolderError`
    (``too_many_codes``) when the phone was sent :data:`CODES_PER_HOUR` in the last hour.

    Called alike whether or not anyone is enrolled with the number (the code then goes
    nowhere), so that the quota, the answer and the work are the same for every number."""
    lock_phone(session, phone_mac)
    sent = session.scalar(select(func.count()).select_from(OneTimeCode).where(
        OneTimeCode.phone_mac == phone_mac, OneTimeCode.created_at > now - 3600))
    if sent >= CODES_PER_HOUR:
        raise HolderError(HolderProblem.TOO_MANY_CODES,
                          "too many codes were asked for this number: try again in an hour")
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    session.add(OneTimeCode(phone_mac=phone_mac, code_hash=code_hash(phone_mac, code),
                            created_at=now, expires_at=now + CODE_TTL, attempts=0))
    session.flush()
    return code


def use_code(session: Session, phone_mac: bytes, code: str, now: int) -> bool:
    """Accept ``code`` for the phone (the newest live code, once): True, the code is used up;
    False for a wrong or expired code. Every guess counts against the code's attempts, so
    the caller must commit on False too.

    A guess is counted by one ``UPDATE … WHERE attempts < CODE_ATTEMPTS RETURNING``, so
    concurrent guesses (from several processes too) never get more than
    :data:`CODE_ATTEMPTS` between them, and only one of them can use the code."""
    newest = session.scalar(select(OneTimeCode.id).where(
        OneTimeCode.phone_mac == phone_mac, OneTimeCode.used_at.is_(None),
        OneTimeCode.expires_at >= now).order_by(OneTimeCode.created_at.desc(),
                                                OneTimeCode.id.desc()).limit(1))
    if newest is None:
        return False
    live = (OneTimeCode.id == newest, OneTimeCode.used_at.is_(None))
    stored = session.execute(
        update(OneTimeCode).where(*live, OneTimeCode.attempts < CODE_ATTEMPTS)
        .values(attempts=OneTimeCode.attempts + 1).returning(OneTimeCode.code_hash)
        .execution_options(synchronize_session=False)).scalar()
    candidate = "".join(ch for ch in code if ch.isdigit())[:CODE_DIGITS + 1]
    if stored is None or not hmac.compare_digest(stored, code_hash(phone_mac, candidate)):
        return False
    used = session.execute(update(OneTimeCode).where(*live).values(used_at=now)
                           .returning(OneTimeCode.id)
                           .execution_options(synchronize_session=False)).scalar()
    return used is not None


def purge_codes(session: Session, now: int) -> int:
    """Delete sign-in codes older than the hour their number's quota counts; return how
    many."""
    return int(session.execute(delete(OneTimeCode).where(OneTimeCode.created_at <= now - 3600))
               .rowcount)


WRONG_CODE = "that code is wrong or has expired: ask for a new one"
