"""The anchor QR (`healthcode-issuer keys export --anchor-qr`) shown to the checkpoint app's
camera, in a real headless Chromium whose fake webcam plays the exported PNG: a phone whose
page named no anchor pins it, says so in the reader's language, syncs from the URL in it and
then verifies codes; a phone that pins another anchor asks first (a confirm dialog) and keeps
its pin when staff say no, without asking again while the same QR stays in view.

The page without an anchor is the issuer's own page with its config's ``anchor`` set to null
(what the checkpoint blueprint serves when it is given none): the phone must not pin what
the network it first opens the page on says. Every request stays on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEST_PASSPHRASE
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from PIL import Image
from test_checkpoint_app import PHONE, hook, issuer, sign, until, wait_for  # noqa: F401

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from verifier.keys import b64url, thumbprint

webcam = pytest.importorskip("webcam")


def export_anchor_qr(home_root: Path, out: Path, url: str | None = None) -> Path:
    """Run `healthcode-issuer keys export --anchor-qr out [--url url]`."""
    args = ["keys", "export", "--home", str(home_root), "--anchor-qr", str(out)]
    result = CliRunner().invoke(issuer_cli, [*args, *(["--url", url] if url else [])])
    assert result.exit_code == 0, result.output
    return out


def picture_frame(png: Path) -> Image.Image:
    """The printed anchor QR held up to the camera: the PNG, scaled to half the frame's
    height, on a lighter sheet in the grey room."""
    frame = webcam.empty_frame()
    symbol = Image.open(png).convert("L")
    side = webcam.SIZE[1] // 2
    symbol = symbol.resize((side, side), Image.NEAREST)
    sheet = Image.new("L", (side + 24, side + 24), 235)
    sheet.paste(symbol, (12, 12))
    frame.paste(sheet, ((webcam.SIZE[0] - sheet.width) // 2, (webcam.SIZE[1] - sheet.height) // 2))
    return frame


def clip(path: Path, png: Path, code: str | None = None) -> Path:
    """2 s of the anchor QR, 1 s of nothing, then (if given) 2 s of a health code."""
    frames = [picture_frame(png)] * 20 + [webcam.empty_frame()] * 10
    if code is not None:
        frames += [webcam.code_frame(code)] * 20
    return webcam.write_clip(path, frames)


def pin_of(root: Path) -> str:
    return b64url(thumbprint(load_pem_public_key(Home(root).anchor_public.read_bytes())))


def without_anchor(route) -> None:
    """The issuer's page, its config naming no anchor."""
    response = route.fetch()
    html = re.sub(r'"anchor": ?"[^"]*"', '"anchor": null', response.text())
    assert html != response.text()
    route.fulfill(response=response, body=html)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_phone_without_an_anchor_pins_the_scanned_one_and_then_verifies(
        playwright, issuer, sign, tmp_path, lang):  # noqa: F811
    base, service = issuer
    png = export_anchor_qr(service.home.root, tmp_path / "anchor.png", url=base)
    with webcam.browser(playwright, clip(tmp_path / "c.y4m", png, sign("green", 87)),
                        tmp_path / "phone", viewport=PHONE, is_mobile=True, locale=lang) as context:
        requests: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        context.route(re.compile(r".*/checkpoint/(\?.*)?$"), without_anchor)
        page = context.new_page()
        page.goto(f"{base}/checkpoint/")
        config = json.loads(page.locator("#checkpoint-config").text_content())
        assert config["anchor"] is None
        until(page, lambda: hook(page, "lastSync") is not None, "a sync from the QR's URL")
        assert page.evaluate("window.checkpoint.anchors[0]") == {
            "pin": pin_of(service.home.root), "url": base, "elsewhere": None, "changed": True}
        message = page.locator("#camera-message")
        words = {"zh-CN": r"(现在|已经)信任", "en": r"(now|already) trusts"}[lang]
        assert message.is_visible() and re.search(words, message.inner_text())
        assert hook(page, "trust") is not None and "no_anchor" not in hook(page, "warnings")
        wait_for(page, "admit")
        assert page.locator("html").get_attribute("lang") == lang
    assert requests and all(u.startswith(base + "/") for u in requests)


def test_another_anchor_asks_first_and_a_no_keeps_the_pin(
        playwright, issuer, tmp_path, monkeypatch):  # noqa: F811
    base, service = issuer
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    other = tmp_path / "other-issuer"
    init_home(Home(other))
    png = export_anchor_qr(other, tmp_path / "other.png")
    dialogs: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    def pinned() -> str:
        return page.evaluate("""async () => {
            const { openState } = await import("/checkpoint/static/state.js");
            return (await openState({})).pin; }""")

    # The QR never leaves the camera's view (the clip is that one picture, looped).
    only_qr = webcam.write_clip(tmp_path / "c.y4m", [picture_frame(png)] * 10)
    with webcam.browser(playwright, only_qr, tmp_path / "phone", viewport=PHONE,
                        is_mobile=True, locale="en") as context:
        page = context.new_page()
        page.on("dialog", on_dialog)
        page.goto(f"{base}/checkpoint/")
        mine = pin_of(service.home.root)
        until(page, lambda: len(dialogs) >= 1, "a confirm dialog")
        assert "another trust anchor" in dialogs[0]
        until(page, lambda: "kept" in page.locator("#camera-message").inner_text(), "words")
        # Declined: the pin stays, and the QR held in view does not ask again.
        seen = hook(page, "frames")
        until(page, lambda: hook(page, "frames") >= seen + 80, "more frames")
        assert len(dialogs) == 1 and pinned() == mine
        # Staff change their mind: the same QR's text pasted asks again; a yes moves the pin.
        answer["accept"] = True
        page.click("#more summary")
        page.fill("#code-text", (pin_text := "HCA1:" + pin_of(other)))
        page.click("#text-form button[type=submit]")
        until(page, lambda: len(dialogs) == 2 and pinned() != mine, "the new pin")
        assert pinned() == pin_of(other) and pin_text.endswith(pinned())
        message = page.locator("#camera-message")
        until(page, lambda: re.search("(now|already) trusts", message.inner_text()), "words")
