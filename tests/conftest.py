"""Shared fixtures: a real issuer home on disk, its trust list, and a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import issue_credential
from verifier import TrustList

#: Database fixtures (db_url over SQLite and PostgreSQL, store, data_keys): tests/dbfixtures.py
pytest_plugins = ["dbfixtures", "recoursefixtures"]

#: The fixed "now" of the tests (2026-11-18T...Z); nothing reads the clock at collection time.
NOW = 1_795_500_000
DAY = 86_400
TEST_PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """An initialised issuer home (keys created at NOW - 1 day), shared read-only by tests."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path_factory.mktemp("home"))
    init_home(home, now=NOW - DAY)
    mp.undo()
    return home


@pytest.fixture
def fresh_home(tmp_path, monkeypatch) -> Home:
    """An issuer home of the test's own, keys made at NOW (the passphrase set for the test)."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "issuer")
    init_home(home, now=NOW)
    return home


@pytest.fixture(scope="session")
def signing(home: Home):
    """``(private key, config)`` of the shared home's current signing key."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    key, config, _ = load_signing_key(home)
    mp.undo()
    return key, config


@pytest.fixture(scope="session")
def trust(home: Home) -> TrustList:
    return TrustList.load(home.trust_list, now=NOW)


@pytest.fixture(scope="session")
def make_code(signing):
    """``make_code(**overrides)`` -> a fresh code text signed by the shared home's key."""
    key, config = signing

    def make(colour: str = "green", score: int = 87, iat: int = NOW, ttl: int = DAY,
             **extra) -> str:
        return issue_credential(key, iss=extra.pop("iss", config.iss), colour=colour,
                                score=score, iat=iat, ttl=ttl, **extra)

    return make



@pytest.fixture(scope="session")
def playwright() -> Iterator[object]:
    """A Playwright driver for the browser tests (Debian's Chromium, never a downloaded one).
    Without Chromium or the playwright package they are skipped, except in CI: there they must
    run."""
    from dbfixtures import in_ci
    from webcam import CHROMIUM

    if not Path(CHROMIUM).exists():
        if in_ci():
            pytest.fail(f"CI must run the browser tests: {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci():
            raise
        pytest.skip("the playwright package is not installed")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def scratch_dirs(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """(temp, cwd): empty folders made the temporary directory and the working directory of
    the test, so that it can assert nothing was written to either."""
    import tempfile

    scratch, cwd = tmp_path / "tmp", tmp_path / "cwd"
    scratch.mkdir()
    cwd.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.chdir(cwd)
    return scratch, cwd


def file_tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time: equal before and after
    means nothing was written there."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def trust_copy(home, tmp_path) -> Path:
    """A copy of the shared home's trust list and anchor (in ``tmp_path/keys``) that a test
    may damage or store foreign keys beside."""
    import shutil

    keys = tmp_path / "keys"
    keys.mkdir()
    shutil.copy2(home.anchor_public, keys / "anchor.pub.pem")
    return Path(shutil.copy2(home.trust_list, keys / "trust-list.json"))
