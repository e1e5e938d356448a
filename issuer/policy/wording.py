"""Words in the two languages people read (zh-CN first, then en): the policy's own texts, the
engine's sentences, and numbers and dates as people say them.

A policy document writes each text people read in both languages (:class:`Text`); the
engine's own sentences (the base score, the rounding, a cap, when a colour changes) are in
the issuer's gettext catalog (:func:`gettext`). Numbers are rounded for people here, and only
for reading: the contributions keep their exact points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from babel import dates, numbers

from verifier import i18n

from .observations import Kind

__all__ = ["LOCALES", "TAGS", "Guidance", "Text", "day", "gettext", "number", "people_number",
           "signed_points", "tidy"]

#: Babel locales, Chinese first (:data:`verifier.i18n.LOCALES`).
LOCALES = i18n.LOCALES
#: How a policy document names each locale: the web's language tags.
TAGS = {i18n.tag(locale): locale for locale in LOCALES}
#: The issuer's catalogs (the engine's sentences are in them).
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
#: Decimals of an average shown to people: "5,667 steps", "4.2 cigarettes", "7.5 hours".
PEOPLE_PLACES = {Kind.STEPS: 0, Kind.ALCOHOL_ML: 0, Kind.SLEEP_HOURS: 1, Kind.CIGARETTES: 1}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_DAY_FORMAT = {"zh_CN": lambda d: f"{d.month}月{d.day}日",
               "en": lambda d: f"{d.day} {_MONTHS[d.month - 1]}"}
#: What comes between a sentence and its points: "基础分：80", "Base score: 80".
POINTS_SEPARATOR = {"zh_CN": "：", "en": ": "}


def N_(message: str) -> str:  # noqa: N802 (the extractor's keyword)
    """Mark ``message`` for the catalog; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Text:
    """One text in both languages. ``str()`` is the English, the source language."""

    zh_CN: str
    en: str

    def get(self, locale: str) -> str:
        """The text in ``locale`` (a Babel locale; anything but Chinese reads English)."""
        return self.zh_CN if locale == "zh_CN" else self.en

    def __str__(self) -> str:
        return self.en

    def as_dict(self) -> dict[str, str]:
        """The text by language tag, as a document writes it: ``{"zh-CN": …, "en": …}``."""
        return {i18n.tag(locale): self.get(locale) for locale in LOCALES}

    @classmethod
    def same(cls, text: str) -> Text:
        """A text written in one language only (documents before bilingual texts)."""
        return cls(text, text)


@dataclass(frozen=True)
class Guidance:
    """What a holder of one colour should do, and whom to contact, in both languages."""

    do: Text
    contact: Text | None


def gettext(locale: str, message: str, **fields: object) -> str:
    """``message`` (a marked msgid, ``%(name)s`` fields) in ``locale``, fields filled in."""
    text = i18n.translations(locale, TRANSLATIONS).gettext(message)
    return text % fields if fields else text


def day(epoch: int, offset: timezone, locale: str) -> str:
    """The day of ``epoch`` in the policy's display offset: ``12月5日``, ``5 December``."""
    moment = datetime.fromtimestamp(epoch, offset)
    if locale in _DAY_FORMAT:  # as Babel writes them (tested), without its cost per sentence
        return _DAY_FORMAT[locale](moment)
    return dates.format_datetime(moment, "d MMMM", locale=locale)


def number(value: Decimal | Fraction | int | None, locale: str, places: int = 6) -> str:
    """A number as ``locale`` writes it, grouped, no trailing zeros: ``15,000``; a fraction
    rounded to ``places`` decimals."""
    if value is None:
        return ""
    # Decimals and ints are written as they are; fractions (exact quotients) rounded.
    shown = tidy(Decimal(value) if isinstance(value, Decimal | int) else _decimal(value, places))
    if locale in LOCALES:  # both group by thousands with "," and mark decimals with "." (tested)
        return f"{shown:,}"
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return numbers.format_decimal(shown, pattern, locale=locale)


def people_number(value: Fraction, kind: Kind, locale: str, *, threshold: Decimal | None = None,
                  met: bool = True) -> str:
    """An average as people read it (``5,666.66`` steps: ``5,667``; ``4.16`` cigarettes:
    ``4.2``). Against a ``threshold`` the shown number never lands on the wrong side of it
    ("7.5 hours, under 7.5"): it then keeps as many decimals as it needs."""
    places = PEOPLE_PLACES.get(kind, 2)
    shown = _decimal(value, places)
    while threshold is not None and (shown >= threshold) != met and places < 6:
        places += 1
        shown = _decimal(value, places)
    if threshold is not None and (shown >= threshold) != met:
        shown = Decimal(math.floor(value * 10**6)).scaleb(-6)
    return number(shown, locale, places)


def _decimal(value: Decimal | Fraction | int, places: int) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimals."""
    exact = Fraction(value)
    scaled, denominator = exact.numerator * 10**places, exact.denominator
    # floor(|scaled / denominator| + 1/2), in integers
    whole = (2 * abs(scaled) + denominator) // (2 * denominator)
    return Decimal(whole if scaled >= 0 else -whole).scaleb(-places)


def tidy(value: Decimal) -> Decimal:
    """``5`` rather than ``5.00``, ``-1.5`` rather than ``-1.50``: the same number."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def signed_points(points: Decimal) -> str:
    """Points as the policy's sentences write them: ``+5``, ``-1.5``, ``0`` (exact, grouped,
    no trailing zeros)."""
    return ("+" if points > 0 else "") + f"{tidy(points):,}"
