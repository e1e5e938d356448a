"""Who is signed in on the holder's pages: the session guard of their views
(:func:`holder_page`, :func:`holder_json`), starting a session, and JSON problems in the
reader's words. A holder's session is a row in the database (:mod:`issuer.store.sessions`);
the cookie holds only its id and the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, jsonify, redirect, request, session, url_for

from ..store import HolderProblem
from . import holder_text

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


def holder_headers(response: Response) -> Response:
    """The headers of every holder page (each holder blueprint's ``after_request``)."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin: CSRF protection over HTTPS checks that a POST came from one of our pages.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Personal pages are not to be kept by browsers or proxies; the service worker keeps
    # only the code page (colour, score and the code: nothing else personal).
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def service():
    """The app's :class:`issuer.service.IssuerService`."""
    return current_app.extensions["healthcode"]


def problem(status: int, code: str, message: str = "") -> tuple[Response, int]:
    """A JSON problem; without ``message``, ``code`` in words (holder_text.PROBLEMS)."""
    return jsonify({"problem": str(code),
                    "message": message or holder_text.problem_message(code)}), status


def signed_in() -> tuple[str, dict[str, Any] | None] | None:
    """``(person id, bound phone or None)`` of this session (the phone as
    :meth:`Store.device` gives it), or None. A cookie whose session has ended (signed out,
    a new phone, an operator) is cleared."""
    session_id = session.get("sid")
    if not isinstance(session_id, str):
        return None
    who = service().store.holder_session(session_id)
    if who is None:
        session.clear()
    return who


def _for_holders(signed_out: Callable[[], Any]):
    """A view for signed-in holders, called with ``(person id, phone or None, ...)``;
    others get ``signed_out()``."""
    def decorate(view):
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            who = signed_in()
            if who is None:
                return signed_out()
            return view(*who, *args, **kwargs)
        return wrapper
    return decorate


#: A page: others are sent to sign in.
holder_page = _for_holders(lambda: redirect(url_for("holder.signin")))
#: A JSON endpoint: others get 401.
holder_json = _for_holders(lambda: problem(401, HolderProblem.SIGNED_OUT))


def start_session(session_id: str) -> None:
    session.clear()
    session.permanent = True
    session["sid"] = session_id


def json_body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None
