"""The SMART Health Card issuers a checkpoint trusts: per issuer URL (``iss``) the keys it
publishes at ``<iss>/.well-known/jwks.json`` and the card revocation lists at
``<iss>/.well-known/crl/<kid>.json``, loaded offline from files and checked before use.

Every key must be what the specification says an issuer key is (``kty`` EC, ``crv`` P-256,
``alg`` ES256, ``use`` sig, no private part, ``kid`` its RFC 7638 thumbprint); one bad key
refuses the whole set, so an operator hears about it when adding the issuer, not at a
checkpoint. A key with an ``x5c`` chain is checked for what can be checked offline: the first
certificate holds this very key and names ``iss`` as a URI subject alternative name, and each
certificate is signed by the next. The chain is not taken to a root and its dates are not
checked: this verifier trusts an issuer because its key set was added, not through an X.509
trust framework (docs/INTEROP.md).

A revocation list (``{"kid", "method": "rid", "ctr", "rids"}``) must belong to a key of the
set, use the ``rid`` method and carry the counter the key announces as ``crlVersion``; its
entries are ``rid`` or ``rid.timestamp`` (``rid``: 1-24 base64url characters), each ``rid``
once. A card is revoked when its ``vc.rid`` is listed without a timestamp, or with one after
the card's ``nbf``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import Reason, RevocationListError, TrustListError, VerificationError
from ..jws import loads_json
from ..keys import b64url, p256_key, thumbprint

#: Largest key set file read (a key with a three-certificate chain is ~3 KB).
MAX_JWKS_BYTES = 1024 * 1024
#: Most keys in one issuer's set, and most certificates in one key's ``x5c`` chain.
MAX_KEYS = 100
MAX_CHAIN = 5
#: Largest revocation list read (~100,000 entries).
MAX_CRL_BYTES = 4 * 1024 * 1024
#: A revocation id: base64url characters, at most 24 (the specification's limit).
RID = re.compile(r"[A-Za-z0-9_-]{1,24}")
_RID_ENTRY = re.compile(r"([A-Za-z0-9_-]{1,24})(?:\.([0-9]{1,12}))?")
_ISS = re.compile(r"https://[^/\s?#]+(?:/[^\s?#]*)?")
_REQUIRED = (("kty", "EC"), ("crv", "P-256"), ("alg", "ES256"), ("use", "sig"))


def shown(value: object, length: int = 40) -> str:
    """A value from an untrusted file, quoted and cut short, for an error's words."""
    return repr(value[:length] if isinstance(value, str) else value)[:length + 2]


@dataclass(frozen=True)
class ShcKey:
    """One issuer signing key, checked on load."""

    iss: str
    #: The key's RFC 7638 thumbprint, base64url: what a card's header names.
    kid: str
    public_key: ec.EllipticCurvePublicKey
    #: The counter of the key's revocation list the issuer announces (``crlVersion``), or
    #: None: it revokes no single card signed with this key.
    crl_version: int | None
    #: Whether the key came with an ``x5c`` certificate chain (checked as said above).
    certified: bool


@dataclass(frozen=True)
class _Crl:
    ctr: int
    #: Revoked ``rid`` -> cards issued (``nbf``) before this time are revoked; None: all are.
    rids: Mapping[str, int | None]


@dataclass(frozen=True)
class _Issuer:
    keys: Mapping[str, ShcKey]
    crls: Mapping[str, _Crl]


def _jwks_error(detail: str, **context: Any) -> NoReturn:
    raise TrustListError(Reason.TRUST_LIST_MALFORMED, detail, format="shc", step="jwks",
                         **context)


def _crl_error(detail: str, reason: Reason = Reason.REVOCATION_LIST_MALFORMED,
               **context: Any) -> NoReturn:
    raise RevocationListError(reason, detail, format="shc", step="crl", **context)


def _object(data: bytes, limit: int, fail: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray) or len(data) > limit:
        fail(f"the {what} is not bytes of at most {limit} bytes")
    try:
        document = loads_json(bytes(data))
    except (ValueError, RecursionError) as exc:
        fail(f"the {what} is not JSON: {exc}")
    if not isinstance(document, dict):
        fail(f"the {what} is not a JSON object")
    return document


def check_iss(iss: object) -> str:
    """Return ``iss`` if it is an issuer URL as the specification requires (``https``, no
    trailing ``/``); raises :class:`TrustListError` otherwise."""
    if not isinstance(iss, str) or len(iss) > 1024 or not _ISS.fullmatch(iss) \
            or iss.endswith("/"):
        _jwks_error(f"issuer URL {shown(iss, 80)} is not https:// without a trailing /")
    return iss


