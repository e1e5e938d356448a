"""The checkpoint kiosk: a local web app that scans codes with a webcam and verifies them
offline, with nothing but the verifier, the trust list and its anchor.

``create_app(config)`` keys (all optional):

- ``TRUST``: path of the trust list (default ``$HEALTHCODE_HOME/keys/trust-list.json``);
- ``ANCHOR``: the pinned anchor (default ``anchor.pub.pem`` beside the trust list);
- ``RULE``: the checkpoint rule, e.g. ``green``, ``green,yellow``, ``score>=60``,
  ``green,dcc:vaccination,recovery,nzcp:any`` (:mod:`.rules`); foreign codes are verified
  with the keys stored in ``foreign/`` beside the trust list (``trust add-dcc``, ``add-shc``,
  ``add-nzcp``), re-read when those files change;
- ``ACCEPT_STATIC``: whether static codes (not bound to a phone: printed cards, copies) are
  admitted (default True; they are shown as "static code — check ID"); a live presentation
  from a phone (``HCP1:``) is never static;
- ``WINDOW``: how many seconds old a live presentation may be (default 60);
- ``SYNC``: issuer URLs to sync the lists from in the background (default none), every
  ``SYNC_EVERY`` seconds (default 300);
- ``MAX_REVOCATION_AGE``: seconds after which the page warns that the revocation list is old
  (default 3600);
- ``DEFAULT_LOCALE``: the language of readers who ask for none (``zh-CN`` or ``en``; default
  ``$HEALTHCODE_DEFAULT_LOCALE``, else Chinese); ``TIMEZONE``: the zone times are shown in
  (default ``$HEALTHCODE_TIMEZONE``, else Asia/Shanghai);
- ``CLOCK``: a function returning epoch seconds (tests).

Routes: ``/`` the page (decoding on this server: for laptops, and browsers without WebAssembly
or a camera); ``/checkpoint/`` the app that decodes and verifies in the browser
(:mod:`verifier.browser`, pinned to this kiosk's anchor); ``POST /api/frame`` (a JPEG camera
frame), ``POST /api/upload`` (a photo or screenshot, multipart field ``image`` or the raw
bytes), ``POST /api/text`` (JSON ``{"text": ...}`` or plain text) each answer a verdict;
``GET /api/status`` the rule and the trust list's age; ``GET /stats`` the counters; ``/trust/…`` the
lists it uses, at the issuer's addresses (:mod:`.trustfiles`). Every page and asset is served
from here: no request leaves the machine. Every word is in the reader's language
(``/lang/<tag>``, the page's switch, else ``Accept-Language``, else the default); JSON
``reason`` codes never change with it, ``message`` does. A POST whose ``Origin`` is another
site's is refused (403, ``cross_origin``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from .. import browser, webui
from ..keys import b64url
from ..syncwatch import DEFAULT_EVERY, BackgroundSync
from ..trust import default_trust_path
from . import trustfiles
from .checkpoint import Checkpoint
from .rules import DEFAULT_RULE, Rule, RuleError
from .verdicts import SCREEN_WORDS

__all__ = ["Checkpoint", "Rule", "RuleError", "create_app"]

#: A 1280x720 JPEG is ~100-300 KB; a phone photo a few MB.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Everything from this origin; camera streams and captured frames as blobs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the kiosk app. Raises :class:`RuleError` for a bad rule, ``OSError`` or
    ``ValueError`` for an unreadable anchor."""
    config = dict(config or {})
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES, JSON_SORT_KEYS=False,
                      DEFAULT_LOCALE=config.get("DEFAULT_LOCALE")
                      or os.environ.get("HEALTHCODE_DEFAULT_LOCALE"),
                      TIMEZONE=config.get("TIMEZONE"))
    # The page's scripts and the verdict's words, view and sound it shares with the app.
    webui.install(app, [], [Path(__file__).parent / "static", webui.STATIC / "checkpoint"])
    # Only an absent rule means the default: an empty one (say an unset variable in
    # `--rule "$RULE"`) is refused rather than silently replaced by "green".
    rule = Rule.parse(DEFAULT_RULE if config.get("RULE") is None else config["RULE"])
    extra = {"clock": config["CLOCK"]} if "CLOCK" in config else {}
    if config.get("WINDOW") is not None:
        extra["window"] = int(config["WINDOW"])
    if config.get("MAX_REVOCATION_AGE") is not None:
        extra["max_revocation_age"] = int(config["MAX_REVOCATION_AGE"])
    trust_path = Path(config.get("TRUST") or default_trust_path())
    anchor = config.get("ANCHOR")
    background = None
    if config.get("SYNC"):
        background = BackgroundSync(list(config["SYNC"]), trust_path,
                                    anchor if isinstance(anchor, str | Path) else None,
                                    int(config.get("SYNC_EVERY") or DEFAULT_EVERY))
    checkpoint = Checkpoint(trust_path, rule,
                            accept_static=bool(config.get("ACCEPT_STATIC", True)),
                            anchor=anchor, background=background, **extra)
    app.extensions["checkpoint"] = checkpoint
    app.register_blueprint(trustfiles.blueprint(trust_path, checkpoint.trust.current))
    if background is not None:
        background.start()
    app.register_blueprint(browser.blueprint(
        lambda: b64url(checkpoint.trust.anchor), rule=rule.text,
        accept_static=checkpoint.accept_static, window=checkpoint.window,
        max_revocation_age=checkpoint.max_revocation_age, server="/api/"))

    @app.before_request
    def _same_origin() -> tuple[Response, int] | None:
        # A page elsewhere must not make this kiosk check codes (and count, and announce
        # them): browsers name the page's origin on every POST; other clients send none.
        if request.method != "POST" or "Origin" not in request.headers:
            return None
        origin = urlsplit(request.headers["Origin"])
        if origin.scheme in ("http", "https") and origin.netloc.lower() == request.host.lower():
            return None
        return _error(403, "cross_origin", _("requests from another site's page are refused"))

    @app.after_request
    def _headers(response: Response) -> Response:
        # setdefault: the checkpoint app's pages set their own (its CSP allows WebAssembly).
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Permissions-Policy", "camera=(self), microphone=()")
        if request.path.startswith(("/api/", "/stats")):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def page() -> str:
        return render_template("kiosk.html", status=checkpoint.status())

    @app.post("/api/frame")
    def frame() -> Response:
        return jsonify(checkpoint.frame(request.get_data(cache=False)))

    @app.post("/api/upload")
    def upload() -> Response:
        file = request.files.get("image")
        data = file.read(MAX_BODY_BYTES + 1) if file else request.get_data(cache=False)
        return jsonify(checkpoint.upload(data))

    @app.post("/api/text")
    def text() -> Response | tuple[Response, int]:
        if request.is_json:
            body = request.get_json(silent=True)
            value = body.get("text") if isinstance(body, dict) else None
            if not isinstance(value, str):
                return _error(400, "bad_request", _('send JSON {"text": "HCC1:..."}'))
        else:
            value = request.get_data(cache=False).decode("utf-8", "replace")
        return jsonify(checkpoint.text(value))

    @app.get("/api/status")
    def status() -> Response:
        return jsonify(checkpoint.status())

    @app.get("/stats")
    def stats() -> Response | str:
        counts = checkpoint.stats()
        best = request.accept_mimetypes.best_match(["application/json", "text/html"])
        if best == "text/html":
            return render_template("stats.html", stats=counts, status=checkpoint.status(),
                                   since=checkpoint.started_at,
                                   reasons={r.value: str(w) for r, w in SCREEN_WORDS.items()})
        return jsonify(counts)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        reason, message = {413: ("too_large", _("The image or text is too large")),
                           404: ("not_found", _("There is no such page here")),
                           405: ("method_not_allowed", _("This address does not take that "
                                                         "request"))}.get(
            exc.code or 500, ("bad_request", _("The kiosk could not read this request")))
        return _error(exc.code or 500, reason, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:  # a bug: no trace to the client
        app.logger.error("unexpected %s in %s", type(exc).__name__, request.path)
        return _error(500, "internal_error", _("the kiosk hit an internal error"))

    return app


def _error(status: int, reason: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": reason, "message": message}), status
