"""Untrusted input is refused cleanly, as ``malformed``, and before any costly parsing.

Pictures and texts come from strangers' phones. Whatever they hold (a 50 MB blob, a PNG that
claims to be 30000 pixels square, a truncated JPEG, CBOR nested a hundred thousand deep, a
byte string claiming 2**63 bytes), the verifier must answer with a :class:`VerificationError`,
never a ``ValueError``, ``KeyError``, a cbor2 or a Pillow error. No timings are asserted: the
bounds are shown to run first by making the expensive step fail the test if it is reached.
"""

from __future__ import annotations

import importlib
import io
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cbor2
import pytest
from imaging import (
    CHECK_AT,
    FOREIGN_TEXT,
    PNG_SIGNATURE,
    Issued,
    camera_frame,
    encode,
    issue_sample,
    jpeg_claiming,
    png_claiming,
    png_whole,
    qr_image,
)
from PIL import Image, ImageFile

from verifier import (
    CREDENTIAL_PREFIX,
    Credential,
    Reason,
    VerificationError,
    decode_image,
    decode_unverified,
    verify,
    verify_image,
)
from verifier import image as image_module
from verifier.base45 import ALPHABET, b45decode, b45encode
from verifier.image import (
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    UPLOAD_PIXELS,
    load_image,
)
from verifier.verify import MAX_TEXT_LENGTH

BACKENDS = ["zxing", "pyzbar"]
MB = 1024 * 1024
# The module, not the function that ``verifier`` re-exports under the same name.
verify_module = importlib.import_module("verifier.verify")


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return issue_sample(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def code_png(issued: Issued) -> bytes:
    return encode(qr_image(issued.text, module_px=4), "PNG")


@pytest.fixture(scope="module")
def code_jpeg(issued: Issued) -> bytes:
    return encode(camera_frame(issued.text, (320, 240), seed=2), "JPEG", quality=70)


def _fail(what: str) -> Callable[..., Any]:
    def called(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"{what} was reached; the bound should have refused the input")
    return called


@pytest.fixture
def no_image_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if Pillow is asked to open (even just to read the header of) anything."""
    monkeypatch.setattr(image_module.Image, "open", _fail("Image.open"))


@pytest.fixture
def no_pixel_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if Pillow is asked to decode pixels (headers may be read)."""
    monkeypatch.setattr(ImageFile.ImageFile, "load", _fail("pixel decoding"))


@pytest.fixture
def no_base45_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a text reaches the Base45 decoder."""
    monkeypatch.setattr(verify_module, "b45decode", _fail("b45decode"))


def assert_malformed(call: Callable[[], Any]) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        call()
    assert caught.value.reason is Reason.MALFORMED
    return caught.value


def assert_image_malformed(source: Any, issued: Issued, backend: str = "zxing") -> None:
    """Both the decoder and the verdict refuse ``source`` as malformed."""
    assert_malformed(lambda: decode_image(source, backend))
    assert_malformed(lambda: verify_image(source, issued.trust, now=CHECK_AT, backend=backend))


def assert_text_malformed(text: Any, issued: Issued) -> None:
    """Both verify() and decode_unverified() refuse ``text`` as malformed."""
    assert_malformed(lambda: verify(text, issued.trust, now=CHECK_AT))
    assert_malformed(lambda: decode_unverified(text))


def run_all(call: Callable[[Any], Any], cases: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Call ``call`` on every case; return ``(accepted, leaked)``.

    ``accepted`` lists the cases that returned normally, ``leaked`` the ``(case, exception)``
    pairs where anything other than a :class:`VerificationError` escaped. A test reports every
    leak at once rather than stopping at the first.
    """
    accepted, leaked = [], []
    for case in cases:
        try:
            call(case)
        except VerificationError:
            continue
        except Exception as exc:  # noqa: BLE001 (collecting every leak is the point)
            leaked.append((case, repr(exc)))
            continue
        accepted.append(case)
    return accepted, leaked


def wrap(data: bytes) -> str:
    """``data`` as a code text: the prefix and valid Base45, so it reaches the CBOR decoder."""
    return CREDENTIAL_PREFIX + b45encode(data)


def sign1_parts(text: str) -> list[Any]:
    """The four members of a code's COSE_Sign1, for rebuilding it with one of them changed."""
    return cbor2.loads(b45decode(text[len(CREDENTIAL_PREFIX):])).value


# --- images: size bounds before parsing -------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_50_mb_bytes_refused_unopened(backend: str, issued: Issued,
                                      no_image_parsing: None) -> None:
    blob = PNG_SIGNATURE + bytes(50 * MB)
    assert_image_malformed(blob, issued, backend)


