"""The issuer's web service: the authority API (/api), the published policies (/policy), and
the signed trust and revocation lists verifiers sync from (/trust).

``create_app(config=None)`` follows Flask's application-factory pattern: configuration from
the mapping, else from ``HEALTHCODE_*`` environment variables (``HEALTHCODE_HOME``,
``HEALTHCODE_DATABASE_URL``, ``HEALTHCODE_RANKING_MIN_MEMBERS``, …).
"""

from __future__ import annotations

from typing import Any

from apiflask import APIFlask
from flask import jsonify

from ..issuance import Conflict, IssuerService, NotFound
from ..policy import ObservationError
from ..revocations import RevocationPublisher
from .api import api
from .public import public
from .trust import trust

DEFAULTS = {
    "HOME": None,  # Home.resolve(): $HEALTHCODE_HOME or the current folder
    "DATABASE_URL": None,  # default: sqlite:///HOME/issuer.db
    "RANKING_MIN_MEMBERS": 10,
    "MAX_CONTENT_LENGTH": 64 * 1024,  # larger bodies get 413 before any parsing
    "POLICY": "hangzhou-2020",
}


def create_app(config: dict[str, Any] | None = None) -> APIFlask:
    """Return the issuer's Flask app, its store opened (and migrated) and its key loaded."""
    app = APIFlask("healthcode-issuer", title="healthcode issuer", version="1",
                   spec_path="/api/openapi.json", docs_path="/api/docs")
    app.config.from_mapping(DEFAULTS)
    if config is None:
        app.config.from_prefixed_env("HEALTHCODE")
    else:
        app.config.from_mapping(config)
    app.config["SPEC_FORMAT"] = "json"
    app.extensions["healthcode"] = IssuerService.open(
        home=app.config["HOME"], database_url=app.config["DATABASE_URL"],
        policy_id=app.config["POLICY"],
        ranking_min_members=int(app.config["RANKING_MIN_MEMBERS"]))
    service = app.extensions["healthcode"]
    app.extensions["healthcode.revocations"] = RevocationPublisher(service.home, service.store)
    app.register_blueprint(api)
    app.register_blueprint(public)
    app.register_blueprint(trust)
    _register_errors(app)
    return app


def _error(status: int, message: str, field: str | None = None, detail: str | None = None):
    body: dict[str, Any] = {"message": message, "detail": {}}
    if field is not None:
        body["detail"] = {"json": {field: [detail or message]}}
    return jsonify(body), status


def _register_errors(app: APIFlask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return _error(404, str(exc))

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict):
        return _error(409, str(exc), exc.field)

    @app.errorhandler(ObservationError)
    def _bad_observation(exc: ObservationError):
        return _error(422, "Validation error", exc.field, str(exc))
