"""Seeded mutations of codes for the differential test of the JavaScript verifier: text and
Base45 edits, byte-level COSE mutations, claims re-signed with the issuer's key in every shape
of CBOR (wrong types, boundaries, floats, indefinite lengths, non-shortest heads; and outside
the language a verifier reads, docs/FORMAT.md: tags, bignums, other simple values, float,
bool and duplicate map keys, which both verifiers must refuse as malformed), live
presentations re-signed by a phone key, and times around every edge. Each case is (text, now,
window); both verifiers judge it (tests/test_js_verifier.py)."""

from __future__ import annotations

import random
import struct

import cbor2

from issuer.keys.signing import sign_raw
from verifier.base45 import b45encode
from verifier.cose import encode_protected, sig_structure
from verifier.keys import alg_for, kid_for

NOW = 1_795_500_000
HOUR = 3600


# ---- a CBOR writer that can say anything, in the language and outside it ----

def head(major: int, n: int, width: int | None = None) -> bytes:
    """A head with argument ``n``; ``width`` (0, 1, 2, 4, 8) forces a non-shortest form."""
    if width is None:
        width = 0 if n < 24 else 1 if n < 256 else 2 if n < 65536 else 4 if n < 2**32 else 8
    if width == 0:
        return bytes([major << 5 | n])
    info = {1: 24, 2: 25, 4: 26, 8: 27}[width]
    return bytes([major << 5 | info]) + n.to_bytes(width, "big")


def uint(n: int, width: int | None = None) -> bytes:
    return head(0, n, width) if n >= 0 else head(1, -1 - n, width)


def bstr(b: bytes, width: int | None = None) -> bytes:
    return head(2, len(b), width) + b


def tstr(s: str) -> bytes:
    raw = s.encode()
    return head(3, len(raw)) + raw


def cmap(pairs: list[tuple[bytes, bytes]], indefinite: bool = False) -> bytes:
    body = b"".join(k + v for k, v in pairs)
    return (b"\xbf" + body + b"\xff") if indefinite else head(5, len(pairs)) + body


def carray(items: list[bytes], indefinite: bool = False) -> bytes:
    body = b"".join(items)
    return (b"\x9f" + body + b"\xff") if indefinite else head(4, len(items)) + body


def tag(n: int, content: bytes) -> bytes:
    return head(6, n) + content


def f16(x: float) -> bytes:
    return b"\xf9" + struct.pack(">e", x)


def f32(x: float) -> bytes:
    return b"\xfa" + struct.pack(">f", x)


def f64(x: float) -> bytes:
    return b"\xfb" + struct.pack(">d", x)


