"""The browsable API documentation at /api/docs: APIFlask's Swagger UI page, its scripts and
styles from the vendored swagger-ui-dist (``static/vendor/swagger-ui-dist``, see its
README.txt), never from a CDN. The page shares its origin with /staff, whose write token sits
in the tab's sessionStorage, so it gets a Content-Security-Policy that allows nothing from
elsewhere: scripts from this origin and APIFlask's one inline script (by its hash), no
connection but to this origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import make_response

VENDOR = "/static/vendor/swagger-ui-dist"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _csp(script_hashes: list[str]) -> str:
    # Swagger UI sets style attributes from React: styles need 'unsafe-inline' (this origin's
    # only, there is no other); scripts do not.
    hashes = "".join(f" 'sha256-{h}'" for h in script_hashes)
    return (f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def with_csp(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a docs view (it returns the page's HTML) to send it with the policy above."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        html = view(*args, **kwargs)
        hashes = [base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
                  for script in _INLINE_SCRIPT.findall(html)]
        response = make_response(html)
        response.headers["Content-Security-Policy"] = _csp(hashes)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped


#: APIFlask settings that point the docs page at the vendored files and wrap it.
DOCS_CONFIG: dict[str, Any] = {
    "SWAGGER_UI_CSS": f"{VENDOR}/swagger-ui.css",
    "SWAGGER_UI_BUNDLE_JS": f"{VENDOR}/swagger-ui-bundle.js",
    "SWAGGER_UI_STANDALONE_PRESET_JS": f"{VENDOR}/swagger-ui-standalone-preset.js",
    "DOCS_FAVICON": f"{VENDOR}/favicon-32x32.png",
    # No badge fetched from the public validator (swagger.io) with our spec's URL.
    "SWAGGER_UI_CONFIG": {"validatorUrl": None},
    "DOCS_DECORATORS": [with_csp],
    "SWAGGER_UI_OAUTH_REDIRECT_DECORATORS": [with_csp],
}
