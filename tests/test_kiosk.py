"""The checkpoint kiosk through its Flask app: rules, verdicts, hostile input, the trust list on
disk, privacy, headers, and the CLI's refusal of a bad rule.

Everything is real: codes signed by the shared home's key, camera frames drawn by
tests/webcam.py and encoded as JPEG, the app driven through ``app.test_client()``. The kiosk's
clock is injected (``CLOCK``), so every verdict is deterministic. The real-browser tests are in
tests/test_kiosk_browser.py.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import re
import shutil
import struct
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
import segno
import waitress
import zxingcpp
from click.testing import CliRunner
from conftest import DAY, NOW, TEST_PASSPHRASE, file_tree
from imaging import camera_frame, encode, png_whole
from PIL import Image
from webcam import code_frame, empty_frame

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.render.qr import render_image
from verifier import verify
from verifier.base45 import Base45Error, b45decode, b45encode
from verifier.cli import main as verifier_cli
from verifier.image import decode_frame
from verifier.kiosk import Rule, RuleError, create_app
from verifier.kiosk.checkpoint import REPEAT_SECONDS
from verifier.labels import CREDENTIAL_PREFIX, Colour

#: Hostile input must be answered within this long (the slowest, a 25-megapixel frame, ~1 s).
MAX_SECONDS = 5.0
#: Length of an ES256 signature at the end of a code's COSE_Sign1.
SIGNATURE_BYTES = 64


class Clock:
    """The kiosk's clock: epoch seconds that only move when a test moves them."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def kiosk(home):
    """``kiosk(**config)`` -> a test client of a kiosk on the shared home's trust list, rule
    green, clock at NOW + 60 s unless ``config`` says otherwise."""

    def make(**config):
        config = {"TRUST": home.trust_list, "RULE": "green", "CLOCK": Clock(NOW + 60),
                  "DEFAULT_LOCALE": "en", **config}
        return create_app(config).test_client()

    return make


