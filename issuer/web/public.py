"""Public, unauthenticated pages: the published scoring policies.

``GET /policy/<id>`` is the policy as people read it (HTML, in the reader's language: rules,
factors, thresholds, what to do per colour, version, digest and every published version of
that policy); ``GET /policy/<id>.toml`` is the exact document whose digest credentials carry.
A client that asks for ``application/toml``, or does not ask for HTML (scripts, ``curl``),
still gets the document at the first address, as before there was a page.
"""

from __future__ import annotations

from apiflask import APIBlueprint, abort
from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from verifier.webui import locale

from ..policy import Kind, Method, Policy, PolicyError, list_policies, load_policy
from ..policy.wording import number, signed_points

public = APIBlueprint("public", __name__, tag="public")

#: The page's own stylesheet; nothing else is loaded, nothing inline.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
TOML = "application/toml"
_KINDS = {Kind.TEST_RESULT: _l("Test result"), Kind.CONTACT: _l("Close contact"),
          Kind.SYMPTOMS: _l("Symptoms"), Kind.TRAVEL: _l("Travel"), Kind.STEPS: _l("Steps"),
          Kind.SLEEP_HOURS: _l("Sleep"), Kind.ALCOHOL_ML: _l("Alcohol"),
          Kind.CIGARETTES: _l("Smoking")}
_UNITS = {Kind.STEPS: _l("steps a day"), Kind.SLEEP_HOURS: _l("hours a night"),
          Kind.ALCOHOL_ML: _l("ml a day"), Kind.CIGARETTES: _l("cigarettes a day")}
_VALUES = {"positive": _l("positive"), True: _l("yes")}


@public.get("/policy")
@public.doc(responses={200: "ids of the published policies"})
def policies():
    """Ids of the published scoring policies."""
    return {"policies": list_policies()}


def _load(policy_id: str) -> Policy:
    try:
        return load_policy(policy_id)
    except PolicyError:
        abort(404, f"no published policy {policy_id!r}")


def _document(published: Policy) -> Response:
    response = Response(published.document, mimetype=TOML)
    response.set_etag(published.digest.hex())
    response.headers["X-Policy-Digest"] = published.digest.hex()
    return response.make_conditional(request)


@public.get("/policy/<policy_id>.toml")
@public.doc(responses={200: "the policy document (TOML)", 404: "no such policy"})
def policy_document(policy_id):
    """The exact policy document whose digest a credential carries: anyone can check which
    rules produced a code (``sha256(document)[:8]`` is the credential's policy claim)."""
    return _document(_load(policy_id))


@public.get("/policy/<policy_id>")
@public.doc(responses={200: "the policy as a page (HTML), or the document (TOML) to a client "
                            "that asks for application/toml or not for text/html",
                       404: "no such policy"})
def policy(policy_id):
    """The policy as people read it, in their language; the document itself to clients that
    do not ask for HTML (compatible with the address's first meaning)."""
    published = _load(policy_id)
    accept = request.accept_mimetypes
    if not accept["text/html"] or accept[TOML] >= accept["text/html"]:
        response = _document(published)
    else:
        response = Response(_page(published), mimetype="text/html")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Policy-Digest"] = published.digest.hex()
    response.vary.add("Accept")
    response.vary.add("Cookie")
    return response


def _page(published: Policy) -> str:
    here = locale()
    history = sorted((p for p in _published() if p.family == published.family),
                     key=lambda p: (p.version, p.id))
    rules = [{"name": rule.name.get(here), "kind": _KINDS[rule.kind],
              "matches": ", ".join(str(_VALUES.get(m, m)) for m in rule.matches),
              "days": rule.window_days, "colour": rule.colour.value, "cap": rule.cap}
             for rule in published.rules]
    factors = [_factor(factor, here) for factor in published.factors]
    guidance = [{"colour": colour.value, "do": g.do.get(here),
                 "contact": g.contact.get(here) if g.contact else None}
                for colour, g in sorted(published.guidance.items(),
                                        key=lambda item: ("green", "yellow", "red")
                                        .index(item[0].value))]
    return render_template(
        "policy.html", policy=published, title=published.title.get(here),
        paragraphs=[p.strip() for p in published.description.get(here).split("\n\n")
                    if p.strip()],
        rules=rules, factors=factors, guidance=guidance, history=history,
        digest=published.digest.hex())


def _published() -> list[Policy]:
    """Every policy that loads (a broken file is left out of the history, not a 500)."""
    found = []
    for policy_id in list_policies():
        try:
            found.append(load_policy(policy_id))
        except PolicyError:
            continue
    return found


def _factor(factor, here: str) -> dict:
    unit = _UNITS[factor.kind]
    if factor.method is Method.THRESHOLD:
        effect = _l("%(points)s when the average is %(at_least)s %(unit)s or more",
                    points=signed_points(factor.points), at_least=number(factor.at_least, here),
                    unit=unit)
    else:
        effect = _l("%(points)s for every %(per)s %(unit)s, in proportion",
                    points=signed_points(factor.points), per=number(factor.per, here),
                    unit=unit)
    return {"kind": _KINDS[factor.kind], "days": factor.window_days, "effect": effect}
