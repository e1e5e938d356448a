"""Observations, the inputs of a scoring policy: what was seen, when, and who said so.

Values are checked and normalised here, once, so the policy can trust them: the API maps an
:class:`ObservationError` to a 422 naming its ``field``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

TEST_RESULTS = ("positive", "negative")
#: Region codes such as ``HUBEI-WUHAN``: letters and digits in dash-separated parts.
REGION = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
MAX_REGION_LENGTH = 64
# Upper bounds catch typing errors (an extra zero) before they sway a score.
MAX_STEPS = 200_000
MAX_SLEEP_HOURS = 24
MAX_ALCOHOL_ML = 10_000
MAX_CIGARETTES = 200
MAX_SOURCE_LENGTH = 100


class Kind(StrEnum):
    """What an observation is about. Values are stored and sent as these strings."""

    TEST_RESULT = "test_result"  # "positive" or "negative"
    CONTACT = "contact"  # bool: close contact of a confirmed case
    SYMPTOMS = "symptoms"  # bool: symptoms declared
    TRAVEL = "travel"  # region code, e.g. "HUBEI-WUHAN"
    STEPS = "steps"  # int >= 0, one day's steps
    SLEEP_HOURS = "sleep_hours"  # float 0..24, one night's sleep
    ALCOHOL_ML = "alcohol_ml"  # float >= 0, one day's alcohol
    CIGARETTES = "cigarettes"  # int >= 0, one day's cigarettes


class ObservationError(ValueError):
    """An observation was refused; ``field`` names the offending field (``kind``, ``value``,
    ``observed_at`` or ``source``), the message says what is expected."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _test_result(value: Any) -> str:
    if isinstance(value, str) and value.strip().lower() in TEST_RESULTS:
        return value.strip().lower()
    raise ObservationError("value", 'a test result is "positive" or "negative"')


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ObservationError("value", "must be true or false")


def _region(value: Any) -> str:
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) <= MAX_REGION_LENGTH and REGION.fullmatch(code):
        return code
    raise ObservationError("value", "a region code: letters and digits in parts joined by "
                                    f"dashes, at most {MAX_REGION_LENGTH} characters")


def _count(maximum: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum:
            return value
        raise ObservationError("value", f"a whole number from 0 to {maximum:,}")
    return check


def _amount(maximum: int) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        if (isinstance(value, int | float) and not isinstance(value, bool)
                and math.isfinite(value) and 0 <= value <= maximum):
            return float(value)
        raise ObservationError("value", f"a number from 0 to {maximum:,}")
    return check


_VALIDATORS: dict[Kind, Callable[[Any], Any]] = {
    Kind.TEST_RESULT: _test_result,
    Kind.CONTACT: _flag,
    Kind.SYMPTOMS: _flag,
    Kind.TRAVEL: _region,
    Kind.STEPS: _count(MAX_STEPS),
    Kind.SLEEP_HOURS: _amount(MAX_SLEEP_HOURS),
    Kind.ALCOHOL_ML: _amount(MAX_ALCOHOL_ML),
    Kind.CIGARETTES: _count(MAX_CIGARETTES),
}


_KINDS: dict[str, Kind] = {kind.value: kind for kind in Kind}


def to_kind(kind: Kind | str) -> Kind:
    """Return ``kind`` as a :class:`Kind`; raises :class:`ObservationError` (``kind``)."""
    try:
        return Kind(kind)
    except ValueError:
        raise ObservationError("kind", "one of " + ", ".join(Kind)) from None


def validate_observation(kind: Kind | str, value: Any) -> Any:
    """Return ``value`` normalised for ``kind``: a test result lower-cased, a region code
    upper-cased, a float for sleep hours and alcohol. Raises :class:`ObservationError` with
    ``field`` ``kind`` for an unknown kind and ``value`` for a value the kind does not allow."""
    return _VALIDATORS[to_kind(kind)](value)


@dataclass(frozen=True)
class Observation:
    """One checked observation. Construction normalises ``kind`` and ``value`` and raises
    :class:`ObservationError` for bad input; ``observed_at`` is epoch seconds."""

    kind: Kind
    value: Any
    observed_at: int
    source: str

    @classmethod
    def stored(cls, kind: Kind | str, value: Any, observed_at: int, source: str
               ) -> Observation:
        """An observation read back from the store, which checked it on the way in: not
        checked again (a week of rows costs several times less), only ``kind`` made a
        :class:`Kind` (:class:`ObservationError` for a kind there is none of)."""
        made = object.__new__(cls)
        made.__dict__.update(kind=_KINDS.get(kind) or to_kind(kind), value=value,
                             observed_at=observed_at, source=source)
        return made

    def __post_init__(self) -> None:
        kind = to_kind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "value", validate_observation(kind, self.value))
        if (isinstance(self.observed_at, bool) or not isinstance(self.observed_at, int)
                or self.observed_at < 0):
            raise ObservationError("observed_at", "epoch seconds (an integer)")
        source = self.source.strip() if isinstance(self.source, str) else ""
        if not source or len(source) > MAX_SOURCE_LENGTH:
            raise ObservationError("source", f"1 to {MAX_SOURCE_LENGTH} characters")
        object.__setattr__(self, "source", source)
