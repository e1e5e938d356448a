"""issuer.render.qr, qrmask, qrfast and png: codes take their version's fixed mask, the
template encoder draws segno's symbol module for module, every such symbol reads back with both
real decoders (zxing-cpp and zbar), and the PNG writer draws exactly the modules segno's own
writer draws."""

from __future__ import annotations

import io
import random
import secrets

import pytest
import segno
import zxingcpp
from conftest import NOW
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from PIL import Image, ImageChops
from pyzbar import pyzbar

from issuer.keys.signing import issue_credential
from issuer.render.png import symbol_png
from issuer.render.qr import (
    PNG_SCALE,
    QUIET_ZONE,
    code_matrix,
    make_qr,
    render_image,
    write_code,
    write_text_qr,
)
from issuer.render.qrfast import fast_matrix
from issuer.render.qrmask import (
    ALPHANUMERIC_M_CAPACITY,
    FIXED_MASKS,
    fixed_mask,
    penalty,
    sample_texts,
    version_for,
)
from verifier import IdCheck, cnf_for
from verifier.base45 import b45decode
from verifier.image import load_image
from verifier.presentation import encode_presentation

#: Issuer ids of one, a few and the most characters the format allows.
ISSUERS = ("H", "HZ", "CN-ZJ-HZ", "https://health.hangzhou.example")
PER_KIND = 3


def read_both(png: bytes) -> tuple[list[str], list[str]]:
    """The texts zxing-cpp and zbar read from ``png`` in one plain pass each (no retries)."""
    image = load_image(png)
    zxing = [found.text for found in zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormat.QRCode) if found.valid]
    zbar = [found.data.decode("ascii") for found in pyzbar.decode(
        image, symbols=[pyzbar.ZBarSymbol.QRCODE])]
    return zxing, zbar


KINDS = ["static", "static, policy", "static, check-ID (Chinese name)",
         "static, check-ID (Latin name)", "phone-bound", "live presentation"]


@pytest.fixture(scope="module")
def codes() -> dict[str, list[str]]:
    """Credentials as the issuer makes them (ES256 and Ed25519 keys, every issuer id length):
    static ones with and without a policy and check-ID fields, phone-bound ones, and the
    phone's live presentations of those."""
    keys = [ec.generate_private_key(ec.SECP256R1()), ed25519.Ed25519PrivateKey.generate()]
    phone = ec.generate_private_key(ec.SECP256R1())
    check_id = {"Chinese": IdCheck.of("欧阳娜娜", "33010619900101123X"),
                "Latin": IdCheck.of("Zhang San", "E12345678")}
    kinds = {
        "static": {},
        "static, policy": {"policy": secrets.token_bytes(8)},
        **{f"static, check-ID ({script} name)": {"policy": secrets.token_bytes(8),
                                                  "id_check": fields}
           for script, fields in check_id.items()},
        "phone-bound": {"policy": secrets.token_bytes(8), "cnf": cnf_for(phone.public_key())},
    }
    codes: dict[str, list[str]] = {kind: [] for kind in [*kinds, "live presentation"]}
    for kind, claims in kinds.items():
        for i in range(PER_KIND * len(ISSUERS)):
            text = issue_credential(keys[i % 2], iss=ISSUERS[i % len(ISSUERS)], colour="green",
                                    score=i * 7 % 101, iat=NOW, ttl=86400, **claims)
            codes[kind].append(text)
            if "cnf" in claims:
                codes["live presentation"].append(encode_presentation(
                    b45decode(text[5:]), NOW + i, secrets.token_bytes(64)))
    assert list(codes) == KINDS
    return codes


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_code_takes_its_fixed_mask_and_reads_back(codes, kind):
    for text in codes[kind]:
        qr = make_qr(text)
        assert (qr.mode, qr.error, qr.mask) == ("alphanumeric", "M", FIXED_MASKS[qr.version])
        assert read_both(render_image(text, "png")) == ([text], [text])


def test_the_codes_span_every_version_with_a_fixed_mask(codes):
    versions = {make_qr(text).version for texts in codes.values() for text in texts}
    assert versions == set(FIXED_MASKS)


@pytest.mark.parametrize("version", FIXED_MASKS)
def test_the_shortest_and_longest_texts_of_each_version_read_back(version):
    shortest, longest = (ALPHANUMERIC_M_CAPACITY[version - 2] + 1,
                         ALPHANUMERIC_M_CAPACITY[version - 1])
    for text in sample_texts(version, 6, seed=version):
        for sized in (text[:shortest], text.ljust(longest, "0")):
            qr = make_qr(sized)
            assert (qr.version, qr.mask) == (version, FIXED_MASKS[version])
            assert read_both(render_image(sized, "png")) == ([sized], [sized])


