"""A scoring policy's rules and its pure scoring: observations in; colour, score and every
point explained out.

:meth:`Policy.score` reads only its arguments and computes exactly (``Fraction``). Factor
points are rounded to the policy's decimal places, the total is held within the score's range
and rounded to a whole number, and each of those steps is listed as a :class:`Contribution`,
so the listed points (``Decimal``) add up exactly to the integer score. Policies are read from
their published documents by :mod:`issuer.policy.document`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from verifier.labels import Colour

from .observations import Kind, Observation

DIGEST_LENGTH = 8
DAY = 86_400
_SEVERITY = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


class Method(StrEnum):
    """How a lifestyle factor turns an average into points."""

    THRESHOLD = "threshold"  # all the points once the average reaches ``at_least``
    PROPORTIONAL = "proportional"  # ``points`` for every ``per``, in proportion


class Rounding(StrEnum):
    """How factor points and the score are rounded."""

    HALF_UP = "half_up"  # half away from zero
    HALF_EVEN = "half_even"


class ContributionKind(StrEnum):
    """What a line of an assessment is (stable strings, sent in JSON)."""

    BASE = "base"
    FACTOR = "factor"  # a lifestyle factor
    CLAMP = "clamp"  # held within the score's range
    ROUNDING = "rounding"  # to a whole score
    RULE = "rule"  # a hard rule fired: it sets the colour (0 points)
    CAP = "cap"  # the score lowered to a fired rule's cap


@dataclass(frozen=True)
class Rule:
    """A hard epidemic rule: a matching recent observation forces a colour and caps the score."""

    id: str
    name: str
    kind: Kind
    matches: tuple[Any, ...]
    window_days: int
    colour: Colour
    cap: int | None
    text: str


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
    text: str
    text_unmet: str


@dataclass(frozen=True)
class Contribution:
    """One line of an assessment. ``factor``: what was weighed (an observation kind, or
    ``score``); ``rule``: where the document says so; ``points``: at most the policy's decimal
    places."""

    factor: str
    input: str | int | float | bool | None
    points: Decimal
    rule: str
    text: str
    kind: ContributionKind

    def as_dict(self) -> dict[str, Any]:
        """Return the contribution JSON-ready; ``points`` is an int or a float whose JSON text
        is the exact decimal (parse it as a decimal to add up exactly)."""
        return {"factor": self.factor, "input": self.input, "points": _json_number(self.points),
                "rule": self.rule, "text": self.text, "kind": self.kind.value}


@dataclass(frozen=True)
class Assessment:
    """A colour and a score, with the contributions that add up to the score."""

    score: int
    colour: Colour
    contributions: tuple[Contribution, ...]
    policy_id: str
    policy_digest: bytes
    assessed_at: int

    def as_dict(self) -> dict[str, Any]:
        """Return the assessment JSON-ready (``policy_digest`` as hex)."""
        return {"score": self.score, "colour": self.colour.value,
                "contributions": [c.as_dict() for c in self.contributions],
                "policy_id": self.policy_id, "policy_digest": self.policy_digest.hex(),
                "assessed_at": self.assessed_at}


@dataclass(frozen=True)
class Policy:
    """A parsed policy document; :func:`issuer.policy.load_policy` and
    :func:`issuer.policy.parse_policy` build them."""

    id: str
    version: int
    title: str
    description: str = field(repr=False)
    document: bytes = field(repr=False)  # the exact published bytes
    base: int
    minimum: int
    maximum: int
    places: int
    rounding: Rounding
    green_at: int
    yellow_at: int
    utc_offset: timezone
    rules: tuple[Rule, ...]
    factors: tuple[Factor, ...]

    @property
    def digest(self) -> bytes:
        """The first 8 bytes of SHA-256 over :attr:`document`: a credential's policy claim."""
        return hashlib.sha256(self.document).digest()[:DIGEST_LENGTH]

    @property
    def lookback(self) -> int:
        """Seconds back from ``now`` within which an observation can still count: the longest
        window of any rule or factor. Older observations change nothing, so scoring need not
        load them (the cost of an assessment is bounded by this window, not the history)."""
        return max((x.window_days for x in (*self.rules, *self.factors)), default=0) * DAY

    def colour_for(self, score: int) -> Colour:
        """Return the colour the thresholds give ``score``, before any hard rule."""
        if score >= self.green_at:
            return Colour.GREEN
        return Colour.YELLOW if score >= self.yellow_at else Colour.RED

    def score(self, observations: Iterable[Observation], now: int) -> Assessment:
        """Return the assessment of ``observations`` at ``now`` (epoch seconds). Pure.

        An observation counts while ``observed_at <= now < observed_at + window``: those
        older than their rule's or factor's window, or dated after ``now``, are ignored.
        """
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError("now must be epoch seconds (int)")
        seen = [o for o in observations if o.observed_at <= now]
        lines = [Contribution("score", None, Decimal(self.base), "score.base",
                              f"Base score: {self.base}", ContributionKind.BASE)]
        factors = (self._factor(f, seen, now) for f in self.factors)
        lines += sorted((c for c in factors if c is not None), key=lambda c: -abs(c.points))
        settled, score = self._settle(sum((Fraction(c.points) for c in lines), Fraction(0)))
        lines += settled
        fired = [(r, o) for r in self.rules if (o := _latest(r, seen, now)) is not None]
        fired.sort(key=lambda pair: -_SEVERITY[pair[0].colour])  # red first, else as written
        lines += [Contribution(rule.kind.value, obs.value, Decimal(0), rule.id,
                               self._rule_text(rule, obs), ContributionKind.RULE)
                  for rule, obs in fired]
        caps = [r for r, _ in fired if r.cap is not None and r.cap < score]
        if caps:
            rule = min(caps, key=lambda r: r.cap or 0)
            lines.append(self._line(rule.kind.value, rule.cap, Fraction(rule.cap - score),
                                    rule.id, f"Capped at {rule.cap} by {rule.name}",
                                    ContributionKind.CAP))
            score = rule.cap
        colour = max([self.colour_for(score), *(r.colour for r, _ in fired)],
                     key=_SEVERITY.__getitem__)
        return Assessment(score, colour, tuple(lines), self.id, self.digest, now)

    def _settle(self, total: Fraction) -> tuple[list[Contribution], int]:
        """Return the lines that hold ``total`` within min..max and round it, and the score."""
        lines = []
        held = min(max(total, Fraction(self.minimum)), Fraction(self.maximum))
        if held != total:
            edge = "maximum" if held == self.maximum else "minimum"
            lines.append(self._line("score", _json_number(self._points(total)), held - total,
                                    f"score.{edge[:3]}", f"Held at the {edge} of {held}",
                                    ContributionKind.CLAMP))
        score = int(self._round(held, 0))
        if score != held:
            shown = self._points(held)
            lines.append(self._line("score", _json_number(shown), score - held, "score.rounding",
                                    f"Rounded {_text(shown)} to {score}",
                                    ContributionKind.ROUNDING))
        return lines, score

    def _factor(self, factor: Factor, seen: list[Observation], now: int) -> Contribution | None:
        since = now - factor.window_days * DAY
        values = [o.value for o in seen if o.kind is factor.kind and since < o.observed_at]
        if not values:
            return None  # optional data: missing means no points either way
        # Exact: whole numbers add as ints; a decimal such as 7.5 counts as written.
        total = sum(v if type(v) is int else Fraction(str(v)) for v in values)
        average = Fraction(total) / len(values)
        if factor.method is Method.THRESHOLD:
            met = average >= Fraction(factor.at_least or 0)
            exact = Fraction(factor.points) if met else Fraction(0)
        else:
            met, exact = True, Fraction(factor.points) * average / Fraction(factor.per or 1)
        points = self._points(exact)
        fields = {"average": _show(average), "points": signed_points(points),
                  "at_least": _text(factor.at_least), "per": _text(factor.per)}
        text = (factor.text if met else factor.text_unmet).format_map(fields)
        return Contribution(factor.kind.value, _json_number(_floor(average)), points, factor.id,
                            text, ContributionKind.FACTOR)

    def _rule_text(self, rule: Rule, obs: Observation) -> str:
        until = obs.observed_at + rule.window_days * DAY
        return rule.text.format_map({
            "date": self._date(obs.observed_at), "until": self._date(until),
            "days": rule.window_days, "value": obs.value, "cap": rule.cap})

    def _line(self, factor: str, value: Any, points: Fraction, rule: str, text: str,
              kind: ContributionKind) -> Contribution:
        shown = self._points(points)  # exact: every total here has at most `places` decimals
        return Contribution(factor, value, shown, rule, f"{text}: {signed_points(shown)}", kind)

    def _points(self, value: Fraction) -> Decimal:
        return self._round(value, self.places)

    def _round(self, value: Fraction, places: int) -> Decimal:
        scaled = value * 10**places
        if self.rounding is Rounding.HALF_EVEN:
            whole = round(scaled)
        else:
            whole = math.floor(abs(scaled) + Fraction(1, 2)) * (1 if scaled >= 0 else -1)
        return _tidy(Decimal(whole).scaleb(-places))

    def _date(self, epoch: int) -> str:
        moment = datetime.fromtimestamp(epoch, self.utc_offset)
        return f"{moment.day} {_MONTHS[moment.month - 1]}"


def _latest(rule: Rule, seen: list[Observation], now: int) -> Observation | None:
    matching = [o for o in seen if o.kind is rule.kind and o.value in rule.matches
                and now - rule.window_days * DAY < o.observed_at]
    return max(matching, key=lambda o: o.observed_at, default=None)


def _tidy(value: Decimal) -> Decimal:
    """``5`` rather than ``5.00``, ``-1.5`` rather than ``-1.50``: the same number."""
    return Decimal(int(value)) if value == value.to_integral_value() else value.normalize()


def _floor(value: Fraction, places: int = 2) -> Decimal:
    # Shown averages are cut, not rounded, so a shown average never crosses a threshold.
    return Decimal(math.floor(value * 10**places)).scaleb(-places)


def _show(value: Fraction) -> str:
    return _text(_floor(value))


def _text(value: Decimal | None) -> str:
    """``15,000``, ``7.5``, ``-1.07``: exact, thousands separated, no trailing zeros."""
    if value is None:
        return ""
    return f"{_tidy(value):,}"


def signed_points(points: Decimal) -> str:
    """Points as the policy's sentences write them: ``+5``, ``-1.5``, ``0``."""
    return ("+" if points > 0 else "") + _text(points)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
