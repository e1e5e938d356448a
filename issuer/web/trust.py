"""Public, unauthenticated: the signed trust list and revocation list, for verifiers to sync,
and the signed head of the audit log, for anyone to keep.

Both are signed documents: a verifier trusts them for their signatures (the pinned anchor, a
key in the trust list), never for where they came from, so they need no authentication and may
be mirrored anywhere. Strong ETags (SHA-256 of the bytes) let a verifier that is up to date get
a 304 with no body.
"""

from __future__ import annotations

import hashlib
import time

from apiflask import APIBlueprint
from flask import Response, abort, current_app, request

from ..keys.keystore import TRUST_LIST_REFRESH, load_config, publish_trust_list
from ..service.auditlog import signed_head

trust = APIBlueprint("trust", __name__, url_prefix="/trust", tag="trust")


def _send(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.headers["Cache-Control"] = "no-cache"  # revalidate every time: cheap with ETags
    return response.make_conditional(request)


@trust.get("/trust-list.json")
@trust.doc(responses={200: "the trust list (JWS, JSON serialization)", 304: "not modified"})
def trust_list():
    """The trust list, signed by the trust anchor; re-signed here when it nears expiry or a
    rotated-out key has outlived its last credential (it drops out)."""
    service = current_app.extensions["healthcode"]
    home, now = service.home, int(time.time())
    config = load_config(home)
    outlived = any(k.get("verify_until", now) < now for k in config.keys)
    if outlived or config.trust_list_exp - now < TRUST_LIST_REFRESH \
            or 0 < config.previous_anchor_until < now:
        publish_trust_list(home)
    return _send(home.trust_list.read_bytes(), "application/jose+json")


@trust.get("/revocations")
@trust.doc(responses={200: "this issuer's revocation list (COSE_Sign1)", 304: "not modified"})
def revocations():
    """This issuer's revoked, unexpired credentials (truncated hashes of their ids), signed
    by its current signing key."""
    service = current_app.extensions["healthcode"]
    key, config = service.signer()
    signed = current_app.extensions["healthcode.revocations"].current(key, config)
    return _send(signed, "application/cose")


@trust.get("/revocations/<iss>")
@trust.doc(responses={200: "issuer ISS's revocation list (COSE_Sign1)", 304: "not modified",
                      404: "not this issuer"})
def issuer_revocations(iss: str):
    """The revocation list of issuer `iss` when that is this issuer (a kiosk serves each
    issuer's list it holds at this address; the checkpoint app asks for them alike)."""
    service = current_app.extensions["healthcode"]
    key, config = service.signer()
    if iss != config.iss:
        abort(404)
    signed = current_app.extensions["healthcode.revocations"].current(key, config)
    return _send(signed, "application/cose")


@trust.get("/audit-head")
@trust.doc(responses={200: "the audit log's head (JWS, JSON serialization)",
                      304: "not modified"})
def audit_head():
    """The audit log's size and last hash now, signed by the current signing key. Kept
    anywhere, it later shows whether the log was cut short or rewritten
    (`healthcode-issuer audit verify --against FILE`)."""
    return _send(signed_head(current_app.extensions["healthcode"]), "application/jose+json")
