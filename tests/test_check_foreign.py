"""Issue 19 from the command line: `healthcode-verifier check` reads an EU certificate, a SMART
Health Card and an NZ COVID Pass (text and picture: a PNG from each corpus, the SMART one drawn
from the corpus's own SVG in Chromium) with keys stored by `trust add-dcc`, `add-shc`,
`add-nzcp` or given for one check (`--dcc-trust`, `--shc-jwks`, `--nzcp-did`), the clock pinned
with `--at`; `--json` says the format (ours: `healthcode`, tests/test_cli.py). Refused key files
store nothing."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from verifier.cli import main

INTEROP = Path(__file__).parent / "interop"
SHC = INTEROP / "shc" / "examples"
SHC_ISS = "https://spec.smarthealth.cards/examples/issuer"
SHC_AT = "2023-06-24T00:00:00Z"
NZCP = INTEROP / "nzcp" / "examples"
NZCP_AT = "2021-11-10T00:00:00Z"
DCC = INTEROP / "dcc"


def _check(home: Path, *args: str) -> tuple[int, dict]:
    run = CliRunner().invoke(main, ["check", *args, "--trust", str(home), "--json"])
    return run.exit_code, json.loads(run.output) if run.output.startswith("{") else run.output


@pytest.fixture
def home(tmp_path) -> Path:
    """Where a checkpoint keeps its trust list: foreign keys are stored beside it. A foreign
    code needs none of our own trust list, so there is none."""
    return tmp_path / "keys" / "trust-list.json"


def _add(home: Path, *args: str):
    return CliRunner().invoke(main, ["trust", *args, "--trust", str(home)])


def test_a_smart_health_card_with_keys_stored_and_given(home, tmp_path):
    text = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    jwks = SHC / "issuer" / ".well-known" / "jwks.json"
    code, result = _check(home, text, "--at", SHC_AT)
    assert (code, result["valid"], result["reason"], result["format"]) == \
        (1, False, "unknown_key", "shc")
    code, result = _check(home, text, "--at", SHC_AT,
                          "--shc-jwks", f"{SHC_ISS}={jwks}")
    assert (code, result["valid"], result["format"], result["issuer"]) == (0, True, "shc", SHC_ISS)
    assert result["holder"]["name"] and result["holder"]["birth_date"]
    stored = _add(home, "add-shc", SHC_ISS, str(jwks))
    assert stored.exit_code == 0, stored.output
    code, result = _check(home, text, "--at", SHC_AT)
    assert (code, result["kind"]) == (0, "immunization")


def _dcc_case(name: str) -> dict:
    return json.loads((DCC / name).read_text())


def _pem(case: dict) -> bytes:
    body = case["TESTCTX"]["CERTIFICATE"]
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines)
            + "\n-----END CERTIFICATE-----\n").encode()


def test_an_eu_certificate_text_and_picture(home, tmp_path):
    case = _dcc_case("common/2DCode/raw/CO3.json")
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(_pem(case))
    at = case["TESTCTX"]["VALIDATIONCLOCK"]
    code, result = _check(home, case["PREFIX"], "--at", at, "--dcc-trust", str(pem))
    assert (code, result["format"], result["kind"]) == (0, "dcc", "vaccination"), result
    assert result["holder"] == {"name": "Gabriele Musterfrau-Gößinger",
                                "birth_date": "1998-02-26"}
    assert not list(home.parent.glob("foreign/*"))  # given for one check: nothing stored
    assert _add(home, "add-dcc", str(pem)).exit_code == 0
    code, result = _check(home, case["PREFIX"], "--at", at)
    assert (code, result["valid"]) == (0, True)
    # A picture from the corpus (its PNG), with its own certificate.
    pictured = next(c for c in (_dcc_case(p.relative_to(DCC).as_posix())
                                for p in sorted(DCC.rglob("*.json")))
                    if c.get("2DCODE") and c.get("EXPECTEDRESULTS", {}).get("EXPECTEDVERIFY")
                    and c.get("TESTCTX", {}).get("CERTIFICATE"))
    (tmp_path / "dsc2.pem").write_bytes(_pem(pictured))
    (tmp_path / "eu.png").write_bytes(base64.b64decode(pictured["2DCODE"]))
    code, result = _check(home, str(tmp_path / "eu.png"), "--dcc-trust",
                          str(tmp_path / "dsc2.pem"), "--at",
                          pictured["TESTCTX"]["VALIDATIONCLOCK"])
    assert (code, result["format"]) == (0, "dcc"), result


def test_an_operator_lists_and_removes_what_is_held(home, tmp_path):
    case = _dcc_case("DE/2DCode/raw/1.json")
    (tmp_path / "dsc.pem").write_bytes(_pem(case))
    at = case["TESTCTX"]["VALIDATIONCLOCK"]
    assert _add(home, "add-dcc", str(tmp_path / "dsc.pem")).exit_code == 0
    listed = _add(home, "list")
    (line,) = listed.output.splitlines()
    country, kid = line.split()[1], line.split()[3]
    assert (line.split()[0], country, len(base64.b64decode(kid))) == ("dcc", "DE", 8)
    assert _add(home, "remove", "dcc", "ZZ").exit_code == 2  # nothing held matches
    removed = _add(home, "remove", "dcc", "DE")
    assert removed.exit_code == 0 and "removed: 1 certificate" in removed.output
    code, result = _check(home, case["PREFIX"], "--at", at)
    assert (code, result["reason"]) == (1, "unknown_key"), result
    assert _add(home, "add-dcc", str(tmp_path / "dsc.pem")).exit_code == 0
    assert _add(home, "remove", "dcc", kid).exit_code == 0
    assert _add(home, "list").output == ""


def test_refused_key_files_store_nothing(home, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"certificates": "no"}')
    for args in (("add-dcc", str(bad)), ("add-nzcp", str(bad)),
                 ("add-shc", "https://x.example/issuer", str(bad))):
        run = _add(home, *args)
        assert run.exit_code == 2 and "refused (trust_list_malformed)" in run.output, run.output
    assert not list((home.parent / "foreign").rglob("*.json"))


def test_an_nz_covid_pass_text_and_picture(home):
    did = NZCP / "valid" / "did.json"
    assert _add(home, "add-nzcp", str(did)).exit_code == 0
    text = (NZCP / "valid" / "nzcp.txt").read_text().strip()
    for given in (text, str(NZCP / "valid" / "nzcp.png")):
        code, result = _check(home, given, "--at", NZCP_AT)
        assert (code, result["format"], result["kind"]) == (0, "nzcp", "pass"), result
        assert result["holder"] == {"name": "Jack Sparrow", "birth_date": "1960-04-16"}
    code, result = _check(home, str(NZCP / "invalid" / "nzcp-expired-payload.png"),
                          "--at", NZCP_AT)
    assert (code, result["reason"], result["format"]) == (1, "expired", "nzcp")


def test_a_smart_health_card_picture_drawn_from_the_corpus_svg(home, tmp_path, playwright):
    """The corpus has the card's QR as SVG only: Chromium draws it, `check` reads the PNG."""
    from shccards import draw_svg_qr

    svg = (SHC / "example-00-g-qr-code-0.svg").read_text()
    (tmp_path / "card.png").write_bytes(draw_svg_qr(playwright, svg))
    jwks = SHC / "issuer" / ".well-known" / "jwks.json"
    code, result = _check(home, str(tmp_path / "card.png"), "--at", SHC_AT,
                          "--shc-jwks", f"{SHC_ISS}={jwks}")
    assert (code, result["format"]) == (0, "shc"), result