def _certified(iss: str, key: ec.EllipticCurvePublicKey, x5c: object, kid: str) -> bool:
    """Check a key's ``x5c`` chain (see the module's docstring); raises TrustListError."""
    if not isinstance(x5c, list) or not 1 <= len(x5c) <= MAX_CHAIN:
        _jwks_error(f"x5c is not a list of 1 to {MAX_CHAIN} certificates", kid=kid)
    try:
        certs = [x509.load_der_x509_certificate(base64.b64decode(c, validate=True))
                 for c in x5c]
        leaf_key = certs[0].public_key()
        names = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName)
        uris = names.value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType):
        _jwks_error("x5c holds something that is not a base64 DER certificate", kid=kid)
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey) \
            or leaf_key.public_numbers() != key.public_numbers():
        _jwks_error("x5c: the first certificate is not for this key", kid=kid)
    if iss not in uris:
        _jwks_error(f"x5c: the certificate does not name {iss} (subject alternative name)",
                    kid=kid)
    for cert, signer in zip(certs, certs[1:], strict=False):
        try:
            cert.verify_directly_issued_by(signer)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
            _jwks_error("x5c: a certificate is not signed by the next one", kid=kid)
    return True


def _key(iss: str, jwk: object) -> ShcKey:
    if not isinstance(jwk, dict):
        _jwks_error("a key is not a JSON object")
    if "d" in jwk:
        _jwks_error("a key holds its private part (d)")
    for name, wanted in _REQUIRED:
        if jwk.get(name) != wanted:
            _jwks_error(f"a key's {name} is {shown(jwk.get(name))}, not {wanted!r}")
    try:
        key = p256_key(jwk["x"], jwk["y"])
    except (KeyError, ValueError, TypeError):
        _jwks_error("a key's x and y are not a point of P-256")
    kid = b64url(thumbprint(key))
    if jwk.get("kid") != kid:
        _jwks_error(f"kid {shown(jwk.get('kid'), 60)} is not the key's thumbprint {kid}")
    crl_version = jwk.get("crlVersion")
    if crl_version is not None and (type(crl_version) is not int or crl_version < 1):
        _jwks_error("crlVersion is not a positive integer", kid=kid)
    certified = "x5c" in jwk and _certified(iss, key, jwk["x5c"], kid)
    return ShcKey(iss, kid, key, crl_version, certified)