def qr_frame(text: str) -> Image.Image:
    """A camera frame showing ``text`` as a QR code: a health code as the phone shows it, any
    other text (byte mode, which the issuer's renderer does not use) as a plain symbol."""
    if text.startswith(CREDENTIAL_PREFIX):
        return code_frame(text)
    buffer = io.BytesIO()
    segno.make_qr(text).save(buffer, kind="png", scale=6, border=4)
    symbol = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    frame = empty_frame()
    frame.paste(symbol, ((frame.width - symbol.width) // 2, (frame.height - symbol.height) // 2))
    return frame


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("L").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def verdict(client, path: str, data: bytes | str | None = None, **kwargs) -> dict:
    """POST ``data`` to ``path`` and return the JSON verdict (asserting a 200 JSON answer)."""
    response = client.post(path, data=data, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


# ---- tampering: still well-formed Base45, so the signature check is what refuses it ---------

def _raw(text: str) -> bytearray:
    return bytearray(b45decode(text[len(CREDENTIAL_PREFIX):]))


def flip_signature_bit(text: str) -> str:
    raw = _raw(text)
    raw[-10] ^= 0x01
    return CREDENTIAL_PREFIX + b45encode(bytes(raw))


def flip_payload_bit(text: str) -> str:
    raw = _raw(text)
    raw[-SIGNATURE_BYTES - 8] ^= 0x01  # inside the claims, just before the signature bstr
    return CREDENTIAL_PREFIX + b45encode(bytes(raw))


def swap_signature_characters(text: str) -> str:
    """Swap two neighbouring Base45 characters of the signature, keeping valid Base45."""
    body = text[len(CREDENTIAL_PREFIX):]
    original = b45decode(body)
    start = len(body) - len(body) % 3 or len(body)
    for group in range(start - 3, 0, -3):  # whole 3-character groups, from the end
        swapped = body[:group] + body[group + 1] + body[group] + body[group + 2:]
        try:
            decoded = b45decode(swapped)
        except Base45Error:
            continue
        changed = [i for i, (a, b) in enumerate(zip(original, decoded, strict=True)) if a != b]
        if changed and min(changed) >= len(original) - SIGNATURE_BYTES:
            return CREDENTIAL_PREFIX + swapped
    raise AssertionError("no swap of signature characters keeps the text valid Base45")


TAMPERS = [flip_signature_bit, flip_payload_bit, swap_signature_characters]


@pytest.mark.parametrize("tamper", TAMPERS)
def test_tampered_texts_stay_well_formed(tamper, make_code):
    """The tamper transforms make a different code that still decodes (not ``malformed``)."""
    code = make_code("green", 87, iat=NOW)
    bad = tamper(code)
    assert bad != code and len(b45decode(bad[len(CREDENTIAL_PREFIX):])) == len(_raw(code))


# ---- 1. rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "canonical", "colours", "scores", "described"), [
    ("green", "green", {Colour.GREEN}, (), "Admits green codes"),
    ("green,yellow", "green,yellow", {Colour.GREEN, Colour.YELLOW}, (),
     "Admits green or yellow codes"),
    ("yellow,green,green", "green,yellow", {Colour.GREEN, Colour.YELLOW}, (),
     "Admits green or yellow codes"),
    ("score>=60", "score>=60", set(), ((">=", 60),),
     "Admits codes of any colour, score at least 60"),
    ("green,score>=80", "green,score>=80", {Colour.GREEN}, ((">=", 80),),
     "Admits green codes, score at least 80"),
    (" Green , SCORE >= 60 ", "green,score>=60", {Colour.GREEN}, ((">=", 60),),
     "Admits green codes, score at least 60"),
    ("score<=100,red", "red,score<=100", {Colour.RED}, (("<=", 100),),
     "Admits red codes, score at most 100"),
])
def test_rule_parses_to_canonical_text(text, canonical, colours, scores, described):
    rule = Rule.parse(text)
    assert rule.text == canonical
    assert rule.colours == frozenset(colours) and rule.scores == scores
    assert rule.describe() == described
    assert Rule.parse(rule.text) == rule  # the canonical text means the same rule


@pytest.mark.parametrize(("rule", "colour", "score", "refusal"), [
    ("green", "green", 87, None),
    ("green", "red", 20, "red is not admitted here"),
    ("green,yellow", "yellow", 55, None),
    ("green,yellow", "red", 90, "red is not admitted here"),
    ("score>=60", "yellow", 60, None),
    ("score>=60", "green", 59, "score 59 is not at least 60"),
    ("green,score>=80", "green", 80, None),
    ("green,score>=80", "green", 79, "score 79 is not at least 80"),
    ("green,score>=80", "yellow", 95, "yellow is not admitted here"),
    ("score<50", "red", 50, "score 50 is not below 50"),
])
def test_rule_decides_with_plain_words(rule, colour, score, refusal, make_code, trust):
    credential = verify(make_code(colour, score, iat=NOW), trust, NOW)
    assert Rule.parse(rule).decide(credential) == refusal


@pytest.mark.parametrize(("text", "named"), [
    ("blue", "'blue'"),
    ("green,blue", "'blue'"),
    ("score>=101", "'score>=101'"),
    ("score=>5", "'score=>5'"),
    ("green,", "''"),
    ("", "empty"),
    (" , ", "empty"),
    ("green," * 40, "200 characters"),
])
def test_bad_rules_are_refused_naming_the_term(text, named):
    with pytest.raises(RuleError, match=re.escape(named)):
        Rule.parse(text)


# ---- 2. verdicts on camera frames -------------------------------------------------------------

def test_a_valid_code_is_admitted_and_announced_once_while_in_view(kiosk, make_code):
    clock = Clock(NOW + 60)
    client = kiosk(CLOCK=clock)
    frame = jpeg(code_frame(make_code("green", 87, iat=NOW)))

    first = verdict(client, "/api/frame", frame, content_type="image/jpeg")
    assert first["state"] == "admit" and first["message"] == "ADMIT"
    assert (first["colour"], first["score"]) == ("green", 87)
    assert first["seconds_left"] == DAY - 60
    assert first["static"] is True and first["announce"] is True

    again = verdict(client, "/api/frame", frame, content_type="image/jpeg")
    assert again["state"] == "admit" and again["announce"] is False
    assert again["code"] == first["code"]
    stats = client.get("/stats").get_json()
    assert (stats["admitted"], stats["frames"]) == (1, 2)

    clock.now += int(REPEAT_SECONDS) + 1  # out of view long enough: news again
    later = verdict(client, "/api/frame", frame, content_type="image/jpeg")
    assert later["announce"] is True and later["seconds_left"] == DAY - 60 - 6
    assert client.get("/stats").get_json()["admitted"] == 2


def test_a_code_the_rule_refuses_is_denied(kiosk, make_code):
    client = kiosk(RULE="green")
    result = verdict(client, "/api/frame", jpeg(code_frame(make_code("red", 20, iat=NOW))))
    assert result["state"] == "deny" and result["message"] == "red is not admitted here"
    assert (result["colour"], result["score"], result["announce"]) == ("red", 20, True)
    stats = client.get("/stats").get_json()
    assert (stats["admitted"], stats["denied"]) == (0, 1)


@pytest.mark.parametrize(("make", "reason"), [
    (lambda make_code: make_code("green", 87, iat=NOW - 3 * DAY, ttl=DAY), "expired"),
    (lambda make_code: flip_signature_bit(make_code("green", 87, iat=NOW)), "bad_signature"),
    (lambda make_code: swap_signature_characters(make_code("green", 87, iat=NOW)),
     "bad_signature"),
    (lambda make_code: flip_payload_bit(make_code("green", 87, iat=NOW)), "bad_signature"),
    (lambda make_code: "https://example.org/", "malformed"),
], ids=["expired", "flipped-signature-bit", "swapped-signature-chars", "flipped-payload-bit",
        "not-a-health-code"])
def test_invalid_codes_in_a_frame_say_why(make, reason, kiosk, make_code):
    client = kiosk()
    result = verdict(client, "/api/frame", jpeg(qr_frame(make(make_code))))
    assert (result["state"], result["reason"]) == ("invalid", reason)
    assert result["message"] and result["announce"] is True
    assert client.get("/stats").get_json()["invalid_by_reason"] == {reason: 1}


def test_a_frame_without_a_code_is_idle(kiosk):
    client = kiosk()
    result = verdict(client, "/api/frame", jpeg(empty_frame()))
    assert result["state"] == "idle" and "reason" not in result
    stats = client.get("/stats").get_json()
    assert (stats["frames"], stats["frames_without_code"], stats["invalid"]) == (1, 1, 0)


@pytest.fixture
def pyzbar_calls(monkeypatch):
    """Count the calls to the real ``pyzbar.decode`` (it still decodes)."""
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    calls = []
    real = pyzbar.decode

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pyzbar, "decode", counted)
    return calls