def test_a_revoked_smart_health_card(home):
    jwks = SHC / "issuer" / ".well-known" / "jwks.json"
    [crl] = sorted((SHC / "issuer" / ".well-known" / "crl").glob("*.json"))
    assert _add(home, "add-shc", SHC_ISS, str(jwks), "--crl", str(crl)).exit_code == 0
    text = (SHC / "example-03-f-qr-code-numeric-value-0.txt").read_text().strip()
    code, result = _check(home, text, "--at", SHC_AT)
    assert (code, result["reason"], result["format"]) == (1, "revoked", "shc")



def test_a_hand_edited_stored_file_is_refused_by_name(home):
    jwks = SHC / "issuer" / ".well-known" / "jwks.json"
    assert _add(home, "add-shc", SHC_ISS, str(jwks)).exit_code == 0
    [stored] = (home.parent / "foreign" / "shc").glob("*.json")
    stored.write_text("{not json")
    run = _add(home, "add-shc", SHC_ISS, str(jwks))
    assert run.exit_code == 2 and f"refused (trust_list_malformed): {stored.name}" in run.output
    assert stored.read_text() == "{not json"  # nothing written over it


def _chunks_picture(path: Path, texts: list[str]) -> Path:
    """One picture of several QR codes side by side (a card printed in chunks)."""
    import segno
    from PIL import Image

    tiles = []
    for text in texts:
        out = io.BytesIO()
        segno.make_qr(text, error="l").save(out, kind="png", scale=4, border=4)
        tiles.append(Image.open(io.BytesIO(out.getvalue())).convert("L"))
    sheet = Image.new("L", (sum(t.width for t in tiles), max(t.height for t in tiles)), 255)
    x = 0
    for tile in tiles:
        sheet.paste(tile, (x, 0))
        x += tile.width
    sheet.save(path)
    return path


def test_a_smart_card_printed_in_three_qr_codes_is_one_card(home, tmp_path):
    """Example 02 is printed in three chunks: a picture of all three is read as one card, in
    any order, beside other codes; a picture missing one is refused for it."""
    chunks = [(SHC / f"example-02-f-qr-code-numeric-value-{i}.txt").read_text().strip()
              for i in range(3)]
    jwks = SHC / "issuer" / ".well-known" / "jwks.json"
    assert _add(home, "add-shc", SHC_ISS, str(jwks)).exit_code == 0
    for name, texts in (("ordered", chunks), ("shuffled", [chunks[2], chunks[0], chunks[1]]),
                        ("with another code", ["https://example.com/", *chunks])):
        picture = _chunks_picture(tmp_path / f"{name}.png", texts)
        code, result = _check(home, str(picture), "--at", SHC_AT)
        assert (code, result["format"], result.get("valid")) == (0, "shc", True), (name, result)
    picture = _chunks_picture(tmp_path / "two.png", chunks[:2])
    code, result = _check(home, str(picture), "--at", SHC_AT)
    assert (code, result["reason"]) == (1, "malformed"), result


def test_health_codes_joins_only_one_cards_chunks():
    from verifier.scan import health_codes
    chunks = [(SHC / f"example-02-f-qr-code-numeric-value-{i}.txt").read_text().strip()
              for i in range(3)]
    whole = (SHC / "example-00-f-qr-code-numeric-value-0.txt").read_text().strip()
    joined = health_codes(chunks)
    assert len(joined) == 1 and joined[0].startswith("shc:/") and "/" not in joined[0][5:]
    assert health_codes([whole, chunks[1], "HCC1:x", chunks[0], chunks[2]]) == [
        whole, joined[0], "HCC1:x"]
    assert health_codes([chunks[0], chunks[1]]) == [chunks[0], chunks[1]]  # one is missing
    assert health_codes([chunks[0], chunks[0], chunks[1]]) == [chunks[0], chunks[0], chunks[1]]
    assert health_codes([whole, "HCC1:x"]) == [whole, "HCC1:x"]
