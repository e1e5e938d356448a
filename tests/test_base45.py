import random

import base45 as reference
import pytest

from verifier.base45 import ALPHABET, Base45Error, b45decode, b45encode

# RFC 9285 section 4.3 and 4.4 examples.
RFC_EXAMPLES = [(b"AB", "BB8"), (b"Hello!!", "%69 VD92EX0"), (b"base-45", "UJCLQE7W581"),
                (b"ietf!", "QED8WEX0"), (b"", "")]


@pytest.mark.parametrize(("data", "text"), RFC_EXAMPLES)
def test_rfc_examples(data, text):
    assert b45encode(data) == text
    assert b45decode(text) == data


def test_matches_reference_package_both_ways():
    rng = random.Random(45)
    for length in list(range(0, 40)) + [143, 144, 145, 400]:
        for _ in range(20):
            data = rng.randbytes(length)
            text = b45encode(data)
            assert text == reference.b45encode(data).decode()
            assert b45decode(text) == data


def test_extreme_groups():
    assert b45decode(b45encode(b"\xff\xff\xff")) == b"\xff\xff\xff"
    assert b45encode(b"\xff\xff") == "FGW"
    assert b45encode(b"\x00\x00") == "000"


@pytest.mark.parametrize(("text", "why"), [
    ("GGW", "65536 is one past the largest two-byte group"),
    (":::", "44 + 44*45 + 44*2025 overflows"),
    ("000GGW", "overflow in a later group"),
    ("0:", "a final pair above 255"),
    ("A", "length 3k+1"),
    ("0000", "length 3k+1"),
    ("ab", "lower case is not in the alphabet"),
    ("AB=", "'=' is not in the alphabet"),
    ("AÉB", "non-ASCII"),
])
def test_rejects(text, why):
    with pytest.raises(Base45Error):
        b45decode(text)


def test_every_single_character_of_the_alphabet_round_trips_in_a_pair():
    for c in ALPHABET:
        for d in ALPHABET:
            value = ALPHABET.index(c) + 45 * ALPHABET.index(d)
            if value <= 0xFF:
                assert b45decode(c + d) == bytes([value])
            else:
                with pytest.raises(Base45Error):
                    b45decode(c + d)
