"""The scan benchmark's frames through ``/shared/scan/decoder.js`` in headless Chromium.

The page is tests/scanpage.py's (served by waitress on 127.0.0.1, the kiosk's CSP plus
``'wasm-unsafe-eval'``): each JPEG goes createImageBitmap -> canvas -> ImageData, as a camera
loop's frames do, then ``decoder.decode(imageData, {budgetMs})``. A few frames are decoded
first and thrown away (WebAssembly tiers up); each frame's cost is the median of ``REPEAT``
decodes of its ImageData, as measured by ``decode()`` itself.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import machine
from .fixtures import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 25
REPEAT = 3
WARM_UP = 10
CHUNK = 40


def _tests_modules() -> tuple[Any, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        import scanpage
        import webcam
    finally:
        sys.path.pop(0)
    return scanpage, webcam


def run(frames: Sequence[Any], issuer: Any, judge: Callable[..., bool],
        budget_ms: float = BUDGET_MS) -> Any:
    """An Outcome (bench.distance) for the browser with a frame budget of ``budget_ms``, or
    None when Chromium is missing."""
    from .distance import Outcome

    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    scanpage, webcam = _tests_modules()
    pictures = {f.name: f.jpeg for f in frames}
    port, server = serve_in_thread(scanpage.create_app(pictures))
    origin = f"http://127.0.0.1:{port}"
    read: list[bool] = []
    costs: list[float] = []
    try:
        with tempfile.TemporaryDirectory(prefix="healthcode-bench-scan-") as folder, \
                machine.unpinned(), sync_playwright() as driver, \
                webcam.browser(driver, None, Path(folder) / "profile") as context:
            page = context.new_page()
            page.goto(origin + scanpage.PAGE)
            page.wait_for_selector("body[data-ready], body[data-error]", state="attached")
            error = page.evaluate("document.body.dataset.error ?? null")
            if error:
                raise RuntimeError(f"decoder page: {error}")
            urls = [f"/test/frame/{f.name}" for f in frames]
            page.evaluate("([urls, budget]) => window.scan.decodeAll(urls, budget, 1)",
                          [urls[:WARM_UP], budget_ms])
            for start in range(0, len(frames), CHUNK):
                chunk = urls[start:start + CHUNK]
                results = page.evaluate(
                    "([urls, budget, repeat]) => window.scan.decodeAll(urls, budget, repeat)",
                    [chunk, budget_ms, REPEAT])
                for f, result in zip(frames[start:start + CHUNK], results, strict=True):
                    read.append(judge(result["texts"], f.text, issuer))
                    costs.append(statistics.median(result["costs"]))
    finally:
        server.close()
    return Outcome(read, costs)
