"""The keys of EU Digital COVID Certificates: document signer certificates (DSCs), as national
backends publish them, each read and checked before use.

A list is JSON, ``{"certificates": [{"certificateType": "DSC", "country": "DE", "kid": base64,
"rawData": base64 DER}, ...]}`` (or the bare array), or a PEM bundle (the kid is then the
first 8 bytes of the SHA-256 of the certificate's DER, as the EU gateway computes it). Only
what verification needs is kept from each certificate: its public key (EC or RSA of at least
2048 bits), its validity window, its country, and which certificate types its extended key
usage allows (test, vaccination, recovery; none of those OIDs: any type). Nothing here checks
a chain to a country's CSCA: whoever loads a list vouches for it, as for our own trust list.

Some published certificates hold extensions that ``cryptography`` refuses to parse (an empty
extended key usage, in Finland's); their keys are still good. For those,
:func:`~verifier.formats.x509walk.walk_der` reads the same fields from the DER by hand; a test
checks the two readings agree on every certificate both read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
)
from cryptography.x509.oid import NameOID

from ..errors import Reason, TrustListError
from .x509walk import Fields, walk_der

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

#: The certificate types an extended key usage OID allows (both arcs occur in the wild: the
#: specification's and the ``1.3.6.1.4.1.0.1847`` one early issuers used).
TYPE_OIDS: dict[str, str] = {
    **{f"1.3.6.1.4.1.{arc}1847.2021.1.1": "test" for arc in ("", "0.")},
    **{f"1.3.6.1.4.1.{arc}1847.2021.1.2": "vaccination" for arc in ("", "0.")},
    **{f"1.3.6.1.4.1.{arc}1847.2021.1.3": "recovery" for arc in ("", "0.")},
}
KID_LENGTH = 8
#: Largest key file read: the whole EU gateway's DSCs are a few megabytes.
MAX_FILE_BYTES = 32 << 20
MAX_CERTIFICATE_BYTES = 16 << 10
_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)
_MIN_RSA_BITS = 2048
_COUNTRY = re.compile(r"[A-Z]{2}")
_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]*?)-----END \1-----")


@dataclass(frozen=True)
class Dsc:
    """One document signer certificate, as verification uses it."""

    kid: bytes
    #: ISO 3166-1 alpha-2, from the list entry or else the certificate's subject (or None).
    country: str | None
    public_key: PublicKey = field(repr=False)
    not_before: int
    not_after: int
    #: The certificate types its extended key usage allows; empty: any type.
    types: frozenset[str]
    der: bytes = field(repr=False)

    @property
    def identity(self) -> tuple[object, ...]:
        """What makes two entries one signer: its kid and certificate, or (a key from a trust
        list, which carries no certificate) its kid, key and every field."""
        if self.der:
            return (self.kid, self.der)
        spki = self.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return (self.kid, spki, self.not_before, self.not_after, self.types, self.country)

    def allows(self, kind: str) -> bool:
        """Whether this certificate may sign a certificate of ``kind`` (``test``,
        ``vaccination``, ``recovery``)."""
        return not self.types or kind in self.types


def _refuse(detail: str) -> TrustListError:
    return TrustListError(Reason.TRUST_LIST_MALFORMED, detail, format="dcc")


class DccKeys:
    """A set of DSCs, looked up by kid (several may share one: each is tried). ``rejected``
    lists the entries left out when the set was read, as ``(which, why)``."""

    def __init__(self, certificates: Iterable[Dsc] = (),
                 rejected: Iterable[tuple[str, str]] = ()) -> None:
        unique = {c.identity: c for c in certificates}
        self.certificates: tuple[Dsc, ...] = tuple(unique.values())
        self.rejected: tuple[tuple[str, str], ...] = tuple(rejected)
        self._by_kid: dict[bytes, tuple[Dsc, ...]] = {}
        for dsc in self.certificates:
            self._by_kid[dsc.kid] = (*self._by_kid.get(dsc.kid, ()), dsc)

    def __len__(self) -> int:
        return len(self.certificates)

    def __iter__(self) -> Iterator[Dsc]:
        return iter(self.certificates)

    def by_kid(self, kid: bytes) -> tuple[Dsc, ...]:
        """Every certificate with this kid (none: an empty tuple)."""
        return self._by_kid.get(kid, ())

    def merged(self, other: DccKeys) -> DccKeys:
        """This set and ``other`` together (a certificate in both is kept once)."""
        return DccKeys((*self.certificates, *other.certificates),
                       (*self.rejected, *other.rejected))

    def to_json(self) -> bytes:
        """The set in the JSON form it is published in; :meth:`from_bytes` reads it back."""
        return json.dumps({"certificates": [
            {"certificateType": "DSC", "country": c.country,
             "kid": base64.b64encode(c.kid).decode("ascii"),
             "rawData": base64.b64encode(c.der).decode("ascii")} for c in self.certificates
        ]}, indent=1).encode("utf-8")

    @classmethod
    def load(cls, path: str | Path) -> DccKeys:
        """Read a key file (JSON or PEM). Raises :class:`~verifier.errors.TrustListError`
        (``trust_list_malformed``), or ``OSError`` when it cannot be read."""
        with open(path, "rb") as file:
            return cls.from_bytes(file.read(MAX_FILE_BYTES + 1))

    @classmethod
    def from_bytes(cls, data: bytes) -> DccKeys:
        """Read a list of DSCs: JSON (``{"certificates": [...]}`` or the bare array) or a PEM
        bundle. Raises :class:`~verifier.errors.TrustListError` (``trust_list_malformed``) if
        the document is neither, or too large; entries that cannot be used are left out and
        listed in ``rejected``."""
        if len(data) > MAX_FILE_BYTES:
            raise _refuse(f"larger than {MAX_FILE_BYTES} bytes")
        if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"-----BEGIN"):
            return cls.from_pem(data)
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise _refuse(f"neither JSON nor PEM ({exc.__class__.__name__})") from None
        return cls.from_json(document)

    @classmethod
    def from_json(cls, document: Any) -> DccKeys:
        """Read the parsed JSON of a national backend's DSC list (see :meth:`from_bytes`)."""
        entries = document.get("certificates") if isinstance(document, dict) else document
        if not isinstance(entries, list):
            raise _refuse('not a list of certificates (nor {"certificates": [...]})')
        found, rejected = [], []
        for index, entry in enumerate(entries):
            try:
                found.append(_entry(entry))
            except ValueError as exc:
                rejected.append((_which(entry, index), str(exc)))
        return cls(found, rejected)

    @classmethod
    def from_pem(cls, data: bytes) -> DccKeys:
        """Read a PEM bundle of certificates; each one's kid is computed from its DER."""
        found, rejected = [], []
        blocks = _PEM.findall(data)
        if not blocks:
            raise _refuse("no PEM block")
        for index, (label, body) in enumerate(blocks):
            try:
                if label != b"CERTIFICATE":
                    raise ValueError(f"a {label.decode('ascii')}, not a certificate")
                found.append(read_certificate(base64.b64decode(b"".join(body.split()),
                                                                validate=True)))
            except (ValueError, binascii.Error) as exc:
                rejected.append((f"PEM block {index + 1}", str(exc)))
        return cls(found, rejected)

    @classmethod
    def from_der(cls, data: bytes, *, kid: bytes | None = None,
                 country: str | None = None) -> DccKeys:
        """A set of the one certificate ``data`` (DER). Raises
        :class:`~verifier.errors.TrustListError` if it cannot be used."""
        try:
            return cls((read_certificate(data, kid=kid, country=country),))
        except ValueError as exc:
            raise _refuse(str(exc)) from None


