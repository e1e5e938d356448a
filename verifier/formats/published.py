"""Foreign key sets as our signed trust list carries them (its ``foreign`` member), for the
Python verifier and the browser checkpoint alike.

An authority decides whom its checkpoints trust: the issuer reads the key files in the formats
their owners publish (:mod:`.dcckeys`, :mod:`.shckeys`, :mod:`.nzcpdid` check each one), and
puts what verification needs into the trust list it signs, so ``sync`` carries it to every
checkpoint. What verification needs is far smaller than the published files (a document signer
certificate of ~1 KB becomes its key and four fields) and needs no X.509 reader on a phone::

    {"dcc":  [{"kid": base64, "country": "DE" | null, "spki": base64 DER SubjectPublicKeyInfo,
               "nbf": epoch s, "exp": epoch s, "types": ["test", "vaccination", ...]}, ...],
     "shc":  [{"iss": "https://...", "keys": [{"kid": thumbprint, "x": b64url, "y": b64url,
                                               "crlVersion": int (when announced)}, ...],
               "crls": [{"kid", "ctr", "rids": {rid: epoch s | null}}, ...]}, ...],
     "nzcp": [DID document, as published, ...]}

A format absent: none of its codes are trusted by the list. :func:`from_published` checks all of
it as the owners' readers check their files (a malformed member refuses the whole trust list,
``trust_list_malformed``); verifier/static/verifier/formats/ reads the same form in the browser.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)

from ..errors import Reason, TrustListError
from ..keys import b64url, p256_key, thumbprint
from .base import ForeignTrust
from .dcckeys import _COUNTRY, _CURVES, _MIN_RSA_BITS, KID_LENGTH, TYPE_OIDS, DccKeys, Dsc
from .nzcpdid import NzcpIssuers
from .shckeys import _RID_ENTRY, MAX_KEYS, RID, ShcIssuers, ShcKey, _Crl, _Issuer, check_iss

#: Most document signer certificates one list carries (the EU gateway publishes ~3,000).
MAX_DCC = 20_000
#: Most SMART or NZ issuers one list carries, and most revoked ids over all SMART issuers.
MAX_ISSUERS = 1_000
MAX_RIDS = 200_000
_TYPES = frozenset(TYPE_OIDS.values())
_TIME_LIMIT = 1 << 40


def _refuse(detail: str) -> TrustListError:
    return TrustListError(Reason.TRUST_LIST_MALFORMED, f"foreign keys: {detail}")


def to_published(trust: ForeignTrust) -> dict[str, Any]:
    """The ``foreign`` member of a trust list holding the keys of ``trust``."""
    doc: dict[str, Any] = {}
    if trust.dcc is not None and len(trust.dcc):
        doc["dcc"] = [_dsc_out(dsc) for dsc in trust.dcc]
    if trust.shc is not None and len(trust.shc):
        doc["shc"] = [_shc_out(iss, trust.shc._issuers[iss]) for iss in trust.shc.issuers]
    if trust.nzcp is not None and len(trust.nzcp):
        doc["nzcp"] = trust.nzcp.to_json()
    return doc


def from_published(doc: Any) -> ForeignTrust:
    """The :class:`ForeignTrust` a trust list's ``foreign`` member holds. Raises
    :class:`TrustListError` (``trust_list_malformed``) for anything malformed."""
    if not isinstance(doc, dict) or not set(doc) <= {"dcc", "shc", "nzcp"}:
        raise _refuse('not an object of "dcc", "shc" and "nzcp"')
    trust = ForeignTrust()
    if "dcc" in doc:
        trust.dcc = DccKeys([_dsc_in(entry) for entry in _list(doc["dcc"], MAX_DCC, "dcc")])
    if "shc" in doc:
        trust.shc = _shc_in(_list(doc["shc"], MAX_ISSUERS, "shc"))
    if "nzcp" in doc:
        try:
            trust.nzcp = NzcpIssuers.from_json(_list(doc["nzcp"], MAX_ISSUERS, "nzcp"))
        except TrustListError as exc:
            raise _refuse(f"nzcp: {exc.detail}") from None
    return trust


def _list(value: Any, most: int, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > most:
        raise _refuse(f"{what} is not a list of at most {most}")
    return value


def _time(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value < _TIME_LIMIT:
        raise _refuse(f"{what} is not epoch seconds")
    return value


def _dsc_out(dsc: Dsc) -> dict[str, Any]:
    spki = dsc.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return {"kid": base64.b64encode(dsc.kid).decode("ascii"), "country": dsc.country,
            "spki": base64.b64encode(spki).decode("ascii"), "nbf": dsc.not_before,
            "exp": dsc.not_after, "types": sorted(dsc.types)}


def _dsc_in(entry: Any) -> Dsc:
    if not isinstance(entry, dict):
        raise _refuse("a dcc entry is not an object")
    try:
        kid = base64.b64decode(entry.get("kid", ""), validate=True)
        key = load_der_public_key(base64.b64decode(entry.get("spki", ""), validate=True))
    except (binascii.Error, TypeError, ValueError, UnsupportedAlgorithm):
        raise _refuse("a dcc entry's kid or spki is not base64 of a public key") from None
    if len(kid) != KID_LENGTH:
        raise _refuse(f"a dcc kid is not {KID_LENGTH} bytes")
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _CURVES)
            or isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS):
        raise _refuse("a dcc key is neither EC (P-256, P-384, P-521) nor RSA of 2048 bits")
    country, types = entry.get("country"), entry.get("types")
    if country is not None and not (isinstance(country, str) and _COUNTRY.fullmatch(country)):
        raise _refuse("a dcc country is not ISO 3166-1 alpha-2")
    if not isinstance(types, list) or not all(isinstance(t, str) and t in _TYPES for t in types):
        raise _refuse(f"dcc types are not a list of {sorted(_TYPES)}")
    not_before, not_after = _time(entry.get("nbf"), "dcc nbf"), _time(entry.get("exp"), "dcc exp")
    if not not_before < not_after:
        raise _refuse("a dcc key's validity window is empty")
    return Dsc(kid, country, key, not_before, not_after, frozenset(types), b"")


def _shc_out(iss: str, issuer: _Issuer) -> dict[str, Any]:
    keys = []
    for key in issuer.keys.values():
        point = key.public_key.public_numbers()
        out = {"kid": key.kid, "x": b64url(point.x.to_bytes(32, "big")),
               "y": b64url(point.y.to_bytes(32, "big"))}
        if key.crl_version is not None:
            out["crlVersion"] = key.crl_version
        keys.append(out)
    crls = [{"kid": kid, "ctr": crl.ctr, "rids": dict(crl.rids)}
            for kid, crl in issuer.crls.items()]
    return {"iss": iss, "keys": keys, "crls": crls}


def _shc_in(entries: list[Any]) -> ShcIssuers:
    issuers, rid_count = ShcIssuers(), 0
    for entry in entries:
        if not isinstance(entry, dict):
            raise _refuse("an shc entry is not an object")
        try:
            iss = check_iss(entry.get("iss"))
        except TrustListError as exc:
            raise _refuse(f"shc: {exc.detail}") from None
        if iss in issuers:
            raise _refuse(f"shc issuer {iss} is listed twice")
        keys = {key.kid: key for key in
                (_shc_key(iss, jwk) for jwk in _list(entry.get("keys"), MAX_KEYS, "shc keys"))}
        crls: dict[str, _Crl] = {}
        for crl in _list(entry.get("crls", []), MAX_KEYS, "shc crls"):
            kid, parsed = _shc_crl(crl, keys)
            if kid in crls:
                raise _refuse(f"two shc revocation lists for key {kid}")
            rid_count += len(parsed.rids)
            crls[kid] = parsed
        if not keys or rid_count > MAX_RIDS:
            raise _refuse(f"shc issuer {iss}: no key, or more than {MAX_RIDS} revoked ids")
        issuers._issuers[iss] = _Issuer(keys, crls)
    return issuers


def _shc_key(iss: str, jwk: Any) -> ShcKey:
    try:
        key = p256_key(jwk["x"], jwk["y"])
    except (KeyError, TypeError, ValueError):
        raise _refuse(f"an shc key of {iss} is not a point of P-256") from None
    kid = b64url(thumbprint(key))
    if jwk.get("kid") != kid:
        raise _refuse(f"an shc kid of {iss} is not its key's thumbprint")
    version = jwk.get("crlVersion")
    if version is not None and (type(version) is not int or version < 1):
        raise _refuse(f"shc key {kid}: crlVersion is not a positive integer")
    return ShcKey(iss, kid, key, version, False)


def _shc_crl(crl: Any, keys: dict[str, ShcKey]) -> tuple[str, _Crl]:
    if not isinstance(crl, dict) or not isinstance(crl.get("kid"), str) \
            or crl["kid"] not in keys:  # a list or object as kid: unhashable, no TypeError
        raise _refuse("an shc revocation list is not for a key of its issuer")
    kid, ctr, rids = crl["kid"], crl.get("ctr"), crl.get("rids")
    if type(ctr) is not int or ctr < 1 or ctr != (keys[kid].crl_version or ctr):
        raise _refuse(f"shc revocation list of {kid}: ctr is not the key's crlVersion")
    if not isinstance(rids, dict) or len(rids) > MAX_RIDS or not all(
            isinstance(rid, str) and RID.fullmatch(rid)
            and (at is None or type(at) is int and _RID_ENTRY.fullmatch(f"{rid}.{at}"))
            for rid, at in rids.items()):
        raise _refuse(f"shc revocation list of {kid}: rids is not {{rid: epoch s | null}}")
    return kid, _Crl(ctr, dict(rids))
