"""The trust list: which issuers and keys a verifier accepts, signed by a pinned trust anchor.

On disk it is a JWS (``jws``) whose payload is::

    {"typ": "healthcode-trust-list", "ver": 1, "seq": 3, "iat": 1764000000, "exp": 1766592000,
     "anchor": "<thumbprint>",
     "issuers": [{"iss": "HZ", "name": "…", "keys": [{JWK…, "nbf": 1764000000, "exp": …}]}]}

A list may also carry keys for codes of other formats (EU, SMART, NZ), chosen by the authority
that signs it: its ``foreign`` member (:mod:`verifier.formats.published`,
:attr:`TrustList.foreign`).

Each key is a public JWK (``kty``, ``crv``, ``x``, ``y``, ``kid``, ``alg``) plus the window in which
it may sign: a credential whose ``iat`` lies outside ``[nbf, exp]`` is refused (``key_not_valid``).
Several issuers (cities) may share one list, each with its own ``iss`` and keys.

Versions: ``seq`` only grows. A verifier refuses a list older than the one it has
(:func:`check_successor`: ``trust_list_rollback``), an expired one, and one not signed by its
pinned anchor. ``anchor`` names the anchor that signs this list and the next ones (the pinned
one when absent). Rolling the anchor over: the issuer signs lists with both the old and the new
anchor and names the new one; a verifier pinned to the old anchor accepts such a list only when
both signatures hold, and then pins the new anchor (:attr:`TrustList.anchor` differs from the
pin it was checked with; :func:`save_anchor` writes it).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from .anchorqr import ANCHOR_QR_PREFIX, parse_anchor_qr
from .cose import encode_protected
from .errors import Reason, TrustListError, VerificationError
from .fileio import write_atomic
from .jws import MAX_JWS_BYTES, Jws, JwsFormatError, decode_jws_all, loads_json
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


def default_trust_path() -> Path:
    """``$HEALTHCODE_HOME/keys/trust-list.json`` (the current directory when unset): where
    the CLI and the kiosk look for the trust list unless told."""
    return Path(os.environ.get("HEALTHCODE_HOME") or ".") / "keys" / TRUST_LIST_FILE


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
    #: The anchor this list names for itself and its successors (after a roll-over, the new
    #: one), as a thumbprint; ``anchor_jwk`` is its public key when the list carries it.
    anchor: bytes = b""
    #: SHA-256 of the signed payload (hex): two lists with one ``seq`` must not differ.
    digest: str = ""
    anchor_jwk: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: The pin this list was checked with, when it rolled the anchor over (else None).
    rolled_over_from: bytes | None = None
    #: Each issuer's name by language tag (``{"zh-CN": …, "en": …}``) when the list gives them.
    issuer_names: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The keys for codes of other formats the list carries (its ``foreign`` member:
    #: :mod:`verifier.formats.published`), or None.
    foreign: Any = field(default=None, repr=False, compare=False)
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

    def issuer_name(self, iss: str, locale: str | None = None) -> str:
        """The issuer's name for a reader of ``locale`` (a tag: ``zh-CN``, ``en``) when the
        list names it in that language, else its name, else its id."""
        names = self.issuer_names.get(iss, {})
        for tag in (locale, (locale or "").split("-")[0]):
            if tag and tag in names:
                return names[tag]
        return self.issuers.get(iss, iss)

    def check_current(self, now: int) -> None:
        """Raise :class:`TrustListError` (``trust_list_expired``) if the list is past expiry."""
        if now > self.expires_at:
            raise TrustListError(Reason.TRUST_LIST_EXPIRED, expires_at=self.expires_at, now=now)

    @classmethod
    def from_jws(cls, data: bytes | str, anchor: bytes, now: int | None = None) -> TrustList:
        """Verify and parse a signed trust list.

        ``anchor`` is the pinned RFC 7638 thumbprint of the trust anchor's public key (see
        :func:`load_anchor`). Every signature on the list must hold, one of them must be the
        pinned anchor's, and the anchor the list names must have signed it too. Raises
        :class:`TrustListError`: ``trust_list_malformed``, ``trust_list_bad_signature``
        (unsigned, tampered, or signed by another key) or ``trust_list_expired``.
        """
        now = int(time.time()) if now is None else now
        try:
            signatures = decode_jws_all(data)
        except JwsFormatError as exc:
            raise TrustListError(Reason.TRUST_LIST_MALFORMED, str(exc)) from None
        signers = dict(_check_jws_signature(jws) for jws in signatures)
        if anchor not in signers:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE,
                                 "signed by a key other than the pinned trust anchor")
        payload = signatures[0].payload
        trust = _parse_payload(payload, anchor)
        if trust.anchor not in signers:
            raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE,
                                 "names a new trust anchor that did not sign it")
        trust = replace(trust, digest=hashlib.sha256(payload).hexdigest(),
                        anchor_jwk=signers[trust.anchor],
                        rolled_over_from=anchor if trust.anchor != anchor else None)
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


def _check_jws_signature(jws: Jws) -> tuple[bytes, dict[str, Any]]:
    """Return ``(thumbprint, jwk)`` of the key that made this signature; raise
    ``trust_list_bad_signature`` unless the signature holds under the key in its header."""
    jwk = jws.header.get("jwk")
    try:
        signer, alg, _ = jwk_to_key(jwk)
    except KeyFormatError as exc:
        raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE,
                             f"no usable signer key: {exc}") from None
    if jws.header.get("alg") != alg.jose_name:
        raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE, "header alg does not fit key")
    try:
        verify_signature(signer, alg, jws.signing_input, jws.signature)
    except VerificationError:
        raise TrustListError(Reason.TRUST_LIST_BAD_SIGNATURE) from None
    return thumbprint(signer), dict(jwk)


def check_successor(previous: TrustList | None, new: TrustList) -> None:
    """Raise ``trust_list_rollback`` unless ``new`` may replace ``previous`` (the list the
    verifier has): a higher sequence number, or the very same list."""
    if previous is None:
        return
    if new.sequence < previous.sequence:
        raise TrustListError(Reason.TRUST_LIST_ROLLBACK,
                             f"sequence {new.sequence} is older than the {previous.sequence} "
                             "in use", have=previous.sequence, got=new.sequence)
    if new.sequence == previous.sequence and new.digest != previous.digest:
        raise TrustListError(Reason.TRUST_LIST_ROLLBACK,
                             f"a different list with the same sequence {new.sequence}",
                             have=previous.sequence, got=new.sequence)


def save_anchor(path: str | Path, jwk: dict[str, Any]) -> bytes:
    """Pin the anchor ``jwk`` (after a roll-over): write its public key as PEM to ``path``
    atomically; return its thumbprint."""
    key, _, _ = jwk_to_key(jwk)
    pem = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    write_atomic(Path(path), pem, 0o644)
    return thumbprint(key)


def load_anchor(path: str | Path) -> bytes:
    """Return the pinned anchor thumbprint from a file.

    The file holds the anchor's public key as PEM, or as a JWK, or its thumbprint as base64url
    (optionally prefixed ``sha256:``), or an anchor QR's text (``HCA1:…``). Raises
    :class:`TrustListError` (``trust_list_malformed``) for anything else, ``OSError`` when the
    file cannot be read.
    """
    with open(path, "rb") as fh:
        data = fh.read(64 * 1024)
    text = data.decode("utf-8", "replace").strip()
    try:
        if text.startswith("-----BEGIN PUBLIC KEY-----"):
            return thumbprint(load_pem_public_key(data))  # type: ignore[arg-type]
        if text.startswith(ANCHOR_QR_PREFIX):
            return parse_anchor_qr(text)[0]
        if text.startswith("{"):
            return thumbprint(jwk_to_key(loads_json(text))[0])
        pin = b64url_decode(text.removeprefix("sha256:"))
    # UnsupportedAlgorithm: a damaged PEM whose algorithm id no longer names a known key type.
    except (ValueError, TypeError, KeyFormatError, UnsupportedAlgorithm) as exc:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, f"unreadable anchor: {exc}") from None
    if len(pin) != 32:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, "anchor thumbprint is not 32 bytes")
    return pin


def _int_field(obj: dict[str, Any], name: str) -> int:
    value = obj.get(name)
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be epoch seconds")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("issuers and keys are JSON arrays")
    return value


def _names(value: Any) -> dict[str, str]:
    """An issuer's ``names``: language tag -> name, each a short non-empty text."""
    if not isinstance(value, dict) or len(value) > 16 or not all(
            isinstance(tag, str) and 0 < len(tag) <= 35 and isinstance(name, str)
            and 0 < len(name) <= 200 for tag, name in value.items()):
        raise ValueError("issuer names must map language tags to short texts")
    return dict(value)


