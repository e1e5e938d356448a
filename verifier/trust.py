"""The trust list: which issuers and keys a verifier accepts, signed by a pinned trust anchor.

On disk it is a flattened JWS (``jws``) whose payload is::

    {"typ": "healthcode-trust-list", "ver": 1, "seq": 3, "iat": 1764000000, "exp": 1766592000,
     "issuers": [{"iss": "HZ", "name": "…", "keys": [{JWK…, "nbf": 1764000000, "exp": …}]}]}

Each key is a public JWK (``kty``, ``crv``, ``x``, ``y``, ``kid``, ``alg``) plus the window in which
it may sign: a credential whose ``iat`` lies outside ``[nbf, exp]`` is refused (``key_not_valid``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .cose import encode_protected
from .errors import Reason, TrustListError, VerificationError
from .jws import MAX_JWS_BYTES, JwsFormatError, decode_jws
from .keys import (
    KeyFormatError,
    PublicKey,
    b64url_decode,
    jwk_to_key,
    kid_text,
    thumbprint,
    verify_signature,
)
from .labels import Alg

TRUST_LIST_TYPE = "healthcode-trust-list"
TRUST_LIST_VERSION = 1
TRUST_LIST_FILE = "trust-list.json"
ANCHOR_FILE = "anchor.pub.pem"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """An issuer's public key as the trust list states it."""

    kid: bytes
    alg: Alg
    public_key: PublicKey
    iss: str
    not_before: int
    not_after: int
    jwk: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class TrustList:
    """Verified trust list content. Build it with :meth:`load` or :meth:`from_jws`.

    Constructing one directly trusts whatever keys are passed; that is for tests and embedding.
    """

    keys: dict[bytes, TrustedKey]
    issuers: dict[str, str]
    sequence: int
    issued_at: int
    expires_at: int
    anchor: bytes = b""
    #: Each key by the exact protected header our issuer writes for it (the verify fast path).
    by_protected: dict[bytes, TrustedKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_protected", {
            encode_protected(key.alg, key.kid): key for key in self.keys.values()})

    def key(self, kid: bytes) -> TrustedKey:
        """Return the key with id ``kid``; raises :class:`VerificationError` (``unknown_key``)."""
        try:
            return self.keys[kid]
        except KeyError:
            raise VerificationError(Reason.UNKNOWN_KEY, kid=kid_text(kid)) from None

    def check_current(self, now: int) -> None:
        """Raise :class:`TrustListError` (``trust_list_expired``) if the list is past expiry."""
        if now > self.expires_at:
            raise TrustListError(Reason.TRUST_LIST_EXPIRED, expires_at=self.expires_at, now=now)

    @classmethod
    def from_jws(cls, data: bytes | str, anchor: bytes, now: int | None = None) -> TrustList:
        """Verify and parse a signed trust list.

        ``anchor`` is the pinned RFC 7638 thumbprint of the trust anchor's public key (see
        :func:`load_anchor`). Raises :class:`TrustListError`: ``trust_list_malformed``,
        ``trust_list_bad_signature`` (unsigned, tampered, or signed by another key) or
        ``trust_list_expired``.
        """
        now = int(time.time()) if now is None else now
        try:
            jws = decode_jws(data)
        except JwsFormatError as exc:
            raise TrustListError(Reason.TRUST_LIST_MALFORMED, str(exc)) from None
        try:
            signer, alg, _ = jwk_to_key(jws.header.get("jwk"))
        except KeyFormatError as exc:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE,
                                 f"no usable signer key: {exc}") from None
        if thumbprint(signer) != anchor:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE,
                                 "signed by a key other than the pinned trust anchor")
        if jws.header.get("alg") != alg.jose_name:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE, "header alg does not fit key")
        try:
            verify_signature(signer, alg, jws.signing_input, jws.signature)
        except VerificationError:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE) from None
        trust = _parse_payload(jws.payload, anchor)
        trust.check_current(now)
        return trust

    @classmethod
    def load(cls, path: str | Path, anchor: str | Path | bytes | None = None,
             now: int | None = None) -> TrustList:
        """Read, verify and parse the trust list at ``path``.

        ``anchor`` is a thumbprint, or a path to the anchor's public key (PEM or JWK) or to a
        file holding its thumbprint; by default ``anchor.pub.pem`` beside the trust list.
        Raises :class:`TrustListError`, or ``OSError`` when a file cannot be read.
        """
        path = Path(path)
        if anchor is None:
            anchor = path.with_name(ANCHOR_FILE)
        pin = anchor if isinstance(anchor, bytes) else load_anchor(anchor)
        with open(path, "rb") as fh:
            data = fh.read(MAX_JWS_BYTES + 1)
        return cls.from_jws(data, pin, now)


def load_anchor(path: str | Path) -> bytes:
    """Return the pinned anchor thumbprint from a file.

    The file holds the anchor's public key as PEM, or as a JWK, or its thumbprint as base64url
    (optionally prefixed ``sha256:``). Raises :class:`TrustListError` (``trust_list_malformed``)
    for anything else, ``OSError`` when the file cannot be read.
    """
    with open(path, "rb") as fh:
        data = fh.read(64 * 1024)
    text = data.decode("utf-8", "replace").strip()
    try:
        if text.startswith("-----BEGIN PUBLIC KEY-----"):
            return thumbprint(load_pem_public_key(data))  # type: ignore[arg-type]
        if text.startswith("{"):
            return thumbprint(jwk_to_key(json.loads(text))[0])
        pin = b64url_decode(text.removeprefix("sha256:"))
    except (ValueError, TypeError, KeyFormatError) as exc:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, f"unreadable anchor: {exc}") from None
    if len(pin) != 32:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, "anchor thumbprint is not 32 bytes")
    return pin


def _int_field(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be epoch seconds")
    return value


def _parse_payload(payload: bytes, anchor: bytes) -> TrustList:
    try:
        doc = json.loads(payload)
        if not isinstance(doc, dict) or doc.get("typ") != TRUST_LIST_TYPE:
            raise ValueError("not a healthcode trust list")
        if doc.get("ver") != TRUST_LIST_VERSION:
            raise ValueError(f"unsupported trust list version {doc.get('ver')!r}")
        keys: dict[bytes, TrustedKey] = {}
        issuers: dict[str, str] = {}
        for issuer in doc["issuers"]:
            iss = issuer["iss"]
            if not isinstance(iss, str) or not iss or iss in issuers:
                raise ValueError("issuer ids must be distinct, non-empty texts")
            issuers[iss] = str(issuer.get("name", iss))
            for jwk in issuer["keys"]:
                public_key, alg, kid = jwk_to_key(jwk)
                if kid in keys:
                    raise ValueError("a key appears twice")
                keys[kid] = TrustedKey(kid, alg, public_key, iss, _int_field(jwk, "nbf"),
                                       _int_field(jwk, "exp"), dict(jwk))
        return TrustList(keys=keys, issuers=issuers, sequence=_int_field(doc, "seq"),
                         issued_at=_int_field(doc, "iat"), expires_at=_int_field(doc, "exp"),
                         anchor=anchor)
    except (ValueError, TypeError, KeyError, RecursionError, KeyFormatError) as exc:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, str(exc)) from None
