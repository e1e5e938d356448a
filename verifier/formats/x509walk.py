"""The few fields of an X.509 certificate (RFC 5280 section 4.1) a verifier needs, read from
its DER by hand: the SubjectPublicKeyInfo, the validity window, the extended key usage OIDs
and the subject's country. For certificates that ``cryptography`` refuses to parse (some
published EU document signers hold an extension it finds malformed); nothing else in the
certificate is interpreted, and no signature on it is checked.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

#: What is read from a certificate: the public key (walking the DER, its SubjectPublicKeyInfo
#: bytes), not before, not after (epoch seconds), extended key usage OIDs, the subject's
#: country (ISO 3166-1 alpha-2, or None).
Fields = tuple[Any, int, int, tuple[str, ...], str | None]
_COUNTRY = re.compile(r"[A-Z]{2}")
_SEQUENCE, _SET, _OID, _EXTENSIONS = 0x30, 0x31, 0x06, 0xA3
_TIMES = {0x17: 2, 0x18: 4}  # UTCTime, GeneralizedTime: digits of the year
_EKU, _COUNTRY_NAME = "2.5.29.37", "2.5.4.6"
Item = tuple[int, int, int, int]  # tag, where the item starts, where its content starts, ends


def _items(data: bytes, start: int, end: int, tag: int | None = None) -> list[Item]:
    """The DER items from ``start`` to exactly ``end``; each of ``tag`` if one is given."""
    found, pos = [], start
    while pos < end:
        if pos + 2 > end:
            raise ValueError("truncated DER")
        item_tag, length, content = data[pos], data[pos + 1], pos + 2
        if length & 0x80:
            size = length & 0x7F
            if not 1 <= size <= 3 or content + size > end:
                raise ValueError("a DER length out of bounds")
            length = int.from_bytes(data[content:content + size], "big")
            content += size
        if content + length > end or tag is not None and item_tag != tag:
            raise ValueError("not the DER of a certificate")
        found.append((item_tag, pos, content, content + length))
        pos = content + length
    return found


def _oid(data: bytes) -> str:
    if not data or data[-1] & 0x80:
        raise ValueError("a malformed OID")
    arcs, value = [], 0
    for byte in data:
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(map(str, (first, arcs[0] - 40 * first, *arcs[1:])))


def _time(tag: int, text: bytes) -> int:
    if tag not in _TIMES or not text.endswith(b"Z") or not text[:-1].isdigit():
        raise ValueError("a validity time that is not UTC")
    digits = text[:-1].decode("ascii")
    if _TIMES[tag] == 2:  # RFC 5280 4.1.2.5.1: 50-99 are 19xx, 00-49 20xx
        digits = ("19" if digits[:2] >= "50" else "20") + digits
    return int(datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp())


def walk_der(data: bytes) -> Fields:
    """Read a certificate's fields from its DER without interpreting anything else in it:
    SubjectPublicKeyInfo (bytes), validity, extended key usage OIDs, subject country.
    Raises ``ValueError`` if the DER does not have a certificate's shape."""
    (_, _, start, end), = _items(data, 0, len(data), _SEQUENCE)
    tbs, _, _ = _items(data, start, end)  # and the signature's algorithm and value
    fields = _items(data, tbs[2], tbs[3])
    fields = fields[1:] if fields and fields[0][0] == 0xA0 else fields  # [0] version
    if len(fields) < 6 or any(f[0] != _SEQUENCE for f in fields[1:6]):
        raise ValueError("not the DER of a certificate")
    _, _, _, validity, subject, spki = fields[:6]
    not_before, not_after = (_time(tag, data[s:e]) for tag, _, s, e in
                             _items(data, validity[2], validity[3]))
    country = None
    for _, _, s, e in _items(data, subject[2], subject[3], _SET):
        for _, _, s2, e2 in _items(data, s, e, _SEQUENCE):
            (_, _, os, oe), (_, _, vs, ve) = _items(data, s2, e2)
            if _oid(data[os:oe]) == _COUNTRY_NAME:
                country = data[vs:ve].decode("ascii", "replace")
    oids: tuple[str, ...] = ()
    for tag, _, s, e in fields[6:]:
        if tag != _EXTENSIONS:
            continue
        (_, _, s, e), = _items(data, s, e, _SEQUENCE)
        for _, _, s2, e2 in _items(data, s, e, _SEQUENCE):
            parts = _items(data, s2, e2)
            if parts and parts[0][0] == _OID and _oid(data[parts[0][2]:parts[0][3]]) == _EKU:
                (_, _, vs, ve), = _items(data, parts[-1][2], parts[-1][3], _SEQUENCE)
                oids = tuple(_oid(data[a:b]) for _, _, a, b in _items(data, vs, ve, _OID))
    return data[spki[1]:spki[3]], not_before, not_after, oids, \
        country if country and _COUNTRY.fullmatch(country) else None