def _which(entry: Any, index: int) -> str:
    kid = entry.get("kid") if isinstance(entry, dict) else None
    return f"entry {index + 1}" + (f" (kid {kid})" if isinstance(kid, str) else "")


def _entry(entry: Any) -> Dsc:
    """One entry of a JSON list as a :class:`Dsc`; ``ValueError`` says why it is unusable."""
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    kind = entry.get("certificateType", "DSC")
    if kind != "DSC":
        raise ValueError(f"a {kind!s:.20} certificate, not a document signer (DSC)")
    raw, kid, country = entry.get("rawData"), entry.get("kid"), entry.get("country")
    if not isinstance(raw, str) or len(raw) > MAX_CERTIFICATE_BYTES * 2:
        raise ValueError("rawData is not a certificate's base64")
    if kid is not None and not isinstance(kid, str):
        raise ValueError("kid is not base64 text")
    if country is not None and not (isinstance(country, str) and _COUNTRY.fullmatch(country)):
        raise ValueError("country is not an ISO 3166-1 alpha-2 code")
    try:
        data = base64.b64decode(raw, validate=True)
        kid_bytes = None if kid is None else base64.b64decode(kid, validate=True)
    except binascii.Error:
        raise ValueError("rawData or kid is not base64") from None
    return read_certificate(data, kid=kid_bytes, country=country)


