"""axe-core on a page as people see it: after its transitions have finished (a verdict's colour
fades in over 0.15 s; measured halfway, its contrast is neither colour's)."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

_SETTLED = """async () => {
  await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)));
}"""


def settle(page) -> None:
    """Wait until every CSS transition and animation on the page has finished."""
    page.evaluate(_SETTLED)


def axe_serious(page, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on ``page`` (within ``context``, a
    selector), once it has settled: ``[{"id", "impact", "help", "targets"}]``."""
    settle(page)
    results = Axe().run(page, context=context) if context else Axe().run(page)
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]][:3]}
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
