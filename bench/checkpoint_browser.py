"""The checkpoint app (/checkpoint/) in a real browser, offline: time from the first camera
frame that shows a code to the verdict painted on screen, and what each frame costs the page.

Each run starts headless Chromium on a phone-sized screen with a fake webcam clip
(tests/webcam.py) that loops: EMPTY_SECONDS of a scene without a code, then a phone screen
showing a valid code. The app is opened once online (it pins the issuer's anchor, syncs the
lists, its service worker keeps the app), then the network is cut and the page reloaded: what
is measured is the page alone, decoding (zxing-wasm) and verifying (the JS verifier) itself.
Instrumentation injected into the page (not part of the app) watches every frame the video
element presents (``requestVideoFrameCallback``) and notes when a probe pixel on the phone
screen's margin turns bright after a dark frame, once the app is ready: the first frame
showing the code. A MutationObserver notes when ``#verdict`` turns ``admit``; the next
animation frame after it is "painted". Same method as bench/kiosk_browser.py.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import issue_credential
from issuer.web import create_app

from . import machine, report
from .fixtures import bench_passphrase, serve_in_thread
from .kiosk_browser import _probe, _webcam
from .timing import Settings

EMPTY_SECONDS = 2.0
CODE_SECONDS = 2.0
PHONE = {"width": 390, "height": 844}

_PROBE_SCRIPT = """
(() => {
  const probe = %(probe)s;
  window.__bench = { codeShownAt: null, paintedAt: null, dark: false };
  const canvas = new OffscreenCanvas(1, 1);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  function watch(video) {
    const onFrame = (now) => {
      const bench = window.__bench;
      if (bench.codeShownAt === null && video.videoWidth) {
        ctx.drawImage(video, probe[0], probe[1], 1, 1, 0, 0, 1, 1);
        const bright = ctx.getImageData(0, 0, 1, 1).data[0] > 200;
        const ready = window.checkpoint && window.checkpoint.ready;
        if (!bright) bench.dark = true;
        else if (bench.dark && ready) bench.codeShownAt = now;
      }
      if (bench.codeShownAt === null) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  document.addEventListener('DOMContentLoaded', () => {
    watch(document.getElementById('video'));
    const verdict = document.getElementById('verdict');
    new MutationObserver(() => {
      const bench = window.__bench;
      if (verdict.dataset.state === 'admit' && bench.codeShownAt !== null
          && bench.paintedAt === null) {
        requestAnimationFrame(() => { bench.paintedAt = performance.now(); });
      }
    }).observe(verdict, { attributes: true, attributeFilter: ['data-state'] });
  });
})();
"""


def _poll(page, probe, what: str, timeout: float = 30.0):
    # Polled from here: the page's CSP forbids the eval that wait_for_function would need.
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f} s")
        page.wait_for_timeout(50)


def _installed(page) -> bool:
    return bool(page.evaluate("""() => !!(window.checkpoint && window.checkpoint.ready
        && window.checkpoint.lastSync && navigator.serviceWorker.controller)"""))


def run(settings: Settings) -> report.Section:
    webcam = _webcam()
    from playwright.sync_api import sync_playwright

    runs = 3 if settings.rounds < Settings().rounds else 9
    latencies, frame_ms, sizes = [], [], set()
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-app-") as folder, \
            machine.unpinned(), bench_passphrase():
        home = Home(Path(folder) / "home")
        init_home(home)
        key, config, _ = load_signing_key(home)
        app = create_app({"HOME": str(home.root), "DEFAULT_LOCALE": "en"})
        port, server = serve_in_thread(app)
        url = f"http://127.0.0.1:{port}/checkpoint/"
        text = issue_credential(key, iss=config.iss, colour="green", score=87,
                                iat=int(time.time()), ttl=3600)
        clip = webcam.clip(Path(folder) / "clip.y4m", empty_seconds=EMPTY_SECONDS, code=text,
                           code_seconds=CODE_SECONDS)
        script = _PROBE_SCRIPT % {"probe": list(_probe(webcam, text))}
        try:
            with sync_playwright() as driver:
                for number in range(runs):
                    with webcam.browser(driver, clip, Path(folder) / f"profile{number}",
                                        viewport=PHONE, is_mobile=True,
                                        has_touch=True) as context:
                        context.add_init_script(script)
                        page = context.new_page()
                        page.goto(url)
                        _poll(page, lambda p=page: _installed(p), "installed app")
                        context.set_offline(True)
                        page.reload()
                        bench = _poll(page, lambda p=page: (b := p.evaluate("window.__bench"))
                                      and b["paintedAt"] is not None and b, "admit verdict")
                        hooks = page.evaluate("window.checkpoint")
                    latencies.append(bench["paintedAt"] - bench["codeShownAt"])
                    frame_ms.extend(hooks["frameMs"])
                    if hooks["camera"]:
                        sizes.add(f"{hooks['camera']['width']}×{hooks['camera']['height']}")
        finally:
            server.close()
            app.extensions["healthcode"].close()
    median = statistics.median(latencies)
    frames = sorted(frame_ms)
    rows = [["first frame showing the code → verdict painted", f"{median:.0f}",
             f"{min(latencies):.0f}", f"{max(latencies):.0f}", str(len(latencies))],
            ["decoder per frame (all frames, most without a code)",
             f"{statistics.median(frames):.1f}", f"{frames[0]:.1f}", f"{frames[-1]:.1f}",
             str(len(frames))]]
    body = "\n".join([
        "### Checkpoint app in the browser, offline: code shown → verdict on screen",
        "",
        f"Headless Chromium (Debian package), 390×844 phone screen, fake webcam at "
        f"{webcam.FPS} fps ({', '.join(sorted(sizes)) or '?'} clip): {EMPTY_SECONDS} s "
        "without a code, then a valid code, looping. The app opened once online, then the "
        "network cut and the page reloaded: decoding (zxing-wasm) and verification (the JS "
        "verifier, WebCrypto) in the page, nothing on the server. Not pinned. The latency "
        "includes waiting for the next video frame and any frame already being decoded when "
        "the code appeared, decode + verify, and the paint.",
        "",
        report.table(["what", "median ms", "min ms", "max ms", "n"], rows, align="lrrrr"),
    ])
    return report.Section(body, [["checkpoint app in browser: code shown → verdict painted",
                                  f"{median:.0f} ms", "median of runs, offline; no target set"]])
