"""The EU Digital COVID Certificate (``HC1:``), read and verified offline.

One function a stage; :func:`verify` runs them in this order, and every refusal names its
stage in ``context["step"]``:

- ``prefix``: ``HC1:``, at most :data:`MAX_TEXT_LENGTH` characters;
- ``base45``, then ``decompress``: zlib, at most :data:`MAX_DECOMPRESSED` bytes out;
- ``decode``: a COSE_Sign1, tagged 18 (leniencies the public test data needs: untagged, or
  the CWT tag 61 around tag 18); ``alg`` and ``kid`` from the protected header, else from the
  unprotected one (safe: the kid only chooses keys, and the key's type fixes the algorithm);
- ``signature``: every DSC with that kid whose key fits the algorithm (ES256: a P-256 key;
  PS256: RSA) is tried;
- ``claims``: :mod:`.dccclaims` reads the CWT claims and the health certificate;
- ``key_usage``: the DSC's extended key usage allows that kind (no kind's OID: any), and a
  country in ``iss`` is the DSC's;
- ``expiry`` (``exp``), ``issued_at`` (``iat`` not in the future), ``key_validity`` (the DSC
  valid now), with :data:`CLOCK_SKEW` on the certificate's own times;
- ``content``: a test shows a negative result and a sample taken in the past (the test data's
  list of verifier checks, DGC7 and DGC8).

The stages are public so that a caller can judge one alone (the interoperability test does,
as the EU test data expects); only :func:`verify` says a certificate is valid.
"""

from __future__ import annotations

import base64
import zlib
from enum import IntEnum
from typing import Any, NamedTuple

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ..base45 import Base45Error, b45decode
from ..cose import sig_structure
from ..errors import Reason, VerificationError
from ..keys import verify_signature
from ..labels import Alg as OurAlg
from ..labels import Header
from .base import ForeignCode
from .dccclaims import POSITIVE, Claims, fail, loads, read_claims
from .dcckeys import DccKeys, Dsc

PREFIXES = ("HC1:",)
#: The most alphanumeric characters a QR code holds (version 40, ECC L): a longer text never
#: came from one.
MAX_TEXT_LENGTH = 4296
#: Most bytes the zlib stream may inflate to; real certificates are well under 1 KiB.
MAX_DECOMPRESSED = 64 << 10
#: The same allowance for clocks as for our own codes (verifier.verify.CLOCK_SKEW).
CLOCK_SKEW = 300
CRIT = 2  # the COSE header parameter naming critical parameters
_CWT_TAG = b"\xd8\x3d"  # tag 61, around the COSE_Sign1's own tag 18
_COSE_SIGN1_TAG = 18
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)  # RFC 8230: hash size


class Alg(IntEnum):
    """The COSE algorithms an EU certificate may be signed with."""

    ES256 = -7
    PS256 = -37


class Envelope(NamedTuple):
    """A COSE_Sign1 as read from a text: nothing in it checked yet."""

    protected: bytes
    payload: bytes
    signature: bytes
    alg: int | None
    kid: bytes | None


def kid_base64(kid: bytes) -> str:
    """A kid as the national lists write it (base64)."""
    return base64.b64encode(kid).decode("ascii")


def open_envelope(text: str) -> Envelope:
    """Read a text to its COSE_Sign1 (stages ``prefix`` to ``decode``), checking nothing
    that is signed. Raises :class:`VerificationError` (``malformed``)."""
    if not isinstance(text, str) or not text.startswith(PREFIXES[0]):
        fail(Reason.MALFORMED, "not an EU certificate (no HC1: prefix)", "prefix")
    if len(text) > MAX_TEXT_LENGTH:
        fail(Reason.MALFORMED, f"longer than {MAX_TEXT_LENGTH} characters", "prefix")
    try:
        compressed = b45decode(text[len(PREFIXES[0]):])
    except Base45Error as exc:
        fail(Reason.MALFORMED, f"bad Base45: {exc}", "base45")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_DECOMPRESSED + 1)
    except zlib.error as exc:
        fail(Reason.MALFORMED, f"not zlib-compressed: {exc}", "decompress")
    if len(data) > MAX_DECOMPRESSED:  # one byte more than the bound was asked for
        fail(Reason.MALFORMED, f"inflates to more than {MAX_DECOMPRESSED} bytes", "decompress")
    if not inflater.eof or inflater.unused_data:
        fail(Reason.MALFORMED, "the zlib stream is cut short or followed by more bytes",
             "decompress")
    wrapped = data.startswith(_CWT_TAG)
    item = loads(data[len(_CWT_TAG):] if wrapped else data, "COSE_Sign1", "decode",
                 tag=_COSE_SIGN1_TAG)
    if isinstance(item, cbor2.CBORTag):
        item = item.value
    elif wrapped:
        fail(Reason.MALFORMED, "the CWT tag is not around a tagged COSE_Sign1", "decode")
    if not (isinstance(item, list) and len(item) == 4
            and isinstance(item[0], bytes) and isinstance(item[1], dict)
            and isinstance(item[2], bytes) and isinstance(item[3], bytes)):
        fail(Reason.MALFORMED, "not a COSE_Sign1 [protected, unprotected, payload, "
             "signature]", "decode")
    protected, unprotected, payload, signature = item
    header = loads(protected, "protected header", "decode") if protected else {}
    if not isinstance(header, dict) or CRIT in header:
        fail(Reason.MALFORMED, "the protected header is not a map this verifier understands",
             "decode")
    alg = header[Header.ALG] if Header.ALG in header else unprotected.get(Header.ALG)
    kid = header[Header.KID] if Header.KID in header else unprotected.get(Header.KID)
    if not (alg is None or type(alg) is int) or not (kid is None or isinstance(kid, bytes)):
        fail(Reason.MALFORMED, "alg or kid of the wrong type", "decode")
    return Envelope(protected, payload, signature, alg, kid)


