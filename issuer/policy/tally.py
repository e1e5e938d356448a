"""Scoring without the explanation: the score and colour :meth:`Policy.score` gives, in integers.

A bulk re-issue needs each person's score and colour, not the sentences that explain them.
Every number a policy and its inputs hold is exact: the document's decimals as written, a
whole-number value as it is, any other value as the decimal its ``str()`` writes (``7.5``
hours, not the binary float). So factor points are counted in units of ``10**-places``, sums
of values as ``numerator / denominator`` with a power of ten below, and every quotient is
rounded in integers (:func:`round_quotient`), half up or half even as the policy says. Values
that are no decimal (a ``Fraction``, say) are summed as Fractions, exactly as ``score`` does.
A property test holds :class:`Tally` to ``Policy.score`` on random observations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

from verifier.labels import Colour

from .observations import Kind
from .terms import DAY, SEVERITY, Factor, Method, Rule

_BY_SEVERITY = {severity: colour for colour, severity in SEVERITY.items()}
#: A row to score: ``(kind, value, observed_at)``; the kind a :class:`Kind` or its string.
Row = tuple[Kind | str, Any, int]


def round_quotient(numerator: int, denominator: int, half_even: bool) -> int:
    """``numerator / denominator`` (``denominator > 0``) rounded to a whole number: half
    away from zero, or half to even."""
    whole, rest = divmod(numerator, denominator)  # floor, 0 <= rest < denominator
    twice = 2 * rest
    if twice > denominator or twice == denominator and (
            whole & 1 if half_even else numerator >= 0):
        return whole + 1
    return whole


def exact_sum(values: Sequence[Any]) -> tuple[int, int]:
    """The sum of ``values`` as scoring reads them, as ``(numerator, denominator)`` with a
    positive denominator: ints as they are (a bool as 0 or 1), floats as the decimals their
    ``str()`` writes (``0.1`` is 1/10), anything else through ``Fraction(str(value))``."""
    try:
        total = sum(values)
    except TypeError:  # a value that is no number: Fraction(str(value)) says what it is
        total = None
    if type(total) is int:
        return total, 1
    parts = []
    for value in values:
        if isinstance(value, int):
            parts.append((int(value), 0))
        elif type(value) is float:
            parts.append(_float_parts(value))
        else:
            exact = sum((int(v) if isinstance(v, int) else Fraction(str(v)) for v in values),
                        Fraction(0))
            return exact.numerator, exact.denominator
    places = max(p for _, p in parts)
    return sum(m * 10 ** (places - p) for m, p in parts), 10**places


@lru_cache(maxsize=4096)
def _float_parts(value: float) -> tuple[int, int]:
    """``(m, p)`` with ``Fraction(str(value)) == m / 10**p``; raises as ``Fraction`` does for
    a value that is not finite. Cached: a population's values repeat (7.5 hours, 8.0 hours)."""
    exact = Fraction(str(value))  # ValueError for nan and inf, as scoring in Fractions
    places = 0
    while 10**places % exact.denominator:  # the denominator is 2**i * 5**j: a power of ten
        places += 1
    return exact.numerator * 10**places // exact.denominator, places


class Tally:
    """A policy's terms as integer constants, worked out once per policy (``Policy`` caches
    it); :meth:`score` gives what ``Policy.score`` gives, ``(score, colour)``."""

    def __init__(self, *, base: int, minimum: int, maximum: int, places: int,
                 half_even: bool, green_at: int, yellow_at: int, rules: Iterable[Rule],
                 factors: Iterable[Factor]) -> None:
        unit = 10**places
        self._unit, self._half_even = unit, half_even
        self._base, self._low, self._high = base * unit, minimum * unit, maximum * unit
        self._green_at, self._yellow_at = green_at, yellow_at
        uses: dict[Kind, tuple[list[Any], list[Any]]] = {}
        #: Per factor: (threshold?, points when met in units, a, b): a THRESHOLD is met when
        #: the average is at least a/b; PROPORTIONAL points in units are a/b times the average.
        self._factors: list[tuple[bool, int, int, int]] = []
        for slot, factor in enumerate(factors):
            uses.setdefault(factor.kind, ([], []))[0].append((slot, factor.window_days * DAY))
            points = Fraction(factor.points)
            if factor.method is Method.THRESHOLD:
                at_least = Fraction(factor.at_least or 0)
                self._factors.append((True, round_quotient(
                    points.numerator * unit, points.denominator, half_even),
                    at_least.numerator, at_least.denominator))
            else:
                scale = points * unit / Fraction(factor.per or 1)
                self._factors.append((False, 0, scale.numerator, scale.denominator))
        for rule in rules:
            uses.setdefault(rule.kind, ([], []))[1].append(
                (rule.window_days * DAY, rule.matches, SEVERITY[rule.colour], rule.cap))
        self._uses = {kind: (tuple(f), tuple(r)) for kind, (f, r) in uses.items()}

    def score(self, rows: Iterable[Row], now: int) -> tuple[int, Colour]:
        """The score and colour of ``rows`` at ``now``: an observation counts while
        ``observed_at <= now < observed_at + window``, as in ``Policy.score``."""
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError("now must be epoch seconds (int)")
        uses, buckets = self._uses, [[] for _ in self._factors]
        worst, cap = 0, None
        for kind, value, observed_at in rows:
            age = now - observed_at
            if age < 0 or (use := uses.get(kind)) is None:
                continue
            for slot, window in use[0]:
                if age < window:
                    buckets[slot].append(value)
            for window, matches, severity, rule_cap in use[1]:
                if age < window and value in matches:
                    worst = max(worst, severity)
                    if rule_cap is not None and (cap is None or rule_cap < cap):
                        cap = rule_cap
        total = self._base
        for terms, values in zip(self._factors, buckets, strict=True):
            if values:
                total += self._points(terms, values)
        held = min(max(total, self._low), self._high)
        score = round_quotient(held, self._unit, self._half_even)
        if cap is not None and cap < score:
            score = cap
        own = 0 if score >= self._green_at else 1 if score >= self._yellow_at else 2
        return score, _BY_SEVERITY[max(own, worst)]

    def _points(self, terms: tuple[bool, int, int, int], values: list[Any]) -> int:
        """A factor's points, rounded, in units of ``10**-places``."""
        threshold, points, a, b = terms
        numerator, denominator = exact_sum(values)
        if threshold:  # average = numerator / (denominator * n) >= a / b
            return points if numerator * b >= a * denominator * len(values) else 0
        return round_quotient(a * numerator, b * denominator * len(values), self._half_even)
