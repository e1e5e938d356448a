"""Phone numbers as people type them, in one normal form: E.164 (``+8613700000003``).

"13700000003", "137 0000 0003", "137-0000-0003", "+86 137 0000 0003", "0086 137 0000 0003"
and the same in full-width digits are one number. Numbers written without a country code
are read in the deployment's region (``HEALTHCODE_PHONE_REGION``, default ``CN``). Parsing
is Google's libphonenumber (the ``phonenumbers`` port); a number it does not find valid
is refused with a reason, never stored.

Numbers kept before this form existed were looked up by their digits (and a leading ``+``):
:func:`legacy_form` is that old form, and :func:`stored_form` reads a stored number leniently
so that no one enrolled earlier loses their lookup key.
"""

from __future__ import annotations

import os
import re
import unicodedata
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

from .db import StoreError

DEFAULT_REGION = "CN"
REGION_ENV = "HEALTHCODE_PHONE_REGION"
#: Longer input is refused before parsing (the longest E.164 number has 15 digits).
MAX_INPUT_LENGTH = 40
#: What a typed number may hold besides digits. Letters are refused: libphonenumber would
#: read them as a keypad's letters ("1-800-FLOWERS"), and nobody here types a number so.
_ALLOWED = re.compile(r"[0-9+\-.()/\s]+")


class PhoneProblem(StrEnum):
    """Why a typed number was refused (stable strings: the API's ``reason``)."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"  # letters or other signs
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_COUNTRY = "unknown_country"  # no such country calling code
    INVALID = "invalid"  # the right length, but not a number in use (or not in the region)


class PhoneError(StoreError, ValueError):
    """A phone number that cannot be valid; ``reason`` says why, ``region`` is where a
    number without a country code was read."""

    def __init__(self, reason: PhoneProblem, region: str) -> None:
        super().__init__(f"not a valid phone number ({reason.value}, region {region})")
        self.reason = reason
        self.region = region


def region(configured: str | None = None) -> str:
    """The region a number without a country code is read in: ``configured``, else
    ``$HEALTHCODE_PHONE_REGION``, else ``CN``. Raises ``ValueError`` for an unknown region."""
    name = (configured or os.environ.get(REGION_ENV) or DEFAULT_REGION).strip().upper()
    if name not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{REGION_ENV}={name!r} is not a region code such as CN or GB")
    return name


def normalise(text: str, region_code: str = DEFAULT_REGION) -> str:
    """Return the E.164 form of a typed phone number. Raises :class:`PhoneError` when the
    number cannot be valid (empty, letters, too short or long, unknown country code, not a
    number in use)."""
    typed = unicodedata.normalize("NFKC", text or "").strip()
    if not typed:
        raise PhoneError(PhoneProblem.EMPTY, region_code)
    if len(typed) > MAX_INPUT_LENGTH:
        raise PhoneError(PhoneProblem.TOO_LONG, region_code)
    if not _ALLOWED.fullmatch(typed) or not any(ch.isdigit() for ch in typed):
        raise PhoneError(PhoneProblem.NOT_A_NUMBER, region_code)
    try:
        number = phonenumbers.parse(typed, region_code)
    except NumberParseException as exc:
        raise PhoneError(_PARSE_PROBLEMS.get(exc.error_type, PhoneProblem.INVALID),
                         region_code) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != ValidationResult.IS_POSSIBLE:
        raise PhoneError(_POSSIBLE_PROBLEMS.get(possible, PhoneProblem.INVALID), region_code)
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(PhoneProblem.INVALID, region_code)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def legacy_form(text: str) -> str:
    """The form numbers were looked up by before E.164: NFKC, digits only, a leading ``+``
    kept. Raises ``ValueError`` if no digit is left."""
    typed = unicodedata.normalize("NFKC", text).strip()
    digits = "".join(ch for ch in typed if ch.isdigit())
    if not digits:
        raise ValueError("the phone number has no digits")
    return ("+" if typed.startswith("+") else "") + digits


def stored_form(text: str, region_code: str = DEFAULT_REGION) -> tuple[str, bool]:
    """``(lookup form, valid)`` of a number stored before numbers were checked: its E.164
    form when it is valid; else its E.164 form if it parses at all; else :func:`legacy_form`.
    Everyone keeps a lookup key; only valid numbers can be typed to reach it."""
    try:
        return normalise(text, region_code), True
    except PhoneError:
        pass
    try:
        number = phonenumbers.parse(unicodedata.normalize("NFKC", text), region_code)
        return phonenumbers.format_number(number, PhoneNumberFormat.E164), False
    except NumberParseException:
        pass
    try:
        return legacy_form(text), False
    except ValueError:  # no digit at all: a key nobody can type
        return unicodedata.normalize("NFKC", text).strip(), False


def example(region_code: str = DEFAULT_REGION) -> str:
    """A mobile number of the region as people there write it (for messages), or ""."""
    number = phonenumbers.example_number_for_type(region_code,
                                                  phonenumbers.PhoneNumberType.MOBILE)
    return "" if number is None else phonenumbers.format_number(number,
                                                                PhoneNumberFormat.NATIONAL)


_PARSE_PROBLEMS = {
    NumberParseException.INVALID_COUNTRY_CODE: PhoneProblem.UNKNOWN_COUNTRY,
    NumberParseException.NOT_A_NUMBER: PhoneProblem.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: PhoneProblem.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: PhoneProblem.TOO_SHORT,
    NumberParseException.TOO_LONG: PhoneProblem.TOO_LONG,
}
_POSSIBLE_PROBLEMS = {
    ValidationResult.TOO_SHORT: PhoneProblem.TOO_SHORT,
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PhoneProblem.TOO_SHORT,  # no area code
    ValidationResult.TOO_LONG: PhoneProblem.TOO_LONG,
    ValidationResult.INVALID_COUNTRY_CODE: PhoneProblem.UNKNOWN_COUNTRY,
    ValidationResult.INVALID_LENGTH: PhoneProblem.INVALID,
}
