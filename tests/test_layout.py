"""The architecture as tests: the import graph runs one way, the verifier stands alone, modules
stay small, public APIs stay in step."""

import ast
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from conftest import DAY, NOW, TEST_PASSPHRASE

import issuer
import verifier
from issuer.keys.home import PASSPHRASE_ENV, Home, HomeError, write_atomic
from issuer.keys.keystore import init_home, load_signing_key

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("issuer", "verifier")
#: Longest module, in lines, outside tests (and vendored or generated files, which are not .py).
MAX_MODULE_LINES = 350
#: Which of issuer's subpackages each may import (README, "Layout"): the web app and the CLI
#: stand on the service, the service on the store, the policy and rendering, all of them on
#: the keys; none points back up. "" is the package's own __init__ (the public API).
ISSUER_LAYERS: dict[str, set[str]] = {
    "keys": set(),
    "policy": set(),
    "render": set(),
    "store": {"keys"},
    "service": {"store", "policy", "render", "keys"},
    "web": {"service", "store", "policy", "render", "keys"},
    "cli": {"", "service", "web", "render", "keys"},
    "demo": {"service", "web", "render", "keys"},
    "": {"keys", "render"},
}
#: The verifier's faces: nothing else in the verifier imports them.
VERIFIER_FACES = {"verifier.cli", "verifier.kiosk"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p
            for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The top-level names of every absolute import in ``path``."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _resolve(name: str) -> str | None:
    """The project module ``name`` is, or is in (``pkg.mod.attr`` -> ``pkg.mod``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imported_modules(module: str) -> set[str]:
    """The project modules ``module`` imports, anywhere in it: at the top, inside functions and
    under TYPE_CHECKING alike (each is an arrow between modules)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module.
            targets = [f"{stem}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in map(_resolve, targets) if t is not None and t != module)
    return found


GRAPH = {module: imported_modules(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_imports_resolve_submodules_and_skip_names():
    assert "issuer.cli.keys" in GRAPH["issuer.cli.main"]  # from .keys import keys
    assert "issuer" in GRAPH["issuer.cli.main"]  # from .. import __version__
    assert "issuer.store.audit" in GRAPH["issuer.store.repository"]  # from . import audit


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "issuer":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in ISSUER_LAYERS else ""


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("issuer")))
def test_issuer_layers_point_one_way(module):
    own = _layer(module)
    arrows = {_layer(t) for t in GRAPH[module] if t.startswith("issuer")} - {own}
    assert arrows <= ISSUER_LAYERS[own], f"{module} -> {sorted(arrows - ISSUER_LAYERS[own])}"


def test_the_layers_themselves_have_no_cycle():
    assert _cycles(ISSUER_LAYERS) == []


def _face(module: str) -> str | None:
    return next((f for f in VERIFIER_FACES if module == f or module.startswith(f + ".")), None)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("verifier")))
def test_verifier_core_does_not_import_its_faces(module):
    """The kiosk and the CLI stand on the verifier's core; only the CLI starts the kiosk."""
    own = _face(module)
    allowed = {None, own} | ({"verifier.kiosk"} if own == "verifier.cli" else set())
    assert {_face(t) for t in GRAPH[module]} <= allowed


@pytest.mark.parametrize("path", sorted((ROOT / "verifier").rglob("*.py")), ids=lambda p: p.name)
def test_verifier_never_imports_issuer(path):
    assert "issuer" not in _imports(path)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module}: {lines} lines"


@pytest.mark.parametrize("module", sorted(m for m, p in MODULES.items() if p.name == "__init__.py"))
def test_every_package_says_what_it_holds(module):
    assert ast.get_docstring(ast.parse(MODULES[module].read_text())), module


@pytest.mark.parametrize("package", [issuer, verifier])
def test_all_matches_the_exports(package):
    for name in package.__all__:
        assert hasattr(package, name), name
    exported = {n for n in vars(package) if not n.startswith("_")}
    modules = {n for n, v in vars(package).items() if type(v).__name__ == "module"}
    assert exported - modules - {"annotations"} == set(package.__all__)


_MARKER = ("<" * 7 + " ", "=" * 7, ">" * 7 + " ")


def _merge_leftovers(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), 1)
            if line.startswith(_MARKER[::2]) or line.rstrip() == _MARKER[1]]


def test_the_leftover_finder_finds_a_conflict():
    assert _merge_leftovers("a {}\n" + "=" * 7 + "\nb {}\n") == [2]
    assert _merge_leftovers("/* " + "=" * 9 + "\n*/\n") == []


def test_no_merge_conflict_left_in_any_file():
    """A conflict marker left in a style sheet breaks only the rules after it, silently."""
    suffixes = {".py", ".js", ".css", ".html", ".po", ".toml", ".md", ".json", ".sh", ".cfg"}
    left = [f"{path.relative_to(ROOT)}:{line}"
            for folder in ("issuer", "verifier", "tests", "docs", "scripts", "bench")
            for path in (ROOT / folder).rglob("*") if path.suffix in suffixes
            and "vendor" not in path.parts and "artifacts" not in path.parts
            for line in _merge_leftovers(path.read_text(encoding="utf-8", errors="replace"))]
    left += [f"README.md:{line}" for line in _merge_leftovers(
        (ROOT / "README.md").read_text(encoding="utf-8"))]
    assert not left


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


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """setuptools' package-data glob: ``*`` stays inside one folder."""
    return re.compile("".join("[^/]*" if c == "*" else re.escape(c) for c in pattern))


@pytest.mark.parametrize("package", ["issuer", "verifier"])
def test_every_file_a_page_or_a_module_reads_is_package_data(package):
    """An installed wheel (a checkpoint installs the verifier alone) must carry every
    template, script, stylesheet, icon, WebAssembly module and catalog the code serves or
    reads: each committed file that is not Python matches the package's package-data."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = [_glob_regex(p) for p in config["tool"]["setuptools"]["package-data"][package]]
    listed = subprocess.run(["git", "ls-files", package], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    if not listed:
        pytest.skip("not a git checkout")
    missing = []
    for name in listed:
        relative = name.split("/", 1)[1]
        if name.endswith(".py") or relative.startswith("translations/") and \
                name.endswith(".pot"):
            continue
        if not any(p.fullmatch(relative) for p in patterns):
            missing.append(relative)
    assert not missing, f"not in [tool.setuptools.package-data] {package}: {missing}"
