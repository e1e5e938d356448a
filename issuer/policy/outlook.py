"""What a holder should do, and when their colour changes if nothing new is recorded.

:func:`outlook` is pure: it re-scores the same observations at each instant where one of them
enters or leaves a rule's or a factor's window (the only instants where a score can move), and
lists the colour changes in order. :func:`advice` says it all in one language for the code
page and the card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from verifier import i18n
from verifier.labels import Colour

from .observations import Observation
from .scoring import DAY, Policy
from .wording import N_, gettext

__all__ = ["Change", "Outlook", "advice", "outlook"]

#: "Green again on …" and the like, by the colour the code turns.
_CHANGE = {
    Colour.GREEN: N_("Green again on %(when)s if no new result"),
    Colour.YELLOW: N_("Yellow from %(when)s if no new result"),
    Colour.RED: N_("Red from %(when)s if no new result"),
}
_NO_CHANGE = N_("Your code stays this colour until something new is recorded")


@dataclass(frozen=True)
class Change:
    """The code turns ``colour`` (with ``score``) at ``at`` (epoch seconds) if nothing new
    is recorded."""

    at: int
    colour: Colour
    score: int


@dataclass(frozen=True)
class Outlook:
    """The colour and score at ``now``, and the colour changes to come, in order, if nothing
    new is recorded (empty: it stays as it is)."""

    now: int
    colour: Colour
    score: int
    changes: tuple[Change, ...]

    @property
    def next(self) -> Change | None:
        """The first change, or None when the colour never changes."""
        return self.changes[0] if self.changes else None


def _instants(policy: Policy, observations: list[Observation], now: int) -> list[int]:
    """Every instant after ``now`` where an observation enters or leaves a window that can
    count it: an observation counts while ``observed_at <= t < observed_at + window``."""
    found = set()
    for obs in observations:
        windows = [r.window_days for r in policy.rules
                   if r.kind is obs.kind and obs.value in r.matches]
        windows += [f.window_days for f in policy.factors if f.kind is obs.kind]
        found.update(obs.observed_at + days * DAY for days in windows)
        if windows:
            found.add(obs.observed_at)
    return sorted(t for t in found if t > now)


def outlook(policy: Policy, observations: Iterable[Observation], now: int) -> Outlook:
    """Return the colour changes of ``observations`` under ``policy`` after ``now`` (epoch
    seconds) if nothing new is recorded. Pure. Raises ``TypeError`` for a ``now`` that is
    not an int (as :meth:`Policy.score` does)."""
    observations = list(observations)
    # Only scores and colours are needed here, not their explanation: the fast path.
    rows = [(o.kind, o.value, o.observed_at) for o in observations]
    score, colour = policy.score_fast(rows, now)
    first, changes = colour, []
    for instant in _instants(policy, observations, now):
        later, later_colour = policy.score_fast(rows, instant)
        if later_colour is not colour:
            changes.append(Change(instant, later_colour, later))
            colour = later_colour
    return Outlook(now, first, score, tuple(changes))


def advice(policy: Policy, seen: Outlook, locale: str, tz: tzinfo | None = None
           ) -> dict[str, Any]:
    """What the code page and the card say about ``seen`` in ``locale`` (a Babel locale):
    ``colour``; ``do`` and ``contact`` (the policy's guidance for that colour, or None);
    ``change`` (``at``, ``colour`` and its sentence, e.g. "Green again on 12 Dec 2026 08:30
    (UTC+08:00) if no new result"), or None when the colour does not change, then ``stays``
    says so; and ``changes``, every change to come. Times in ``tz`` (the deployment's zone
    by default), with their offset."""
    guidance = policy.guidance.get(seen.colour)

    def said(change: Change) -> dict[str, Any]:
        when = i18n.format_time(change.at, locale, tz)
        return {"at": change.at, "colour": change.colour.value,
                "text": gettext(locale, _CHANGE[change.colour], when=when)}

    changes = [said(change) for change in seen.changes]
    return {"colour": seen.colour.value,
            "do": guidance.do.get(locale) if guidance else None,
            "contact": guidance.contact.get(locale) if guidance and guidance.contact else None,
            "change": changes[0] if changes else None, "changes": changes,
            "stays": None if changes else gettext(locale, _NO_CHANGE)}
