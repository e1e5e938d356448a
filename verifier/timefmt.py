"""Reading and showing instants and durations on the command line and on screens: machine
output in ISO 8601 UTC (:func:`iso`), people's in the deployment's zone (:func:`shown`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from . import i18n

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_instant(text: str) -> int:
    """Return epoch seconds for an ISO 8601 time (``2026-11-28T09:00:00+08:00``; no offset
    means UTC) or for plain epoch seconds. Raises ``ValueError`` otherwise."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def parse_duration(text: str) -> int:
    """Return seconds for ``90s``, ``15m``, ``24h``, ``7d``, ``2w`` or plain seconds.

    Raises ``ValueError`` for anything else or for zero.
    """
    match = _DURATION.match(text.lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 90s, 15m, 24h, 7d)")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError("duration must be positive")
    return seconds


def iso(epoch: int) -> str:
    """Return ``epoch`` as an ISO 8601 UTC time with a ``Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(epoch: int, zone: tzinfo) -> str:
    """Return ``epoch`` as people read it in ``zone``, offset named:
    ``2026-12-02 16:40 (UTC+08:00)``."""
    moment = datetime.fromtimestamp(epoch, zone)
    offset = moment.strftime("%z")  # +0800
    return f"{moment:%Y-%m-%d %H:%M} (UTC{offset[:3]}:{offset[3:5]})"


def humanize(seconds: int) -> str:
    """Return a short span such as ``23h 59m`` or ``3d 4h`` (sign dropped)."""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def shown(epoch: int, locale: str | None = None, seconds: bool = False) -> str:
    """An instant for a person at a terminal (the one time rule, :mod:`verifier.i18n`): in
    the deployment's zone (``HEALTHCODE_TIMEZONE``, default Asia/Shanghai), its offset written
    out, as ``locale`` writes dates (default: the terminal's, :func:`i18n.terminal_locale`;
    English unless ``LC_ALL``/``LC_MESSAGES``/``LANG`` or ``HEALTHCODE_DEFAULT_LOCALE`` ask
    for Chinese): ``Dec 5, 2026 08:30 (UTC+08:00)``, ``2026年12月5日 08:30 (UTC+08:00)``.
    Machine output (``--json``) keeps :func:`iso`. Raises ``ValueError`` for a bad zone."""
    return i18n.format_time(epoch, locale or i18n.terminal_locale(), seconds=seconds)
