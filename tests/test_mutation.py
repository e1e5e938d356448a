"""The mutation runner itself (scripts/mutation.py, ``make mutation``): on a toy module it must
kill what the toy's tests catch, keep what they miss, stop a mutant that hangs, and leave the
tree as it was; so a run that reports few survivors cannot be a run that tested nothing."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TOY = '''\
def clamp(x, top=10):
    if x > top:
        return top
    return x


def count(n):
    i = 0
    while i < n:
        i += 1
    return i
'''

TOY_TESTS = '''\
from toy import clamp, count


def test_clamp():
    assert clamp(11) == 10
    assert clamp(3) == 3


def test_count():
    assert count(3) == 3
'''


def _runner():
    if "mutation" not in sys.modules:  # registered first: its dataclass looks itself up there
        spec = importlib.util.spec_from_file_location("mutation", ROOT / "scripts" / "mutation.py")
        sys.modules["mutation"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["mutation"])
    return sys.modules["mutation"]


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "toy.py").write_text(TOY)
    (tmp_path / "test_toy.py").write_text(TOY_TESTS)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    return tmp_path


def _found(mutants):
    return {(m.line, m.description) for m in mutants}


def test_the_mutants_are_the_audits_kinds(toy):
    assert _found(_runner().mutants(toy, "toy.py")) == {
        (1, "10 -> 11"), (1, "10 -> 9"),
        (2, "if X -> if not X"), (2, "if X -> if False"), (2, "> -> >="),
        (3, "early return dropped"),
        (8, "0 -> 1"), (8, "0 -> -1"),
        (9, "while X -> while not X"), (9, "while X -> while False"), (9, "< -> <="),
        (10, "1 -> 2"), (10, "1 -> 0"),
    }


def test_a_mutant_is_the_original_but_for_one_change(toy):
    runner = _runner()
    mutant = next(m for m in runner.mutants(toy, "toy.py") if m.description == "> -> >=")
    base = runner.mutated_source(toy, None, "toy.py").splitlines()
    changed = runner.mutated_source(toy, mutant, "toy.py").splitlines()
    assert [(a, b) for a, b in zip(base, changed, strict=True) if a != b] == [
        ("    if x > top:", "    if x >= top:")]


HANGS = (10, "1 -> 0")  # i += 0: the loop never ends


def test_the_run_kills_and_keeps(toy):
    results = _runner().run(toy, ["toy.py"], ["test_toy.py"], workers=2, timeout=120,
                            select=lambda m: (m.line, m.description) != HANGS)
    assert _found(results["survived"]) == {(2, "> -> >="), (8, "0 -> 1"), (8, "0 -> -1")}
    assert len(results["killed"]) == 9 and results["timeout"] == []
    assert (toy / "toy.py").read_text() == TOY  # the tree itself was never mutated


def test_a_mutant_that_hangs_is_stopped(toy):
    results = _runner().run(toy, ["toy.py"], ["test_toy.py"], workers=1, timeout=3,
                            select=lambda m: (m.line, m.description) == HANGS)
    assert _found(results["timeout"]) == {HANGS}
    assert (toy / "toy.py").read_text() == TOY


def test_a_failing_baseline_stops_the_run(toy):
    (toy / "test_toy.py").write_text(TOY_TESTS + "\n\ndef test_broken():\n    assert False\n")
    with pytest.raises(RuntimeError, match="without any mutant"):
        _runner().run(toy, ["toy.py"], ["test_toy.py"], workers=1, timeout=5)


def test_a_tree_configured_like_ours_runs(toy):
    """This project's pytest settings name pytest-timeout's option and make warnings errors:
    the mutation run loads plugins by name only, so it must name that one too."""
    (toy / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntimeout = 60\nfilterwarnings = ["error"]\n')
    results = _runner().run(toy, ["toy.py"], ["test_toy.py"], workers=2, timeout=120,
                            select=lambda m: (m.line, m.description) != HANGS)
    assert len(results["killed"]) == 9
