"""verifier.image and verifier.scan: from a picture (file, bytes or PIL image) to a verdict.

Every test runs with both QR backends. The pictures range from the issuer's own PNG to a
phone-photo-like JPEG (textured background, rotation, perspective, blur, noise, JPEG 70).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from imaging import (
    CHECK_AT,
    FOREIGN_TEXT,
    NOW,
    Issued,
    camera_frame,
    encode,
    issue_sample,
    qr_image,
)
from PIL import Image

from issuer.keys.signing import issue_credential
from issuer.render.qr import write_code
from verifier import (
    Backend,
    Colour,
    Credential,
    Reason,
    VerificationError,
    decode_image,
    verify_image,
)
from verifier.image import ImageSource

BACKENDS = ["zxing", "pyzbar"]
SOURCE_KINDS = ["str path", "Path", "bytes", "PIL image"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return issue_sample(tmp_path_factory.mktemp("issuer"))


@pytest.fixture(scope="module")
def code_png(issued: Issued, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code as the issuer renders it."""
    path = tmp_path_factory.mktemp("render") / "code.png"
    write_code(issued.text, path)
    return path


def photo(text: str | list[str], **frame: Any) -> bytes:
    """A phone-photo-like JPEG of ``text``: ~15 degrees, skewed, noisy, blurred, quality 70."""
    params: dict[str, Any] = {"rotation": 15.0, "scale": 0.55, "skew": 0.05, "noise": 7.0,
                                 "blur": 0.9, "seed": 1}
    params.update(frame)
    return encode(camera_frame(text, **params), "JPEG", quality=70)


@pytest.fixture(scope="module")
def photo_jpeg(issued: Issued) -> bytes:
    return photo(issued.text)


def as_source(kind: str, data: bytes, folder: Path, suffix: str) -> ImageSource:
    """``data`` (an encoded image) in the form ``kind`` of the ``ImageSource`` union."""
    if kind == "bytes":
        return data
    if kind == "PIL image":
        image = Image.open(io.BytesIO(data))
        image.load()
        return image
    path = _write(data, folder, suffix)
    return str(path) if kind == "str path" else path


def _write(data: bytes, folder: Path, suffix: str) -> Path:
    path = folder / f"picture{suffix}"
    path.write_bytes(data)
    return path


def assert_sample(credential: Credential, issued: Issued) -> None:
    assert credential.iss == issued.iss
    assert credential.colour is Colour.GREEN
    assert credential.score == 87
    assert credential.iat == NOW


# --- one code, every kind of source -----------------------------------------------------------

@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_rendered_png(kind: str, backend: str, issued: Issued, code_png: Path,
                      tmp_path: Path) -> None:
    source = as_source(kind, code_png.read_bytes(), tmp_path, ".png")
    assert decode_image(source, backend) == [issued.text]
    assert_sample(verify_image(source, issued.trust, now=CHECK_AT, backend=backend), issued)


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_photographed_jpeg(kind: str, backend: str, issued: Issued, photo_jpeg: bytes,
                           tmp_path: Path) -> None:
    source = as_source(kind, photo_jpeg, tmp_path, ".jpg")
    assert decode_image(source, backend) == [issued.text]
    assert_sample(verify_image(source, issued.trust, now=CHECK_AT, backend=backend), issued)


@pytest.mark.parametrize("frame", [
    {"rotation": 10.0, "seed": 11},
    {"rotation": 20.0, "scale": 0.5, "skew": 0.06, "noise": 8.0, "blur": 1.0, "seed": 12},
    {"rotation": -18.0, "size": (1280, 720), "seed": 13},
    {"rotation": 12.0, "ink": (70, 190), "seed": 14},  # a dim, low-contrast print
], ids=["10deg", "20deg-small-noisy", "720p", "low-contrast"])
def test_photo_variants(frame: dict[str, Any], backend: str, issued: Issued) -> None:
    assert decode_image(photo(issued.text, **frame), backend) == [issued.text]


def test_backend_accepts_enum(issued: Issued, code_png: Path) -> None:
    for backend in Backend:
        assert decode_image(code_png, backend) == [issued.text]


def test_pil_image_in_any_mode(backend: str, issued: Issued) -> None:
    clean = qr_image(issued.text, module_px=4)
    for mode in ["1", "L", "RGB", "RGBA", "P"]:
        assert decode_image(clean.convert(mode), backend) == [issued.text], mode


# --- several codes in one picture --------------------------------------------------------------

@pytest.mark.parametrize("health_first", [True, False], ids=["health-left", "health-right"])
def test_foreign_and_health_code(health_first: bool, backend: str, issued: Issued) -> None:
    texts = [issued.text, FOREIGN_TEXT] if health_first else [FOREIGN_TEXT, issued.text]
    picture = photo(texts, rotation=12.0, scale=0.8, seed=21)
    assert sorted(decode_image(picture, backend)) == sorted(texts)
    assert_sample(verify_image(picture, issued.trust, now=CHECK_AT, backend=backend), issued)


def test_valid_code_wins_over_a_rejected_one(backend: str, issued: Issued) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = issue_credential(stranger, iss=issued.iss, colour="green", score=99, iat=NOW,
                              ttl=86400)
    picture = photo([forged, issued.text], rotation=12.0, scale=0.8, seed=22)
    assert sorted(decode_image(picture, backend)) == sorted([forged, issued.text])
    assert_sample(verify_image(picture, issued.trust, now=CHECK_AT, backend=backend), issued)


# --- rejections -----------------------------------------------------------------------------

def test_only_a_rejected_code_gives_its_reason(backend: str, issued: Issued) -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = issue_credential(stranger, iss=issued.iss, colour="green", score=99, iat=NOW,
                              ttl=86400)
    with pytest.raises(VerificationError) as caught:
        verify_image(photo(forged), issued.trust, now=CHECK_AT, backend=backend)
    assert caught.value.reason is Reason.UNKNOWN_KEY


def test_expired_code_in_image(backend: str, issued: Issued, code_png: Path) -> None:
    with pytest.raises(VerificationError) as caught:
        verify_image(code_png, issued.trust, now=NOW + 2 * 86400, backend=backend)
    assert caught.value.reason is Reason.EXPIRED


@pytest.mark.parametrize("picture", ["camera frame", "blank png"])
def test_no_code(picture: str, backend: str, issued: Issued) -> None:
    if picture == "camera frame":
        data = encode(camera_frame([], seed=31), "JPEG", quality=70)
    else:
        data = encode(Image.new("L", (400, 300), 255), "PNG")
    assert decode_image(data, backend) == []
    with pytest.raises(VerificationError) as caught:
        verify_image(data, issued.trust, now=CHECK_AT, backend=backend)
    assert caught.value.reason is Reason.NO_CODE


def test_only_a_foreign_code(backend: str, issued: Issued) -> None:
    picture = photo(FOREIGN_TEXT, seed=41)
    assert decode_image(picture, backend) == [FOREIGN_TEXT]
    with pytest.raises(VerificationError) as caught:
        verify_image(picture, issued.trust, now=CHECK_AT, backend=backend)
    assert caught.value.reason is Reason.MALFORMED
