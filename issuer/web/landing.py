"""The landing page (``GET /``): what this service is, and where holders, staff, checkpoints
and developers go from here. Static apart from the language and the service's public URL."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app, render_template

landing = APIBlueprint("landing", __name__, enable_openapi=False, template_folder="templates")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@landing.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@landing.get("/")
def page():
    """What this service is; links for holders, staff, checkpoints and developers."""
    command = f"healthcode-verifier kiosk --rule green --sync {current_app.config['PUBLIC_URL']}"
    return render_template("landing.html", kiosk_command=command)