def test_a_frame_without_any_symbol_skips_the_pyzbar_fallback(pyzbar_calls):
    for seed in range(5):
        assert decode_frame(camera_frame([], seed=seed)) == []
    assert pyzbar_calls == []


def test_pyzbar_reads_a_symbol_zxing_found_but_could_not_read(pyzbar_calls):
    # One of the 1,000 hard synthetic frames the fallback was measured on (bench/kiosk.py).
    text = "HCC1:" + "6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWM+-PT6JJ9FRFAN:Z6P9CB5O3" \
        "VWG4K0KTF:4J/TNY4I2O1U6DD" * 2
    frame = camera_frame(text, rotation=20.308690020452644, scale=0.5647799068359488,
                         skew=0.03374360136648347, noise=8.178759869323956,
                         blur=1.9932192866653593, ink=(53, 194), seed=19)
    gray = Image.open(io.BytesIO(encode(frame, "JPEG", quality=85))).convert("L")
    qr = zxingcpp.BarcodeFormat.QRCode
    zxing_alone = any(b.valid for binarizer in (zxingcpp.Binarizer.LocalAverage,
                                                zxingcpp.Binarizer.GlobalHistogram)
                      for b in zxingcpp.read_barcodes(gray, formats=qr, binarizer=binarizer))
    assert decode_frame(gray) == [text]
    # Whichever library version reads it: pyzbar is asked only when zxing-cpp could not.
    assert len(pyzbar_calls) == (0 if zxing_alone else 1)


def test_reject_static_denies_a_valid_static_code(kiosk, make_code):
    frame = jpeg(code_frame(make_code("green", 87, iat=NOW)))
    assert verdict(kiosk(ACCEPT_STATIC=True), "/api/frame", frame)["state"] == "admit"
    result = verdict(kiosk(ACCEPT_STATIC=False), "/api/frame", frame)
    assert result["state"] == "deny" and result["static"] is True
    assert "static" in result["message"]


# ---- 3. uploads and pasted text ---------------------------------------------------------------

def test_an_uploaded_png_is_verified(kiosk, make_code):
    client = kiosk()
    image = render_image(make_code("green", 77, iat=NOW), "png")
    result = verdict(client, "/api/upload", {"image": (io.BytesIO(image), "code.png")},
                     content_type="multipart/form-data")
    assert (result["state"], result["score"]) == ("admit", 77)
    raw = verdict(client, "/api/upload", render_image(make_code("red", 10, iat=NOW), "png"),
                  content_type="image/png")
    assert (raw["state"], raw["colour"]) == ("deny", "red")


def test_an_upload_without_a_code_is_no_code(kiosk):
    result = verdict(kiosk(), "/api/upload", {"image": (io.BytesIO(png(empty_frame())), "x.png")},
                     content_type="multipart/form-data")
    assert (result["state"], result["reason"]) == ("invalid", "no_code")


def test_pasted_text_is_verified_as_json_or_plain_text(kiosk, make_code):
    client = kiosk()
    as_json = verdict(client, "/api/text", json={"text": make_code("green", 64, iat=NOW)})
    assert (as_json["state"], as_json["score"]) == ("admit", 64)
    plain = verdict(client, "/api/text", f"  {make_code('yellow', 50, iat=NOW)}\n",
                    content_type="text/plain")
    assert (plain["state"], plain["colour"]) == ("deny", "yellow")
    expired = verdict(client, "/api/text", json={"text": make_code(iat=NOW - 3 * DAY, ttl=DAY)})
    assert (expired["state"], expired["reason"]) == ("invalid", "expired")


@pytest.mark.parametrize("body", [{"text": 5}, {"text": None}, {"code": "HCC1:"}, ["HCC1:"]])
def test_json_text_that_is_not_a_string_is_a_400(body, kiosk):
    response = kiosk().post("/api/text", json=body)
    assert response.status_code == 400 and response.get_json()["error"] == "bad_request"


# ---- 4. untrusted input never crashes ----------------------------------------------------------

def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _big_plain_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000), 128).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


