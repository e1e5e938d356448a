"""Public, unauthenticated pages: the published scoring policies."""

from __future__ import annotations

from apiflask import APIBlueprint, abort
from flask import Response

from ..policy import PolicyError, list_policies, load_policy

public = APIBlueprint("public", __name__, tag="public")


@public.get("/policy")
@public.doc(responses={200: "ids of the published policies"})
def policies():
    """Ids of the published scoring policies."""
    return {"policies": list_policies()}


@public.get("/policy/<policy_id>")
@public.doc(responses={200: "the policy document (TOML)", 404: "no such policy"})
def policy(policy_id):
    """The exact policy document whose digest a credential carries: anyone can check which
    rules produced a code (``sha256(document)[:8]`` is the credential's policy claim)."""
    try:
        published = load_policy(policy_id)
    except PolicyError:
        abort(404, f"no published policy {policy_id!r}")
    response = Response(published.document, mimetype="application/toml")
    response.set_etag(published.digest.hex())
    response.headers["X-Policy-Digest"] = published.digest.hex()
    return response
