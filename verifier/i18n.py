"""Languages and local time: the two languages people read (Chinese first, then English), which
one a reader gets, the gettext catalogs, and instants and numbers as each locale writes them.

- **Locales**: ``zh_CN`` (Simplified Chinese) and ``en``, Babel identifiers; on the web they are
  the tags ``zh-CN`` and ``en``. A reader's language is the one they chose (a cookie set by the
  switch on every page), else the best match of their ``Accept-Language``, else the
  deployment's default (``HEALTHCODE_DEFAULT_LOCALE``, Chinese unless set).
- **Catalogs**: ``translations/zh_Hans_CN/LC_MESSAGES/messages.po`` (Babel's name for
  zh_CN) beside each package (this one's for the kiosk and the verifier's words,
  ``issuer/translations`` for the issuer's), made and updated with ``make catalogs``; the
  ``.mo`` files are compiled from them at install and again at start-up whenever a ``.po``
  is newer (:func:`compile_catalogs`).
- **One time rule** for every screen, card and command line: an instant a person reads is
  shown in the deployment's zone (``HEALTHCODE_TIMEZONE``, an IANA name, default
  ``Asia/Shanghai``) with its UTC offset written out (:func:`format_time`); machine-readable
  output (JSON, ``--json``) stays ISO 8601 in UTC.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError, dates, numbers, units
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = ["DEFAULT_LOCALE", "DEFAULT_TIMEZONE", "LOCALES", "TRANSLATIONS", "compile_catalogs",
           "format_date", "format_decimal", "format_duration", "format_time", "negotiate",
           "parse_tag", "tag", "terminal_locale", "translations", "zone"]

#: The languages every page, card and message exists in, the first being the default.
LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: The verifier's catalogs (the kiosk, verdicts, reasons).
TRANSLATIONS = Path(__file__).parent / "translations"
#: Names of the languages in themselves, for the switch.
NATIVE_NAMES = {"zh_CN": "中文", "en": "English"}


def tag(locale: str) -> str:
    """The web tag of a Babel locale: ``zh_CN`` -> ``zh-CN``."""
    return locale.replace("_", "-")


def parse_tag(text: str | None) -> str | None:
    """The supported locale a language tag asks for (``zh``, ``zh-CN``, ``zh_Hans_CN``,
    ``en-GB``, ...), or None."""
    if not text or len(text) > 35:
        return None
    try:
        asked = Locale.parse(text.strip().replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if asked.language == "zh" and asked.script in (None, "Hans") \
            and asked.territory in (None, "CN", "SG"):
        return "zh_CN"
    if asked.language == "en":
        return "en"
    return None


def negotiate(chosen: str | None, accepted: Iterable[str], default: str = DEFAULT_LOCALE) -> str:
    """The reader's locale: ``chosen`` (the switch's cookie) if supported, else the first of
    ``accepted`` (Accept-Language, best first) that is, else ``default``."""
    for candidate in (chosen, *accepted):
        if (found := parse_tag(candidate)) is not None:
            return found
    return parse_tag(default) or DEFAULT_LOCALE


def compile_catalogs(directory: Path) -> int:
    """Compile every ``.po`` under ``directory`` whose ``.mo`` is missing or older; return how
    many were written. Fuzzy entries are left out, as ``msgfmt`` does."""
    written = 0
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=po_path.parent.parent.name)
        temporary = mo_path.with_suffix(".mo.tmp")
        with temporary.open("wb") as mo:
            write_mo(mo, catalog, use_fuzzy=False)
        temporary.replace(mo_path)
        written += 1
    return written


@cache
def translations(locale: str, *directories: Path) -> NullTranslations:
    """The catalogs of ``directories`` (default: the verifier's) merged, for ``locale``: for
    text in a language other than the reader's (the card's bilingual labels) and outside a
    request (the command line)."""
    merged: NullTranslations | None = None
    for directory in directories or (TRANSLATIONS,):
        compile_catalogs(directory)
        loaded = Translations.load(str(directory), [Locale.parse(locale)])
        if merged is None:
            merged = loaded
        elif isinstance(merged, Translations) and isinstance(loaded, Translations):
            merged.merge(loaded)
    return merged or NullTranslations()


def zone(name: str | None = None) -> ZoneInfo:
    """The deployment's time zone: ``name``, else ``$HEALTHCODE_TIMEZONE``, else Shanghai's.
    Raises ``ValueError`` for a name that is not an IANA zone."""
    name = name or os.environ.get("HEALTHCODE_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not a time zone: {name!r} (an IANA name such as Asia/Shanghai)") \
            from None


def _offset(moment: datetime) -> str:
    offset = moment.strftime("%z")  # +0800
    return f"UTC{offset[:3]}:{offset[3:5]}"


def format_time(epoch: int, locale: str = DEFAULT_LOCALE, tz: ZoneInfo | None = None,
                seconds: bool = False) -> str:
    """An instant as people of ``locale`` read it, in the deployment's zone, its offset
    written out: ``2026年12月5日 08:00 (UTC+08:00)``, ``5 Dec 2026, 08:00 (UTC+08:00)``."""
    moment = datetime.fromtimestamp(int(epoch), tz or zone())
    time_format = "HH:mm:ss" if seconds else "HH:mm"
    day = dates.format_date(moment, "medium", locale=locale)
    clock = dates.format_time(moment, time_format, locale=locale)
    return f"{day} {clock} ({_offset(moment)})"


def format_date(epoch: int, locale: str = DEFAULT_LOCALE, tz: ZoneInfo | None = None) -> str:
    """The day of an instant in the deployment's zone: ``2026年12月12日``, ``12 Dec 2026``."""
    return dates.format_date(datetime.fromtimestamp(int(epoch), tz or zone()), "medium",
                             locale=locale)


def format_decimal(value: float, locale: str = DEFAULT_LOCALE, places: int = 0) -> str:
    """A number rounded for people, grouped as ``locale`` groups digits: ``5,667``."""
    pattern = "#,##0" + ("." + "#" * places if places else "")
    return numbers.format_decimal(round(float(value), places), pattern, locale=locale)


_UNITS = (("duration-day", 86400), ("duration-hour", 3600), ("duration-minute", 60),
          ("duration-second", 1))


def format_duration(seconds: int, locale: str = DEFAULT_LOCALE) -> str:
    """A span in its two largest units, as ``locale`` writes them short, sign dropped:
    ``2d 0h``, ``5m 3s``, ``40s`` in English; ``2天0小时``, ``5分钟3秒`` in Chinese."""
    rest = abs(int(seconds))
    index = next(i for i, (_unit, size) in enumerate(_UNITS) if rest >= size or size == 1)
    parts = []
    for unit, size in _UNITS[index:index + 2]:
        value, rest = divmod(rest, size)
        parts.append(units.format_unit(value, unit, length="narrow", locale=locale))
    return ("" if locale.startswith("zh") else " ").join(parts)


def terminal_locale(environ: Mapping[str, str] | None = None) -> str:
    """The language of a command line's words for people (times, durations): the first of
    ``LC_ALL``, ``LC_MESSAGES``, ``LANG`` (as POSIX orders them) that names a supported
    language, else ``HEALTHCODE_DEFAULT_LOCALE`` when set, else English (``C``, ``POSIX``
    and unset name none)."""
    environ = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "HEALTHCODE_DEFAULT_LOCALE"):
        value = (environ.get(name) or "").split(".")[0].split("@")[0]
        if value not in ("", "C", "POSIX") and (found := parse_tag(value)) is not None:
            return found
    return "en"