def test_penalty_is_segno_s_scoring():
    from segno.encoder import mask_scores

    rng = random.Random(18004)
    matrices = [segno.make_qr(text, error="m", mode="alphanumeric", mask=mask).matrix
                for text in sample_texts(8, 2, seed=3) + sample_texts(13, 2, seed=3)
                for mask in range(8)]
    for size, dark in ((21, 0.5), (25, 0.05), (49, 0.95), (57, 0.3), (69, 0.7)):
        matrices += [[bytearray(rng.random() < dark for _ in range(size)) for _ in range(size)]
                     for _ in range(20)]
    for matrix in matrices:
        assert penalty(matrix) == sum(mask_scores(matrix, len(matrix), len(matrix)))


def test_versions_are_segno_s_own():
    """At every version's first and last length."""
    for length in sorted({1} | {n + d for n in ALPHANUMERIC_M_CAPACITY[:-1] for d in (0, 1)}
                         | {ALPHANUMERIC_M_CAPACITY[-1]}):
        auto = segno.make_qr("A" * length, error="m", mode="alphanumeric", mask=0,
                             boost_error=False)
        assert version_for(length) == auto.version, length
    assert version_for(ALPHANUMERIC_M_CAPACITY[-1] + 1) is None


@pytest.mark.parametrize("text", ["HCC1:SHORT", "HCC1:" + "7" * 600])
def test_texts_outside_the_table_keep_the_search(text):
    assert fixed_mask(len(text)) is None
    searched = segno.make_qr(text, error="m", mode="alphanumeric", boost_error=False)
    assert (make_qr(text).version, make_qr(text).mask) == (searched.version, searched.mask)


# The template encoder ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", FIXED_MASKS)
def test_the_template_draws_segno_s_symbol_at_every_length(version):
    """Module for module, from the version's shortest text to its longest: the stream ends
    on a byte boundary at some lengths (where segno adds a zero byte) and not at others."""
    shortest, longest = (ALPHANUMERIC_M_CAPACITY[version - 2] + 1,
                         ALPHANUMERIC_M_CAPACITY[version - 1])
    text = sample_texts(version, 1, seed=11)[0].ljust(longest, "Z")
    for length in range(shortest, longest + 1):
        assert fast_matrix(text[:length]) == [bytes(row) for row in make_qr(
            text[:length]).matrix], length


def test_every_version_with_a_fixed_mask_has_a_template():
    assert all(fast_matrix("HCC1:" + "A" * (ALPHANUMERIC_M_CAPACITY[version - 1] - 5))
               is not None for version in FIXED_MASKS)


@pytest.mark.parametrize("text", ["HCC1:SHORT", "HCC1:" + "7" * 600])
def test_texts_outside_the_table_have_no_template(text):
    assert fast_matrix(text) is None
    assert code_matrix(text) == [bytes(row) for row in make_qr(text).matrix]


@pytest.mark.parametrize("text", ["HCC1:" + "a" * 200, "HCC1:" + "É" * 200,
                                  "HCC1:" + "#" * 200])
def test_the_template_refuses_what_alphanumeric_mode_cannot_hold(text):
    with pytest.raises(ValueError):
        fast_matrix(text)


# The PNG writer --------------------------------------------------------------------------------

def _pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("L")


@pytest.mark.parametrize("scale", [8, 16])
def test_the_png_is_segno_s_picture_pixel_for_pixel(codes, scale):
    qr = make_qr(codes["static, policy"][0])
    ours = symbol_png(qr.matrix, scale, QUIET_ZONE)
    theirs = io.BytesIO()
    qr.save(theirs, kind="png", scale=scale, border=QUIET_ZONE)
    image = Image.open(io.BytesIO(ours))
    assert (image.format, image.mode) == ("PNG", "1")
    assert ImageChops.difference(_pixels(ours), _pixels(theirs.getvalue())).getbbox() is None
    assert _pixels(ours).size == ((len(qr.matrix) + 2 * QUIET_ZONE) * scale,) * 2


@pytest.mark.parametrize("scale", [0, 3, 12, -8])
def test_a_scale_of_part_of_a_byte_is_refused(scale):
    with pytest.raises(ValueError, match="multiple of 8"):
        symbol_png(make_qr("HCC1:X").matrix, scale, QUIET_ZONE)


@pytest.mark.parametrize("kind", KINDS)
def test_the_png_stays_small(codes, kind):
    """Written fast rather than small, but within 1.6 times what segno's writer makes."""
    text = codes[kind][0]
    theirs = io.BytesIO()
    make_qr(text).save(theirs, kind="png", scale=PNG_SCALE, border=QUIET_ZONE)
    assert len(render_image(text, "png")) < 1.6 * len(theirs.getvalue())


def test_files_written_read_back(codes, tmp_path):
    text = codes["static"][0]
    write_code(text, tmp_path / "code.png")
    assert read_both((tmp_path / "code.png").read_bytes()) == ([text], [text])
    write_code(text, tmp_path / "code.svg")
    assert (tmp_path / "code.svg").read_bytes().startswith(b"<svg")
    link = "https://health.example/trust?pin=abc"
    write_text_qr(link, tmp_path / "link.png")
    assert read_both((tmp_path / "link.png").read_bytes()) == ([link], [link])
