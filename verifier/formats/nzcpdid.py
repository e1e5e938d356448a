"""The keys of NZ COVID Pass issuers: their ``did:web`` DID documents, as the operator gives
them to a checkpoint (a file each, ``.well-known/did.json`` as published), never fetched.

An issuer is trusted because its document was added, nothing else: the specification names the
production issuer (:data:`PRODUCTION_ISSUER`) and the one its examples use
(:data:`EXAMPLE_ISSUER`), and a checkpoint holds the documents of those it should accept.

Each document is checked whole before use: a ``did:web`` id; ``verificationMethod`` entries
with distinct ids of this DID; every entry its ``assertionMethod`` lists (by reference: the
ones allowed to sign passes) of type ``JsonWebKey2020`` with a public EC P-256 ``publicKeyJwk``
(no private member, a point on the curve). Entries it does not list are kept by id only: a pass
signed with one is ``key_not_valid``, not ``unknown_key``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import Reason, TrustListError, VerificationError
from ..jws import loads_json
from ..keys import p256_key

#: The issuer of real passes, and the issuer of the specification's examples.
PRODUCTION_ISSUER = "did:web:nzcp.identity.health.nz"
EXAMPLE_ISSUER = "did:web:nzcp.covid19.health.nz"
#: Largest file of DID documents accepted (one is about 600 bytes).
MAX_DOCUMENTS_BYTES = 64 * 1024
#: Most verification methods a document may have.
MAX_METHODS = 64
#: JWK members that are private key material (the IANA "JSON Web Key Parameters" registry).
PRIVATE_JWK_MEMBERS = frozenset(("d", "p", "q", "dp", "dq", "qi", "oth", "k"))
# did:web: a host (a port as %3A), then path segments, each after a colon.
_DID_WEB = re.compile(r"did:web:[A-Za-z0-9.%-]+(?::[A-Za-z0-9._%~-]+)*")


def _refuse(detail: str) -> NoReturn:
    """Raise the error of a DID document a checkpoint will not use."""
    raise TrustListError(Reason.TRUST_LIST_MALFORMED, f"DID document: {detail}",
                         format="nzcp")


@dataclass(frozen=True)
class DidDocument:
    """One issuer's DID document, checked."""

    did: str
    #: The keys allowed to sign passes (``assertionMethod``): absolute key id -> P-256 key.
    assertion_keys: Mapping[str, ec.EllipticCurvePublicKey]
    #: Every ``verificationMethod`` id, absolute, whether it may sign passes or not.
    method_ids: frozenset[str]
    #: The document as published (stored and handed on unchanged).
    source: Mapping[str, Any]

    @classmethod
    def parse(cls, doc: Any) -> DidDocument:
        """Check a parsed DID document; raises :class:`TrustListError`
        (``trust_list_malformed``) for one a checkpoint must not use."""
        if not isinstance(doc, dict):
            _refuse("not a JSON object")
        did = doc.get("id")
        if not isinstance(did, str) or not _DID_WEB.fullmatch(did):
            _refuse("its id is not a did:web DID")
        methods, listed = doc.get("verificationMethod", []), doc.get("assertionMethod", [])
        if not isinstance(methods, list) or len(methods) > MAX_METHODS:
            _refuse(f"verificationMethod is not a list of at most {MAX_METHODS}")
        if not isinstance(listed, list) or len(listed) > MAX_METHODS:
            _refuse(f"assertionMethod is not a list of at most {MAX_METHODS}")
        by_id: dict[str, dict[str, Any]] = {}
        for method in methods:
            if not isinstance(method, dict):
                _refuse("a verificationMethod entry is not an object")
            ref = _absolute(did, method.get("id"), "verificationMethod")
            if ref in by_id:
                _refuse(f"{ref} is defined twice")
            by_id[ref] = method
        keys = {}
        for entry in listed:
            ref = _absolute(did, entry, "assertionMethod (references only, no embedded method)")
            if ref not in by_id:
                _refuse(f"assertionMethod lists {ref}, which the document does not define")
            keys[ref] = _p256_key(by_id[ref], ref)
        return cls(did, keys, frozenset(by_id), copy.deepcopy(doc))


def _absolute(did: str, ref: Any, what: str) -> str:
    """``ref`` (``did#fragment`` or ``#fragment``) as an absolute key id of ``did``; refuses
    anything else, ``what`` saying where it was."""
    absolute = did + ref if isinstance(ref, str) and ref.startswith("#") else ref
    if not (isinstance(absolute, str) and absolute.startswith(did + "#")
            and absolute != did + "#"):
        _refuse(f"{what} {str(ref)[:80]!r} is not the id of a key of {did}")
    return absolute


