"""The authority staff's page (``GET /staff``): find a person by ID number or phone number,
then print a card (for a person without a smartphone) or make a new enrolment link; and work
through the appeals, deciding each in writing.

The page is a template with no personal data in it; its scripts call the API
(``GET /api/people``, ``POST /api/people/<id>/card``, ``POST /api/people/<id>/enrolment``,
``GET /api/appeals``, ``POST /api/appeals/<id>/decision``) with the member of staff's API
token as a bearer token. The token lives in the tab's sessionStorage only: the page sets no
cookie and sends the token nowhere but in that Authorization header, so there is nothing here
for a cross-site form to ride on. No inline script and no external asset
(Content-Security-Policy).
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, render_template

staff = APIBlueprint("staff", __name__, enable_openapi=False, template_folder="templates",
                     static_folder="static/staff", static_url_path="/staff/static")

#: Everything from this origin; the card (a PDF) and the link's QR code (an SVG) come back
#: as blob: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")


@staff.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@staff.get("/staff")
def page():
    """Find a person; print a card; make a new enrolment link."""
    return render_template("staff/print.html")
