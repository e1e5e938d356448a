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

from ..claims import SCORE_MAX, SCORE_MIN, Credential
from ..labels import Colour

DEFAULT_RULE = "green"
MAX_RULE_LENGTH = 200
_SCORE_TERM = re.compile(r"score\s*(>=|<=|>|<|==|=)\s*(\d{1,3})")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq}
_WORDS = {">=": "at least", "<=": "at most", ">": "above", "<": "below", "=": "exactly",
          "==": "exactly"}


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
            return f"{credential.colour.value} is not admitted here"
        for op, value in self.scores:
            if not _COMPARE[op](credential.score, value):
                return f"score {credential.score} is not {_WORDS[op]} {value}"
        return None

    def describe(self) -> str:
        """The rule in plain words, for the screen."""
        parts = []
        if self.colours:
            names = [c.value for c in Colour if c in self.colours]
            parts.append(" or ".join(names) + " codes")
        else:
            parts.append("codes of any colour")
        parts += [f"score {_WORDS[op]} {value}" for op, value in self.scores]
        return "Admits " + ", ".join(parts)