def _parse_payload(payload: bytes, anchor: bytes) -> TrustList:
    try:
        doc = loads_json(payload)
        if not isinstance(doc, dict) or doc.get("typ") != TRUST_LIST_TYPE:
            raise ValueError("not a healthcode trust list")
        ver = doc.get("ver")
        if type(ver) is not int or ver != TRUST_LIST_VERSION:  # 1.0 and true are not 1
            raise ValueError(f"unsupported trust list version {ver!r}")
        keys: dict[bytes, TrustedKey] = {}
        issuers: dict[str, str] = {}
        names: dict[str, dict[str, str]] = {}
        for issuer in _list(doc["issuers"]):
            iss = issuer["iss"]
            if not isinstance(iss, str) or not iss or iss in issuers:
                raise ValueError("issuer ids must be distinct, non-empty texts")
            name = issuer.get("name", iss)
            if not isinstance(name, str):
                raise ValueError("an issuer's name is a text")
            issuers[iss] = name
            if "names" in issuer:
                names[iss] = _names(issuer["names"])
            for jwk in _list(issuer["keys"]):
                public_key, alg, kid = jwk_to_key(jwk)
                if kid in keys:
                    raise ValueError("a key appears twice")
                keys[kid] = TrustedKey(kid, alg, public_key, iss, _int_field(jwk, "nbf"),
                                       _int_field(jwk, "exp"), dict(jwk))
        named = doc.get("anchor")
        designated = anchor if named is None else b64url_decode(named)
        if len(designated) != 32:
            raise ValueError("anchor must be a 32-byte thumbprint")
        foreign = None
        if "foreign" in doc:  # read only by a list that has it: the formats' imports are many
            from .formats.published import from_published
            foreign = from_published(doc["foreign"])
        return TrustList(keys=keys, issuers=issuers, issuer_names=names,
                         sequence=_int_field(doc, "seq"), issued_at=_int_field(doc, "iat"),
                         expires_at=_int_field(doc, "exp"), anchor=designated, foreign=foreign)
    except (ValueError, TypeError, KeyError, RecursionError, KeyFormatError) as exc:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, str(exc)) from None
