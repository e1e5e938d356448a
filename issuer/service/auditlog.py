"""The audit log's head, signed by the issuer, so that it can live outside the database.

The chain shows an edit inside the log, but not a log cut short, emptied, or edited and
re-hashed from the edit on: only a head (size and last hash) kept elsewhere shows those. The
issuer signs its head with its current signing key as a flattened JWS (like the trust list;
``typ`` :data:`HEAD_TYPE`) and publishes it at ``/trust/audit-head``; ``healthcode-issuer audit
head`` prints the same document. Saved anywhere (a file, a mail, another organisation's
archive), ``healthcode-issuer audit verify --against FILE`` checks that the log at that size
still hashes to it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from enum import StrEnum

from verifier.errors import VerificationError
from verifier.jws import JwsFormatError, decode_jws
from verifier.keys import KeyFormatError, jwk_to_key, verify_signature

from ..keys.signing import sign_jws
from .issuance import IssuerService

HEAD_TYPE = "healthcode-audit-head"
_HASH = re.compile(r"[0-9a-f]{64}")


class HeadProblem(StrEnum):
    """Why a saved head cannot be used (stable strings)."""

    MALFORMED = "head_malformed"
    BAD_SIGNATURE = "head_bad_signature"
    UNKNOWN_SIGNER = "head_unknown_signer"  # not a key of this issuer


class HeadError(Exception):
    """A saved head was refused; ``problem`` says why."""

    def __init__(self, problem: HeadProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class SavedHead:
    """A head read from a signed document: the log's size and last hash, when, signed by."""

    size: int
    hash: str
    iat: int
    kid: str


def signed_head(service: IssuerService, now: int | None = None) -> bytes:
    """The log's current head, signed: ``{typ, iss, size, hash, iat}`` as a JWS."""
    now = int(time.time()) if now is None else now
    key, config = service.signer()
    size, hash_ = service.store.audit_head()
    payload = json.dumps({"typ": HEAD_TYPE, "iss": config.iss, "size": size, "hash": hash_,
                          "iat": now}, sort_keys=True, separators=(",", ":")).encode()
    return sign_jws(key, payload, HEAD_TYPE).encode()


def read_head(service: IssuerService, document: bytes) -> SavedHead:
    """Check a signed head (its signature, made by a key of this issuer that was not retired
    as compromised) and return it. Raises :class:`HeadError`."""
    try:
        jws = decode_jws(document)
        key, alg, kid = jwk_to_key(jws.header.get("jwk"))
    except (JwsFormatError, KeyFormatError) as exc:
        raise HeadError(HeadProblem.MALFORMED, f"not a signed audit head: {exc}") from None
    if jws.header.get("typ") != HEAD_TYPE or jws.header.get("alg") != alg.jose_name:
        raise HeadError(HeadProblem.MALFORMED, f"not a {HEAD_TYPE} document")
    try:
        verify_signature(key, alg, jws.signing_input, jws.signature)
    except VerificationError:
        raise HeadError(HeadProblem.BAD_SIGNATURE, "the head's signature does not hold") \
            from None
    config = service.signer()[1]
    known = {k["kid"] for k in config.keys} | {
        r["kid"] for r in config.retired if not r.get("compromised")}
    if kid.decode("ascii") not in known:
        raise HeadError(HeadProblem.UNKNOWN_SIGNER,
                        f"signed by key {kid.decode('ascii')}, which this issuer does not hold "
                        f"(or retired as compromised)")
    try:
        payload = json.loads(jws.payload)
        size, hash_, iat = payload["size"], payload["hash"], payload["iat"]
        if (payload["typ"] != HEAD_TYPE or payload["iss"] != config.iss
                or type(size) is not int or size < 0 or type(iat) is not int
                or not isinstance(hash_, str) or not _HASH.fullmatch(hash_)):
            raise ValueError("typ, iss, size, hash or iat")
    except (ValueError, TypeError, KeyError) as exc:
        raise HeadError(HeadProblem.MALFORMED, f"a head of this issuer needs {exc}") from None
    return SavedHead(size, hash_, iat, kid.decode("ascii"))