def read_certificate(data: bytes, *, kid: bytes | None = None,
                     country: str | None = None) -> Dsc:
    """Read a DSC from its DER; ``kid`` defaults to the first 8 bytes of its SHA-256,
    ``country`` to the subject's. Raises ``ValueError`` if it is not usable: unreadable, a key
    other than EC (P-256, P-384, P-521) or RSA of at least 2048 bits, or a kid not 8 bytes."""
    if len(data) > MAX_CERTIFICATE_BYTES:
        raise ValueError(f"a certificate of more than {MAX_CERTIFICATE_BYTES} bytes")
    kid = hashlib.sha256(data).digest()[:KID_LENGTH] if kid is None else kid
    if len(kid) != KID_LENGTH:
        raise ValueError(f"a kid of {len(kid)} bytes, not {KID_LENGTH}")
    fields = _with_cryptography(data)
    if fields is None:  # cryptography refuses some published certificates: walk the DER
        spki, not_before, not_after, oids, subject_country = walk_der(data)
        try:
            key = load_der_public_key(spki)
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError("its public key is unreadable") from None
    else:
        key, not_before, not_after, oids, subject_country = fields
    if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, _CURVES)
            or isinstance(key, rsa.RSAPublicKey) and key.key_size >= _MIN_RSA_BITS):
        raise ValueError(f"an unsupported key ({type(key).__name__}, "
                         f"{getattr(key, 'key_size', '?')} bits)")
    if not not_before < not_after:
        raise ValueError("an empty validity window")
    types = frozenset(TYPE_OIDS[oid] for oid in oids if oid in TYPE_OIDS)
    return Dsc(kid, country or subject_country, key, not_before, not_after, types, data)


def _with_cryptography(data: bytes) -> Fields | None:
    """The fields ``cryptography`` reads, or None where it refuses the certificate."""
    try:
        with warnings.catch_warnings():  # a negative serial, a country of 3 letters: the
            warnings.simplefilter("ignore")  # certificate is read or refused, not warned of
            cert = x509.load_der_x509_certificate(data)
            try:
                usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
                oids = tuple(oid.dotted_string for oid in usage)
            except x509.ExtensionNotFound:
                oids = ()
            countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
            country = countries[0].value if countries else None
            return (cert.public_key(), int(cert.not_valid_before_utc.timestamp()),
                    int(cert.not_valid_after_utc.timestamp()), oids,
                    country if isinstance(country, str) and _COUNTRY.fullmatch(country)
                    else None)
    except (ValueError, TypeError, UnsupportedAlgorithm, x509.InvalidVersion,
            x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return None  # what cryptography raises on certificates it refuses (found by fuzzing)


