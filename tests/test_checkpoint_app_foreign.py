"""The checkpoint app (/checkpoint/) reads codes of other formats too, offline, in the page: an
EU certificate, a SMART Health Card and an NZ COVID Pass, with the keys the authority put in
its signed trust list (``healthcode-issuer keys foreign``), synced like the rest. Each is
refused while the rule does not name its format, then admitted under a rule that does, the
holder's name and date of birth shown to compare with an ID (and kept nowhere on the device).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import dccmaker
import pytest
from click.testing import CliRunner
from conftest import DAY, TEST_PASSPHRASE
from test_checkpoint_app import (
    PATIENCE,
    _serve,
    clip_of,
    hook,
    keep_screenshot,
    open_app,  # noqa: F401 (a fixture)
    stays_local,
    wait_for,
)

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app

webcam = pytest.importorskip("webcam")
INTEROP = Path(__file__).parent / "interop"
NZCP = INTEROP / "nzcp" / "examples" / "valid"
SHC = INTEROP / "shc" / "examples"
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"
EVERY_FORMAT = "green,dcc:vaccination,shc:any,nzcp:pass"


def _eu_certificate(folder: Path) -> tuple[str, Path]:
    """An EU vaccination certificate valid now (the browser's clock is the real one), and its
    signer's certificate as a PEM file."""
    now = int(time.time())
    key, der = dccmaker.dsc(not_before=now - 30 * DAY, not_after=now + 365 * DAY)
    text = dccmaker.text(dccmaker.cose(key, der, dccmaker.claims(
        changes={6: now - DAY, 4: now + 30 * DAY})))
    pem = folder / "dsc.pem"
    pem.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der)
                    + b"-----END CERTIFICATE-----\n")
    return text, pem


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """The issuer on 127.0.0.1, its trust list carrying an EU signer, the SMART examples'
    issuer and the NZ examples' issuer; ``codes`` holds a code of each."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("issuer")
    init_home(Home(root), now=int(time.time()) - DAY)
    eu, pem = _eu_certificate(root)
    for args in (("add-dcc", str(pem)),
                 ("add-shc", SHC_ISS, str(SHC / "issuer" / ".well-known" / "jwks.json")),
                 ("add-nzcp", str(NZCP / "did.json"))):
        run = CliRunner().invoke(issuer_cli, ["keys", "foreign", "--home", str(root), *args])
        assert run.exit_code == 0, run.output
    app = create_app({"HOME": str(root), "DEFAULT_LOCALE": "en"})
    base, server = _serve(app)
    codes = {"dcc": eu, "nzcp": (NZCP / "nzcp.txt").read_text().strip(),
             "shc": (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()}
    yield base, app.extensions["healthcode"], codes
    server.shutdown()
    server.server_close()
    app.extensions["healthcode"].close()
    mp.undo()


HOLDERS = {"dcc": ("Erika Mustermann", "1964-08-12"), "nzcp": ("Jack Sparrow", "1960-04-16"),
           "shc": ("John B. Anyperson", "1951-01-20")}
NAMES = {"dcc": ("EU Digital COVID Certificate", "EU certificates"),
         "shc": ("SMART Health Card", "SMART Health Cards"),
         "nzcp": ("NZ COVID Pass", "NZ COVID Passes")}


def _paste(page, text: str) -> None:
    page.fill("#code-text", text)
    page.click("#text-form button")


def _set_rule(page, rule: str, canonical: str | None = None) -> None:
    """Save ``rule`` in the settings; the page then shows it as ``canonical``."""
    before = page.locator("#rule-text").inner_text()
    page.fill("#rule-input", rule)
    page.click("#rule-form button[type=submit]")
    deadline = time.monotonic() + PATIENCE
    while (page.locator("#rule-input").input_value() != (canonical or rule)
           or page.locator("#rule-text").inner_text() == before):
        assert time.monotonic() < deadline, "the rule was not saved"
        page.wait_for_timeout(100)


def test_every_format_is_refused_then_admitted_offline(open_app, issuer, tmp_path):  # noqa: F811
    base, _, codes = issuer
    page, requests = open_app(clip_of(tmp_path, None, empty_seconds=1.0))
    page.click("#more summary")
    for name, text in codes.items():
        _paste(page, text)
        wait_for(page, "deny")
        assert f"this checkpoint does not accept {NAMES[name][1]}" in \
            page.locator("#verdict").inner_text(), name
    _set_rule(page, EVERY_FORMAT)
    assert page.locator("#rule-text").inner_text() == (
        "Admits green codes; EU certificates for vaccination; SMART Health Cards of any kind; "
        "NZ COVID Passes for pass")
    for name, text in codes.items():
        page.fill("#code-text", "")
        _paste(page, text)
        wait_for(page, "admit")
        shown = page.locator("#verdict").text_content()
        holder, born = HOLDERS[name]
        assert f"Check ID: {holder}, born {born}" in shown, (name, shown)
        assert f"{NAMES[name][0]} from" in shown, (name, shown)
        kept = page.locator("#verdict [translate=no]").all_text_contents()
        assert holder in kept, kept
        keep_screenshot(page, f"checkpoint-foreign-{name}.png")
        _paste(page, "x")  # the next verdict replaces it
        wait_for(page, "invalid")
    states = [v["state"] for v in hook(page, "verdicts")]
    assert states == ["deny"] * 3 + ["admit", "invalid"] * 3, states
    stays_local(requests, base)
    # Nothing of any holder is kept on the device (IndexedDB, local storage, caches).
    stored = page.evaluate("""async () => {
      const out = [JSON.stringify(localStorage)];
      for (const info of await indexedDB.databases()) {
        const db = await new Promise((ok, no) => {
          const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = no; });
        for (const name of db.objectStoreNames) {
          const all = await new Promise((ok) => {
            const r = db.transaction(name).objectStore(name).getAll();
            r.onsuccess = () => ok(r.result);
          });
          out.push(JSON.stringify(all));
        }
        db.close();
      }
      return out.join("\\n");
    }""")
    for holder, born in HOLDERS.values():
        assert holder not in stored and born not in stored


def test_an_nz_pass_on_the_camera_in_chinese(open_app, issuer, tmp_path):  # noqa: F811
    _, _, codes = issuer
    page, _ = open_app(clip_of(tmp_path, codes["nzcp"]), lang="zh-CN")
    wait_for(page, "deny")
    assert "本检查点不接受新西兰新冠通行证" in page.locator("#verdict").inner_text()
    page.click("#more summary")
    _set_rule(page, "nzcp:any", "green,nzcp:any")
    assert page.locator("#rule-text").inner_text() == "准许通过：绿码；任何类别的新西兰新冠通行证"
    deadline = time.monotonic() + PATIENCE
    while page.locator("#verdict").get_attribute("data-state") != "admit":
        assert time.monotonic() < deadline, "the pass in view was not admitted"
        page.wait_for_timeout(200)
    assert "Jack Sparrow" in page.locator("#verdict").text_content()
    keep_screenshot(page, "checkpoint-foreign-nzcp-zh.png")


def test_a_picture_from_the_nz_corpus_is_read_in_the_page(open_app, issuer, tmp_path):  # noqa: F811
    """The corpus's own PNG, as a photo or a screenshot reaches the app."""
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=1.0))
    page.click("#more summary")
    _set_rule(page, "nzcp:any", "green,nzcp:any")
    page.set_input_files("#upload", str(NZCP / "nzcp.png"))
    wait_for(page, "admit")
    assert "Check ID: Jack Sparrow, born 1960-04-16" in page.locator("#verdict").text_content()
    assert [v["source"] for v in hook(page, "verdicts")] == ["upload"]


def test_a_smart_card_printed_in_three_qr_codes_is_one_card(open_app, tmp_path):  # noqa: F811
    """Its three chunks in one photo, in any order: joined as the kiosk joins them."""
    from test_check_foreign import _chunks_picture
    page, _ = open_app(clip_of(tmp_path, None, empty_seconds=1.0))
    page.click("#more summary")
    _set_rule(page, "shc:any", "green,shc:any")
    chunks = [(SHC / f"example-02-f-qr-code-numeric-value-{i}.txt").read_text().strip()
              for i in (2, 0, 1)]
    page.set_input_files("#upload", str(_chunks_picture(tmp_path / "c.png", chunks)))
    wait_for(page, "admit")
    assert "SMART Health Card from" in page.locator("#verdict").text_content()
