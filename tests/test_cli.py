"""Both command lines, driven with click's CliRunner: outputs, JSON and exit codes."""

import json
import os
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import segno
from click.testing import CliRunner
from conftest import DAY, TEST_PASSPHRASE
from cryptography.hazmat.primitives.asymmetric import ec
from test_presentation import present

from issuer.cli import main as issuer_cli
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import load_signing_key
from issuer.keys.signing import issue_credential
from verifier import cnf_for
from verifier.cli import main as verifier_cli
from verifier.i18n import format_date, format_time, terminal_locale
from verifier.timefmt import iso

#: The variables that choose the language and the zone of times shown to people.
TIME_ENV = ("LC_ALL", "LC_MESSAGES", "LANG", "HEALTHCODE_DEFAULT_LOCALE", "HEALTHCODE_TIMEZONE")


@pytest.fixture(autouse=True)
def english_terminal(monkeypatch):
    """A terminal that asks for no language, in the default zone (Asia/Shanghai)."""
    for name in TIME_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(scope="module")
def t0() -> int:
    """`healthcode-issuer init` stamps its key's signing window with the real clock, so these
    tests issue codes at the next full hour after the module's home was made."""
    return int(time.time()) // 3600 * 3600 + 3600


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory, t0) -> Path:
    """A home made by `healthcode-issuer init` with a generated passphrase."""
    root = tmp_path_factory.mktemp("cli-home")
    mp = pytest.MonkeyPatch()
    mp.delenv(PASSPHRASE_ENV, raising=False)
    result = CliRunner().invoke(issuer_cli, ["init", "--home", str(root)])
    mp.undo()
    assert result.exit_code == 0, result.output
    assert "WARNING" in result.output and "passphrase" in result.output
    return root


