"""A scoring policy's rules and its pure scoring: observations in; colour, score and every
point explained out.

:meth:`Policy.score` reads only its arguments and computes exactly (``Fraction``). Factor
points are rounded to the policy's decimal places, the total is held within the score's range
and rounded to a whole number, and each of those steps is listed as a :class:`Contribution`,
so the listed points (``Decimal``) add up exactly to the integer score. :meth:`Policy.score_fast`
gives the same score and colour without the explanation (:mod:`.tally`, for bulk re-issue).
The terms (rules, factors, rounding) are in :mod:`.terms`; policies are read from their
published documents by :mod:`issuer.policy.document`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cached_property
from typing import Any

from verifier.labels import Colour

from .observations import Observation
from .tally import Row, Tally, exact_sum, round_quotient
from .terms import DAY, SEVERITY, Factor, Method, Recourse, Retention, Rounding, Rule
from .wording import (
    N_,
    POINTS_SEPARATOR,
    Guidance,
    Text,
    day,
    gettext,
    number,
    people_number,
    signed_points,
    tidy,
)

DIGEST_LENGTH = 8


class ContributionKind(StrEnum):
    """What a line of an assessment is (stable strings, sent in JSON)."""

    BASE = "base"
    FACTOR = "factor"  # a lifestyle factor
    CLAMP = "clamp"  # held within the score's range
    ROUNDING = "rounding"  # to a whole score
    RULE = "rule"  # a hard rule fired: it sets the colour (0 points)
    CAP = "cap"  # the score lowered to a fired rule's cap


@dataclass(frozen=True)
class Contribution:
    """One line of an assessment. ``factor``: what was weighed (an observation kind, or
    ``score``); ``rule``: where the document says so; ``points``: at most the policy's decimal
    places; ``text``: the line in English with its points (a stable form, for logs).
    :meth:`sentence` says it in a reader's language."""

    factor: str
    input: str | int | float | bool | None
    points: Decimal
    rule: str
    text: str
    kind: ContributionKind
    words: Callable[[str], str] | None = field(default=None, compare=False, repr=False)

    def sentence(self, locale: str = "en") -> str:
        """The line's words in ``locale`` (a Babel locale), without its points: numbers
        rounded for people, dates in the policy's offset."""
        if self.words is not None:
            return self.words(locale)
        return self.text if self.kind is ContributionKind.RULE else self.text.rsplit(": ", 1)[0]

    def line(self, locale: str = "en") -> str:
        """The sentence with its points (``基础分：80``), except for a rule (it sets the
        colour and moves no points)."""
        if self.kind is ContributionKind.RULE:
            return self.sentence(locale)
        points = number(self.points, locale) if self.kind is ContributionKind.BASE \
            else signed_points(self.points)
        return f"{self.sentence(locale)}{POINTS_SEPARATOR.get(locale, ': ')}{points}"

    def as_dict(self) -> dict[str, Any]:
        """Return the contribution JSON-ready; ``points`` is an int or a float whose JSON text
        is the exact decimal (parse it as a decimal to add up exactly)."""
        return {"factor": self.factor, "input": self.input, "points": _json_number(self.points),
                "rule": self.rule, "text": self.text, "kind": self.kind.value,
                "sentences": Text(self.sentence("zh_CN"), self.sentence("en")).as_dict()}


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
    title: Text
    description: Text = field(repr=False)
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
    #: What to do per colour (documents before version 2 of the demo policy have none).
    guidance: Mapping[Colour, Guidance] = field(default_factory=dict, repr=False)
    #: Undo and review deadlines, and how long data is kept (before version 3: no undo, no
    #: deadline, nothing deleted).
    recourse: Recourse = field(default_factory=Recourse, repr=False)
    retention: Retention | None = field(default=None, repr=False)

    @property
    def family(self) -> str:
        """The id without its version suffix: ``hangzhou-2020-v2`` -> ``hangzhou-2020``.
        Every published version of one policy shares it."""
        stem, _, suffix = self.id.rpartition("-v")
        return stem if stem and suffix.isdigit() else self.id

    @cached_property
    def digest(self) -> bytes:
        """The first 8 bytes of SHA-256 over :attr:`document`: a credential's policy claim."""
        return hashlib.sha256(self.document).digest()[:DIGEST_LENGTH]

    @cached_property
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

    @cached_property
    def _tally(self) -> Tally:
        return Tally(base=self.base, minimum=self.minimum, maximum=self.maximum,
                     places=self.places, half_even=self.rounding is Rounding.HALF_EVEN,
                     green_at=self.green_at, yellow_at=self.yellow_at, rules=self.rules,
                     factors=self.factors)

    def score_fast(self, rows: Sequence[Row], now: int) -> tuple[int, Colour]:
        """Exactly ``(score, colour)`` of :meth:`score` on the same observations, given as
        ``(kind, value, observed_at)`` rows, without building the explanation: integer
        arithmetic where the values allow, exact Fractions otherwise (:mod:`.tally`). The
        values are taken as stored (validated on the way in). Raises ``TypeError`` for a
        ``now`` that is not an int."""
        return self._tally.score(rows, now)

    def score(self, observations: Iterable[Observation], now: int) -> Assessment:
        """Return the assessment of ``observations`` at ``now`` (epoch seconds). Pure.

        An observation counts while ``observed_at <= now < observed_at + window``: those
        older than their rule's or factor's window, or dated after ``now``, are ignored.
        """
        if isinstance(now, bool) or not isinstance(now, int):
            raise TypeError("now must be epoch seconds (int)")
        seen = [o for o in observations if o.observed_at <= now]
        lines = [Contribution("score", None, Decimal(self.base), "score.base",
                              f"Base score: {self.base}", ContributionKind.BASE,
                              lambda locale: gettext(locale, N_("Base score")))]
        factors = (self._factor(f, seen, now) for f in self.factors)
        lines += sorted((c for c in factors if c is not None), key=lambda c: -abs(c.points))
        settled, score = self._settle(sum((Fraction(c.points) for c in lines), Fraction(0)))
        lines += settled
        fired = [(r, o) for r in self.rules if (o := _latest(r, seen, now)) is not None]
        fired.sort(key=lambda pair: -SEVERITY[pair[0].colour])  # red first, else as written
        lines += [self._rule_line(rule, obs) for rule, obs in fired]
        caps = [r for r, _ in fired if r.cap is not None and r.cap < score]
        if caps:
            rule = min(caps, key=lambda r: r.cap or 0)
            lines.append(self._line(
                rule.kind.value, rule.cap, Fraction(rule.cap - score), rule.id,
                ContributionKind.CAP, N_("Capped at %(cap)s by %(rule)s"),
                lambda locale, rule=rule: {"cap": rule.cap, "rule": rule.name.get(locale)}))
            score = rule.cap
        colour = max([self.colour_for(score), *(r.colour for r, _ in fired)],
                     key=SEVERITY.__getitem__)
        return Assessment(score, colour, tuple(lines), self.id, self.digest, now)

    def _settle(self, total: Fraction) -> tuple[list[Contribution], int]:
        """Return the lines that hold ``total`` within min..max and round it, and the score."""
        lines = []
        held = min(max(total, Fraction(self.minimum)), Fraction(self.maximum))
        if held != total:
            top = held == self.maximum
            lines.append(self._line(
                "score", _json_number(self._points(total)), held - total,
                "score.max" if top else "score.min", ContributionKind.CLAMP,
                N_("Held at the maximum of %(edge)s") if top
                else N_("Held at the minimum of %(edge)s"),
                lambda locale: {"edge": number(held, locale)}))
        score = int(self._round(held, 0))
        if score != held:
            shown = self._points(held)
            lines.append(self._line(
                "score", _json_number(shown), score - held, "score.rounding",
                ContributionKind.ROUNDING, N_("Rounded %(value)s to %(score)s"),
                lambda locale: {"value": number(shown, locale), "score": score}))
        return lines, score

    def _factor(self, factor: Factor, seen: list[Observation], now: int) -> Contribution | None:
        since = now - factor.window_days * DAY
        values = [o.value for o in seen if o.kind is factor.kind and since < o.observed_at]
        if not values:
            return None  # optional data: missing means no points either way
        # Exact: whole numbers add as ints; a decimal such as 7.5 counts as written.
        numerator, denominator = exact_sum(values)
        average = Fraction(numerator, denominator * len(values))
        weight, at_least, per = factor.exact
        if factor.method is Method.THRESHOLD:
            met = average >= at_least
            exact = weight if met else Fraction(0)
        else:
            met, exact = True, weight * average / per
        points = self._points(exact)
        template = factor.text if met else factor.text_unmet
        threshold = factor.at_least if factor.method is Method.THRESHOLD else None

        def render(locale: str) -> str:
            return template.get(locale).format_map({
                "average": people_number(average, factor.kind, locale, threshold=threshold,
                                         met=met),
                "points": signed_points(points), "at_least": number(factor.at_least, locale),
                "per": number(factor.per, locale)})

        def words(locale: str) -> str:
            # Older documents end their sentences with the points; the reader sees them apart.
            text = render(locale)
            if template.get(locale).endswith("{points}"):
                text = text.removesuffix(signed_points(points)).rstrip().rstrip(":：").rstrip()
            return text

        english = render("en") if "{points}" in template.en \
            else f"{render('en')}: {signed_points(points)}"
        return Contribution(factor.kind.value, _json_number(_floor(average)), points, factor.id,
                            english, ContributionKind.FACTOR, words)

    def _rule_line(self, rule: Rule, obs: Observation) -> Contribution:
        until = obs.observed_at + rule.window_days * DAY

        def words(locale: str) -> str:
            return rule.text.get(locale).format_map({
                "date": day(obs.observed_at, self.utc_offset, locale),
                "until": day(until, self.utc_offset, locale),
                "days": rule.window_days, "value": obs.value, "cap": rule.cap})

        return Contribution(rule.kind.value, obs.value, Decimal(0), rule.id, words("en"),
                            ContributionKind.RULE, words)

    def _line(self, factor: str, value: Any, points: Fraction, rule: str,
              kind: ContributionKind, message: str,
              fields: Callable[[str], dict[str, Any]]) -> Contribution:
        shown = self._points(points)  # exact: every total here has at most `places` decimals

        def words(locale: str) -> str:
            return gettext(locale, message, **fields(locale))

        return Contribution(factor, value, shown, rule,
                            f"{words('en')}: {signed_points(shown)}", kind, words)

    def _points(self, value: Fraction) -> Decimal:
        return self._round(value, self.places)

    def _round(self, value: Fraction | int, places: int) -> Decimal:
        whole = round_quotient(value.numerator * 10**places, value.denominator,
                               self.rounding is Rounding.HALF_EVEN)
        return tidy(Decimal(whole).scaleb(-places))


def _latest(rule: Rule, seen: list[Observation], now: int) -> Observation | None:
    matching = [o for o in seen if o.kind is rule.kind and o.value in rule.matches
                and now - rule.window_days * DAY < o.observed_at]
    return max(matching, key=lambda o: o.observed_at, default=None)


def _floor(value: Fraction, places: int = 2) -> Decimal:
    # The input is cut, not rounded, so a listed average never crosses a threshold.
    return Decimal(value.numerator * 10**places // value.denominator).scaleb(-places)


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)
