"""The architecture as tests: the verifier stands alone, public APIs stay in step."""

import ast
import stat
from pathlib import Path

import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE

import issuer
import verifier
from issuer.keys.home import PASSPHRASE_ENV, Home, HomeError, write_atomic
from issuer.keys.keystore import init_home, load_signing_key

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "verifier").rglob("*.py")), ids=lambda p: p.name)
def test_verifier_never_imports_issuer(path):
    assert "issuer" not in _imports(path)


@pytest.mark.parametrize("package", [issuer, verifier])
def test_all_matches_the_exports(package):
    for name in package.__all__:
        assert hasattr(package, name), name
    exported = {n for n in vars(package) if not n.startswith("_")}
    modules = {n for n, v in vars(package).items() if type(v).__name__ == "module"}
    assert exported - modules - {"annotations"} == set(package.__all__)


def test_atomic_write_mode_and_no_leftovers(tmp_path):
    target = tmp_path / "secret"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_wrong_passphrase_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path)
    init_home(home, now=NOW - DAY)
    monkeypatch.setenv(PASSPHRASE_ENV, "not the passphrase")
    with pytest.raises(HomeError, match="passphrase"):
        load_signing_key(home)


def test_no_private_key_material_in_the_trust_list(home):
    text = home.trust_list.read_text()
    assert "PRIVATE" not in text and '"d"' not in text