def _fits(alg: Alg, key: Any) -> bool:
    if alg is Alg.ES256:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return isinstance(key, rsa.RSAPublicKey)


def _holds(alg: Alg, key: Any, message: bytes, signature: bytes) -> bool:
    try:
        if alg is Alg.ES256:
            verify_signature(key, OurAlg.ES256, message, signature)
        else:
            key.verify(signature, message, _PSS, hashes.SHA256())
    except (VerificationError, InvalidSignature):
        return False
    return True


def find_signer(envelope: Envelope, keys: DccKeys | None) -> Dsc:
    """The DSC whose key signed ``envelope`` (stage ``signature``). Raises
    :class:`VerificationError`: ``unsupported_algorithm`` (neither ES256 nor PS256, or no DSC
    with that kid has a key for it), ``unknown_key``, ``bad_signature``."""
    try:
        alg = Alg(envelope.alg)
    except ValueError:
        fail(Reason.UNSUPPORTED_ALGORITHM, f"COSE algorithm {envelope.alg}", "signature")
    kid = envelope.kid
    kid_text = kid_base64(kid) if kid else None
    candidates = keys.by_kid(kid) if keys is not None and kid else ()
    if not candidates:
        fail(Reason.UNKNOWN_KEY, "no trusted document signer with this kid" if kid
             else "the certificate names no key", "signature", kid=kid_text)
    fitting = [dsc for dsc in candidates if _fits(alg, dsc.public_key)]
    if not fitting:
        fail(Reason.UNSUPPORTED_ALGORITHM, f"{alg.name} with a document signer whose key is "
             f"not for it ({type(candidates[0].public_key).__name__})", "signature",
             kid=kid_text)
    message = sig_structure(envelope.protected, envelope.payload)
    for dsc in fitting:
        if _holds(alg, dsc.public_key, message, envelope.signature):
            return dsc
    fail(Reason.BAD_SIGNATURE, "the signature does not match", "signature", kid=kid_text)


def decode_unverified(text: str) -> Claims:
    """A certificate's claims WITHOUT checking signature, key or time. Never trust it.
    Raises :class:`VerificationError` if it cannot be read."""
    return read_claims(open_envelope(text).payload)


def check_key_usage(claims: Claims, dsc: Dsc) -> None:
    """Stage ``key_usage``: raises ``key_not_valid`` unless the DSC may sign this kind, for
    the country the certificate names."""
    if not dsc.allows(claims.kind):
        fail(Reason.KEY_NOT_VALID, f"the document signer may not sign a {claims.kind} "
             f"certificate (only {', '.join(sorted(dsc.types))})", "key_usage",
             kid=kid_base64(dsc.kid))
    if claims.country and dsc.country and claims.country != dsc.country:
        fail(Reason.KEY_NOT_VALID, f"a document signer of {dsc.country} signed a certificate "
             f"of {claims.country}", "key_usage", kid=kid_base64(dsc.kid))


def check_times(claims: Claims, dsc: Dsc, now: int) -> None:
    """Stages ``expiry``, ``issued_at``, ``key_validity``: raises ``expired``,
    ``not_yet_valid`` or ``key_not_valid``."""
    context = {"kid": kid_base64(dsc.kid), "exp": claims.exp, "now": now}
    if now > claims.exp + CLOCK_SKEW:
        fail(Reason.EXPIRED, "the certificate has expired", "expiry", **context)
    if claims.iat > now + CLOCK_SKEW:
        fail(Reason.NOT_YET_VALID, "issued in the future", "issued_at", **context)
    if not dsc.not_before <= now <= dsc.not_after:
        fail(Reason.KEY_NOT_VALID, "the document signer's certificate is not valid now",
             "key_validity", **context)


def check_content(claims: Claims, now: int) -> None:
    """Stage ``content``: a test certificate must show a negative result and a sample taken
    before ``now``; raises ``invalid_claims``."""
    if claims.kind != "test":
        return
    if claims.certificate["t"][-1].get("tr") == POSITIVE:
        fail(Reason.INVALID_CLAIMS, "a positive test result", "content")
    if claims.sampled_at is not None and claims.sampled_at > now + CLOCK_SKEW:
        fail(Reason.INVALID_CLAIMS, "the test sample is dated in the future", "content")


def verify(text: str, keys: DccKeys | None, now: int) -> ForeignCode:
    """Verify an ``HC1:`` text at ``now`` (epoch seconds) against ``keys`` (None: no keys,
    every certificate is ``unknown_key``). Returns a :class:`ForeignCode`; raises
    :class:`VerificationError` with ``context["format"] == "dcc"`` and the ``step`` that
    refused it (see the module's documentation for the reasons each stage gives)."""
    envelope = open_envelope(text)
    dsc = find_signer(envelope, keys)
    claims = read_claims(envelope.payload)
    check_key_usage(claims, dsc)
    check_times(claims, dsc, now)
    check_content(claims, now)
    country = claims.country or dsc.country
    return ForeignCode(
        format="dcc", issuer=country or claims.iss or "", country=country, kind=claims.kind,
        holder=claims.holder, issued_at=claims.iat, not_before=None, expires_at=claims.exp,
        kid=kid_base64(dsc.kid), alg=Alg(envelope.alg).name, shows=claims.shows)