def issue(home: Path, out: Path, *args: str) -> dict:
    result = CliRunner().invoke(issuer_cli, ["issue", "--home", str(home), "--out", str(out),
                                             "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def check(home: Path, *args: str, at: str | None = None, input: bytes | None = None):
    when = ["--at", at] if at else []
    result = CliRunner().invoke(
        verifier_cli, ["check", *args, "--trust", str(home / "keys" / "trust-list.json"),
                       *when, "--json"], input=input)
    return result.exit_code, (json.loads(result.stdout) if result.stdout.startswith("{")
                              else result.output)


def test_init_writes_encrypted_keys_0600(cli_home):
    keys = cli_home / "keys"
    private = sorted(keys.glob("*.key.pem"))
    assert len(private) == 2  # trust anchor and first signing key
    for path in [*private, keys / "passphrase"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in private:
        assert b"BEGIN ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700


def test_init_refuses_to_overwrite(cli_home):
    before = {p.name: p.read_bytes() for p in (cli_home / "keys").iterdir()}
    result = CliRunner().invoke(issuer_cli, ["init", "--home", str(cli_home)])
    assert result.exit_code == 1
    assert "refusing" in result.output
    assert {p.name: p.read_bytes() for p in (cli_home / "keys").iterdir()} == before


@pytest.mark.parametrize("suffix", [".png", ".svg", ".txt"])
def test_issue_and_check_round_trip(t0, cli_home, tmp_path, suffix):
    out = tmp_path / f"code{suffix}"
    summary = issue(cli_home, out, "--colour", "green", "--score", "87", "--at", iso(t0))
    assert summary["qr_version"] <= 8 and summary["qr_error"] == "M"
    assert out.exists()
    if suffix == ".svg":
        assert out.read_text().lstrip().startswith("<svg")
        return  # the verifier reads PNG and JPEG, not SVG
    code, result = check(cli_home, str(out), at=iso(t0 + 3600))
    assert code == 0
    assert result["valid"] is True and result["reason"] is None
    assert (result["colour"], result["score"]) == ("green", 87)
    assert (result["static"], result["presented_at"], result["presented_ago"]) == (True, None, None)
    assert result["expires"] == iso(t0 + DAY)
    assert result["iss"] == "HZ" and result["format"] == "healthcode"
    assert result["kid"] == summary["kid"]


def test_check_accepts_text_argument_and_stdin(t0, cli_home, tmp_path):
    out = tmp_path / "code.txt"
    text = issue(cli_home, out, "--colour", "yellow", "--score", "60", "--at", iso(t0))["text"]
    assert check(cli_home, text, at=iso(t0 + 3600))[0] == 0
    piped = check(cli_home, "-", input=text.encode() + b"\n", at=iso(t0 + 3600))
    assert piped[1]["colour"] == "yellow"
    png = tmp_path / "code.png"
    issue(cli_home, png, "--colour", "yellow", "--score", "60", "--at", iso(t0))
    assert check(cli_home, "-", input=png.read_bytes(), at=iso(t0 + 3600))[1]["score"] == 60


def test_human_output(t0, cli_home, tmp_path):
    out = tmp_path / "code.txt"
    issue(cli_home, out, "--colour", "red", "--score", "12", "--at", iso(t0), "--ttl", "2h")
    trust = str(cli_home / "keys" / "trust-list.json")
    ok = CliRunner().invoke(verifier_cli, ["check", str(out), "--trust", trust,
                                           "--at", iso(t0 + 3600)])
    assert ok.exit_code == 0
    assert ok.output.startswith("VALID  RED  score 12  static code (check ID)")
    assert "in 1h 0m" in ok.output
    late = CliRunner().invoke(verifier_cli, ["check", str(out), "--trust", trust,
                                             "--at", iso(t0 + 3 * 3600)])
    assert late.exit_code == 1
    assert late.output.startswith("REJECTED (expired): the code has expired")


@pytest.mark.parametrize(("env", "offset", "word"), [
    ({}, "(UTC+08:00)", None),
    ({"LANG": "zh_CN.UTF-8"}, "(UTC+08:00)", "年"),
    ({"HEALTHCODE_DEFAULT_LOCALE": "zh-CN"}, "(UTC+08:00)", "年"),
    ({"LANG": "en_GB.UTF-8", "HEALTHCODE_DEFAULT_LOCALE": "zh-CN"}, "(UTC+08:00)", None),
    ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "(UTC+08:00)", "年"),
    ({"HEALTHCODE_TIMEZONE": "Europe/London"}, "(UTC+00:00)", None),
])
def test_people_read_times_in_the_deployment_zone_scripts_read_utc(t0, cli_home, tmp_path,
                                                                    monkeypatch, env, offset,
                                                                    word):
    """The one time rule: every instant in the human output is in the deployment's zone with
    its offset, in the terminal's language; --json stays ISO 8601 UTC with a Z."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "code.txt"
    issue(cli_home, out, "--colour", "green", "--score", "70", "--at", iso(t0), "--ttl", "2h")
    trust = str(cli_home / "keys" / "trust-list.json")
    human = CliRunner().invoke(verifier_cli, ["check", str(out), "--trust", trust,
                                              "--at", iso(t0 + 60)]).output
    expired = CliRunner().invoke(verifier_cli, ["check", str(out), "--trust", trust,
                                                "--at", iso(t0 + DAY)]).output
    keys = CliRunner().invoke(issuer_cli, ["keys", "list", "--home", str(cli_home)]).output
    for text in (human, expired, keys):
        assert offset in text and not re_iso_utc(text), text
        assert (word in text) if word else ("年" not in text), text
    locale = terminal_locale()
    assert f"expires {_zoned(t0 + 2 * 3600, locale)}" in human
    assert f"(expired {_zoned(t0 + 2 * 3600, locale)}, " in expired
    code, result = check(cli_home, str(out), at=iso(t0 + 60))
    assert code == 0 and result["expires"] == iso(t0 + 2 * 3600)
    assert result["expires"].endswith("Z") and result["checked_at"].endswith("Z")


def _zoned(epoch: int, locale: str) -> str:
    return format_time(epoch, locale)


def re_iso_utc(text: str) -> list[str]:
    """ISO 8601 UTC instants (machine output) in ``text``."""
    return re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?Z", text)


@pytest.mark.parametrize(("env", "locale"), [
    ({}, "en"), ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "POSIX"}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"), ({"LANG": "zh_TW.UTF-8"}, "en"),
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
    ({"LANG": "C", "HEALTHCODE_DEFAULT_LOCALE": "zh-CN"}, "zh_CN"),
])
def test_the_terminal_s_language(env, locale):
    assert terminal_locale(env) == locale


@pytest.fixture(scope="module")
def phone() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def bound(t0, cli_home, phone) -> str:
    """A credential bound to ``phone``, signed with the CLI home's key at ``t0`` (the issuer
    CLI writes static codes; phones get theirs from the service)."""
    mp = pytest.MonkeyPatch()
    mp.delenv(PASSPHRASE_ENV, raising=False)  # the passphrase `init` stored in the home
    key, config, _ = load_signing_key(Home(cli_home))
    mp.undo()
    return issue_credential(key, iss=config.iss, colour="green", score=91, iat=t0, ttl=DAY,
                            cnf=cnf_for(phone.public_key()))


def test_check_a_live_presentation(t0, cli_home, phone, bound):
    text = present(phone, bound, t0 + 100)
    code, result = check(cli_home, text, at=iso(t0 + 105))
    assert code == 0, result
    assert (result["colour"], result["score"], result["device_bound"]) == ("green", 91, True)
    assert (result["presented_at"], result["presented_ago"], result["static"]) \
        == (t0 + 100, 5, False)
    human = CliRunner().invoke(verifier_cli, ["check", text, "--trust", str(
        cli_home / "keys" / "trust-list.json"), "--at", iso(t0 + 105)])
    assert human.exit_code == 0
    assert human.output.startswith("VALID  GREEN  score 91  live code, made 5 s ago  ")


def test_a_90_second_old_presentation_is_stale_unless_the_window_allows(t0, cli_home, phone,
                                                                          bound):
    text = present(phone, bound, t0 + 100)
    code, result = check(cli_home, text, at=iso(t0 + 190))
    assert (code, result["reason"], result["presented_ago"]) == (1, "stale_presentation", 90)
    code, result = check(cli_home, text, "--window", "120", at=iso(t0 + 190))
    assert (code, result["presented_ago"]) == (0, 90)


def test_a_bare_device_bound_credential_is_refused(t0, cli_home, bound):
    code, result = check(cli_home, bound, at=iso(t0 + 100))
    assert (code, result["reason"]) == (1, "holder_proof_missing")


def test_check_an_image_of_a_presentation(t0, cli_home, phone, bound, tmp_path):
    png = tmp_path / "live.png"
    segno.make(present(phone, bound, t0 + 100), error="m", boost_error=False).save(
        png, scale=6, border=4)
    code, result = check(cli_home, str(png), at=iso(t0 + 110))
    assert (code, result["presented_at"], result["presented_ago"]) == (0, t0 + 100, 10)
    code, result = check(cli_home, "-", input=png.read_bytes(), at=iso(t0 + 200))
    assert (code, result["reason"]) == (1, "stale_presentation")


def test_expired_code_via_issue_time(t0, cli_home, tmp_path):
    out = tmp_path / "old.png"
    issue(cli_home, out, "--colour", "green", "--score", "90", "--at", iso(t0 - 3 * DAY),
          "--ttl", "1d")
    code, result = check(cli_home, str(out), at=iso(t0))
    assert (code, result["valid"], result["reason"]) == (1, False, "expired")
    assert result["expires"] == iso(t0 - 2 * DAY)


def test_tampered_code(t0, cli_home, tmp_path):
    out = tmp_path / "code.txt"
    text = issue(cli_home, out, "--colour", "red", "--score", "10", "--at", iso(t0))["text"]
    i = len(text) - 10
    tampered = text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1:]
    code, result = check(cli_home, tampered, at=iso(t0 + 3600))
    assert code == 1 and result["reason"] in ("bad_signature", "malformed")


def test_wrong_trust_list(t0, cli_home, tmp_path, monkeypatch):
    out = tmp_path / "code.png"
    issue(cli_home, out, "--colour", "green", "--score", "80", "--at", iso(t0))
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    other = tmp_path / "other"
    assert CliRunner().invoke(issuer_cli, ["init", "--home", str(other)]).exit_code == 0
    code, result = check(other, str(out), at=iso(t0 + 60))
    assert (code, result["reason"]) == (1, "unknown_key")


def test_image_without_qr(cli_home, tmp_path):
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("L", (320, 240), 200).save(blank)
    code, result = check(cli_home, str(blank))
    assert (code, result["reason"]) == (1, "no_code")


def test_garbage_text_is_rejected_not_crashed(cli_home):
    code, result = check(cli_home, "HCC1:NOT-REALLY")
    assert (code, result["reason"]) == (1, "malformed")


@pytest.mark.parametrize("args", [["does/not/exist.png"], ["missing.png"], []])
def test_usage_errors_exit_2(cli_home, args):
    result = CliRunner().invoke(verifier_cli, ["check", *args, "--trust",
                                               str(cli_home / "keys" / "trust-list.json")])
    assert result.exit_code == 2


def test_unusable_trust_list_exit_2(cli_home, tmp_path):
    broken = tmp_path / "trust-list.json"
    broken.write_text("{}")
    (tmp_path / "anchor.pub.pem").write_bytes((cli_home / "keys" / "anchor.pub.pem").read_bytes())
    result = CliRunner().invoke(verifier_cli, ["check", "HCC1:", "--trust", str(broken), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["reason"] == "trust_list_malformed"
    missing = CliRunner().invoke(verifier_cli, ["check", "HCC1:", "--trust",
                                                str(tmp_path / "nope.json")])
    assert missing.exit_code == 2


def test_trust_defaults_to_healthcode_home(t0, cli_home, tmp_path, monkeypatch):
    out = tmp_path / "code.txt"
    issue(cli_home, out, "--colour", "green", "--score", "70", "--at", iso(t0))
    monkeypatch.setenv("HEALTHCODE_HOME", str(cli_home))
    result = CliRunner().invoke(verifier_cli, ["check", str(out), "--at", iso(t0 + 3600)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("args", "needle"), [
    (["--colour", "blue", "--score", "1"], "blue"),
    (["--colour", "green", "--score", "101"], "101"),
    (["--colour", "green", "--score", "5", "--ttl", "0h"], "positive"),
    (["--colour", "green", "--score", "5", "--ttl", "forever"], "duration"),
    (["--colour", "green", "--score", "5", "--at", "yesterday"], "ISO 8601"),
])
def test_issue_usage_errors(cli_home, tmp_path, args, needle):
    result = CliRunner().invoke(issuer_cli, ["issue", "--home", str(cli_home), "--out",
                                             str(tmp_path / "x.png"), *args])
    assert result.exit_code == 2 and needle in result.output
    assert not (tmp_path / "x.png").exists()


def test_issue_bad_out_suffix(cli_home, tmp_path):
    result = CliRunner().invoke(issuer_cli, ["issue", "--home", str(cli_home), "--out",
                                             str(tmp_path / "x.gif"), "--colour", "green",
                                             "--score", "5"])
    assert result.exit_code == 2


def test_issue_without_home_exit_1(tmp_path):
    result = CliRunner().invoke(issuer_cli, ["issue", "--home", str(tmp_path), "--out",
                                             str(tmp_path / "x.png"), "--colour", "green",
                                             "--score", "5"])
    assert result.exit_code == 1 and "init" in result.output


def test_trust_list_resign_bumps_sequence(cli_home):
    from verifier import TrustList

    before = TrustList.load(cli_home / "keys" / "trust-list.json").sequence
    result = CliRunner().invoke(issuer_cli, ["trust-list", "--home", str(cli_home)])
    assert result.exit_code == 0, result.output
    assert TrustList.load(cli_home / "keys" / "trust-list.json").sequence == before + 1


def test_help_and_version():
    for cli in (issuer_cli, verifier_cli):
        assert CliRunner().invoke(cli, ["-h"]).exit_code == 0
        assert "0.1.0" in CliRunner().invoke(cli, ["--version"]).output
    assert "Example" in CliRunner().invoke(verifier_cli, ["check", "-h"]).output


def test_installed_console_scripts_round_trip(tmp_path):
    """The real entry points, as separate processes, with the passphrase from the env."""
    bindir = Path(sys.executable).parent
    env = {**os.environ, "HEALTHCODE_HOME": str(tmp_path), PASSPHRASE_ENV: TEST_PASSPHRASE}
    run = lambda *a: subprocess.run(a, env=env, capture_output=True, text=True, timeout=60)  # noqa: E731
    assert run(str(bindir / "healthcode-issuer"), "init").returncode == 0
    assert not (tmp_path / "keys" / "passphrase").exists()
    made = run(str(bindir / "healthcode-issuer"), "issue", "--colour", "green", "--score", "87",
               "--out", str(tmp_path / "code.png"))
    assert made.returncode == 0, made.stderr
    checked = run(str(bindir / "healthcode-verifier"), "check", str(tmp_path / "code.png"),
                  "--json")
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["colour"] == "green"


def test_tokens_are_created_listed_expire_and_are_revoked(cli_home):
    runner = CliRunner()
    made = runner.invoke(issuer_cli, ["token", "create", "--home", str(cli_home), "--scope",
                                      "write", "--label", "city lab", "--expires", "90d"])
    assert made.exit_code == 0, made.output
    token_id = made.output.split()[1]
    expires = format_date(int(time.time()) + 90 * DAY, "en")  # the deployment's zone
    assert f"expires {expires}" in made.output and "(UTC+08:00)" in made.output
    lasting = runner.invoke(issuer_cli, ["token", "create", "--home", str(cli_home),
                                         "--label", "kiosk fleet", "--expires", "never"])
    assert lasting.exit_code == 0 and "never expires" in lasting.output
    default = runner.invoke(issuer_cli, ["token", "create", "--home", str(cli_home)])
    assert default.exit_code == 0 and expires in default.output

    listed = runner.invoke(issuer_cli, ["token", "list", "--home", str(cli_home)])
    assert listed.exit_code == 0, listed.output
    line = next(row for row in listed.output.splitlines() if row.startswith(token_id))
    assert "write" in line and "active" in line and expires in line and "city lab" in line
    assert made.output.splitlines()[-1] not in listed.output  # never the secret
    assert any("never" in row and "kiosk fleet" in row for row in listed.output.splitlines())

    revoked = runner.invoke(issuer_cli, ["token", "revoke", "--home", str(cli_home), token_id,
                                         "--reason", "laptop lost"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    listed = runner.invoke(issuer_cli, ["token", "list", "--home", str(cli_home)])
    line = next(row for row in listed.output.splitlines() if row.startswith(token_id))
    assert "revoked" in line
    audit = runner.invoke(issuer_cli, ["audit", "verify", "--home", str(cli_home)])
    assert audit.exit_code == 0, audit.output


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--expires", "0d"], "positive"),
    (["create", "--expires", "soon"], "not a duration"),
    (["create", "--expires", "3000d"], "at most 1825d"),
    (["revoke", "0123456789abcdef"], "no token"),
    (["revoke", "not\x00hex"], "no token"),
])
def test_token_commands_refuse_cleanly(cli_home, args, message):
    result = CliRunner().invoke(issuer_cli, ["token", args[0], "--home", str(cli_home),
                                             *args[1:]])
    assert result.exit_code in (1, 2), result.output
    assert message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
