"""Policy.score_fast (issuer.policy.tally) gives exactly Policy.score's score and colour, on random
observations under every shipped policy and under random policies (places 0..3, half up and
half even, threshold and proportional factors, rules with and without caps); the explanation
still adds up exactly on the same inputs; the integer helpers agree with Fractions."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from fractions import Fraction

import pytest
from conftest import DAY, NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.policy import (
    DEFAULT_POLICY,
    Kind,
    Method,
    Observation,
    Policy,
    Rounding,
    list_policies,
    load_policy,
)
from issuer.policy.tally import exact_sum, round_quotient
from verifier.labels import Colour

SHIPPED = {policy_id: load_policy(policy_id) for policy_id in list_policies()}
TEMPLATE = SHIPPED[DEFAULT_POLICY]
NUMERIC = (Kind.STEPS, Kind.SLEEP_HOURS, Kind.ALCOHOL_ML, Kind.CIGARETTES)
REGIONS = ("HUBEI-WUHAN", "ZHEJIANG-HANGZHOU", "BEIJING")
EXAMPLES = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _decimal_floats(top: int) -> st.SearchStrategy[float]:
    """Floats as people write them (7.5, 0.1, 12.25) and as arithmetic leaves them."""
    written = st.integers(0, 3).flatmap(
        lambda places: st.decimals(0, top, places=places).map(lambda d: float(str(d))))
    return st.one_of(written, st.floats(0, top), st.sampled_from([0.0, 0.1, 7.5, float(top)]))


#: What a stored row of each kind holds: the checked values (floats for sleep and alcohol), and
#: ints where rows written without the service's checks hold them (the bench's seeding).
VALUES: dict[Kind, st.SearchStrategy] = {
    Kind.TEST_RESULT: st.sampled_from(["positive", "negative"]),
    Kind.CONTACT: st.booleans(),
    Kind.SYMPTOMS: st.booleans(),
    Kind.TRAVEL: st.sampled_from(REGIONS),
    Kind.STEPS: st.one_of(st.integers(0, 200_000), st.sampled_from([0, 14_999, 15_000])),
    Kind.SLEEP_HOURS: st.one_of(_decimal_floats(24), st.integers(0, 24)),
    Kind.ALCOHOL_ML: st.one_of(_decimal_floats(10_000), st.integers(0, 10_000),
                               st.sampled_from([0, 200, 400])),
    Kind.CIGARETTES: st.one_of(st.integers(0, 200), st.sampled_from([0, 5, 10])),
}
#: Ages around every window edge (1..14 days), now itself, and the near future.
AGES = st.one_of(st.integers(-2 * DAY, 16 * DAY), st.integers(-1, 1),
                 st.builds(lambda days, nudge: days * DAY + nudge,
                           st.integers(1, 14), st.integers(-1, 1)))


def observations(values: dict[Kind, st.SearchStrategy] = VALUES
                 ) -> st.SearchStrategy[list[Observation]]:
    one = st.sampled_from(list(Kind)).flatmap(lambda kind: st.builds(
        lambda value, age: Observation.stored(kind, value, NOW - age, "test"),
        values[kind], AGES))
    return st.lists(one, max_size=40)


def _places(low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.integers(0, 3).flatmap(lambda places: st.decimals(
        Decimal(low), Decimal(high), places=places))


@st.composite
def factors(draw, kind: Kind):
    method = draw(st.sampled_from(list(Method)))
    wording = next(f for f in TEMPLATE.factors if f.method is method)
    return replace(
        wording, id=f"f-{kind.value}", kind=kind, method=method,
        window_days=draw(st.integers(1, 14)), points=draw(_places("-10", "10")),
        at_least=draw(_places("0", "20000")) if method is Method.THRESHOLD else None,
        per=draw(_places("0.001", "500").filter(bool)) if method is Method.PROPORTIONAL
        else None)


@st.composite
def policies(draw) -> Policy:
    """A policy as a document could write it: any of the shipped policy's kinds of terms."""
    low = draw(st.integers(0, 60))
    high = draw(st.integers(low, 100))
    yellow = draw(st.integers(0, 100))
    kinds = draw(st.lists(st.sampled_from(NUMERIC), max_size=5))  # two factors may share a kind
    rules = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(list(Kind)))
        rules.append(replace(
            TEMPLATE.rules[0], id=f"r-{len(rules)}", kind=kind,
            matches=tuple(draw(st.lists(VALUES[kind], min_size=1, max_size=2))),
            window_days=draw(st.integers(1, 14)), colour=draw(st.sampled_from(list(Colour))),
            cap=draw(st.none() | st.integers(low, high))))
    return replace(TEMPLATE, base=draw(st.integers(low, high)), minimum=low, maximum=high,
                   places=draw(st.integers(0, 3)), rounding=draw(st.sampled_from(list(Rounding))),
                   yellow_at=yellow, green_at=draw(st.integers(yellow, 100)),
                   factors=tuple(draw(factors(kind)) for kind in kinds), rules=tuple(rules))