_RANDOM = random.Random(20261118).randbytes(4096)
_NINE_MB = b"\xff" * (9 * 1024 * 1024)
_GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00" \
       b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
_BMP = b"BM" + struct.pack("<IHHIIiiHHIIiiII", 58, 0, 0, 54, 40, 1, 1, 1, 24, 0, 4, 0, 0, 0, 0) \
       + b"\0\0\0\0"
HOSTILE = [  # method, path, body, content type, status, reason (verdict) or error (refusal)
    ("POST", "/api/frame", b"", "image/jpeg", 200, "malformed"),
    ("POST", "/api/frame", _RANDOM, "image/jpeg", 200, "malformed"),
    ("POST", "/api/frame", "truncated-jpeg", "image/jpeg", 200, "malformed"),
    ("POST", "/api/frame", _png_header(100_000, 100_000), "image/png", 200, "malformed"),
    ("POST", "/api/frame", _png_header(6000, 6000), "image/png", 200, "malformed"),
    ("POST", "/api/frame", _GIF, "image/gif", 200, "malformed"),
    ("POST", "/api/frame", _BMP, "image/bmp", 200, "malformed"),
    ("POST", "/api/frame", _NINE_MB, "image/jpeg", 413, "too_large"),
    # Issue 13: a 65536x1 PNG of ~100 bytes was a 500; frames larger than a camera's.
    ("POST", "/api/frame", png_whole(65536, 1), "image/png", 200, "malformed"),
    ("POST", "/api/frame", png_whole(1, 65536), "image/png", 200, "malformed"),
    ("POST", "/api/frame", "2000x2000-jpeg", "image/jpeg", 200, "malformed"),
    ("POST", "/api/upload", b"", "image/png", 200, "malformed"),
    ("POST", "/api/upload", _RANDOM, "image/png", 200, "malformed"),
    ("POST", "/api/upload", "truncated-jpeg", "image/jpeg", 200, "malformed"),
    ("POST", "/api/upload", _png_header(100_000, 100_000), "image/png", 200, "malformed"),
    ("POST", "/api/upload", _GIF, "image/gif", 200, "malformed"),
    ("POST", "/api/upload", "big-plain-jpeg", "image/jpeg", 200, "no_code"),
    ("POST", "/api/upload", png_whole(65536, 1), "image/png", 200, "malformed"),
    # Issue 13: small files, big pictures (2.2 s and 4.4 s to check, 753 MB).
    ("POST", "/api/upload", png_whole(5000, 5000), "image/png", 200, "malformed"),
    ("POST", "/api/upload", png_whole(5000, 5000, 16, 6), "image/png", 200, "malformed"),
    ("POST", "/api/upload", _NINE_MB, "image/jpeg", 413, "too_large"),
    ("POST", "/api/text", b"", "text/plain", 200, "no_code"),
    ("POST", "/api/text", ("HCC1:" + "A" * 5000).encode(), "text/plain", 200, "malformed"),
    ("POST", "/api/text", b"HCC1:\xff\xfe\x80\xc3(", "text/plain", 200, "malformed"),
    ("POST", "/api/text", b'{"text": ', "application/json", 400, "bad_request"),
    ("POST", "/api/text", _NINE_MB, "text/plain", 413, "too_large"),
    ("GET", "/api/frame", None, None, 405, "method_not_allowed"),
    ("GET", "/api/text", None, None, 405, "method_not_allowed"),
    ("PUT", "/api/upload", b"x", "image/png", 405, "method_not_allowed"),
    ("POST", "/stats", b"", None, 405, "method_not_allowed"),
    ("GET", "/api/nothing-here", None, None, 404, "not_found"),
    ("GET", "/../../etc/passwd", None, None, 404, "not_found"),
]