@pytest.mark.parametrize("as_str", [False, True], ids=["Path", "str"])
def test_50_mb_file_refused_unopened(as_str: bool, issued: Issued, tmp_path: Path,
                                     no_image_parsing: None) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as fh:
        fh.write(PNG_SIGNATURE)
        fh.truncate(50 * MB)  # sparse: no 50 MB written to the disk
    assert_image_malformed(str(path) if as_str else path, issued)


def test_byte_bound_is_exact(issued: Issued, code_png: bytes) -> None:
    """A PNG padded to exactly MAX_IMAGE_BYTES is read; one byte more is refused."""
    padded = code_png + bytes(MAX_IMAGE_BYTES - len(code_png))  # Pillow stops at IEND
    assert decode_image(padded) == [issued.text]
    assert_image_malformed(padded + b"\0", issued)


@pytest.mark.parametrize(("kind", "width", "height"), [
    ("png", 30000, 30000),          # beyond Pillow's own bomb limit: refused in Image.open
    ("png", 10000, 10000),          # Pillow only warns; MAX_PIXELS refuses it
    ("png", 6000, 6000),            # under Pillow's limits, over MAX_PIXELS
    ("png", MAX_PIXELS + 1, 1),     # one pixel over, in a single row
    ("png", 2**31 - 1, 2**31 - 1),  # the largest a PNG header can state
    ("jpeg", 0xFFFF, 0xFFFF),       # the largest a JPEG frame header can state
    ("jpeg", 10000, 10000),
    ("jpeg", 6000, 6000),
], ids=str)
def test_decompression_bomb_refused_from_header(kind: str, width: int, height: int,
                                                 issued: Issued,
                                                 no_pixel_decoding: None) -> None:
    data = png_claiming(width, height) if kind == "png" else jpeg_claiming(width, height)
    assert len(data) < 2048  # the bomb is tiny; only its header is big
    assert_image_malformed(data, issued)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", [(65536, 1), (1, 65536), (MAX_SIDE + 1, 1), (1, MAX_SIDE + 1)],
                         ids=str)
def test_a_side_over_the_bound_is_refused(size: tuple[int, int], backend: str,
                                          issued: Issued) -> None:
    """Issue 13: a 142-byte PNG of 65536x1 (few pixels, one side beyond what zxing-cpp takes)
    crashed the decoder with a ValueError."""
    data = png_whole(*size)
    assert len(data) < 400
    assert_image_malformed(data, issued, backend)
    assert_image_malformed(Image.new("L", size, 255), issued, backend)


