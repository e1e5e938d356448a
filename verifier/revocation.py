"""Signed revocation lists: which of an issuer's unexpired credentials it has revoked.

A list is a COSE_Sign1 by one of the issuer's keys in the trust list (the same envelope as a
credential: protected header ``alg`` and ``kid``), whose payload is a CBOR map with text keys::

    {"typ": "healthcode-revocations", "ver": 1, "iss": "HZ", "seq": 7,
     "iat": 1795500000, "exp": 1795586400, "width": 7, "hashes": h'…'}

``hashes`` is the concatenation of the first :data:`HASH_BYTES` bytes of SHA-256 over each
revoked ``cti``, sorted and without duplicates (one encoding per list). Seven bytes put
1,000,000 revoked credentials in 7,000,000 bytes; the chance that a given unrevoked code
matches some entry is at most ``count / 2**56``, about 1.4e-11 per check with 1,000,000
entries, and nobody can aim for a collision: ``cti`` is chosen by the issuer, at random.
The text keys keep the payload from ever parsing as a credential's (integer-keyed) claims.

An expired list is not refused: the verifier keeps applying the newest list it has (a code
revoked yesterday stays revoked) and warns that it is stale (:meth:`RevocationList.expired`).

Order: lists are ordered by their signed time ``iat`` first (:attr:`RevocationList.order`), and
a key signs only lists dated inside its signing window, so a key rotated out at time R can only
sign lists dated at most R: older than any list its successor signed. ``seq`` (the issuer's
count of revocations so far) orders two lists of one second only, and only after the signing
key's start (a newer key wins a tie), so a huge ``seq`` gains an old key nothing.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cbor2

from .cose import decode_protected, decode_sign1, loads_strict, sig_structure
from .errors import Reason, RevocationListError, VerificationError
from .hashindex import build_index
from .keys import kid_text, verify_signature
from .trust import TrustList

REVOCATION_TYPE = "healthcode-revocations"
REVOCATION_VERSION = 1
#: Bytes of SHA-256 kept per revoked ``cti`` (see the module docstring for the false-positive
#: rate).
HASH_BYTES = 7
#: The largest signed list read from disk or the network: 2.3 million entries.
MAX_REVOCATION_BYTES = 16 * 1024 * 1024
_PAYLOAD_KEYS = frozenset({"typ", "ver", "iss", "seq", "iat", "exp", "width", "hashes"})
_SAFE_ISS = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: Every file name :func:`file_name` can give.
FILE_GLOB = "revocations-*.cose"


def entry_hash(cti: bytes) -> bytes:
    """Return the list entry for a credential id: the first :data:`HASH_BYTES` of its SHA-256."""
    return hashlib.sha256(cti).digest()[:HASH_BYTES]


def encode_payload(*, iss: str, seq: int, iat: int, exp: int, ctis: Iterable[bytes]) -> bytes:
    """Return the CBOR payload of a revocation list holding ``ctis`` (duplicates dropped).

    The issuer signs it with :func:`issuer.keys.signing.sign_cose`; the signed bytes are the file.
    """
    hashes = b"".join(sorted({entry_hash(cti) for cti in ctis}))
    return cbor2.dumps({"typ": REVOCATION_TYPE, "ver": REVOCATION_VERSION, "iss": iss,
                        "seq": seq, "iat": iat, "exp": exp, "width": HASH_BYTES,
                        "hashes": hashes})


@dataclass(frozen=True)
class RevocationList:
    """A verified revocation list of one issuer. Build it with :meth:`from_cose` or :meth:`load`.

    ``digest`` is the hex SHA-256 of the signed file (two lists with one ``sequence`` must have
    the same digest: :func:`check_successor`). Constructing one directly trusts its content;
    that is for tests. ``cti in revocation_list`` tells whether a credential is revoked.
    """

    iss: str
    sequence: int
    issued_at: int
    expires_at: int
    kid: bytes
    digest: str
    count: int
    hashes: bytes = field(repr=False)
    #: Start of the signing key's window (from the trust list): breaks a tie in ``iat``.
    key_not_before: int = 0
    _index: array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.count * HASH_BYTES != len(self.hashes):
            raise ValueError("count does not match the hashes")
        object.__setattr__(self, "_index", build_index(self.hashes, HASH_BYTES))

    def __len__(self) -> int:
        return self.count

    def __contains__(self, cti: bytes) -> bool:
        """Return whether the credential with id ``cti`` is revoked."""
        return self.contains_hash(entry_hash(cti))

    def contains_hash(self, entry: bytes) -> bool:
        """Return whether ``entry`` (an :func:`entry_hash`) is in the list. About 0.3 µs."""
        if len(entry) != HASH_BYTES:
            return False
        index, hashes = self._index, self.hashes
        prefix = entry[0] << 8 | entry[1]
        start, end = index[prefix], index[prefix + 1]
        # One C search over the bucket; a hit must start on an entry boundary.
        at = hashes.find(entry, start, end)
        while at >= 0 and (at - start) % HASH_BYTES:
            at = hashes.find(entry, at + 1, end)
        return at >= 0

    @property
    def order(self) -> tuple[int, int, int]:
        """The list's place in time: its signed ``iat``, then its key's start, then ``seq``."""
        return self.issued_at, self.key_not_before, self.sequence

    def expired(self, now: int) -> bool:
        """Return whether ``now`` is past the list's expiry (the list still applies)."""
        return now > self.expires_at

    @classmethod
    def from_cose(cls, data: bytes, trust: TrustList) -> RevocationList:
        """Verify and parse a signed revocation list.

        The signer must be a key in ``trust`` (with the algorithm the trust list pins for it)
        belonging to the list's issuer. Raises :class:`RevocationListError`:
        ``revocation_list_malformed`` (too large, not a COSE_Sign1, invalid payload) or
        ``revocation_list_bad_signature`` (unknown key, tampered, signed for another issuer).
        """
        if len(data) > MAX_REVOCATION_BYTES:
            raise RevocationListError(Reason.REVOCATION_LIST_MALFORMED,
                                      f"larger than {MAX_REVOCATION_BYTES} bytes")
        try:
            sign1 = decode_sign1(data)
            alg, kid = decode_protected(sign1.protected)
        except VerificationError as exc:
            raise RevocationListError(Reason.REVOCATION_LIST_MALFORMED, exc.detail) from None
        key = trust.keys.get(kid)
        if key is None:
            raise RevocationListError(Reason.REVOCATION_LIST_BAD_SIGNATURE,
                                      "signed by a key not in the trust list",
                                      kid=kid_text(kid))
        if alg != key.alg:
            raise RevocationListError(Reason.REVOCATION_LIST_BAD_SIGNATURE,
                                      "header alg does not fit the key", kid=kid_text(kid))
        try:
            verify_signature(key.public_key, key.alg,
                             sig_structure(sign1.protected, sign1.payload), sign1.signature)
        except VerificationError:
            raise RevocationListError(Reason.REVOCATION_LIST_BAD_SIGNATURE,
                                      kid=kid_text(kid)) from None
        try:
            doc = loads_strict(sign1.payload, "revocation list")
            fields = _parse_payload(doc)
        except (VerificationError, ValueError) as exc:
            detail = exc.detail if isinstance(exc, VerificationError) else str(exc)
            raise RevocationListError(Reason.REVOCATION_LIST_MALFORMED, detail,
                                      kid=kid_text(kid)) from None
        if fields["iss"] != key.iss:
            raise RevocationListError(Reason.REVOCATION_LIST_BAD_SIGNATURE,
                                      "signed by a key of another issuer", kid=kid_text(kid))
        # As for codes: a key signs only in its window. A rotated-out key, stolen later, cannot
        # make a newer list that leaves revoked codes out.
        if not key.not_before <= fields["issued_at"] <= key.not_after:
            raise RevocationListError(Reason.REVOCATION_LIST_BAD_SIGNATURE,
                                      "issued outside the signing key's validity window",
                                      kid=kid_text(kid))
        try:
            return cls(**fields, kid=kid, digest=hashlib.sha256(data).hexdigest(),
                       key_not_before=key.not_before)
        except ValueError as exc:
            raise RevocationListError(Reason.REVOCATION_LIST_MALFORMED, str(exc),
                                      kid=kid_text(kid)) from None

    @classmethod
    def load(cls, path: str | Path, trust: TrustList) -> RevocationList:
        """Read, verify and parse the revocation list at ``path``.

        Raises :class:`RevocationListError` as :meth:`from_cose`, ``OSError`` when the file
        cannot be read.
        """
        with open(path, "rb") as fh:
            data = fh.read(MAX_REVOCATION_BYTES + 1)
        return cls.from_cose(data, trust)