def _body(body):
    if body == "truncated-jpeg":
        whole = jpeg(code_frame("HCC1:" + "A" * 100))
        return whole[: len(whole) // 2]
    if body == "big-plain-jpeg":
        return _big_plain_jpeg()
    if body == "2000x2000-jpeg":
        return encode(Image.new("L", (2000, 2000), 128), "JPEG")
    return body


@pytest.mark.parametrize(("method", "path", "body", "kind", "status", "reason"), HOSTILE,
                         ids=[f"{m} {p} {len(_body(b)) if isinstance(b, bytes) else b} {r}"
                              for m, p, b, _, _, r in HOSTILE])
def test_untrusted_input_gets_a_json_answer_quickly(method, path, body, kind, status, reason,
                                                    kiosk):
    client = kiosk()
    started = time.monotonic()
    response = client.open(path, method=method, data=_body(body), content_type=kind)
    elapsed = time.monotonic() - started
    assert response.status_code == status < 500
    assert response.mimetype == "application/json"
    answer = response.get_json()
    if status == 200:
        assert answer["state"] == "invalid" and answer["reason"] == reason
    else:
        assert answer["error"] == reason and answer["message"]
    assert elapsed < MAX_SECONDS


def test_the_kiosk_still_works_after_hostile_input(kiosk, make_code):
    client = kiosk()
    for method, path, body, kind, _, _ in HOSTILE:
        assert client.open(path, method=method, data=_body(body),
                           content_type=kind).status_code < 500
    result = verdict(client, "/api/frame", jpeg(code_frame(make_code("green", 87, iat=NOW))))
    assert result["state"] == "admit"


# ---- 5. the trust list on disk ----------------------------------------------------------------

def _changed_payload(path: Path) -> bytes:
    """The trust list with its sequence number changed and the old signature kept."""
    jws = json.loads(path.read_bytes())
    encoded = jws["payload"] + "=" * (-len(jws["payload"]) % 4)
    payload = json.loads(base64.urlsafe_b64decode(encoded))
    payload["seq"] += 1
    jws["payload"] = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return json.dumps(jws).encode()


def _foreign_trust_list(tmp_path: Path, monkeypatch) -> bytes:
    """A genuine trust list of another issuer home: signed by an anchor we did not pin."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    other = Home(tmp_path / "other-home")
    other.root.mkdir()
    init_home(other, now=NOW - DAY)
    return other.trust_list.read_bytes()


@pytest.mark.parametrize(("damage", "reason"), [
    ("missing", "trust_list_malformed"),
    ("garbage", "trust_list_malformed"),
    ("empty", "trust_list_malformed"),
    ("changed-payload", "trust_list_bad_signature"),
    ("foreign-anchor", "trust_list_bad_signature"),
])
def test_a_kiosk_without_a_usable_trust_list_checks_no_code(damage, reason, trust_copy, kiosk,
                                                            make_code, tmp_path, monkeypatch):
    if damage == "missing":
        trust_copy.unlink()
    else:
        trust_copy.write_bytes({"garbage": b"\x00not a trust list{", "empty": b"",
                                "changed-payload": _changed_payload(trust_copy),
                                "foreign-anchor": _foreign_trust_list(tmp_path, monkeypatch),
                                }[damage])
    client = kiosk(TRUST=trust_copy)
    result = verdict(client, "/api/text", json={"text": make_code("green", 87, iat=NOW)})
    assert (result["state"], result["reason"]) == ("invalid", reason)
    status = client.get("/api/status").get_json()["trust"]
    assert status["ok"] is False and status["reason"] == reason and status["warning"]
    page = client.get("/")
    assert page.status_code == 200 and "missing or invalid" in page.get_data(as_text=True)


def test_an_expired_but_genuine_trust_list_still_checks_codes_and_warns(kiosk, make_code):
    fresh = kiosk(CLOCK=Clock(NOW))
    assert fresh.get("/api/status").get_json()["trust"]["expired"] is False
    later = NOW + 31 * DAY  # the list was made at NOW - 1 day, valid 30 days
    client = kiosk(CLOCK=Clock(later))
    status = client.get("/api/status").get_json()["trust"]
    assert status["ok"] is True and status["expired"] is True
    assert "expired" in status["warning"]
    result = verdict(client, "/api/text", json={"text": make_code("green", 87, iat=later)})
    assert (result["state"], result["score"]) == ("admit", 87)
    tampered = verdict(client, "/api/text",
                       json={"text": flip_signature_bit(make_code("green", 87, iat=later))})
    assert (tampered["state"], tampered["reason"]) == ("invalid", "bad_signature")


def test_a_replaced_trust_list_file_is_picked_up(trust_copy, kiosk, make_code, tmp_path,
                                                 monkeypatch):
    client = kiosk(TRUST=trust_copy)
    code = make_code("green", 87, iat=NOW)
    assert verdict(client, "/api/text", json={"text": code})["state"] == "admit"
    backup = Path(shutil.copy2(trust_copy, tmp_path / "backup.json"))

    trust_copy.write_bytes(b"corrupted")
    result = verdict(client, "/api/text", json={"text": code})
    assert (result["state"], result["reason"]) == ("invalid", "trust_list_malformed")
    assert client.get("/api/status").get_json()["trust"]["ok"] is False

    trust_copy.write_bytes(_foreign_trust_list(tmp_path, monkeypatch))
    result = verdict(client, "/api/text", json={"text": code})
    assert (result["state"], result["reason"]) == ("invalid", "trust_list_bad_signature")

    shutil.copy2(backup, trust_copy)
    assert verdict(client, "/api/text", json={"text": code})["state"] == "admit"
    assert client.get("/api/status").get_json()["trust"]["ok"] is True


# ---- 6. privacy -------------------------------------------------------------------------------

STATS_KEYS = {"since", "admitted", "denied", "invalid", "invalid_by_reason", "frames",
              "frames_without_code"}


def test_only_counters_are_kept_no_file_no_log(home, kiosk, make_code, trust, scratch_dirs,
                                               caplog):
    scratch, cwd = scratch_dirs
    home_before = file_tree(home.root)
    caplog.set_level(logging.DEBUG)
    app = create_app({"TRUST": home.trust_list, "RULE": "green", "CLOCK": Clock(NOW + 60),
                      "DEFAULT_LOCALE": "en"})
    app.logger.debug("probe")  # the app's records do reach caplog: the check below can fail
    assert any(r.getMessage() == "probe" for r in caplog.records)
    client = app.test_client()

    codes = {"admit": make_code("green", 87, iat=NOW), "deny": make_code("red", 20, iat=NOW),
             "expired": make_code("green", 87, iat=NOW - 3 * DAY, ttl=DAY)}
    codes["tampered"] = flip_signature_bit(make_code("green", 90, iat=NOW))
    verdicts = [
        verdict(client, "/api/frame", jpeg(code_frame(codes["admit"]))),
        verdict(client, "/api/text", json={"text": codes["deny"]}),
        verdict(client, "/api/upload", render_image(codes["expired"], "png")),
        verdict(client, "/api/text", codes["tampered"], content_type="text/plain"),
        verdict(client, "/api/frame", jpeg(empty_frame())),
        verdict(client, "/api/frame", b"not an image"),
    ]
    assert [v["state"] for v in verdicts] == ["admit", "deny", "invalid", "invalid", "idle",
                                              "invalid"]

    stats = client.get("/stats", headers={"Accept": "application/json"})
    counts = stats.get_json()
    assert set(counts) == STATS_KEYS
    assert (counts["admitted"], counts["denied"], counts["invalid"]) == (1, 1, 3)
    assert counts["invalid_by_reason"] == {"bad_signature": 1, "expired": 1, "malformed": 1}
    # Frames counts the readable camera frames; the unreadable one is under "malformed".
    assert (counts["frames"], counts["frames_without_code"]) == (2, 1)
    html = client.get("/stats", headers={"Accept": "text/html"})
    assert html.mimetype == "text/html" and "bad_signature" in html.get_data(as_text=True)

    ctis = {verify(codes[k], trust, NOW + 60).cti.hex() for k in ("admit", "deny")}
    fingerprints = {v["code"] for v in verdicts if v.get("code")}  # kept in memory for seconds
    assert len(fingerprints) == 4  # one per code seen
    secrets = set(codes.values()) | ctis | fingerprints
    for body in (stats.get_data(as_text=True), html.get_data(as_text=True)):
        for secret in secrets:
            assert secret not in body and secret.upper() not in body
    for record in caplog.records:
        logged = record.getMessage() + (record.exc_text or "")
        assert not any(secret in logged for secret in secrets), logged
    for v in verdicts:  # what goes back to the page has no cti either
        assert not any(cti in json.dumps(v) for cti in ctis)

    assert list(scratch.iterdir()) == [] and list(cwd.iterdir()) == []
    assert file_tree(home.root) == home_before


# ---- 7. headers and page ----------------------------------------------------------------------

class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self._tag: str | None = None
        self.inline_scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        # A data block (the page's catalog, type application/json) is not run: CSP allows it.
        values = dict(attrs)
        self._tag = tag if tag == "script" and not values.get("src") \
            and values.get("type") != "application/json" else None

    def handle_data(self, data):
        if self._tag == "script" and data.strip():
            self.inline_scripts.append(data)


#: A URL to some host: http://host, https://host or protocol-relative //host.
_URL = re.compile(r"(?:https?:)?//([A-Za-z0-9][A-Za-z0-9.-]*)")
_LOCAL_HOSTS = {"127.0.0.1", "localhost"}
_CSP_SOURCES = {"'self'", "'none'", "data:", "blob:", "mediastream:"}


def test_the_page_is_self_contained_and_locked_down(kiosk):
    client = kiosk()
    response = client.get("/")
    assert response.status_code == 200
    policy = dict(
        (parts[0], parts[1:]) for parts in
        (d.split() for d in response.headers["Content-Security-Policy"].split(";") if d.strip()))
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    for directive, sources in policy.items():
        assert set(sources) <= _CSP_SOURCES, (directive, sources)

    html = response.get_data(as_text=True)
    page = _Page()
    page.feed(html)
    verdict_box = [a for _, a in page.elements if a.get("id") == "verdict"]
    assert len(verdict_box) == 1
    assert verdict_box[0]["data-state"] == "idle"
    # The verdict is said in words by a live region of its own (tests/test_kiosk_browser.py).
    announcer = [a for _, a in page.elements if a.get("id") == "verdict-announce"]
    assert len(announcer) == 1 and announcer[0]["aria-live"] == "assertive"
    # The CSP forbids inline script, inline style and event-handler attributes: none may be
    # needed by the page, or it would break under its own policy.
    assert page.inline_scripts == []
    assert not [a for _, a in page.elements if "style" in a or any(k.startswith("on") for k in a)]

    assets = [a.get("src") or a.get("href") for tag, a in page.elements
              if tag in ("script", "link", "img") and a.get("type") != "application/json"]
    assert len(assets) >= 2 and all(a.startswith("/") and not a.startswith("//") for a in assets)
    sources = {"/": html}
    for asset in assets:
        with client.get(asset) as fetched:  # closed: a static file is streamed from disk
            assert fetched.status_code == 200, asset
            sources[asset] = fetched.get_data(as_text=True)
    assert any(a.endswith("kiosk.js") for a in sources) and any(
        a.endswith("kiosk.css") for a in sources)
    for name, text in sources.items():
        hosts = set(_URL.findall(text))
        assert hosts <= _LOCAL_HOSTS, (name, hosts - _LOCAL_HOSTS)


def test_the_external_url_check_catches_other_hosts():
    """The scan above can fail: it finds each form of reference to another host."""
    for text in ('<script src="https://cdn.example.com/x.js">', "url(//fonts.example.net/f)",
                 "fetch('http://10.0.0.5:8080/api')"):
        assert set(_URL.findall(text)) - _LOCAL_HOSTS, text
    assert set(_URL.findall("// a comment\nopen http://127.0.0.1 or http://localhost")) \
        <= _LOCAL_HOSTS


def test_api_answers_are_never_cached(kiosk, make_code):
    client = kiosk()
    code = make_code("green", 87, iat=NOW)
    responses = [
        client.post("/api/frame", data=jpeg(empty_frame())),
        client.post("/api/upload", data=render_image(code, "png")),
        client.post("/api/text", json={"text": code}),
        client.post("/api/text", json={"text": 1}),
        client.get("/api/status"),
        client.get("/api/frame"),
        client.get("/api/nothing-here"),
        client.get("/stats"),
    ]
    for response in responses:
        assert response.headers.get("Cache-Control") == "no-store", response.request.path
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_large_photo_of_a_code_is_scaled_down_and_still_read(kiosk, make_code):
    """Uploads are decoded at a frame's size (issue 13): a 12-megapixel photo still reads."""
    code = make_code("green", 87, iat=NOW)
    photo = encode(camera_frame(code, (4000, 3000), scale=0.5, seed=5), "JPEG", quality=85)
    result = verdict(kiosk(), "/api/upload", photo, content_type="image/jpeg")
    assert (result["state"], result["colour"]) == ("admit", "green")


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.evil.example",
                                    "null", "http://localhost:80", "file://"])
