"""A policy's terms: its hard rules, its lifestyle factors, and how it rounds.

:mod:`.scoring` scores with them and explains every point; :mod:`.tally` gives the same score
and colour in integer arithmetic, without the explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Any

from verifier.labels import Colour

from .observations import Kind
from .wording import Text

DAY = 86_400
SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}


class Method(StrEnum):
    """How a lifestyle factor turns an average into points."""

    THRESHOLD = "threshold"  # all the points once the average reaches ``at_least``
    PROPORTIONAL = "proportional"  # ``points`` for every ``per``, in proportion


class Rounding(StrEnum):
    """How factor points and the score are rounded."""

    HALF_UP = "half_up"  # half away from zero
    HALF_EVEN = "half_even"


@dataclass(frozen=True)
class Recourse:
    """What can be put right, and how fast: ``undo`` seconds after sending it a holder may void
    their own declaration (0: never); an appeal undecided ``review`` seconds after it was made
    is overdue (None: no deadline)."""

    undo: int = 0
    review: int | None = None


@dataclass(frozen=True)
class Retention:
    """How long what is held is kept, in seconds: an observation after it stops counting, a
    credential after it expires, an appeal after its decision, an audit entry after it was
    written."""

    observation: int
    credential: int
    appeal: int
    audit: int


@dataclass(frozen=True)
class Rule:
    """A hard epidemic rule: a matching recent observation forces a colour and caps the score."""

    id: str
    name: Text
    kind: Kind
    matches: tuple[Any, ...]
    window_days: int
    colour: Colour
    cap: int | None
    text: Text


@dataclass(frozen=True)
class Factor:
    """A lifestyle factor, scored on the average of recent observations of one kind."""

    id: str
    kind: Kind
    method: Method
    window_days: int
    points: Decimal  # exactly as the document writes them
    at_least: Decimal | None  # THRESHOLD
    per: Decimal | None  # PROPORTIONAL
    text: Text
    text_unmet: Text

    @cached_property
    def exact(self) -> tuple[Fraction, Fraction, Fraction]:
        """``(points, at_least, per)`` as Fractions, worked out once: ``at_least`` 0 and
        ``per`` 1 where the document gives none."""
        return Fraction(self.points), Fraction(self.at_least or 0), Fraction(self.per or 1)