def parse_jwks(iss: str, data: bytes) -> dict[str, ShcKey]:
    """Return the keys of an issuer's ``jwks.json``, by kid. Raises :class:`TrustListError`
    (``trust_list_malformed``) for an unreadable set, no key, or any key that is not an
    issuer key (one entry a key, or a key listed again with another ``x5c``)."""
    check_iss(iss)
    keys = _object(data, MAX_JWKS_BYTES, _jwks_error, "key set").get("keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        _jwks_error(f"keys is not a list of 1 to {MAX_KEYS} keys")
    found: dict[str, ShcKey] = {}
    for jwk in keys:
        key = _key(iss, jwk)
        held = found.setdefault(key.kid, key)
        if held.crl_version != key.crl_version:
            _jwks_error("one key listed twice with two crlVersion", kid=key.kid)
    return found


def parse_crl(data: bytes, keys: Mapping[str, ShcKey]) -> tuple[str, _Crl]:
    """Return ``(kid, list)`` of one key's revocation list. Raises
    :class:`RevocationListError`: ``revocation_list_rollback`` when its ``ctr`` is below the
    key's ``crlVersion``, ``revocation_list_malformed`` for anything else wrong."""
    document = _object(data, MAX_CRL_BYTES, _crl_error, "revocation list")
    kid = document.get("kid")
    if not isinstance(kid, str) or kid not in keys:
        _crl_error(f"kid {shown(kid, 60)} is not a key of the issuer's key set")
    if document.get("method") != "rid":
        _crl_error(f"method {shown(document.get('method'))} is not rid", kid=kid)
    ctr, announced = document.get("ctr"), keys[kid].crl_version
    if type(ctr) is not int or ctr < 1:
        _crl_error("ctr is not a positive integer", kid=kid)
    if announced is not None and ctr < announced:
        _crl_error(f"ctr {ctr} is older than the key set's crlVersion {announced}",
                   Reason.REVOCATION_LIST_ROLLBACK, kid=kid)
    if announced is not None and ctr > announced:
        _crl_error(f"ctr {ctr} is newer than the key set's crlVersion {announced}: add the "
                   "issuer's current key set with it", kid=kid)
    entries = document.get("rids")
    if not isinstance(entries, list):
        _crl_error("rids is not a list", kid=kid)
    rids: dict[str, int | None] = {}
    for entry in entries:
        match = _RID_ENTRY.fullmatch(entry) if isinstance(entry, str) else None
        if match is None:
            _crl_error(f"{shown(entry)} is not rid[.timestamp] (rid: 1-24 base64url)", kid=kid)
        rid, stamp = match.groups()
        if rid in rids:
            _crl_error(f"rid {rid} is listed twice", kid=kid)
        rids[rid] = int(stamp) if stamp else None
    return kid, _Crl(ctr, rids)


def _read(path: str | Path, limit: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(limit + 1)


class ShcIssuers:
    """The SMART Health Card issuers a checkpoint trusts, by issuer URL: each one's keys and
    the revocation lists held for them. Empty when made; :meth:`add` puts an issuer in (or
    replaces it), each file checked first, nothing changed when one is refused."""

    def __init__(self) -> None:
        self._issuers: dict[str, _Issuer] = {}

    @classmethod
    def from_bytes(cls, iss: str, jwks: bytes,
                   crls: bytes | Iterable[bytes] | None = None) -> ShcIssuers:
        """Return a set holding one issuer (see :meth:`add`)."""
        issuers = cls()
        issuers.add(iss, jwks, crls)
        return issuers

    @classmethod
    def load(cls, iss: str, jwks_path: str | Path,
             crl_paths: Iterable[str | Path] | None = None) -> ShcIssuers:
        """Return a set holding the issuer ``iss`` read from files: its ``jwks.json`` and
        the revocation lists at ``crl_paths``, or (None) those of its keys found where the
        issuer publishes them, ``crl/<kid>.json`` beside the ``jwks.json``. Raises
        ``OSError`` and what :meth:`add` raises."""
        jwks = _read(jwks_path, MAX_JWKS_BYTES)
        if crl_paths is None:
            folder = Path(jwks_path).parent / "crl"
            kids = parse_jwks(iss, jwks)
            crl_paths = [p for kid in sorted(kids) if (p := folder / f"{kid}.json").is_file()]
        return cls.from_bytes(iss, jwks, [_read(p, MAX_CRL_BYTES) for p in crl_paths])

    def add(self, iss: str, jwks: bytes, crls: bytes | Iterable[bytes] | None = None) -> None:
        """Trust issuer ``iss`` with the keys of ``jwks`` (its ``jwks.json``) and the
        revocation lists ``crls`` (one ``crl/<kid>.json``, or several), replacing what was
        held for ``iss``. Raises :class:`TrustListError` (``trust_list_malformed``) for a bad
        URL or key set, :class:`RevocationListError` (``revocation_list_malformed``, or
        ``revocation_list_rollback`` for a list older than the key set announces or than
        the one held) for a bad list."""
        keys = parse_jwks(iss, jwks)
        lists: dict[str, _Crl] = {}
        for data in [crls] if isinstance(crls, bytes | bytearray) else crls or ():
            kid, crl = parse_crl(data, keys)
            if kid in lists:
                _crl_error("two revocation lists for one key", kid=kid)
            lists[kid] = crl
        issuer = _Issuer(keys, lists)
        self._check_not_older(iss, issuer)
        self._issuers[iss] = issuer

    def merged(self, other: ShcIssuers) -> ShcIssuers:
        """Return a set holding the issuers of both, ``other``'s replacing this one's for an
        issuer in both. Raises :class:`RevocationListError` (``revocation_list_rollback``) if
        that would replace a revocation list by an older one."""
        merged = ShcIssuers()
        merged._issuers = dict(self._issuers)
        for iss, issuer in other._issuers.items():
            merged._check_not_older(iss, issuer)
            merged._issuers[iss] = issuer
        return merged

    def _check_not_older(self, iss: str, new: _Issuer) -> None:
        held = self._issuers.get(iss)
        for kid, crl in new.crls.items():
            if held is not None and kid in held.crls and crl.ctr < held.crls[kid].ctr:
                _crl_error(f"ctr {crl.ctr} is older than the list held ({held.crls[kid].ctr})",
                           Reason.REVOCATION_LIST_ROLLBACK, kid=kid, iss=iss)

    @property
    def issuers(self) -> tuple[str, ...]:
        """The issuer URLs held, sorted."""
        return tuple(sorted(self._issuers))

    def __contains__(self, iss: object) -> bool:
        return iss in self._issuers

    def __len__(self) -> int:
        return len(self._issuers)

    def key(self, iss: str, kid: str) -> ShcKey:
        """Return issuer ``iss``'s key ``kid``. Raises :class:`VerificationError`
        (``unknown_key``) when the issuer is not trusted or has no such key."""
        issuer = self._issuers.get(iss)
        if issuer is None:
            raise VerificationError(Reason.UNKNOWN_KEY, f"issuer {shown(iss, 100)} is not trusted",
                                    format="shc", step="key", kid=kid)
        key = issuer.keys.get(kid)
        if key is None:
            raise VerificationError(Reason.UNKNOWN_KEY, f"issuer {iss} has no key {shown(kid, 60)}",
                                    format="shc", step="key", kid=kid)
        return key

    def revocation_list(self, key: ShcKey) -> str:
        """Whether cards signed with ``key`` can be found revoked here: ``checked`` (its
        list is held), ``not held`` (the issuer announces one, none was added) or ``none
        published`` (the issuer revokes no single card signed with it)."""
        if key.kid in self._issuers[key.iss].crls:
            return "checked"
        return "not held" if key.crl_version is not None else "none published"

    def is_revoked(self, key: ShcKey, rid: str | None, nbf: float) -> bool:
        """Whether the card with revocation id ``rid``, issued at ``nbf`` and signed with
        ``key``, is on the key's revocation list."""
        crl = self._issuers[key.iss].crls.get(key.kid)
        if crl is None or rid is None or rid not in crl.rids:
            return False
        before = crl.rids[rid]
        return before is None or nbf < before
