"""The checkpoint app's routes: the page, its service worker and manifest, its static files.

``blueprint(anchor=..., ...)`` returns a fresh :class:`flask.Blueprint` (``url_prefix``
``/checkpoint``) for one app. ``anchor`` is the serving origin's trust anchor pin (the
RFC 7638 thumbprint as bytes or base64url text, or a function returning it, read on every
page load so that an anchor roll-over is seen): the page hands it to the device, which pins
it on first open. The verifier never imports the issuer, so the issuer passes its own.

The page carries a JSON data block ``#checkpoint-config`` (see docs of the app's state,
``static/state.js``): ``anchor``, ``sync`` (the origin to sync the lists from), ``rule``,
``acceptStatic``, ``window``, ``maxRevocationAge``, and ``server``: where a kiosk decodes
pictures on the server (``/api/``: ``frame``, ``upload``), for browsers without WebAssembly
or a camera, else null.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, render_template, request, send_from_directory

from .. import webui
from ..keys import b64url
from ..presentation import PRESENTATION_WINDOW
from ..syncwatch import MAX_REVOCATION_AGE
from . import offline

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: The kiosk's policy (verifier/kiosk) plus 'wasm-unsafe-eval' (compiling the QR decoder's
#: WebAssembly) and nothing else: every script, style, image and list comes from this origin.
CONTENT_SECURITY_POLICY = webui.allow_wasm(
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Script folders whose ``_("...")`` strings the page shows (vendored code left out).
_SCRIPT_FOLDERS = (STATIC, webui.STATIC / "checkpoint", webui.STATIC / "verifier",
                   webui.STATIC / "scan")

Pin = bytes | str | None


@cache
def _messages() -> tuple[str, ...]:
    return webui.script_messages(f for f in _SCRIPT_FOLDERS if f.is_dir())


def _pin_text(pin: Pin) -> str | None:
    if pin is None or pin == "":
        return None
    return b64url(pin) if isinstance(pin, bytes) else str(pin).removeprefix("sha256:")


def blueprint(anchor: Pin | Callable[[], Pin] = None, *, rule: str = "green",
              accept_static: bool = True, window: int = PRESENTATION_WINDOW,
              max_revocation_age: int = MAX_REVOCATION_AGE,
              server: str | None = None) -> Blueprint:
    """The checkpoint app for one Flask app. ``rule``/``accept_static``: what a device starts
    with (staff may change both on the device); ``server``: the URL under which a kiosk
    decodes pictures (``/api/``), offered to browsers that cannot decode them."""
    bp = Blueprint("checkpoint", __name__, url_prefix="/checkpoint",
                   template_folder="templates", static_folder="static",
                   static_url_path="/static")

    def config() -> dict[str, Any]:
        pin = anchor() if callable(anchor) else anchor
        return {"anchor": _pin_text(pin), "sync": request.host_url.rstrip("/"),
                "rule": rule, "acceptStatic": accept_static, "window": window,
                "maxRevocationAge": max_revocation_age, "server": server}

    @bp.after_request
    def _headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Permissions-Policy"] = "camera=(self), microphone=()"
        return response

    @bp.get("/")
    def page() -> Response:
        html = render_template("checkpoint/page.html", config=webui.data_block(
            "checkpoint-config", config()), i18n_block=webui.i18n_block(_messages()))
        response = Response(html, mimetype="text/html")
        # The service worker keeps a copy for offline use; online, the page is revalidated.
        response.headers["Cache-Control"] = "no-cache"
        response.vary.update(("Cookie", "Accept-Language"))
        return response

    @bp.get("/sw.js")
    def service_worker() -> Response:
        # Served from /checkpoint/, so its scope covers the page and everything under it;
        # its cache version is a digest of the files (offline.py): a deploy is a new worker.
        response = Response(offline.served_worker(), mimetype="text/javascript")
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/manifest.webmanifest")
    def manifest() -> Response:
        response = send_from_directory(STATIC, "manifest.webmanifest",
                                       mimetype="application/manifest+json", max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    return bp