@pytest.mark.parametrize("path", ["/api/frame", "/api/upload", "/api/text"])
def test_a_post_from_another_site_s_page_is_refused(origin, path, kiosk, make_code):
    """Issue 13: any web page could make a checkpoint's browser post to its kiosk."""
    client = kiosk()
    response = client.post(path, data=make_code(), headers={"Origin": origin},
                           content_type="text/plain")
    assert response.status_code == 403
    assert response.get_json()["error"] == "cross_origin"
    assert client.get("/stats").get_json()["invalid"] == 0  # nothing was checked or counted


def test_a_post_from_the_kiosk_s_own_page_or_without_origin_is_checked(kiosk, make_code):
    client = kiosk()
    for headers in ({"Origin": "http://localhost"}, {"Origin": "HTTP://LOCALHOST"}, {}):
        result = verdict(client, "/api/text", make_code(), headers=headers,
                         content_type="text/plain")
        assert result["state"] == "admit"


# ---- 8. the CLI -------------------------------------------------------------------------------

@pytest.fixture
def served(monkeypatch) -> list[dict]:
    """Calls to waitress.serve, which is replaced so no test ever starts a server."""
    calls: list[dict] = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: calls.append(kwargs))
    return calls


@pytest.mark.parametrize(("rule", "named"), [
    ("blue", "blue"), ("green,score>=101", "score>=101"), ("", "empty")])