def assert_same(policy: Policy, seen: list[Observation]) -> None:
    assessment = policy.score(seen, NOW)
    rows = [(o.kind, o.value, o.observed_at) for o in seen]
    assert policy.score_fast(rows, NOW) == (assessment.score, assessment.colour)
    # As the store gives them: the kind as its string.
    assert policy.score_fast([(str(k), v, t) for k, v, t in rows], NOW) == \
        (assessment.score, assessment.colour)
    assert sum(c.points for c in assessment.contributions) == assessment.score


@pytest.mark.parametrize("policy_id", sorted(SHIPPED))
@EXAMPLES
@given(seen=observations())
def test_score_fast_is_score_under_every_shipped_policy(policy_id, seen):
    assert_same(SHIPPED[policy_id], seen)


@EXAMPLES
@given(policy=policies(), seen=observations())
def test_score_fast_is_score_under_random_policies(policy, seen):
    assert_same(policy, seen)


#: Values no check would store, but that Policy.score reads exactly all the same (the
#: fallback to Fractions): a Fraction, a Decimal, a float written with an exponent, a bool.
ODD = {**VALUES, **{kind: st.one_of(
    VALUES[kind], st.fractions(0, 50, max_denominator=7), _places("0", "50"),
    st.sampled_from([1e-05, 1.5e-07, 1e+16]), st.booleans()) for kind in NUMERIC}}


@settings(max_examples=200, deadline=None)
@given(policy=st.one_of(st.just(TEMPLATE), policies()), seen=observations(ODD))
def test_values_that_are_no_plain_decimal_fall_back_to_fractions(policy, seen):
    assert_same(policy, seen)


def test_the_week_the_bench_scores(policy=TEMPLATE):
    """Edges worth naming: no observations; one of each; a week that averages exactly 7.5
    hours and 15,000 steps (both thresholds met); a positive test capping a green score."""
    assert policy.score_fast([], NOW) == (80, Colour.GREEN)
    week = [(Kind.SLEEP_HOURS, hours, NOW - day * DAY) for day, hours in
            enumerate([7.0, 8.0, 7.5, 7.5], start=1)]
    week += [(Kind.STEPS, steps, NOW - day * DAY) for day, steps in
             enumerate([10_000, 20_000], start=1)]
    assert policy.score_fast(week, NOW) == (86, Colour.GREEN)
    positive = [*week, (Kind.TEST_RESULT, "positive", NOW - 14 * DAY + 1)]
    assert policy.score_fast(positive, NOW) == (20, Colour.RED)
    assert policy.score_fast(positive, NOW + 1) == (86, Colour.GREEN)  # out of its window
    assert policy.score_fast(positive, NOW - 14 * DAY) == (80, Colour.GREEN)  # in the future


@pytest.mark.parametrize("now", [1.5, "1", True, None])
def test_now_must_be_epoch_seconds(now):
    with pytest.raises(TypeError):
        TEMPLATE.score_fast([], now)


@given(numerator=st.integers(-10**6, 10**6), denominator=st.integers(1, 10**4))
def test_round_quotient_rounds_as_fractions_do(numerator, denominator):
    exact = Fraction(numerator, denominator)
    assert round_quotient(numerator, denominator, half_even=True) == round(exact)
    away = int(abs(exact) + Fraction(1, 2)) * (1 if exact >= 0 else -1)
    assert round_quotient(numerator, denominator, half_even=False) == away


@given(values=st.lists(st.one_of(st.integers(-10**6, 10**6), st.booleans(), st.floats(-1e6, 1e6),
                                 st.floats(allow_infinity=False, allow_nan=False),
                                 st.fractions(), _places("-100", "100")), min_size=1))
def test_exact_sum_reads_values_as_their_decimals(values):
    numerator, denominator = exact_sum(values)
    assert denominator > 0
    expected = sum((v if isinstance(v, int) else Fraction(str(v)) for v in values),
                   Fraction(0))
    assert Fraction(numerator, denominator) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_exact_sum_refuses_what_is_no_number_as_score_does(value):
    with pytest.raises((ValueError, OverflowError)):
        exact_sum([7.5, value])
    with pytest.raises((ValueError, OverflowError)):
        TEMPLATE.score([Observation.stored(Kind.SLEEP_HOURS, value, NOW, "test")], NOW)
