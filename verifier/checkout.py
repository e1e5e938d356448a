"""What ``healthcode-verifier check`` prints: one result, as a JSON object (``--json``) or a
line for people. A code of ours says its colour, score and how it came (live or static); a
foreign code (:mod:`verifier.formats`) says its format, issuer, what it certifies and whom it
names, for the checkpoint to compare with an identity document (printed, never stored).
"""

from __future__ import annotations

from typing import Any

from .claims import Credential
from .errors import HealthCodeError
from .formats import ForeignCode
from .timefmt import humanize, iso, shown
from .trust import TrustList

#: ``format`` of a code of ours.
OURS = "healthcode"


def result(credential: Credential | ForeignCode | None, error: HealthCodeError | None,
           now: int, trust: TrustList | None = None, form: str | None = None
           ) -> dict[str, Any]:
    """The JSON object ``check --json`` prints: ``valid``, ``reason``, ``message``, ``format``
    (``healthcode``, ``dcc``, ``shc``, ``nzcp``; ``form``, the format the text was read as, or
    None when no code was read), and what the code said."""
    if isinstance(credential, ForeignCode):
        return {"valid": True, "reason": None, "message": "valid", **credential.as_dict(),
                "colour": None, "score": None, "exp": credential.expires_at,
                "expires": None if credential.expires_at is None else iso(credential.expires_at),
                "checked_at": iso(now)}
    if credential is not None:
        name = trust.issuers.get(credential.iss, credential.iss) if trust else credential.iss
        ago = None if credential.presented_at is None else now - credential.presented_at
        return {"valid": True, "reason": None, "message": "valid", "format": OURS,
                **credential.as_dict(), "static": credential.static, "presented_ago": ago,
                "issuer_name": name, "expires": iso(credential.exp),
                "issued": iso(credential.iat), "checked_at": iso(now)}
    assert error is not None
    context = error.context
    return {
        "valid": False, "reason": error.reason.value, "message": error.detail,
        "format": context.get("format", form),
        "colour": None, "score": None,
        "expires": iso(context["exp"]) if "exp" in context else None,
        "exp": context.get("exp"), "kid": context.get("kid"), "iss": None, "checked_at": iso(now),
        "presented_ago": now - context["presented_at"] if "presented_at" in context else None,
    }


def human(result: dict[str, Any], now: int) -> str:
    """The result as one line for people."""
    if result["valid"] and result["format"] != OURS:
        return _foreign(result, now)
    if result["valid"]:
        left = result["exp"] - now
        when = f"in {humanize(left)}" if left >= 0 else f"{humanize(left)} ago, within skew"
        return (f"VALID  {result['colour'].upper()}  score {result['score']}  "
                f"{_liveness(result['presented_ago'], result['id_check'], result['family'])}  "
                f"expires {shown(result['exp'])} ({when})  "
                f"issuer {result['issuer_name']} ({result['iss']})  key {result['kid']}")
    line = f"REJECTED ({result['reason']}): {result['message']}"
    if result["format"] not in (None, OURS):
        line = f"{line} [{result['format']}]"
    if result["reason"] == "expired" and result["exp"] is not None:
        line += f" (expired {shown(result['exp'])}, {humanize(now - result['exp'])} ago)"
    return line


def _liveness(ago: int | None, id_check: dict[str, str] | None, family: bool = False) -> str:
    """How the code came: a phone's live presentation and its age (a family code: a
    dependant's, on a guardian's phone), or a static code (staff check an ID against it)."""
    if ago is None:
        if id_check is None:
            return "static code (check ID)"
        return (f"static code (check ID: name {id_check['name']}, "
                f"ID number ending {id_check['id_tail']})")
    kind = "family code (live)" if family else "live code"
    return f"{kind}, made {ago} s ago" if ago >= 0 else f"{kind}, dated {-ago} s ahead"


def _foreign(result: dict[str, Any], now: int) -> str:
    """A foreign code: its format, issuer and what it certifies, the name and date of birth to
    compare with an ID, what it shows, and its expiry (if it has one)."""
    holder = result["holder"]
    shows = ", ".join(f"{k} {v}" for k, v in result["shows"].items())
    expiry = "no expiry" if result["exp"] is None else (
        f"expires {shown(result['exp'])} (in {humanize(result['exp'] - now)})"
        if result["exp"] >= now else f"expired {shown(result['exp'])}, within skew")
    where = result["country"] or result["issuer"]
    return (f"VALID  {result['format'].upper()} {result['kind']}  from {where}  "
            f"check ID: {holder['name']}, born {holder['birth_date'] or '?'}  "
            f"{shows + '  ' if shows else ''}{expiry}  issuer {result['issuer']}  "
            f"key {result['kid']}")
