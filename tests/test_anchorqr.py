"""The anchor QR: `healthcode-issuer keys export --anchor-qr` writes the pin (and where to
sync from) as a QR code that reads back to the home's anchor; the text's parsing, both ways,
and the verifier's `load_anchor` reading it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import TEST_PASSPHRASE
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV
from verifier import Reason, TrustList, TrustListError
from verifier.anchorqr import ANCHOR_QR_PREFIX, anchor_qr_text, parse_anchor_qr
from verifier.image import decode_image
from verifier.keys import b64url, thumbprint
from verifier.trust import load_anchor

PIN = bytes(range(32))


def pin_of(home) -> bytes:
    return thumbprint(load_pem_public_key(home.anchor_public.read_bytes()))


@pytest.mark.parametrize("url", [None, "https://hc.example.cn", "http://127.0.0.1:5000/"])
def test_text_round_trip(url):
    text = anchor_qr_text(PIN, url)
    assert text.startswith(ANCHOR_QR_PREFIX + b64url(PIN))
    assert parse_anchor_qr(text) == (PIN, url.rstrip("/") if url else None)


@pytest.mark.parametrize("text", [
    "", "HCA1:", "HCA2:" + b64url(PIN), b64url(PIN), "HCA1:" + b64url(PIN)[:-1],
    "HCA1:" + b64url(PIN) + "A", "HCA1:" + b64url(PIN)[:-1] + "B",  # non-canonical last bits
    "HCA1:" + b64url(PIN[:31]), "HCA1:" + b64url(PIN).replace("A", "+"),
    "HCA1:" + b64url(PIN) + ";ftp://x", "HCA1:" + b64url(PIN) + ";not a url",
    "HCA1:" + b64url(PIN) + ";https://a;b", "HCA1:" + b64url(PIN) + ";" + "h" * 2000])
def test_anything_else_is_malformed(text):
    with pytest.raises(TrustListError) as caught:
        parse_anchor_qr(text)
    assert caught.value.reason is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize("pin, url", [(PIN[:31], None), (PIN, "ftp://x"), (PIN, "//x")])
def test_a_bad_pin_or_url_cannot_be_written(pin, url):
    with pytest.raises(ValueError):
        anchor_qr_text(pin, url)


def test_load_anchor_reads_the_qr_text(tmp_path, home, trust):
    path = tmp_path / "anchor.txt"
    path.write_text(anchor_qr_text(pin_of(home), "https://hc.example.cn") + "\n")
    assert load_anchor(path) == pin_of(home)
    assert TrustList.load(home.trust_list, path, now=trust.issued_at).sequence == trust.sequence


def test_the_cli_writes_a_qr_that_reads_back_to_the_anchor(tmp_path, home, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    out = tmp_path / "anchor.png"
    result = CliRunner().invoke(issuer_cli, [
        "keys", "export", "--home", str(home.root), "--anchor-qr", str(out),
        "--url", "https://hc.example.cn/"])
    assert result.exit_code == 0, result.output
    [text] = decode_image(out.read_bytes())
    assert parse_anchor_qr(text) == (pin_of(home), "https://hc.example.cn")
    assert text in result.output
    plain = tmp_path / "plain.png"
    result = CliRunner().invoke(issuer_cli, ["keys", "export", "--home", str(home.root),
                                             "--anchor-qr", str(plain)])
    assert result.exit_code == 0, result.output
    assert decode_image(plain.read_bytes()) == [ANCHOR_QR_PREFIX + b64url(pin_of(home))]


@pytest.mark.parametrize("args", [["--url", "https://x"],
                                  ["--anchor-qr", "{out}", "--url", "ftp://x"]])
def test_the_cli_refuses_a_url_alone_or_a_bad_one(tmp_path, home, args):
    args = [a.format(out=tmp_path / "a.png") for a in args]
    result = CliRunner().invoke(issuer_cli, ["keys", "export", "--home", str(home.root), *args])
    assert result.exit_code == 2 and not (tmp_path / "a.png").exists()


def test_export_without_the_option_still_prints_the_issuer_json(home):
    result = CliRunner().invoke(issuer_cli, ["keys", "export", "--home", str(home.root)])
    assert result.exit_code == 0 and '"iss"' in result.output