def test_check_refuses_a_long_thin_png_without_a_traceback(issued: Issued,
                                                           tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    path = tmp_path / "thin.png"
    path.write_bytes(png_whole(65536, 1))
    done = subprocess.run([str(Path(sys.executable).with_name("healthcode-verifier")), "check",
                           str(path), "--trust", str(issued.home.trust_list), "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["reason"] == "malformed"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("kind", "size"), [
    ("png", (3840, 2160)), ("jpeg", (4000, 3000)), ("jpeg", (MAX_SIDE, 2500)),
    ("png-rgba16", (3840, 2160))], ids=str)
def test_a_fitted_upload_is_decoded_at_a_frame_s_size(kind: str, size: tuple[int, int]) -> None:
    """Uploads at a checkpoint are scaled to at most UPLOAD_PIXELS before any decoding pass."""
    if kind == "png-rgba16":
        data = png_whole(*size, depth=16, colour=6)
    else:
        data = encode(Image.new("L", size, 200), kind.upper())
    image = load_image(data, fit=UPLOAD_PIXELS)
    assert image.width * image.height <= UPLOAD_PIXELS
    assert image.width >= size[0] // 4  # scaled down, not thrown away
    assert load_image(data).size == size  # unfitted (healthcode-verifier check): whole


@pytest.mark.parametrize("data", [png_whole(5000, 5000), png_whole(5000, 5000, 16, 6)],
                         ids=["grey", "rgba16"])
def test_a_fitted_png_larger_than_a_screenshot_is_refused(data: bytes,
                                                          no_pixel_decoding: None) -> None:
    """Issue 13: a 24 KB 5000x5000 PNG took 2.2 s to check at the kiosk, a 194 KB 16-bit RGBA
    one 4.4 s; a PNG is decoded whole before it can be scaled, so a fitted one is bounded."""
    with pytest.raises(VerificationError) as caught:
        load_image(data, fit=UPLOAD_PIXELS)
    assert caught.value.reason is Reason.MALFORMED


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_bomb_refused_when_pillow_only_warns(issued: Issued, no_pixel_decoding: None) -> None:
    """Outside pytest Pillow's warning is not an error; MAX_PIXELS still refuses the image."""
    for data in (png_claiming(10000, 10000), jpeg_claiming(10000, 10000)):
        assert_image_malformed(data, issued)


@pytest.mark.parametrize("size", [(6000, 6000), (MAX_PIXELS // 10 + 1, 10)], ids=str)
def test_oversize_pil_image_refused(size: tuple[int, int], issued: Issued) -> None:
    assert_image_malformed(Image.new("1", size), issued)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("size", [(0, 0), (0, 10), (10, 0)], ids=str)
def test_empty_pil_image_refused(size: tuple[int, int], backend: str, issued: Issued) -> None:
    # Regression: both decoders crashed on a zero-sized image (ValueError, ZeroDivisionError).
    assert_image_malformed(Image.new("L", size), issued, backend)


# --- images: damaged, foreign or random files -------------------------------------------------

@pytest.mark.parametrize("keep", [0, 1, 8, 16, 33, 0.25, 0.5, 0.9],
                         ids=lambda k: f"{k:.0%}" if isinstance(k, float) else f"{k}B")
@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_truncated_image(kind: str, keep: float, issued: Issued, code_png: bytes,
                         code_jpeg: bytes) -> None:
    data = code_png if kind == "png" else code_jpeg
    cut = keep if isinstance(keep, int) else int(len(data) * keep)
    assert_image_malformed(data[:cut], issued)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "WEBP", "PPM", "ICO"])
def test_other_formats_refused_even_with_a_readable_code(fmt: str, issued: Issued) -> None:
    picture = qr_image(issued.text, module_px=2)
    data = encode(picture.convert("RGB") if fmt == "ICO" else picture, fmt)
    assert_image_malformed(data, issued)


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_bytes(backend: str, issued: Issued) -> None:
    rng = random.Random(7)
    heads = [b"", PNG_SIGNATURE, b"\xff\xd8\xff\xe0", b"GIF89a", b"BM"]
    cases = [head + rng.randbytes(length)
             for head in heads for length in (0, 1, 7, 100, 4096, 100_000)]
    accepted, leaked = run_all(lambda data: decode_image(data, backend), cases)
    assert leaked == []
    assert accepted == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupted_images_never_leak(backend: str, issued: Issued, code_png: bytes,
                                     code_jpeg: bytes) -> None:
    """Random damage to a real PNG or JPEG (with EXIF): a result or ``malformed``, nothing else.

    Some damage leaves the code readable (a flipped byte in a text chunk), so a returned list
    of texts is fine here; only a leaked exception is a failure.
    """
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate, so exif_transpose has work to do
    exif[0x010F] = "healthcode test camera"
    with_exif = encode(Image.open(io.BytesIO(code_jpeg)), "JPEG", quality=70,
                       exif=exif.tobytes())
    rng = random.Random(8)
    cases = []
    for _ in range(150):
        data = bytearray(rng.choice([code_png, code_jpeg, with_exif]))
        for _ in range(rng.choice([1, 1, 2, 5, 20])):
            at = rng.randrange(len(data))
            operation = rng.randrange(3)
            if operation == 0:
                data[at] = rng.randrange(256)
            elif operation == 1:
                del data[at:at + rng.randrange(1, 50)]
            else:
                data[at:at] = rng.randbytes(rng.randrange(1, 20))
        cases.append(bytes(data))
    _, leaked = run_all(lambda data: decode_image(data, backend), cases)
    assert leaked == []


# --- texts: length bound before decoding ------------------------------------------------------

@pytest.mark.parametrize("length", [MAX_TEXT_LENGTH + 1, 100_000, 50 * MB])
def test_oversize_text_refused_undecoded(length: int, issued: Issued,
                                         no_base45_decoding: None) -> None:
    text = CREDENTIAL_PREFIX + "0" * (length - len(CREDENTIAL_PREFIX))
    assert len(text) == length
    assert_text_malformed(text, issued)


def test_text_bound_is_exact(issued: Issued, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text of exactly MAX_TEXT_LENGTH characters is decoded (and then refused as CBOR)."""
    seen: list[str] = []

    def spy(text: str) -> bytes:
        seen.append(text)
        return b45decode(text)

    monkeypatch.setattr(verify_module, "b45decode", spy)
    body_length = MAX_TEXT_LENGTH - len(CREDENTIAL_PREFIX)
    assert body_length % 3 != 1  # a legal Base45 length, so the decoder gets to run
    text = CREDENTIAL_PREFIX + "0" * body_length  # zero bytes: not a COSE_Sign1
    assert_malformed(lambda: verify(text, issued.trust, now=CHECK_AT))
    assert len(seen) == 1


def test_deeply_nested_cbor_beyond_the_length_bound(issued: Issued,
                                                    no_base45_decoding: None) -> None:
    assert_text_malformed(wrap(b"\x81" * 100_000), issued)


@pytest.mark.parametrize("data", [
    b"\x81" * 1300 + b"\x00",                    # arrays in arrays
    b"\xd2" + b"\x81" * 1300 + b"\x00",          # the same inside the COSE_Sign1 tag
    b"\x9f" * 1300,                              # unterminated indefinite arrays
    b"\xa1\x00" * 650 + b"\x00",                 # maps in maps
    b"\xd2" * 1300 + b"\x00",                    # tags on tags
    b"\xd2\x84\x40\xa1\x00" + b"\x81" * 1200 + b"\x00\x40\x40",  # deep unprotected header
], ids=["arrays", "tagged-arrays", "indefinite", "maps", "tags", "unprotected-header"])
def test_deeply_nested_cbor_within_the_length_bound(data: bytes, issued: Issued) -> None:
    text = wrap(data)
    assert len(text) <= MAX_TEXT_LENGTH
    assert_text_malformed(text, issued)


@pytest.mark.parametrize("claimed", [2**31, 2**32 - 1, 2**63, 2**64 - 1], ids=hex)
@pytest.mark.parametrize("major", [2, 3, 4, 5], ids=["bytes", "text", "array", "map"])
@pytest.mark.parametrize("inside", [False, True], ids=["bare", "in-sign1"])
def test_huge_length_claims(claimed: int, major: int, inside: bool, issued: Issued) -> None:
    head = bytes([major << 5 | 27]) + claimed.to_bytes(8, "big")
    data = (b"\xd2\x84" + head if inside else head) + b"\x00" * 16
    assert_text_malformed(wrap(data), issued)


@pytest.mark.parametrize("item", [
    cbor2.CBORTag(5, [2**70, 5]),      # bigfloat: decimal.Overflow
    cbor2.CBORTag(4, [1, "x"]),        # decimal fraction: decimal.InvalidOperation
    cbor2.CBORTag(4, [2**70, 5]),      # decimal fraction: exponent beyond a C ssize_t
    cbor2.CBORTag(1, 10**30),          # epoch date out of range
    cbor2.CBORTag(35, "("),            # invalid regular expression
    cbor2.CBORTag(29, 99),             # dangling shared reference
], ids=["bigfloat", "decimal-syntax", "decimal-exponent", "epoch", "regex", "sharedref"])
@pytest.mark.parametrize("where", ["bare", "unprotected-header"])
def test_semantic_tags_that_fail_to_build(item: cbor2.CBORTag, where: str,
                                          issued: Issued) -> None:
    # Regression: cbor2 builds Decimals for tags 4 and 5, and their decimal.Overflow and
    # InvalidOperation (ArithmeticError, not ValueError) escaped the CBOR boundary.
    if where == "bare":
        data = cbor2.dumps(item)
    else:
        protected, _, payload, signature = sign1_parts(issued.text)
        data = cbor2.dumps(cbor2.CBORTag(18, [protected, {99: item}, payload, signature]))
    assert_text_malformed(wrap(data), issued)


# --- texts: characters and shapes ---------------------------------------------------------------

@pytest.mark.parametrize("change", [
    lambda t: t[:40] + "É" + t[41:],
    lambda t: t[:40] + "\u00a0" + t[41:],       # no-break space next to Base45's own space
    lambda t: t[:40] + "\uff10" + t[41:],       # fullwidth digit zero
    lambda t: t[:40] + "\x00" + t[41:],
    lambda t: t + "\U0001f600",
    lambda t: "\ufeff" + t,                      # byte-order mark before the prefix
    lambda t: "НСС1:" + t[5:],                   # Cyrillic look-alike prefix
    lambda t: t[:5] + t[5:].lower(),
], ids=["e-acute", "nbsp", "fullwidth", "nul", "emoji", "bom", "cyrillic-prefix", "lower"])
def test_non_ascii_and_foreign_characters(change: Callable[[str], str], issued: Issued) -> None:
    assert_text_malformed(change(issued.text), issued)


def test_base45_length_3k_plus_1(issued: Issued) -> None:
    body = issued.text[len(CREDENTIAL_PREFIX):]
    for length in (1, 4, 3 * (len(body) // 3) - 2, 3 * (len(body) // 3) + 1):
        assert length % 3 == 1
        text = CREDENTIAL_PREFIX + (body * 2)[:length]
        assert_text_malformed(text, issued)


@pytest.mark.parametrize("text", [
    "", "HCC1", "HCC1:", "hcc1:" + "0" * 30, "HCC2:" + "0" * 30, FOREIGN_TEXT,
    b"HCC1:00", None, 123, ["HCC1:"],
], ids=repr)
def test_empty_prefixless_and_non_text(text: Any, issued: Issued) -> None:
    assert_text_malformed(text, issued)


# --- texts: seeded fuzzing --------------------------------------------------------------------

def _random_cbor(rng: random.Random, depth: int = 0) -> Any:
    """A random CBOR value, tags and odd numbers included, at most five deep."""
    kind = rng.randrange(12 if depth < 5 else 7)
    if kind == 0:
        return rng.choice([0, -1, 2**64, -(2**70), 10**30, rng.randrange(-2**40, 2**40)])
    if kind == 1:
        return rng.choice([0.0, 1.5, float("inf"), float("nan"), 1e300])
    if kind == 2:
        return rng.randbytes(rng.choice([0, 1, 12, 32, 64, rng.randrange(100)]))
    if kind == 3:
        return rng.choice(["", "HZ", "(", "2026-01-01", "1.2.3.4", "x" * 40])
    if kind == 4:
        return rng.choice([None, True, False, cbor2.undefined])
    if kind in (5, 6):
        return rng.randrange(-300, 300)
    if kind in (7, 8):
        return [_random_cbor(rng, depth + 1) for _ in range(rng.randrange(5))]
    if kind == 9:
        return {rng.choice([1, 4, 6, 7, 8, -65537, "x"]): _random_cbor(rng, depth + 1)
                for _ in range(rng.randrange(5))}
    tag = rng.choice([0, 1, 2, 3, 4, 5, 18, 24, 25, 28, 29, 30, 35, 36, 37, 256, 258, 260,
                      261, 1004, 55799])
    return cbor2.CBORTag(tag, _random_cbor(rng, depth + 1))


def test_random_base45_garbage(issued: Issued) -> None:
    rng = random.Random(45)
    cases = [CREDENTIAL_PREFIX + "".join(rng.choices(ALPHABET, k=rng.choice(
        [rng.randrange(12), rng.randrange(400), rng.randrange(MAX_TEXT_LENGTH)])))
        for _ in range(3000)]
    for call in (lambda t: verify(t, issued.trust, now=CHECK_AT), decode_unverified):
        accepted, leaked = run_all(call, cases)
        assert leaked == []
        assert accepted == []


def test_random_bytes_as_valid_base45(issued: Issued) -> None:
    rng = random.Random(46)
    cases = [wrap(rng.randbytes(rng.randrange(1300))) for _ in range(2000)]
    for call in (lambda t: verify(t, issued.trust, now=CHECK_AT), decode_unverified):
        accepted, leaked = run_all(call, cases)
        assert leaked == []
        assert accepted == []


def test_random_cbor_structures(issued: Issued) -> None:
    rng = random.Random(47)
    protected, _, payload, signature = sign1_parts(issued.text)
    cases = []
    for _ in range(2000):
        value = _random_cbor(rng)
        shape = rng.randrange(3)
        if shape == 1:  # a COSE_Sign1 with one member replaced by the random value
            members: list[Any] = [protected, {}, payload, signature]
            at = rng.randrange(4)
            if at == 1 and isinstance(value, dict):
                at = 0  # any map is a fine unprotected header: nobody reads it
            members[at] = value
            value = cbor2.CBORTag(18, members)
        elif shape == 2:  # a signed-looking message whose payload is random CBOR
            value = cbor2.CBORTag(18, [protected, {}, cbor2.dumps(value), signature])
        cases.append(wrap(cbor2.dumps(value)))
    accepted, leaked = run_all(lambda t: verify(t, issued.trust, now=CHECK_AT), cases)
    assert leaked == []
    assert accepted == []
    # Unverified decoding may read a random payload as claims, but must not crash on it.
    _, leaked = run_all(decode_unverified, cases)
    assert leaked == []


def test_mutated_real_code(issued: Issued) -> None:
    """Byte-level damage to a real COSE_Sign1, and character-level damage to its text."""
    rng = random.Random(48)
    raw = bytearray(b45decode(issued.text[len(CREDENTIAL_PREFIX):]))
    cases = []
    for _ in range(1500):
        data = bytearray(raw)
        for _ in range(rng.choice([1, 1, 1, 2, 4])):
            at = rng.randrange(len(data))
            operation = rng.randrange(4)
            if operation == 0:
                data[at] ^= 1 << rng.randrange(8)
            elif operation == 1:
                data[at] = rng.randrange(256)
            elif operation == 2:
                del data[at]
            else:
                data.insert(at, rng.randrange(256))
        cases.append(wrap(bytes(data)))
    for _ in range(1500):
        chars = list(issued.text)
        at = rng.randrange(len(CREDENTIAL_PREFIX), len(chars))
        chars[at] = rng.choice(ALPHABET)
        cases.append("".join(chars))
    cases = [case for case in cases if case != issued.text]
    accepted, leaked = run_all(lambda t: verify(t, issued.trust, now=CHECK_AT), cases)
    assert leaked == []
    assert accepted == []
    # Unverified decoding still reads a code whose signature alone was damaged.
    _, leaked = run_all(decode_unverified, cases)
    assert leaked == []


def test_the_sample_itself_verifies(issued: Issued) -> None:
    """The fuzzing above starts from a code that is valid, or it would prove nothing."""
    assert isinstance(verify(issued.text, issued.trust, now=CHECK_AT), Credential)
