"""Checkpoint rules: which valid codes a checkpoint admits.

A rule is a comma-separated list of terms, fixed when the kiosk starts:

- colours: ``green``, ``yellow``, ``red``: the code's colour must be one of those named
  (no colour named: any colour);
- score conditions: ``score>=60`` (also ``>``, ``<=``, ``<``, ``=``): every one must hold.

``green`` admits green codes; ``green,yellow`` green or yellow; ``score>=60`` any colour scoring
60 or more; ``green,score>=80`` green codes scoring 80 or more. Whether static (printed) codes
are accepted is a separate switch of the kiosk.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..claims import SCORE_MAX, SCORE_MIN, Credential
from ..labels import Colour
from .verdicts import reader

DEFAULT_RULE = "green"
MAX_RULE_LENGTH = 200
_SCORE_TERM = re.compile(r"score\s*(>=|<=|>|<|==|=)\s*(\d{1,3})")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq}
#: The rule's words, in the reader's language (English outside a request).
_COLOURS = {Colour.GREEN: _l("green"), Colour.YELLOW: _l("yellow"), Colour.RED: _l("red")}
_CONDITIONS = {">=": _l("score at least %(value)s"), "<=": _l("score at most %(value)s"),
               ">": _l("score above %(value)s"), "<": _l("score below %(value)s"),
               "=": _l("score exactly %(value)s"), "==": _l("score exactly %(value)s")}
_REFUSALS = {">=": _l("score %(score)s is not at least %(value)s"),
             "<=": _l("score %(score)s is not at most %(value)s"),
             ">": _l("score %(score)s is not above %(value)s"),
             "<": _l("score %(score)s is not below %(value)s"),
             "=": _l("score %(score)s is not exactly %(value)s"),
             "==": _l("score %(score)s is not exactly %(value)s")}


class RuleError(ValueError):
    """The rule text does not parse; the message says which term and why."""


@dataclass(frozen=True)
class Rule:
    """A parsed checkpoint rule. :meth:`decide` returns None to admit, else why not."""

    text: str
    colours: frozenset[Colour]
    scores: tuple[tuple[str, int], ...]

    @classmethod
    def parse(cls, text: str) -> Rule:
        if len(text) > MAX_RULE_LENGTH:
            raise RuleError(f"the rule is longer than {MAX_RULE_LENGTH} characters")
        colours: set[Colour] = set()
        scores: list[tuple[str, int]] = []
        terms = [term.strip().lower() for term in text.split(",")]
        if not any(terms):
            raise RuleError("the rule is empty: say e.g. green, green,yellow or score>=60")
        for term in terms:
            if term in Colour.__members__.values():
                colours.add(Colour(term))
                continue
            match = _SCORE_TERM.fullmatch(term)
            if match is None:
                raise RuleError(f"{term!r} is neither a colour (green, yellow, red) nor a score "
                                f"condition such as score>=60")
            value = int(match.group(2))
            if not SCORE_MIN <= value <= SCORE_MAX:
                raise RuleError(f"{term!r}: scores run from {SCORE_MIN} to {SCORE_MAX}")
            scores.append((match.group(1), value))
        canonical = ",".join([c.value for c in Colour if c in colours]
                             + [f"score{op}{value}" for op, value in scores])
        return cls(canonical, frozenset(colours), tuple(scores))

    def decide(self, credential: Credential) -> str | None:
        """None if the rule admits this (valid) credential, else the reason in plain words."""
        if self.colours and credential.colour not in self.colours:
            return _("%(colour)s is not admitted here", colour=_COLOURS[credential.colour])
        for op, value in self.scores:
            if not _COMPARE[op](credential.score, value):
                return str(_REFUSALS[op]) % {"score": credential.score, "value": value}
        return None

    def describe(self) -> str:
        """The rule in plain words, for the screen."""
        locale = reader()
        parts = []
        if self.colours:
            names = [str(_COLOURS[c]) for c in Colour if c in self.colours]
            parts.append(_("%(colours)s codes",
                           colours=format_list(names, style="or", locale=locale)))
        else:
            parts.append(_("codes of any colour"))
        parts += [str(_CONDITIONS[op]) % {"value": value} for op, value in self.scores]
        return _("Admits %(what)s", what=("，" if locale == "zh_CN" else ", ").join(parts))
