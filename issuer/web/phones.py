"""Phone numbers typed into a form or sent to the API: read in the deployment's region
(:mod:`issuer.store.phones`), and, when they cannot be valid, a message in the reader's
language saying why, with an example of a number written the right way."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..store.phones import PhoneError, PhoneProblem, example, normalise

_MESSAGES = {
    PhoneProblem.EMPTY: _l("Enter your phone number."),
    PhoneProblem.NOT_A_NUMBER: _l("A phone number has only digits: spaces, dashes and a "
                                  "+ at the start are fine, letters are not."),
    PhoneProblem.TOO_SHORT: _l("This phone number is too short: a digit is missing."),
    PhoneProblem.TOO_LONG: _l("This phone number is too long: there is a digit too many."),
    PhoneProblem.UNKNOWN_COUNTRY: _l("No country has this code: check the digits after "
                                     "the +."),
    PhoneProblem.INVALID: _l("This is not a phone number in use: check the digits. A number "
                             "from another country starts with + and its country code."),
}


def region() -> str:
    """The region this app reads numbers without a country code in (the store's)."""
    return current_app.extensions["healthcode"].store.phone_region


def parse_phone(text: str) -> str:
    """The E.164 form of a typed number; raises :class:`PhoneError`."""
    return normalise(text, region())


def phone_message(exc: PhoneError) -> str:
    """Why the number was refused, in the reader's language, with an example."""
    sample = example(exc.region)
    if not sample:
        return str(_MESSAGES[exc.reason])
    return _("%(problem)s For example: %(example)s", problem=_MESSAGES[exc.reason],
             example=sample)


def phone_problem(exc: PhoneError, field: str = "phone", location: str = "json"
                  ) -> tuple[Any, int]:
    """The API's answer to a number that cannot be valid: 422, the field's error as the
    API's validation errors give it, and the ``reason`` (a stable string)."""
    message = phone_message(exc)
    return jsonify({"message": message, "reason": exc.reason.value,
                    "detail": {location: {field: [message]}}}), 422