def test_cli_refuses_a_bad_rule_before_serving(rule, named, home, served):
    result = CliRunner().invoke(verifier_cli, ["kiosk", "--rule", rule,
                                               "--trust", str(home.trust_list)])
    assert result.exit_code == 2, result.output
    assert "--rule" in result.output and named in result.output
    assert served == []


def test_cli_serves_a_good_rule(home, served):
    result = CliRunner().invoke(verifier_cli, ["kiosk", "--rule", "Green, Yellow",
                                               "--trust", str(home.trust_list)])
    assert result.exit_code == 0, result.output
    assert "Admits green or yellow codes" in result.output
    assert len(served) == 1 and served[0]["host"] == "127.0.0.1"
    # Issue 13: waitress's limits come from options, with safe defaults.
    assert (served[0]["connection_limit"], served[0]["channel_timeout"]) == (100, 15)
    result = CliRunner().invoke(verifier_cli, ["kiosk", "--trust", str(home.trust_list),
                                               "--connection-limit", "20",
                                               "--channel-timeout", "1m"])
    assert result.exit_code == 0, result.output
    assert (served[1]["connection_limit"], served[1]["channel_timeout"]) == (20, 60)


def test_a_real_kiosk_sheds_idle_connections_and_keeps_answering(home, tmp_path):
    """Issue 13: half-open sockets held the issuer's every connection. A kiosk process with
    --connection-limit 4 and --channel-timeout 2s: eight sockets that send nothing are closed
    by the server, and the kiosk answers again."""
    import socket

    from procs import free_port, get, running, script

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [script("healthcode-verifier"), "kiosk", "--trust", str(home.trust_list),
               "--port", str(port), "--connection-limit", "4", "--channel-timeout", "2s"]
    with running(command, f"{url}/api/status", log=tmp_path / "kiosk.log"):
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(8)]
        try:
            idle[0].sendall(b"POST /api/text HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nHCC")
            for sock in idle[:4]:  # the ones the server took: closed for idling, not served
                assert sock.recv(1024) == b""
            assert get(f"{url}/api/status", timeout=30)[0] == 200
        finally:
            for sock in idle:
                sock.close()


