"""The issuer's web app: the authority API (/api: :mod:`.api`, :mod:`.auth`, :mod:`.schemas`),
the holder's pages (/enrol, /signin, /me: :mod:`.holder`, :mod:`.holder_text`, sign-in codes
sent by :mod:`.codesender`), the staff page (/staff), the landing page (/: :mod:`.landing`),
the published policies (/policy), and the
signed trust and revocation lists verifiers sync from (/trust). Views parse, call
:class:`issuer.service.IssuerService` and render; templates and scripts are in ``templates/``
and ``static/``, served from here only.

``create_app(config=None)`` follows Flask's application-factory pattern: configuration from
the mapping, else from ``HEALTHCODE_*`` environment variables (``HEALTHCODE_HOME``,
``HEALTHCODE_DATABASE_URL``, ``HEALTHCODE_RANKING_MIN_MEMBERS``, …).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apiflask import APIFlask
from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect

from verifier import browser, webui
from verifier.errors import TrustListError
from verifier.trust import load_anchor

from ..policy import DEFAULT_POLICY, ObservationError
from ..service import Conflict, Erased, IssuerService, NotFound
from ..service.publiclog import PublicLog, default_origin, note_signer
from ..service.revocations import RevocationPublisher
from .api import api
from .bounds import check_json_body
from .codeimages import DEFAULT_CACHE_BYTES
from .codeimages import init_app as init_code_images
from .codesender import load_sender
from .docs import DOCS_CONFIG
from .family import family
from .family_api import family_api
from .holder import holder
from .holderlog import holder_log
from .landing import landing
from .public import public
from .publiclog import public_log
from .recourse import allow_a_photo, recourse
from .review import review
from .staff import staff
from .throttle import DEFAULT_LIMITS, Throttle
from .trust import trust

DEFAULTS = {
    "HOME": None,  # Home.resolve(): $HEALTHCODE_HOME or the current folder
    "DATABASE_URL": None,  # default: sqlite:///HOME/issuer.db
    "RANKING_MIN_MEMBERS": 10,
    "MAX_CONTENT_LENGTH": 64 * 1024,  # larger bodies get 413 before any parsing
    "POLICY": DEFAULT_POLICY,
    # Holders' sessions: a signed cookie holding a session id (the session itself is a row
    # in the database: issuer/store/sessions.py), HttpOnly, SameSite=Lax, Secure (set
    # HEALTHCODE_SESSION_COOKIE_SECURE=false only for plain-http development off localhost).
    "SESSION_COOKIE_NAME": "hc_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": True,
    "PERMANENT_SESSION_LIFETIME": timedelta(days=180),
    # Set the cookie only when the session changes. Re-sent on every request, a slow response
    # to a request made with the old cookie (the service worker fetching /me while the page
    # binds the phone) overwrote the newer session, and the phone lost its binding.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session it is bound to
    "CODE_SENDER": None,  # "module:Class" with send(phone, code); default: the server log
    # Throttles (issuer/web/throttle.py): "limits" rate strings; counters in the database
    # unless RATELIMIT_STORAGE names another "limits" storage (redis://host:6379).
    "RATELIMIT_STORAGE": None,
    **DEFAULT_LIMITS,
    # Where holders reach the service (scheme://host[:port]): enrolment links are made from
    # it, never from the request's Host header. `serve` defaults it to its own address.
    "PUBLIC_URL": "http://127.0.0.1:8080",
    # Languages (verifier/i18n.py): the switch's cookie, else Accept-Language, else this;
    # times in TIMEZONE (an IANA name; default $HEALTHCODE_TIMEZONE, else Asia/Shanghai).
    "DEFAULT_LOCALE": "zh-CN",
    "TIMEZONE": None,
    # Where phone numbers typed without a country code are read (issuer/store/phones.py):
    # a region code; default $HEALTHCODE_PHONE_REGION, else CN.
    "PHONE_REGION": None,
    # Issued codes' pictures kept per process, in bytes (issuer/web/codeimages.py).
    "CODE_IMAGE_CACHE_BYTES": DEFAULT_CACHE_BYTES,
    **DOCS_CONFIG,
}
#: The issuer's catalogs; the verifier's (verdicts, reasons) are read after them.
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
_SCRIPTS = [Path(__file__).parent / "static" / "holder", Path(__file__).parent / "static" / "staff"]


def create_app(config: dict[str, Any] | None = None) -> APIFlask:
    """Return the issuer's Flask app, its store opened (and migrated) and its key loaded."""
    # Named after this package, so that templates/ and static/ beside this file are found.
    app = APIFlask(__name__, title="healthcode issuer", version="1",
                   spec_path="/api/openapi.json", docs_path="/api/docs")
    app.config.from_mapping(DEFAULTS)
    if config is None:
        app.config.from_prefixed_env("HEALTHCODE")
    else:
        app.config.from_mapping(config)
    app.config["SPEC_FORMAT"] = "json"
    limits = Throttle.parse({"signin_code": app.config["SIGNIN_CODE_LIMIT"],
                             "signin_guess": app.config["SIGNIN_GUESS_LIMIT"],
                             "signin_total": app.config["SIGNIN_TOTAL_LIMIT"],
                             "declare": app.config["DECLARE_LIMIT"]})
    app.config["PUBLIC_URL"] = public_url(app.config["PUBLIC_URL"])
    app.extensions["healthcode"] = IssuerService.open(
        home=app.config["HOME"], database_url=app.config["DATABASE_URL"],
        policy_id=app.config["POLICY"],
        ranking_min_members=int(app.config["RANKING_MIN_MEMBERS"]),
        phone_region=app.config["PHONE_REGION"])
    service = app.extensions["healthcode"]
    app.extensions["healthcode.revocations"] = RevocationPublisher(service.home, service.store)
    origin = app.config.get("LOG_ORIGIN") or default_origin(
        app.config["PUBLIC_URL"], service.signer()[1].iss)
    app.extensions["healthcode.log"] = PublicLog(service.store,
                                                 note_signer(service.home, origin), origin)
    app.extensions["healthcode.code_sender"] = load_sender(app.config["CODE_SENDER"])
    app.extensions["healthcode.throttle"] = Throttle.build(
        service.store, app.config["RATELIMIT_STORAGE"], limits)
    init_code_images(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = service.home.session_secret()
    app.before_request(allow_a_photo)  # before the CSRF check reads the form
    csrf = CSRFProtect(app)
    for bearer_or_read_only in (api, review, family_api, public, trust, public_log):
        csrf.exempt(bearer_or_read_only)
    app.register_blueprint(api)
    app.register_blueprint(review)
    app.register_blueprint(family_api)
    app.register_blueprint(public)
    app.register_blueprint(trust)
    app.register_blueprint(public_log)
    app.register_blueprint(holder)
    app.register_blueprint(holder_log)
    app.register_blueprint(recourse)
    app.register_blueprint(family)
    app.register_blueprint(staff)
    app.register_blueprint(landing)
    app.register_blueprint(browser.blueprint(lambda: _anchor_pin(service.home.anchor_public)))
    webui.install(app, [TRANSLATIONS], _SCRIPTS)
    app.before_request(check_json_body)
    _register_errors(app)
    return app


def _anchor_pin(path: Path) -> bytes | None:
    """This issuer's trust anchor pin, for the checkpoint app (read on every page load: an
    anchor roll-over changes it); None if the home has no readable anchor."""
    try:
        return load_anchor(path)
    except (OSError, TrustListError):
        return None


def public_url(url: str) -> str:
    """``url`` (an http or https origin, no path, query or fragment) without a trailing
    slash; raises ``ValueError`` for anything else."""
    parts = urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"HEALTHCODE_PUBLIC_URL must be http(s)://host[:port], got {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def request_wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _error(status: int, message: str, field: str | None = None, detail: str | None = None):
    body: dict[str, Any] = {"message": message, "detail": {}}
    if field is not None:
        body["detail"] = {"json": {field: [detail or message]}}
    return jsonify(body), status


def _register_errors(app: APIFlask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return _error(404, str(exc))

    @app.errorhandler(Erased)
    def _erased(exc: Erased):
        return jsonify({"message": f"{exc.person_id} was erased: nothing of them is kept",
                        "detail": {}, "problem": "erased", "erased_at": exc.erased_at}), 410

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return _error(409, str(exc), exc.field)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        message = _("This form was out of date (or did not come from this site). Go back, "
                    "reload the page and send it again.")
        if request_wants_json():
            return jsonify({"problem": "csrf", "message": message}), 400
        return render_template("holder/problem.html", title=_("Please try again"),
                               message=message, problem="csrf"), 400

    @app.errorhandler(ObservationError)
    def _bad_observation(exc: ObservationError):
        return _error(422, "Validation error", exc.field, str(exc))
