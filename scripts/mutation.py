"""Mutation run over the verifier core: does a test fail for every small change to the code?

    python scripts/mutation.py                  # the verifier core (make mutation)
    python scripts/mutation.py --list           # the mutants only, no tests run
    python scripts/mutation.py -k verify.py:150 # only mutants whose "file:line" starts so
    python scripts/mutation.py --again run.log  # only the survivors and timeouts a run printed

Each mutant is one change of the kinds a reviewer tries by hand: a comparison flipped at its
boundary (``<`` to ``<=``, ``==`` to ``!=``, ``is`` to ``is not``, ``in`` to ``not in``), an
integer constant shifted by one either way, an ``if``/``while`` condition negated or made
``False``, a ``raise`` or an early ``return`` dropped, ``and`` and ``or`` swapped.

The tree is never touched: each worker tests in its own copy under a temporary folder (the
files git knows, untracked ones included), writes a mutant there, runs the tests with ``-x``
and a timeout, and writes the file back before the next one. A mutant is *killed* when the
tests fail, *survived* when they pass, *timeout* when they hang. The mutated file is the
original after ``ast.unparse`` (comments gone, code the same); a baseline run of exactly those
unmutated files must pass first, or nothing is counted. docs/TESTING.md holds the last result
and why each survivor left in it changes nothing a caller can see.
"""

from __future__ import annotations

import argparse
import ast
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("verifier/verify.py", "verifier/fastpath.py", "verifier/trust.py",
           "verifier/revocation.py", "verifier/presentation.py")
#: The verifier core's own tests (absent files are skipped): a mutant they miss counts as
#: survived even if a slower test elsewhere (the kiosk's, the lifecycle's) would catch it, so
#: that the core's behaviour is pinned where it is defined.
TESTS = ("tests/test_vectors.py", "tests/test_trust.py", "tests/test_presentation.py",
         "tests/test_fastpath.py", "tests/test_verify.py", "tests/test_revocation.py",
         "tests/test_boundaries.py", "tests/test_mutants.py", "tests/test_tamper.py",
         "tests/test_interop.py")
_FLIP: dict[type, type] = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                           ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot,
                           ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==",
           ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
           ast.NotIn: "not in"}


@dataclass(frozen=True)
class Mutant:
    """One change: where (``path`` relative to the root, ``line``), what (``description``),
    and how to find it again (``node`` in :func:`ast.walk` order, ``option`` at that node)."""

    path: str
    line: int
    description: str
    node: int
    option: int
    context: str = ""  # the code around the change, shortened

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.description}  [{self.context}]"


Edit = tuple[str, Callable[[ast.AST, dict[ast.AST, ast.AST]], None]]