def _p256_key(method: dict[str, Any], ref: str) -> ec.EllipticCurvePublicKey:
    """The public key of a ``JsonWebKey2020`` method; refuses anything else."""
    if method.get("type") != "JsonWebKey2020":
        _refuse(f"{ref} is not of type JsonWebKey2020")
    jwk = method.get("publicKeyJwk")
    if not isinstance(jwk, dict):
        _refuse(f"{ref} has no publicKeyJwk")
    if PRIVATE_JWK_MEMBERS & jwk.keys():
        _refuse(f"{ref} publishes private key material")
    if (jwk.get("kty"), jwk.get("crv")) != ("EC", "P-256"):
        _refuse(f"{ref} is not an EC P-256 key")
    if jwk.get("alg", "ES256") != "ES256" or jwk.get("use", "sig") != "sig":
        _refuse(f"{ref} is not a key for ES256 signatures")
    try:
        return p256_key(jwk.get("x"), jwk.get("y"))
    except ValueError:
        _refuse(f"{ref} is not a point of P-256")


class NzcpIssuers:
    """The NZ COVID Pass issuers a checkpoint trusts: one DID document each. Immutable:
    :meth:`merged` returns a new set, in which a later document replaces an earlier one of the
    same DID (how an issuer's new or withdrawn key reaches a checkpoint)."""

    def __init__(self, documents: Iterable[DidDocument] = ()) -> None:
        self._documents = {document.did: document for document in documents}

    @classmethod
    def from_json(cls, value: Any) -> NzcpIssuers:
        """The issuers of one parsed DID document, or of a list of them (distinct DIDs).
        Raises :class:`TrustListError` (``trust_list_malformed``)."""
        documents = [DidDocument.parse(doc) for doc in
                     (value if isinstance(value, list) else [value])]
        if len({document.did for document in documents}) != len(documents):
            _refuse("two documents of one DID")
        return cls(documents)

    @classmethod
    def from_bytes(cls, data: bytes) -> NzcpIssuers:
        """The issuers of a JSON DID document (``did.json``), or a JSON list of them (what
        :meth:`to_bytes` writes). Raises :class:`TrustListError` (``trust_list_malformed``)."""
        if len(data) > MAX_DOCUMENTS_BYTES:
            _refuse(f"larger than {MAX_DOCUMENTS_BYTES} bytes")
        try:
            value = loads_json(data)
        except (ValueError, RecursionError) as exc:
            _refuse(f"not JSON ({str(exc)[:80]})")
        return cls.from_json(value)

    @classmethod
    def load(cls, path: str | Path) -> NzcpIssuers:
        """:meth:`from_bytes` of a file. Raises ``OSError`` or :class:`TrustListError`."""
        with open(path, "rb") as fh:
            return cls.from_bytes(fh.read(MAX_DOCUMENTS_BYTES + 1))

    def merged(self, other: NzcpIssuers) -> NzcpIssuers:
        """These issuers and ``other``'s; ``other``'s document wins for a DID in both."""
        return NzcpIssuers([*self.documents, *other.documents])

    @property
    def documents(self) -> tuple[DidDocument, ...]:
        return tuple(self._documents.values())

    @property
    def issuers(self) -> tuple[str, ...]:
        """The trusted issuers' DIDs."""
        return tuple(self._documents)

    def __contains__(self, did: object) -> bool:
        return did in self._documents

    def __len__(self) -> int:
        return len(self._documents)

    def to_json(self) -> list[Mapping[str, Any]]:
        """The documents as published, in a list (:meth:`from_json` reads it back)."""
        return [document.source for document in self._documents.values()]

    def to_bytes(self) -> bytes:
        """:meth:`to_json` as UTF-8 JSON (:meth:`from_bytes` reads it back)."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"

    def key(self, iss: str, kid: str) -> ec.EllipticCurvePublicKey:
        """The key ``iss#kid`` that signs passes. Raises :class:`VerificationError`
        (step ``key``): ``unknown_key`` when the issuer or its document has no such key,
        ``key_not_valid`` when the document has it but not under ``assertionMethod``."""
        document = self._documents.get(iss)
        ref = f"{iss}#{kid}"
        if document is None or ref not in document.method_ids:
            raise VerificationError(Reason.UNKNOWN_KEY, f"{ref[:120]!r} is not a key of a "
                                    "trusted issuer", format="nzcp", step="key", kid=kid)
        key = document.assertion_keys.get(ref)
        if key is None:
            raise VerificationError(Reason.KEY_NOT_VALID, f"{ref} may not sign passes (not "
                                    "in the issuer's assertionMethod)", format="nzcp",
                                    step="key", kid=kid)
        return key