# ---- live presentations from phones ------------------------------------------------------------

def _phone_and_code(make_code, **claims):
    from cryptography.hazmat.primitives.asymmetric import ec

    from verifier import cnf_for
    device = ec.generate_private_key(ec.SECP256R1())
    return device, make_code(cnf=cnf_for(device.public_key()), iat=NOW, **claims)


def _present(device, code: str, at: int) -> str:
    from issuer.keys.signing import sign_raw
    from verifier import encode_presentation, presentation_message
    credential = b45decode(code[len(CREDENTIAL_PREFIX):])
    return encode_presentation(credential, at,
                               sign_raw(device, presentation_message(credential, at)))


def test_a_live_presentation_is_admitted_as_live_and_announced_once(kiosk, make_code):
    device, code = _phone_and_code(make_code)
    client = kiosk(ACCEPT_STATIC=False)  # a live code is never static
    first = verdict(client, "/api/frame", jpeg(qr_frame(_present(device, code, NOW + 45))))
    assert (first["state"], first["static"], first["presented_ago"]) == ("admit", False, 15)
    assert first["announce"] is True
    # 15 s later the phone shows a new presentation of the same credential: not news.
    again = verdict(client, "/api/frame", jpeg(qr_frame(_present(device, code, NOW + 59))))
    assert again["state"] == "admit" and again["announce"] is False


def test_an_old_recording_and_a_bare_copy_are_refused(kiosk, make_code):
    device, code = _phone_and_code(make_code)
    client = kiosk()
    stale = verdict(client, "/api/frame", jpeg(qr_frame(_present(device, code, NOW - 30))))
    assert (stale["state"], stale["reason"]) == ("invalid", "stale_presentation")
    assert "made 1m 30s ago" in stale["detail"]
    copy = verdict(client, "/api/frame", jpeg(code_frame(code)))
    assert (copy["state"], copy["reason"]) == ("invalid", "holder_proof_missing")
    # The live phone right after the refused recording is announced: the outcome changed.
    live = verdict(client, "/api/frame", jpeg(qr_frame(_present(device, code, NOW + 58))))
    assert live["state"] == "admit" and live["announce"] is True


def test_the_kiosk_window_is_configurable(kiosk, make_code):
    device, code = _phone_and_code(make_code)
    frame = jpeg(qr_frame(_present(device, code, NOW - 30)))
    assert verdict(kiosk(WINDOW=120), "/api/frame", frame)["state"] == "admit"
    assert verdict(kiosk(WINDOW=30), "/api/text",
                   _present(device, code, NOW + 25))["reason"] == "stale_presentation"


def test_another_phone_s_presentation_is_refused(kiosk, make_code):
    from cryptography.hazmat.primitives.asymmetric import ec
    _, code = _phone_and_code(make_code)
    thief = ec.generate_private_key(ec.SECP256R1())
    result = verdict(kiosk(), "/api/text", _present(thief, code, NOW + 55))
    assert (result["state"], result["reason"]) == ("invalid", "bad_holder_signature")


def test_cli_passes_the_window_to_the_checkpoint(home, monkeypatch):
    apps = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kwargs: apps.append(app))
    result = CliRunner().invoke(verifier_cli, ["kiosk", "--window", "30",
                                               "--trust", str(home.trust_list)])
    assert result.exit_code == 0, result.output
    assert apps[0].extensions["checkpoint"].window == 30
    refused = CliRunner().invoke(verifier_cli, ["kiosk", "--window", "0",
                                                "--trust", str(home.trust_list)])
    assert refused.exit_code == 2


def test_every_string_the_script_shows_is_in_the_page_s_catalog(kiosk):
    """The page's data block carries a translation for every ``_()`` string of kiosk.js, calls
    whose arguments hold other calls included."""
    from verifier.kiosk import __file__ as kiosk_init
    source = (Path(kiosk_init).parent / "static" / "kiosk.js").read_text()
    wanted = set(re.findall(r'(?<![\w.$])_\("((?:[^"\\]|\\.)*)"', source))
    html = kiosk(DEFAULT_LOCALE="zh-CN").get("/").get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    messages = json.loads(block.group(1))["messages"]
    assert wanted and wanted <= set(messages), wanted - set(messages)
    assert all(messages[m] != m for m in wanted), [m for m in wanted if messages[m] == m]