def _edits(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[Edit]:
    """The changes that can be made at ``node``: (description, function that makes it)."""
    edits: list[Edit] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            flipped = _FLIP[type(op)]

            def flip(n: ast.AST, _: object, i: int = i, flipped: type = flipped) -> None:
                n.ops[i] = flipped()  # type: ignore[attr-defined]
            which = f" (comparison {i + 1} of {len(node.ops)})" if len(node.ops) > 1 else ""
            edits.append((f"{_SYMBOL[type(op)]} -> {_SYMBOL[flipped]}{which}", flip))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            def shift(n: ast.AST, _: object, delta: int = delta) -> None:
                n.value += delta  # type: ignore[attr-defined]
            edits.append((f"{node.value} -> {node.value + delta}", shift))
    elif isinstance(node, ast.If | ast.While):
        def negate(n: ast.AST, _: object) -> None:
            n.test = ast.UnaryOp(ast.Not(), n.test)  # type: ignore[attr-defined]

        def never(n: ast.AST, _: object) -> None:
            n.test = ast.Constant(False)  # type: ignore[attr-defined]
        kind = "if" if isinstance(node, ast.If) else "while"
        edits += [(f"{kind} X -> {kind} not X", negate), (f"{kind} X -> {kind} False", never)]
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        names = {ast.And: "and", ast.Or: "or"}

        def swap(n: ast.AST, _: object, other: type = other) -> None:
            n.op = other()  # type: ignore[attr-defined]
        edits.append((f"{names[type(node.op)]} -> {names[other]}", swap))
    elif isinstance(node, ast.Raise):
        edits.append(("raise dropped", _drop))
    elif isinstance(node, ast.Return) and _is_early(node, parents):
        edits.append(("early return dropped", _drop))
    return edits


def _drop(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> None:
    """Replace a statement with ``pass`` in the block that holds it."""
    for _, block in ast.iter_fields(parents[node]):
        if isinstance(block, list) and any(item is node for item in block):
            block[[id(item) for item in block].index(id(node))] = ast.Pass()
            return


def _is_early(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Whether a ``return`` is not the function's last statement (dropping it falls through)."""
    parent = parents.get(node)
    while parent is not None and not isinstance(parent, ast.FunctionDef):
        node, parent = parent, parents.get(parent)
    return parent is not None and parent.body[-1] is not node


def _skipped(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Code no caller can reach: ``if TYPE_CHECKING:`` blocks, f-string formatting, annotations."""
    if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
        return True
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            return True
        if isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.AnnAssign | ast.arg) and child is node.annotation:
            return True
        if isinstance(node, ast.FunctionDef) and child is node.returns:
            return True
    return False


def _walk(tree: ast.AST) -> Iterator[tuple[int, ast.AST, dict[ast.AST, ast.AST]]]:
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for index, node in enumerate(ast.walk(tree)):
        if not _skipped(node, parents):
            yield index, node, parents


def _context(node: ast.AST, parents: dict[ast.AST, ast.AST], width: int = 60) -> str:
    """The code a reader needs to find the change: the expression or statement around it."""
    if isinstance(node, ast.Constant):
        node = parents[node]
    elif isinstance(node, ast.If | ast.While):
        node = node.test
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def mutants(root: Path, path: str) -> list[Mutant]:
    """Every mutant of the file ``root / path``, in source order."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"))
    found = [Mutant(path, node.lineno, description, index, option,  # type: ignore[attr-defined]
                    _context(node, parents))
             for index, node, parents in _walk(tree)
             for option, (description, _) in enumerate(_edits(node, parents))]
    return sorted(found, key=lambda m: (m.line, m.node, m.option))


def mutated_source(root: Path, mutant: Mutant | None, path: str) -> str:
    """``path``'s source with ``mutant`` applied (``None``: unmutated, as unparse writes it)."""
    tree = ast.parse((root / path).read_text(encoding="utf-8"))
    if mutant is not None:
        for index, node, parents in _walk(tree):
            if index == mutant.node:
                _edits(node, parents)[mutant.option][1](node, parents)
                break
        else:
            raise LookupError(f"no node {mutant.node} in {path}")
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _copy_tree(root: Path, dest: Path) -> None:
    """Copy the files git knows (tracked and untracked-but-not-ignored) of ``root`` to ``dest``."""
    # Fixed arguments; git from PATH, as make finds it.
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=root, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = root / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _run_tests(tree: Path, tests: list[str], timeout: float, python: str) -> str:
    """Run ``tests`` in ``tree``; return ``"passed"``, ``"failed"`` or ``"timeout"``."""
    # Plugins only by name: autoloading them all costs ~2 s per run, more than most tests.
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    command = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-p", "_hypothesis_pytestplugin", "-p", "pytest_timeout",
               f"--basetemp={tree}.tmp", *tests]
    process = subprocess.Popen(command, cwd=tree, env=env,  # noqa: S603 (our own tests)
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the test run and anything it started
        process.wait()
        return "timeout"
    return "passed" if code == 0 else "failed"


def run(root: Path, targets: list[str], tests: list[str], *, workers: int = 2,
        timeout: float = 120.0, python: str = sys.executable,
        select: Callable[[Mutant], bool] = lambda m: True,
        progress: Callable[[Mutant, str], None] | None = None) -> dict[str, list[Mutant]]:
    """Run every mutant of ``targets`` that ``select`` keeps against ``tests`` (paths relative
    to ``root``).

    Returns the mutants by outcome: ``killed``, ``survived``, ``timeout``. Raises
    ``RuntimeError`` when the unmutated baseline does not pass.
    """
    tests = [t for t in tests if (root / t).exists()]
    todo = [m for path in targets for m in mutants(root, path) if select(m)]
    results: dict[str, list[Mutant]] = {"killed": [], "survived": [], "timeout": []}
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        trees: queue.Queue[Path] = queue.Queue()
        for n in range(max(1, workers)):
            tree = Path(scratch) / f"tree{n}"
            _copy_tree(root, tree)
            for path in targets:  # the baseline: each target as the mutator writes it
                (tree / path).write_text(mutated_source(root, None, path), encoding="utf-8")
            trees.put(tree)
        tree = trees.get()
        if _run_tests(tree, tests, max(3 * timeout, 600), python) != "passed":
            raise RuntimeError("the tests fail without any mutant: fix that first")
        trees.put(tree)

        def one(mutant: Mutant) -> tuple[Mutant, str]:
            tree = trees.get()
            target = tree / mutant.path
            original = target.read_text(encoding="utf-8")
            # The tests named after the mutated module first: they fail soonest.
            stem = Path(mutant.path).stem
            ordered = sorted(tests, key=lambda t: Path(t).stem != f"test_{stem}")
            try:
                target.write_text(mutated_source(root, mutant, mutant.path), encoding="utf-8")
                outcome = _run_tests(tree, ordered, timeout, python)
            finally:
                target.write_text(original, encoding="utf-8")
                trees.put(tree)
            outcome = {"passed": "survived", "failed": "killed"}.get(outcome, outcome)
            if progress is not None:
                progress(mutant, outcome)
            return mutant, outcome

        with ThreadPoolExecutor(max(1, workers)) as pool:
            for mutant, outcome in pool.map(one, todo):
                results[outcome].append(mutant)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    parser.add_argument("-k", dest="select", default="", help="only mutants at FILE:LINE...")
    parser.add_argument("--again", metavar="LOG", help="only the mutants a run printed as "
                        "survived or timeout in LOG")
    parser.add_argument("-j", dest="workers", type=int, default=2, help="parallel copies")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant")
    args = parser.parse_args(argv)
    prefix = args.select if args.select.startswith("verifier/") or not args.select \
        else "verifier/" + args.select
    again = None
    if args.again:
        lines = Path(args.again).read_text(encoding="utf-8").splitlines()
        again = {line.split(": ", 1)[1].split("  [")[0].split(" (")[0] for line in lines
                 if line.startswith(("  survived: ", "  timeout: "))}

    def select(m: Mutant) -> bool:
        return m.where.startswith(prefix) and (
            again is None or f"{m.where}: {m.description}".split(" (")[0] in again)
    if args.list:
        for path in TARGETS:
            for mutant in filter(select, mutants(ROOT, path)):
                print(mutant)
        return 0
    started = time.monotonic()

    def progress(mutant: Mutant, outcome: str) -> None:
        if outcome != "killed":
            print(f"{outcome.upper():9} {mutant}", flush=True)

    results = run(ROOT, list(TARGETS), list(TESTS), workers=args.workers,
                  timeout=args.timeout, select=select, progress=progress)
    total = sum(map(len, results.values()))
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    print(f"\n{total} mutants: {len(results['killed'])} killed, "
          f"{len(results['survived'])} survived, {len(results['timeout'])} timeout "
          f"({minutes} min {seconds} s, {args.workers} workers)")
    for outcome in ("survived", "timeout"):
        for m in sorted(results[outcome], key=lambda m: (m.path, m.line)):
            print(f"  {outcome}: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
