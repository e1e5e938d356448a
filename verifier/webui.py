"""What both web apps (the kiosk, and the issuer's pages) do the same way for the people who
read them: the language (Flask-Babel, :mod:`verifier.i18n`), the switch on every page, the
catalog the page's scripts read, and the front-end modules they share (``static/``, served
at ``/shared/``).

``install(app, directories, scripts)`` wires it in:

- the reader's locale from the ``hc_lang`` cookie (set by ``GET /lang/<tag>``, the switch),
  else ``Accept-Language``, else ``app.config["DEFAULT_LOCALE"]``;
- templates get ``_()``/``gettext``/``ngettext``/``{% trans %}``, ``page_lang`` (the page's
  ``lang`` attribute), ``languages`` (the switch's links), ``i18n_script()`` (a JSON data block
  with the translations of every string the page's scripts show, the locale and the zone: the
  scripts read it with ``/shared/i18n.js``) and the filters ``when`` and ``day`` (an instant or
  its day, in the deployment's zone, offset written out);
- ``scripts``: the folders of the app's own JavaScript, whose ``_("...")`` strings go into the
  page's catalog.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from babel.messages.extract import extract_javascript
from flask import Blueprint, Flask, current_app, redirect, request
from flask_babel import Babel, get_locale, gettext
from markupsafe import Markup
from werkzeug.wsgi import FileWrapper

from . import i18n

COOKIE = "hc_lang"
#: A year: a reader's choice of language outlives sessions.
COOKIE_AGE = 365 * 86400
STATIC = Path(__file__).parent / "static"
#: What a page that decodes camera frames with the vendored zxing-wasm adds to its CSP's
#: script-src: compiling WebAssembly, nothing more (no 'unsafe-eval'). See :func:`allow_wasm`.
WASM_SCRIPT_SRC = "'wasm-unsafe-eval'"

# Browsers compile a .wasm while it downloads only when it is served as application/wasm;
# Python's table has it since 3.10, but a platform's own table (the Windows registry) can
# override it.
mimetypes.add_type("application/wasm", ".wasm")

shared = Blueprint("shared", __name__, static_folder=str(STATIC), static_url_path="/shared")


def allow_wasm(policy: str) -> str:
    """Return the Content-Security-Policy ``policy`` with :data:`WASM_SCRIPT_SRC` added to its
    ``script-src`` (which it must have): what a page using ``/shared/scan/decoder.js`` sends."""
    directives = [part.strip() for part in policy.split(";")]
    for i, directive in enumerate(directives):
        if directive.split(" ", 1)[0] == "script-src":
            if WASM_SCRIPT_SRC not in directive.split():
                directives[i] = f"{directive} {WASM_SCRIPT_SRC}"
            return "; ".join(directives)
    raise ValueError("the policy has no script-src")


@shared.get("/lang/<code>")
def choose_language(code: str):
    """Keep the reader's choice in a cookie and go back to the page they were on."""
    locale = i18n.parse_tag(code)
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        target = "/"
    response = redirect(target, 303)
    if locale is not None:
        response.set_cookie(COOKIE, i18n.tag(locale), max_age=COOKIE_AGE, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


def select_locale() -> str:
    accepted = [value for value, _quality in request.accept_languages] if request else []
    chosen = request.cookies.get(COOKIE) if request else None
    return i18n.negotiate(chosen, accepted,
                          current_app.config.get("DEFAULT_LOCALE") or i18n.DEFAULT_LOCALE)


def locale() -> str:
    """The current reader's Babel locale (``zh_CN`` or ``en``)."""
    return i18n.parse_tag(str(get_locale() or "")) or i18n.DEFAULT_LOCALE


def script_messages(folders: Iterable[Path]) -> tuple[str, ...]:
    """Every string the scripts in ``folders`` pass to ``_()`` (found as the catalog
    extractor finds them; vendored libraries under ``vendor/`` are not ours)."""
    found: set[str] = set()
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.js")):
            if "vendor" in path.relative_to(folder).parts:
                continue  # a library's own strings (minified code calls anything `_`)
            with path.open("rb") as source:
                for _line, _function, message, _comments in extract_javascript(
                        source, ["_"], [], {}):
                    # _("...", { a, b }) comes as a tuple (each comma an argument): the
                    # string is the first.
                    message = message[0] if isinstance(message, tuple) else message
                    if isinstance(message, str):
                        found.add(message)
    return tuple(sorted(found))


def data_block(element_id: str, data: Any) -> Markup:
    """``data`` as a JSON data block ``<script type="application/json" id=...>``: not a
    script (the CSP allows it), with <, > and & escaped so that no text can end it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="{element_id}">{text}</script>')  # noqa: S704


def i18n_block(messages: Iterable[str]) -> Markup:
    """The catalog block /shared/i18n.js reads: the reader's locale, the deployment's zone and
    the translations of ``messages`` (the strings a page's scripts show)."""
    zone = current_app.extensions["healthcode.zone"]
    return data_block("i18n", {"locale": i18n.tag(locale()), "zone": zone.key,
                               "messages": {m: gettext(m) for m in messages}})


def install(app: Flask, directories: Iterable[Path], scripts: Iterable[Path]) -> None:
    """Give ``app`` its languages; ``directories``: catalog folders, the app's own first."""
    folders = [Path(d) for d in directories]
    if i18n.TRANSLATIONS not in folders:
        folders.append(i18n.TRANSLATIONS)
    for folder in folders:
        try:
            i18n.compile_catalogs(folder)
        except OSError as exc:  # an installed, read-only copy: compiled at install
            app.logger.warning("catalogs in %s not compiled: %s", folder, exc)
    app.config.setdefault("DEFAULT_LOCALE", i18n.DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(f) for f in folders)
    app.config["BABEL_DEFAULT_LOCALE"] = i18n.parse_tag(app.config["DEFAULT_LOCALE"]) \
        or i18n.DEFAULT_LOCALE
    tz = i18n.zone(app.config.get("TIMEZONE"))
    app.extensions["healthcode.zone"] = tz
    Babel(app, locale_selector=select_locale)
    messages = script_messages(scripts)
    if "shared" not in app.blueprints:
        app.register_blueprint(shared)

    def i18n_script() -> Markup:
        return i18n_block(messages)

    def languages() -> list[dict[str, Any]]:
        here = request.full_path.rstrip("?") if request else "/"
        current = locale()
        return [{"tag": i18n.tag(code), "name": i18n.NATIVE_NAMES[code],
                 "current": code == current,
                 "url": f"/lang/{i18n.tag(code)}?next={quote(here, safe='/')}"}
                for code in i18n.LOCALES]

    @app.after_request
    def _vary(response):
        # What a page or a message says depends on the reader's language: caches must keep
        # one copy per language (static files are the same for everyone).
        if response.mimetype in ("text/html", "application/json"):
            response.vary.update(("Cookie", "Accept-Language"))
        if response.direct_passthrough and isinstance(response.response, FileWrapper):
            # A static file (all small) is read whole and closed here: werkzeug leaves it open
            # when the body is not sent (a 304), and its development server when the browser
            # drops the connection (a reload). Servers with their own wsgi.file_wrapper
            # (waitress) stream it and are left alone.
            wrapper = response.response
            try:
                data = b"" if response.status_code == 304 else b"".join(wrapper)
            finally:
                wrapper.close()
            response.direct_passthrough = False
            response.response = [data]
        return response

    @app.context_processor
    def _context() -> dict[str, Any]:
        return {"page_lang": i18n.tag(locale()), "languages": languages,
                "i18n_script": i18n_script}

    @app.template_filter("when")
    def _when(epoch: int | None) -> str:
        return "" if epoch is None else i18n.format_time(int(epoch), locale(), tz)

    @app.template_filter("day")
    def _day(epoch: int | None) -> str:
        return "" if epoch is None else i18n.format_date(int(epoch), locale(), tz)

