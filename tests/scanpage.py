"""A page that runs ``/shared/scan/decoder.js`` on frames we give it, for tests and bench/.

A small Flask app with the shared front-end modules (:mod:`verifier.webui`, as both web apps
serve them) under the kiosk's Content-Security-Policy widened only as
:func:`verifier.webui.allow_wasm` widens it, and a test page whose module exposes
``window.scan``: ``scan.decodeUrl(url, budgetMs)`` fetches a picture (JPEG or PNG) from this
origin, turns it into ImageData as a camera loop does (createImageBitmap -> canvas ->
getImageData) and decodes it. Frames are served from ``frames`` at ``/test/frame/<name>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, Response, abort

from verifier import webui
from verifier.kiosk import CONTENT_SECURITY_POLICY

PAGE = "/test/decoder.html"
CSP = webui.allow_wasm(CONTENT_SECURITY_POLICY)

_HTML = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>decoder</title>
<body><script type="module" src="/test/decoder-page.js"></script></body></html>
"""

_SCRIPT = """
import { createDecoder } from "/shared/scan/decoder.js";

async function imageData(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

try {
  const decoder = await createDecoder();
  window.scan = {
    decoder,
    imageData,
    async decodeUrl(url, budgetMs = 25) {
      return decoder.decode(await imageData(url), { budgetMs });
    },
    /** Decode each frame `repeat` times; the results of the last time, each frame's costs. */
    async decodeAll(urls, budgetMs = 25, repeat = 1) {
      const out = [];
      for (const url of urls) {
        const data = await imageData(url);
        const costs = [];
        let result = null;
        for (let i = 0; i < repeat; i++) {
          result = await decoder.decode(data, { budgetMs });
          costs.push(result.ms);
        }
        out.push({ texts: result.texts, symbolSeen: result.symbolSeen, costs });
      }
      return out;
    },
  };
  document.body.dataset.ready = "yes";
} catch (error) {
  document.body.dataset.error = String(error);
}
"""


def create_app(frames: Mapping[str, bytes] | None = None) -> Flask:
    """The test page's app; ``frames``: picture bytes by name (``.jpg`` or ``.png``)."""
    app = Flask(__name__)
    app.config["DEFAULT_LOCALE"] = "en"
    webui.install(app, [], [])
    pictures = frames if frames is not None else {}  # served live: callers may add more

    @app.get(PAGE)
    def page() -> Response:
        return Response(_HTML, mimetype="text/html")

    @app.get("/test/decoder-page.js")
    def script() -> Response:
        return Response(_SCRIPT, mimetype="text/javascript")

    @app.get("/test/frame/<name>")
    def frame(name: str) -> Response:
        if name not in pictures:
            abort(404)
        kind = "image/png" if name.endswith(".png") else "image/jpeg"
        return Response(pictures[name], mimetype=kind)

    @app.after_request
    def _csp(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        return response

    return app
