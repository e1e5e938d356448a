"""The kiosk's own lists at the issuer's addresses, so that the checkpoint app in a phone's
browser syncs from whichever origin served it (``/checkpoint/static/sync.js``):

- ``GET /trust/trust-list.json``: the trust list file the kiosk uses, as it is on disk;
- ``GET /trust/revocations``: one revocation list: of the trust list's first issuer that has
  one here (the issuer's own address gives its own list);
- ``GET /trust/revocations/<iss>``: issuer ``iss``'s list (404 when the kiosk has none).

The files are served as they are: a phone trusts them for their signatures (its pinned anchor,
the keys of the trust list), never for where they came from. Strong ETags (SHA-256 of the
bytes) and ``Cache-Control: no-cache`` make an unchanged list a 304, as at the issuer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext as _

from ..jws import MAX_JWS_BYTES
from ..revocation import MAX_REVOCATION_BYTES, file_name
from ..trust import TrustList


def _read(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None


def _send(data: bytes | None, mimetype: str) -> Response | tuple[Response, int]:
    if data is None:
        return jsonify({"error": "not_found",
                        "message": _("This kiosk has no such list")}), 404
    response = Response(data, mimetype=mimetype)
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def blueprint(trust_path: Path, current: Callable[[], TrustList | None]) -> Blueprint:
    """The ``/trust`` routes for the lists beside ``trust_path``; ``current()`` gives the trust
    list in force (its issuers' order picks the list at ``/trust/revocations``)."""
    trust_path = Path(trust_path)
    folder = trust_path.parent
    bp = Blueprint("trustfiles", __name__, url_prefix="/trust")

    @bp.get("/trust-list.json")
    def trust_list() -> Response | tuple[Response, int]:
        return _send(_read(trust_path, MAX_JWS_BYTES), "application/jose+json")

    @bp.get("/revocations")
    def first_revocations() -> Response | tuple[Response, int]:
        trust = current()
        for iss in trust.issuers if trust is not None else ():
            data = _read(folder / file_name(iss), MAX_REVOCATION_BYTES)
            if data is not None:
                return _send(data, "application/cose")
        return _send(None, "application/cose")

    @bp.get("/revocations/<path:iss>")
    def revocations(iss: str) -> Response | tuple[Response, int]:
        return _send(_read(folder / file_name(iss), MAX_REVOCATION_BYTES), "application/cose")

    return bp