def int_forms(n: int) -> list[bytes]:
    """``n`` in every encoding cbor2 reads as an int (or a number equal to it)."""
    forms = [uint(n)]
    for width in (1, 2, 4, 8):
        if abs(n) < 256 ** width:
            forms.append(uint(n, width))
    forms.append(tag(2, bstr(n.to_bytes(max(1, (n.bit_length() + 7) // 8), "big"))) if n >= 0
                 else tag(3, bstr((-1 - n).to_bytes(max(1, ((-1 - n).bit_length() + 7) // 8),
                                                  "big"))))
    return forms


def num_lookalikes(n: int) -> list[bytes]:
    """Values equal to ``n`` in Python's == that are no int: floats, Decimal, Fraction, bools."""
    out = [f64(float(n)), f32(float(n)) if abs(n) < 2**24 else f64(n + 0.5),
           tag(4, carray([uint(0), uint(n)])), tag(30, carray([uint(n), uint(1)]))]
    if abs(n) < 2048:
        out.append(f16(float(n)))
    if n in (0, 1):
        out.append(b"\xf5" if n else b"\xf4")
    return out


WEIRD = [
    b"\xf4", b"\xf5", b"\xf6", b"\xf7", b"\xe0", b"\xf0", b"\xf8\x20", b"\xf8\xff", b"\xff",
    f16(float("nan")), f16(float("inf")), f64(-0.0), f32(1.5), f64(1e300),
    tstr(""), tstr("HZ"), tstr("x" * 33), b"\x62\xc3\x28", b"\x7f\x61H\x61Z\xff", b"\x7f\xff",
    bstr(b""), bstr(bytes(12)), bstr(bytes(8)), bstr(bytes(32)), b"\x5f\x42ab\x41c\xff",
    b"\x5f\x41a\x61b\xff", b"\x80", b"\x81\x01", b"\x9f\xff", b"\xa0", b"\xa1\x01\x02",
    b"\xbf\xff", b"\xbf\x01\xff", tag(1, uint(NOW)), tag(1, f64(1e20)), tag(1, tstr("x")),
    tag(0, tstr("2026-11-18T10:00:00Z")), tag(0, tstr("2026-13-18T10:00:00Z")),
    tag(0, tstr("2026-11-18T10:00:00.5+08:00")), tag(0, tstr("2026-11-18T10:00:00+24:00")),
    tag(4, carray([b"\x21", uint(1111)])), tag(4, carray([tstr("F"), uint(1)])),
    tag(4, carray([uint(1), tstr("1.5")])), tag(4, carray([uint(1), tstr("x")])),
    tag(4, carray([uint(1)])), tag(5, carray([uint(3), uint(5)])),
    tag(5, carray([uint(3), f16(1.0)])),
    tag(30, carray([uint(1), uint(2)])), tag(30, carray([uint(1), uint(0)])),
    tag(30, carray([])), tag(30, carray([f64(0.25)])),
    tag(30, carray([uint(1), uint(2), uint(3)])),
    tag(37, bstr(bytes(16))), tag(37, bstr(bytes(15))), tag(35, tstr("a+")), tag(35, tstr("(")),
    tag(35, uint(1)), tag(36, tstr("Subject: x\n\nbody")), tag(36, bstr(b"x")),
    tag(258, carray([uint(1), uint(2), uint(1)])), tag(258, carray([b"\x80"])), tag(258, uint(1)),
    tag(260, bstr(bytes(4))), tag(260, bstr(bytes(6))), tag(260, bstr(bytes(5))),
    tag(261, cmap([(bstr(bytes(4)), uint(24))])), tag(261, cmap([(bstr(bytes(4)), uint(33))])),
    tag(100, uint(1)), tag(100, f16(1.0)), tag(1004, tstr("2026-02-29")),
    tag(1004, tstr("2028-02-29")),
    tag(43000, carray([f64(2.0), f64(0.0)])), tag(43000, carray([f64(2.0), uint(0)])),
    tag(55799, uint(5)), tag(28, uint(7)), tag(29, uint(0)), tag(25, uint(0)),
    tag(256, carray([tstr("abc"), tag(25, uint(0))])), tag(6, uint(1)), tag(18, b"\x80"),
    tag(2, uint(1)), tag(3, bstr(b"\x01")), tag(2, bstr(bytes(20) + b"\x01")),
    b"\x1c", b"\x5c", b"\xfc", b"\x18", b"\x43ab", b"\xc0", b"\x81" * 30 + b"\x00",
    b"\x81" * 401 + b"\x00", b"\xa1" + b"\x80" + b"\x01", b"\xa1\xa0\x01",
    b"\xa1\xd8\x1c\x81\x01\x02",
    b"\xa2\x01\x01\xf9\x3c\x00\x02", b"\xa2\xf5\x01\x01\x02", b"\xa2\xf8\x01\x01\x81\x01\x02",
    b"\xa1" + tag(4, carray([tstr("N"), uint(1)])) + b"\x01",
    tag(36, b"\xf6"), tag(4, carray([uint(2), b"\xf0"])),
    tag(4, carray([uint(2**64 - 1), uint(5)])),
    tag(4, carray([uint(999999999999999998), uint(12)])), tag(4, carray([uint(-(2**62)), uint(1)])),
    tag(30, carray([tag(30, carray([uint(1), uint(3)]))])), tag(30, carray([tstr("1.5")])),
    tag(30, carray([tstr(" 3/4 ")])), tag(30, carray([tstr("1/0")])),
    tag(30, carray([tstr("1_0e2")])), tag(30, carray([tag(4, carray([b"\x20", uint(15)]))])),
    tag(1, tag(4, carray([uint(0), uint(1)]))),
    tag(30, carray([tag(30, carray([uint(1), uint(2)])), tag(30, carray([uint(1), uint(3)]))])),
    tag(30, carray([tag(4, carray([uint(0), uint(1)])), uint(2)])),
]


def weird(rng: random.Random) -> bytes:
    return rng.choice(WEIRD)


# ---- claims ----

CLAIM_KEYS = {"iss": 1, "exp": 4, "iat": 6, "cti": 7, "cnf": 8, "health": -65537}


def base_claims(rng: random.Random, iss: str = "HZ", cnf: bytes | None = None,
                id_check: bool = False, family: bool = False) -> dict[str, bytes]:
    iat = NOW - rng.choice([HOUR, 600, 301, 300, 0, -300, -301])
    health = [(uint(1), uint(rng.choice([0, 1, 2]))), (uint(2), uint(rng.randrange(101)))]
    if rng.random() < 0.3:
        health.append((uint(3), bstr(rng.randbytes(8))))
    if id_check:
        health.append((uint(4), cmap([(uint(1), tstr(rng.choice(["李*", "A*", "😷*"]))),
                                      (uint(2), tstr(rng.choice(["123X", "7", "0000"])))])))
    if family:
        health.append((uint(5), b"\xf5"))
    claims = {"iss": tstr(iss), "iat": uint(iat), "exp": uint(iat + rng.choice([HOUR, 86400])),
              "cti": bstr(rng.randbytes(12)), "health": cmap(health)}
    if cnf is not None:
        claims["cnf"] = cnf
    return claims


def encode(claims: dict[str, bytes], key_forms: dict[str, bytes] | None = None,
           indefinite: bool = False, extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    pairs = [((key_forms or {}).get(k) or uint(CLAIM_KEYS[k]), v) for k, v in claims.items()]
    return cmap(pairs + list(extra), indefinite)


def health_variants(rng: random.Random) -> bytes:
    colour = rng.choice([*int_forms(rng.choice([0, 1, 2, 3, -1])), weird(rng),
                         *num_lookalikes(1)])
    score = rng.choice([*int_forms(rng.choice([0, 23, 24, 100, 101, 255, -1])), weird(rng),
                        *num_lookalikes(50)])
    pairs = [(rng.choice(int_forms(1) + [b"\xf5"]), colour), (uint(2), score)]
    roll = rng.random()
    if roll < 0.2:
        pairs.append((uint(3), rng.choice([bstr(bytes(8)), bstr(bytes(7)), b"\xf6", b"\xf7",
                                           weird(rng)])))
    elif roll < 0.4:
        pairs.append((uint(4), id_check_variant(rng)))
    elif roll < 0.45:  # the family mark: true, or what is not true
        pairs.append((rng.choice(int_forms(5)), rng.choice([b"\xf5", b"\xf5", b"\xf4", uint(1),
                                                           b"\xf6", b"\xf7", weird(rng)])))
    elif roll < 0.5:
        pairs.append((uint(rng.randrange(5, 30)), weird(rng)))
    elif roll < 0.6:
        pairs = pairs[:1]
    return cmap(pairs, indefinite=rng.random() < 0.2)


def id_check_variant(rng: random.Random) -> bytes:
    name = rng.choice(["李*", "*", "李", "李**", "A*", " *", "\u200b*", "\t*", "😷*",
                       "李" * 8 + "*",
                       "ab*", "é*", "e\u0301*", "\u3000*", "Ⅻ*", "\U000e0001*"])
    tail = rng.choice(["123X", "12345", "", "abcd", "1", "ＡＢ", "X", "123x", "0\n"])
    fields = [(uint(1), rng.choice([tstr(name), weird(rng)])), (uint(2), tstr(tail))]
    if rng.random() < 0.2:
        fields = fields[:1]
    return rng.choice([cmap(fields), cmap(fields, indefinite=True), weird(rng)])


def cnf_variant(rng: random.Random, x: bytes, odd: bool) -> bytes:
    """A cnf claim around the phone key's x, mostly well formed, sometimes not."""
    kty = rng.choice([uint(2)] * 6 + int_forms(2) + num_lookalikes(2) + [uint(3), b"\xf8\x02"])
    crv = rng.choice([uint(1)] * 6 + int_forms(1) + num_lookalikes(1) + [uint(2)])
    xs = rng.choice([bstr(x)] * 8 + [bstr(x[:31]), bstr(bytes(32)), bstr(b"\xff" * 32), tstr("x")])
    y = rng.choice([b"\xf5" if odd else b"\xf4"] * 8 + [b"\xf5" if not odd else b"\xf4", uint(1),
                                                        bstr(bytes(32))])
    key = cmap([(uint(1), kty), (uint(-1), crv), (uint(-2), xs), (uint(-3), y)],
               indefinite=rng.random() < 0.1)
    roll = rng.random()
    if roll < 0.85:
        return cmap([(uint(1), key)])
    return rng.choice([b"\xa0", cmap([(uint(2), key)]), key, weird(rng)])


def mutate_claims(rng: random.Random, claims: dict[str, bytes]) -> tuple[dict, dict, bool, list]:
    """One or two edits of the claims: returns (claims, key forms, indefinite, extra pairs)."""
    claims = dict(claims)
    key_forms: dict[str, bytes] = {}
    extra: list[tuple[bytes, bytes]] = []
    for _ in range(rng.choice([1, 1, 2])):
        field = rng.choice(list(CLAIM_KEYS))
        roll = rng.random()
        if roll < 0.15 and field in claims:
            del claims[field]
        elif roll < 0.3:
            key_forms[field] = rng.choice(int_forms(CLAIM_KEYS[field])
                                          + num_lookalikes(CLAIM_KEYS[field]))
        elif roll < 0.4:
            extra.append((uint(CLAIM_KEYS[field]), weird(rng)))
        elif roll < 0.5:
            extra.append((rng.choice([uint(rng.randrange(9, 300)), tstr("iss"), b"\xf6",
                                      weird(rng)]),
                          weird(rng)))
        elif field in ("iat", "exp"):
            claims[field] = rng.choice(
                [*int_forms(rng.choice([NOW, NOW + 1, NOW - 1, 0, 2**32 - 1, 2**32, -1,
                                        NOW + 2 * HOUR])),
                 *num_lookalikes(NOW), weird(rng)])
        elif field == "health":
            claims[field] = health_variants(rng)
        elif field == "iss":
            claims[field] = rng.choice([tstr("SH"), tstr("X" * 32), tstr("X" * 33), tstr("😷" * 32),
                                        tstr(""), b"\x7f\x61H\x61Z\xff", weird(rng)])
        elif field == "cti":
            claims[field] = rng.choice([bstr(bytes(11)), bstr(bytes(13)), bstr(bytes(12), 1),
                                        b"\x5f\x46" + bytes(6) + b"\x46" + bytes(6) + b"\xff",
                                        weird(rng)])
        else:
            claims[field] = rng.choice([weird(rng), b"\xa0", b"\xa1\x01\xa0"])
    return claims, key_forms, rng.random() < 0.15, extra


# ---- COSE ----

def cose(key, payload: bytes, *, protected: bytes | None = None, unprotected: bytes = b"\xa0",
         signature: bytes | None = None, wrap: bytes = b"\xd2", long_heads: bool = False,
         indefinite: bool = False) -> bytes:
    public = key.public_key()
    if protected is None:
        protected = encode_protected(alg_for(public), kid_for(public))
    if signature is None:
        signature = sign_raw(key, sig_structure(protected, payload))
    width = 2 if long_heads else None
    body = [bstr(protected, width), unprotected, bstr(payload, width), bstr(signature, width)]
    return wrap + carray(body, indefinite)


def text(data: bytes, prefix: str = "HCC1:") -> str:
    return prefix + b45encode(data)


def protected_variant(rng: random.Random, key) -> bytes:
    public = key.public_key()
    alg, kid = int(alg_for(public)), kid_for(public)
    choices = [
        cbor2.dumps({1: alg, 4: kid}), cbor2.dumps({4: kid, 1: alg}),
        cmap([(uint(1), rng.choice(int_forms(alg))), (uint(4), bstr(kid))]),
        cmap([(uint(1), uint(alg)), (uint(4), bstr(kid))], indefinite=True),
        cbor2.dumps({1: -8 if alg == -7 else -7, 4: kid}), cbor2.dumps({1: -35, 4: kid}),
        cbor2.dumps({1: alg, 4: kid, 99: "x"}), cbor2.dumps({1: alg}), cbor2.dumps({4: kid}),
        cbor2.dumps({1: alg, 4: b""}), cbor2.dumps({1: alg, 4: b"AAAAAAAA"}),
        cbor2.dumps({1: str(alg), 4: kid}), cbor2.dumps([alg, kid]), b"",
        cmap([(f64(1.0), uint(alg)), (uint(4), bstr(kid))]),
        cmap([(b"\xf5", uint(alg)), (uint(4), bstr(kid))]),
        cmap([(uint(1), f64(float(alg))), (uint(4), bstr(kid))]),
        cmap([(uint(1), uint(alg)), (uint(4), bstr(kid)), (uint(1), uint(alg))]),
        cmap([(uint(1), uint(alg)), (uint(4), bstr(kid))]) + b"\x00",
        cmap([(uint(1), uint(alg)), (uint(4), weird(rng))]),
    ]
    return rng.choice(choices)


def byte_mutation(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    roll = rng.random()
    if roll < 0.25:
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
    elif roll < 0.4:
        b[rng.randrange(len(b))] = rng.randrange(256)
    elif roll < 0.5:
        del b[rng.randrange(1, len(b)):]
    elif roll < 0.6:
        b += rng.choice([b"\x00", b"\xff", rng.randbytes(rng.randrange(1, 8))])
    elif roll < 0.7:
        i = rng.randrange(len(b))
        b[i:i] = rng.randbytes(rng.randrange(1, 4))
    elif roll < 0.8:
        i = rng.randrange(len(b))
        del b[i:i + rng.randrange(1, 4)]
    elif roll < 0.9:
        b = bytearray(b[1:])  # the tag removed
    else:
        b = bytearray(rng.choice([tag(55799, bytes(b)), tag(28, bytes(b)), tag(256, bytes(b)),
                                  tag(6, bytes(b)), b"\xd8\x12" + bytes(b[1:]),
                                  b"\xd9\x00\x12" + bytes(b[1:])]))
    return bytes(b)


def text_mutation(rng: random.Random, code: str) -> str:
    roll = rng.random()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    i = rng.randrange(5, len(code))
    if roll < 0.3:
        return code[:i] + rng.choice(alphabet) + code[i + 1:]
    if roll < 0.45:
        return code[:i] + code[i + 1:]
    if roll < 0.55:
        return code[:i] + rng.choice(alphabet) + code[i:]
    if roll < 0.6:
        return code.lower()
    if roll < 0.65:
        return rng.choice(["HCC2:", "hcc1:", "HC1:", "HCP1:", "", " HCC1:"]) + code[5:]
    if roll < 0.7:
        return code[:i] + rng.choice(["é", "😷", "\n", "a", "_", "\x00"]) + code[i:]
    if roll < 0.75:
        return code + code[5:] * rng.choice([1, 10])
    if roll < 0.8:
        return code[:i]
    if roll < 0.85:
        return "HCC1:" + "😷" * rng.choice([1000, 1025, 2044])
    return code[:i] + "::" + code[i + 2:]


__all__ = ["NOW", "base_claims", "bstr", "byte_mutation", "carray", "cmap", "cnf_variant",
           "cose", "encode", "int_forms", "mutate_claims", "protected_variant", "text",
           "text_mutation", "tstr", "uint", "weird"]


# ---- random CBOR items, for what the decoders accept ----

TAGS = [0, 1, 2, 3, 4, 5, 25, 28, 29, 30, 35, 36, 37, 100, 256, 258, 260, 261, 1004, 43000,
        55799, 6, 18, 24, 32, 2**32, 2**64 - 1]


def random_key(rng: random.Random, depth: int) -> bytes:
    """A map key: mostly an integer or a text (the language), sometimes anything."""
    roll = rng.random()
    if roll < 0.4:
        n = rng.choice([0, 1, 5, 23, 24, -1, -65537, 2**64 - 1, rng.randrange(-500, 500)])
        return uint(n, rng.choice([None, None, 8]) if abs(n) < 2**32 else None)
    if roll < 0.7:
        return rng.choice([tstr(rng.choice(["", "a", "typ", "健康码"])), b"\x7f\x61a\x61b\xff"])
    return random_item(rng, depth)


def random_item(rng: random.Random, depth: int = 0) -> bytes:
    """A random CBOR item, mostly well formed, in any encoding: every major type, indefinite
    lengths, floats, simple values, map keys of every kind and some twice, semantic tags
    (all but the last three are in the language a verifier reads)."""
    roll = rng.random() if depth < 4 else rng.random() * 0.6
    if roll < 0.15:
        n = rng.choice([0, 1, 2, 23, 24, 255, -1, -25, 2**32, -(2**64), 2**64 - 1,
                        rng.randrange(-1000, 1000)])
        widths = [w for w in (1, 2, 4, 8) if abs(n) < 256 ** w and n.bit_length() < 8 * w + 1]
        return uint(n, rng.choice([None, *widths]) if widths else None)
    if roll < 0.25:
        data = rng.choice([b"", rng.randbytes(rng.randrange(20)), bytes(16), bytes(4), bytes(6)])
        if rng.random() < 0.15:
            return b"\x5f" + bstr(data[:2]) + bstr(data[2:]) + b"\xff"
        return bstr(data)
    if roll < 0.35:
        s = rng.choice(["", "a", "abc", "2026-11-18T10:00:00Z", "2026-02-29", "1.5", "NaN",
                        "F", "N", "(", "a+", "健康码", "x" * 30])
        if rng.random() < 0.1:
            return rng.choice([b"\x62\xc3\x28", b"\x7f\x61a\x61b\xff", b"\x7f\x41a\xff"])
        return tstr(s)
    if roll < 0.45:
        return rng.choice([b"\xf4", b"\xf5", b"\xf6", b"\xf7", b"\xe5", b"\xf8\x10", b"\xf8\xff",
                           f16(rng.choice([0.0, -0.0, 1.0, 2.0, 65504.0, float("nan"),
                                           float("inf"), 5.960464477539063e-08])),
                           f32(rng.choice([1.0, 0.1, 3.4e38])), f64(rng.choice([1.0, 1e300, 0.5])),
                           b"\xff", b"\xfc", b"\x1c", b"\x18"])
    if roll < 0.65:
        items = [random_item(rng, depth + 1) for _ in range(rng.randrange(4))]
        return carray(items, indefinite=rng.random() < 0.2)
    if roll < 0.85:
        pairs = [(random_key(rng, depth + 1), random_item(rng, depth + 1))
                 for _ in range(rng.randrange(4))]
        if pairs and rng.random() < 0.2:
            pairs.append((pairs[0][0], random_item(rng, depth + 1)))
        return cmap(pairs, indefinite=rng.random() < 0.2)
    number = rng.choice(TAGS)
    if number in (2, 3):
        content = bstr(rng.randbytes(rng.randrange(12)))
    elif number in (4, 5, 30, 43000) and rng.random() < 0.7:
        content = carray([random_item(rng, 3) for _ in range(rng.choice([2, 2, 2, 1, 3]))])
    elif number == 1 and rng.random() < 0.7:
        content = rng.choice([uint(NOW), f64(1.5e9), uint(-(2**40)), f16(float("nan"))])
    elif number == 256:
        content = carray([tstr("abc"), tag(25, uint(rng.choice([0, 1]))), bstr(b"defg"),
                          tag(25, uint(1))])
    elif number == 28:
        content = rng.choice([carray([uint(1), tag(29, uint(0))]), uint(5), b"\xf5",
                              random_item(rng, depth + 1)])
    else:
        content = random_item(rng, depth + 1)
    return tag(number, content)