def _int_field(doc: dict[str, Any], name: str) -> int:
    value = doc[name]
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be a non-negative integer")
    return value


def _parse_payload(doc: Any) -> dict[str, Any]:
    """Return the list's fields (as :class:`RevocationList` takes them, less kid and digest)
    from a decoded payload; raises ``ValueError`` for anything but a version-1 list."""
    if not isinstance(doc, dict) or doc.get("typ") != REVOCATION_TYPE:
        raise ValueError("not a healthcode revocation list")
    ver = doc.get("ver")
    if type(ver) is not int or ver != REVOCATION_VERSION:
        raise ValueError(f"unsupported revocation list version {ver!r}")
    if doc.keys() != _PAYLOAD_KEYS:
        raise ValueError("the payload's keys are not those of version 1")
    iss, width, hashes = doc["iss"], doc["width"], doc["hashes"]
    if not isinstance(iss, str) or not iss:
        raise ValueError("iss must be a non-empty text")
    if type(width) is not int or width != HASH_BYTES:
        raise ValueError(f"width must be {HASH_BYTES}")
    if not isinstance(hashes, bytes):
        raise ValueError("hashes must be a byte string")
    iat, exp = _int_field(doc, "iat"), _int_field(doc, "exp")
    if exp < iat:
        raise ValueError("exp is before iat")
    return {"iss": iss, "sequence": _int_field(doc, "seq"), "issued_at": iat,
            "expires_at": exp, "count": len(hashes) // HASH_BYTES, "hashes": hashes}


def check_successor(previous: RevocationList | None, new: RevocationList) -> None:
    """Check that ``new`` may replace ``previous`` (the list in use, if any) for its issuer.

    ``new`` must come later in :attr:`RevocationList.order`: signed later, or in the same
    second by a newer key, or by the same key with a higher ``seq``; or be the very same list.
    Raises :class:`RevocationListError`: ``revocation_list_rollback`` when ``new`` is older, or
    in the same place with other content; ``revocation_list_malformed`` when the two lists
    belong to different issuers (a caller's mistake).
    """
    if previous is None:
        return
    if new.iss != previous.iss:
        raise RevocationListError(Reason.REVOCATION_LIST_MALFORMED,
                                  f"a list of {new.iss!r} cannot replace one of {previous.iss!r}")
    if new.order < previous.order or (new.order == previous.order
                                      and new.digest != previous.digest):
        raise RevocationListError(Reason.REVOCATION_LIST_ROLLBACK, iss=new.iss,
                                  issued_at=new.issued_at, current=previous.issued_at,
                                  sequence=new.sequence)


def file_name(iss: str) -> str:
    """Return the file name of ``iss``'s list: the id itself when it is short and made of
    letters, digits, ``_`` and ``-``, else ``~`` and its UTF-8 in hex (never a path separator
    or ``..``; ``~`` keeps the two forms apart)."""
    if _SAFE_ISS.fullmatch(iss):
        return f"revocations-{iss}.cose"
    return f"revocations-~{iss.encode().hex()}.cose"


_EMPTY: Mapping[str, RevocationList] = MappingProxyType({})


class Revocations:
    """The revocation lists a verifier holds, at most one per issuer."""

    def __init__(self, lists: Mapping[str, RevocationList] = _EMPTY) -> None:
        for iss, revocation_list in lists.items():
            if revocation_list.iss != iss:
                raise ValueError(f"the list under {iss!r} is {revocation_list.iss!r}'s")
        self._lists = dict(lists)

    def is_revoked(self, iss: str, cti: bytes) -> bool:
        """Return whether ``iss``'s list (if there is one) holds ``cti``."""
        revocation_list = self._lists.get(iss)
        return revocation_list is not None and cti in revocation_list

    def get(self, iss: str) -> RevocationList | None:
        """Return ``iss``'s list, or None."""
        return self._lists.get(iss)

    def __iter__(self) -> Iterator[RevocationList]:
        return iter(self._lists.values())

    def __len__(self) -> int:
        return len(self._lists)

    def __repr__(self) -> str:
        return f"Revocations({sorted(self._lists)!r})"

    @classmethod
    def load_dir(cls, folder: str | Path, trust: TrustList
                 ) -> tuple[Revocations, dict[str, RevocationListError]]:
        """Load every ``revocations-*.cose`` file in ``folder``.

        Returns the lists that verified and, by file name, why each other file was skipped: it
        is unreadable or invalid, or its name is not :func:`file_name` of its issuer. Never
        raises for a file; ``OSError`` when the folder cannot be listed.
        """
        lists: dict[str, RevocationList] = {}
        errors: dict[str, RevocationListError] = {}
        for path in sorted(Path(folder).glob(FILE_GLOB)):
            try:
                revocation_list = RevocationList.load(path, trust)
            except RevocationListError as exc:
                errors[path.name] = exc
                continue
            except OSError as exc:
                errors[path.name] = RevocationListError(Reason.REVOCATION_LIST_MALFORMED,
                                                        f"unreadable: {exc.strerror or exc}")
                continue
            if path.name != file_name(revocation_list.iss):
                errors[path.name] = RevocationListError(
                    Reason.REVOCATION_LIST_MALFORMED,
                    f"holds the list of {revocation_list.iss!r}, which belongs in "
                    f"{file_name(revocation_list.iss)}")
                continue
            lists[revocation_list.iss] = revocation_list
        return cls(lists), errors
