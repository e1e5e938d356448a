"""issuer.policy: the shipped policy, each rule at its window edges, the Hangzhou examples, and
the sum property (the listed points add up exactly to the score) over many random cases."""

from __future__ import annotations

import hashlib
import json
import random
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest
from conftest import DAY, NOW

import issuer
from issuer.policy import (
    Contribution,
    ContributionKind,
    Kind,
    Observation,
    ObservationError,
    PolicyError,
    PolicyProblem,
    list_policies,
    load_policy,
    parse_policy,
    validate_observation,
)
from issuer.policy import document as policy_module
from verifier.labels import Colour

SHIPPED = Path(issuer.__file__).parent / "policy" / "policies" / "hangzhou-2020.toml"
# 2020-05-02T23:00:00Z, already 3 May in Hangzhou (UTC+8).
MAY_2_2300Z = 1_588_460_400


@pytest.fixture(scope="module")
def policy():
    return load_policy("hangzhou-2020")


def seen(kind, value, age, source="test"):
    """An observation made ``age`` seconds before NOW (negative: after it)."""
    return Observation(kind, value, NOW - age, source)


def line(assessment, rule) -> Contribution | None:
    return next((c for c in assessment.contributions if c.rule == rule), None)


def kinds(assessment):
    return [c.kind for c in assessment.contributions]


def assert_adds_up(assessment):
    assert sum(c.points for c in assessment.contributions) == assessment.score
    assert kinds(assessment)[0] is ContributionKind.BASE


# The document and its digest ----------------------------------------------------------------

def test_shipped_policy_is_listed_and_loads(policy):
    assert "hangzhou-2020" in list_policies()
    assert (policy.id, policy.version) == ("hangzhou-2020", 1)
    assert policy.title and policy.description
    assert (policy.base, policy.minimum, policy.maximum) == (80, 0, 100)
    assert (policy.green_at, policy.yellow_at) == (70, 40)
    assert [r.id for r in policy.rules] == [
        "positive-test", "close-contact", "symptoms", "high-risk-travel"]
    assert [f.id for f in policy.factors] == ["steps", "sleep", "alcohol", "smoking"]


def test_digest_is_sha256_of_the_exact_file_bytes(policy):
    document = SHIPPED.read_bytes()
    assert policy.document == document
    assert policy.digest == hashlib.sha256(document).digest()[:8]
    assessment = policy.score([], NOW)
    assert assessment.policy_digest == policy.digest
    assert assessment.as_dict()["policy_digest"] == policy.digest.hex()


def test_any_change_to_the_document_is_another_digest(policy):
    edited = parse_policy(policy.document + b"\n# a comment\n")
    assert edited.digest != policy.digest
    assert edited.rules == policy.rules and edited.factors == policy.factors
    assert parse_policy(policy.document).digest == policy.digest


# Hard rules ---------------------------------------------------------------------------------

RULES = [  # kind, matching value, window in days, rule id, colour, cap
    (Kind.TEST_RESULT, "positive", 14, "positive-test", Colour.RED, 20),
    (Kind.CONTACT, True, 14, "close-contact", Colour.YELLOW, 59),
    (Kind.SYMPTOMS, True, 7, "symptoms", Colour.YELLOW, 59),
    (Kind.TRAVEL, "HUBEI-WUHAN", 14, "high-risk-travel", Colour.YELLOW, 59),
]


@pytest.mark.parametrize(("kind", "value", "days", "rule", "colour", "cap"), RULES)
@pytest.mark.parametrize(("age", "fires"), [
    (0, True),                 # observed right now
    ("window - 1", True),      # last second of the window
    ("window", False),         # the window is over
    (-1, False),               # dated in the future: not counted
    (30 * DAY, False),
])
def test_rule_fires_only_inside_its_window(policy, kind, value, days, rule, colour, cap, age,
                                           fires):
    offset = {"window - 1": days * DAY - 1, "window": days * DAY}.get(age, age)
    assessment = policy.score([seen(kind, value, offset)], NOW)
    assert_adds_up(assessment)
    if fires:
        assert (assessment.colour, assessment.score) == (colour, cap)
        assert line(assessment, rule).kind is ContributionKind.RULE
        assert kinds(assessment) == [ContributionKind.BASE, ContributionKind.RULE,
                                     ContributionKind.CAP]
        assert assessment.contributions[-1].points == cap - 80
    else:
        assert (assessment.colour, assessment.score) == (Colour.GREEN, 80)
        assert line(assessment, rule) is None


@pytest.mark.parametrize(("kind", "value"), [
    (Kind.TEST_RESULT, "negative"),
    (Kind.CONTACT, False),
    (Kind.SYMPTOMS, False),
    (Kind.TRAVEL, "ZHEJIANG-HANGZHOU"),
])
def test_values_that_do_not_match_fire_nothing(policy, kind, value):
    assessment = policy.score([seen(kind, value, DAY)], NOW)
    assert (assessment.colour, assessment.score) == (Colour.GREEN, 80)


def test_red_beats_yellow(policy):
    observations = [seen(kind, value, DAY) for kind, value, *_ in RULES]
    assessment = policy.score(list(reversed(observations)), NOW)
    assert (assessment.colour, assessment.score) == (Colour.RED, 20)
    rules = [c.rule for c in assessment.contributions if c.kind is ContributionKind.RULE]
    assert rules == ["positive-test", "close-contact", "symptoms", "high-risk-travel"]
    assert assessment.contributions[-1].kind is ContributionKind.CAP
    assert assessment.contributions[-1].rule == "positive-test"
    assert_adds_up(assessment)


def test_a_yellow_rule_never_lightens_a_red_score(policy):
    observations = [seen(Kind.CIGARETTES, 60, DAY), seen(Kind.ALCOHOL_ML, 2000, DAY),
                    seen(Kind.CONTACT, True, DAY)]
    assessment = policy.score(observations, NOW)
    assert assessment.score == 29  # 80 - 36 - 15, under the cap of 59
    assert assessment.colour is Colour.RED
    assert ContributionKind.CAP not in kinds(assessment)


def test_a_yellow_rule_makes_a_green_score_yellow_and_caps_it(policy):
    assessment = policy.score([seen(Kind.STEPS, 20_000, DAY), seen(Kind.SYMPTOMS, True, DAY)],
                              NOW)
    assert (assessment.colour, assessment.score) == (Colour.YELLOW, 59)
    assert [c.points for c in assessment.contributions] == [80, 5, 0, -26]


def test_the_most_recent_matching_observation_is_reported(policy):
    observations = [seen(Kind.TEST_RESULT, "positive", 10 * DAY, "lab-a"),
                    seen(Kind.TEST_RESULT, "positive", 2 * DAY, "lab-b"),
                    seen(Kind.TEST_RESULT, "negative", DAY)]
    assessment = policy.score(observations, NOW)
    assert assessment.colour is Colour.RED  # a later negative test does not clear it
    fired = [c for c in assessment.contributions if c.kind is ContributionKind.RULE]
    assert len(fired) == 1
    assert fired[0].text == policy.score([observations[1]], NOW).contributions[1].text


def test_sentences_use_hangzhou_dates(policy):
    positive = Observation(Kind.TEST_RESULT, "positive", MAY_2_2300Z, "lab")
    assessment = policy.score([positive], MAY_2_2300Z + DAY)
    assert [c.text for c in assessment.contributions] == [
        "Base score: 80",
        "Positive test on 3 May: red for 14 days, until 17 May",
        "Capped at 20 by a positive test: -60",
    ]


# Lifestyle factors --------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "rule", "points"), [
    # The published examples of Hangzhou's numeric health code proposal:
    (Kind.STEPS, 15_000, "steps", Decimal(5)),
    (Kind.SLEEP_HOURS, 7.5, "sleep", Decimal(1)),
    (Kind.ALCOHOL_ML, 200, "alcohol", Decimal("-1.5")),
    (Kind.CIGARETTES, 5, "smoking", Decimal(-3)),
    # Thresholds are steps, not slopes; alcohol and smoking are in proportion.
    (Kind.STEPS, 14_999, "steps", Decimal(0)),
    (Kind.STEPS, 30_000, "steps", Decimal(5)),
    (Kind.SLEEP_HOURS, 7.49, "sleep", Decimal(0)),
    (Kind.SLEEP_HOURS, 10, "sleep", Decimal(1)),
    (Kind.ALCOHOL_ML, 400, "alcohol", Decimal(-3)),
    (Kind.ALCOHOL_ML, 100, "alcohol", Decimal("-0.75")),
    (Kind.ALCOHOL_ML, 0, "alcohol", Decimal(0)),
    (Kind.CIGARETTES, 10, "smoking", Decimal(-6)),
    (Kind.CIGARETTES, 1, "smoking", Decimal("-0.6")),
])
def test_lifestyle_factor_points(policy, kind, value, rule, points):
    assessment = policy.score([seen(kind, value, DAY)], NOW)
    assert line(assessment, rule).points == points
    assert line(assessment, rule).kind is ContributionKind.FACTOR
    assert_adds_up(assessment)


def test_the_hangzhou_examples_read_in_plain_words(policy):
    observations = [seen(Kind.STEPS, 15_000, DAY), seen(Kind.SLEEP_HOURS, 7.5, DAY),
                    seen(Kind.ALCOHOL_ML, 200, DAY), seen(Kind.CIGARETTES, 5, DAY)]
    assessment = policy.score(observations, NOW)
    assert [c.text for c in assessment.contributions] == [
        "Base score: 80",
        "15,000 steps a day: +5",
        "5 cigarettes a day: -3",
        "200 ml of alcohol a day: -1.5",
        "7.5 hours of sleep a night: +1",
        "Rounded 81.5 to 82: +0.5",
    ]
    assert (assessment.score, assessment.colour) == (82, Colour.GREEN)


def test_factors_average_the_last_seven_days(policy):
    observations = [seen(Kind.STEPS, 20_000, DAY), seen(Kind.STEPS, 10_000, 2 * DAY),
                    seen(Kind.STEPS, 0, 7 * DAY),       # a week old: left out
                    seen(Kind.STEPS, 0, -DAY)]          # tomorrow: left out
    steps = line(policy.score(observations, NOW), "steps")
    assert (steps.input, steps.points) == (15_000, 5)
    observations.append(seen(Kind.STEPS, 0, 7 * DAY - 1))  # the window's last second
    steps = line(policy.score(observations, NOW), "steps")
    assert (steps.input, steps.points) == (10_000, 0)


def test_missing_lifestyle_data_contributes_nothing(policy):
    assessment = policy.score([], NOW)
    assert (assessment.score, assessment.colour) == (80, Colour.GREEN)
    assert kinds(assessment) == [ContributionKind.BASE]


def test_factor_points_are_rounded_to_hundredths_and_the_rest_is_listed(policy):
    # Seven days averaging 1000/7 ml: -15/14 = -1.0714... points, listed as -1.07.
    observations = [seen(Kind.ALCOHOL_ML, ml, DAY // 2 + day * DAY)
                    for day, ml in enumerate([100, 0, 0, 100, 300, 250, 250])]
    assessment = policy.score(observations, NOW)
    assert line(assessment, "alcohol").points == Decimal("-1.07")
    assert line(assessment, "score.rounding").points == Decimal("0.07")
    assert assessment.score == 79
    assert_adds_up(assessment)


@pytest.mark.parametrize(("observations", "rounding", "score"), [
    ([(Kind.CIGARETTES, 7)], Decimal("0.2"), 76),                 # 75.8
    ([(Kind.CIGARETTES, 4)], Decimal("0.4"), 78),                 # 77.6
    ([(Kind.CIGARETTES, 1)], Decimal("-0.4"), 79),                # 79.4
    ([(Kind.ALCOHOL_ML, 200)], Decimal("0.5"), 79),               # 78.5: half up
    # An average of 50 ml is -0.375 points, listed as -0.38 (half away from zero): 79.62.
    ([(Kind.ALCOHOL_ML, 100), (Kind.ALCOHOL_ML, 0)], Decimal("0.38"), 80),
    ([(Kind.STEPS, 15_000)], None, 85),                           # whole already: no line
])
def test_rounding_to_a_whole_score(policy, observations, rounding, score):
    assessment = policy.score([seen(k, v, DAY) for k, v in observations], NOW)
    assert assessment.score == score
    rounded = line(assessment, "score.rounding")
    assert (rounded.points if rounded else None) == rounding
    assert_adds_up(assessment)


def test_half_even_rounding_when_the_document_says_so(policy):
    document = policy.document.replace(b'rounding = "half_up"', b'rounding = "half_even"')
    assessment = parse_policy(document).score([seen(Kind.ALCOHOL_ML, 200, DAY)], NOW)
    assert (assessment.score, line(assessment, "score.rounding").points) == (78, Decimal("-0.5"))


def test_score_is_held_at_the_minimum(policy):
    assessment = policy.score([seen(Kind.CIGARETTES, 200, DAY), seen(Kind.ALCOHOL_ML, 500, DAY)],
                              NOW)  # 80 - 120 - 3.75 = -43.75
    clamp = line(assessment, "score.min")
    assert (clamp.kind, clamp.points, clamp.input) == (
        ContributionKind.CLAMP, Decimal("43.75"), -43.75)
    assert (assessment.score, assessment.colour) == (0, Colour.RED)
    assert_adds_up(assessment)


def test_score_is_held_at_the_maximum(policy):
    generous = parse_policy(policy.document.replace(b"base = 80", b"base = 98"))
    assessment = generous.score([seen(Kind.STEPS, 15_000, DAY), seen(Kind.SLEEP_HOURS, 8, DAY)],
                                NOW)
    assert [c.points for c in assessment.contributions] == [98, 5, 1, -4]
    assert line(assessment, "score.max").kind is ContributionKind.CLAMP
    assert (assessment.score, assessment.colour) == (100, Colour.GREEN)


def test_contributions_come_base_first_then_by_weight(policy):
    observations = [seen(Kind.SLEEP_HOURS, 8, DAY), seen(Kind.ALCOHOL_ML, 400, DAY),
                    seen(Kind.STEPS, 20_000, DAY), seen(Kind.CIGARETTES, 1, DAY)]
    assessment = policy.score(observations, NOW)
    assert [c.rule for c in assessment.contributions] == [
        "score.base", "steps", "alcohol", "sleep", "smoking", "score.rounding"]


@pytest.mark.parametrize("now", [float(NOW), str(NOW), None, True])
def test_now_must_be_epoch_seconds(policy, now):
    with pytest.raises(TypeError):
        policy.score([], now)


# The sum property, on many random cases -----------------------------------------------------

VALUES = {
    Kind.TEST_RESULT: lambda r: r.choice(["positive", "negative", "negative", "negative"]),
    Kind.CONTACT: lambda r: r.random() < 0.3,
    Kind.SYMPTOMS: lambda r: r.random() < 0.3,
    Kind.TRAVEL: lambda r: r.choice(["HUBEI-WUHAN", "ZHEJIANG-HANGZHOU", "BEIJING"]),
    Kind.STEPS: lambda r: r.choice([r.randint(0, 30_000), 15_000, 14_999]),
    Kind.SLEEP_HOURS: lambda r: r.choice([round(r.uniform(0, 12), r.randint(0, 3)), 7.5]),
    Kind.ALCOHOL_ML: lambda r: r.choice([round(r.uniform(0, 1500), r.randint(0, 2)), 0, 200]),
    Kind.CIGARETTES: lambda r: r.choice([r.randint(0, 60), 0, 5]),
}
WINDOWS = {Kind.TEST_RESULT: 14, Kind.CONTACT: 14, Kind.SYMPTOMS: 7, Kind.TRAVEL: 14}


def random_observations(rng: random.Random) -> list[Observation]:
    kinds_here = rng.sample(list(Kind), rng.randint(0, len(Kind)))
    return [Observation(kind, VALUES[kind](rng),
                        NOW - rng.choice([rng.randint(-2 * DAY, 16 * DAY), 7 * DAY, 14 * DAY]),
                        "random")
            for kind in kinds_here for _ in range(rng.randint(1, 4))]


def expected_score(observations) -> tuple[int, int | None, Colour | None]:
    """An independent reckoning with the decimal module: ``(score before caps, cap, colour
    forced by a hard rule)``."""
    def recent(kind, days):
        return [o.value for o in observations
                if o.kind is kind and 0 <= NOW - o.observed_at < days * DAY]

    def average(kind):
        values = [Decimal(str(v)) for v in recent(kind, 7)]
        return sum(values) / len(values) if values else None

    with localcontext() as ctx:
        ctx.prec = 60
        total = Decimal(80)
        for kind, points in [(Kind.ALCOHOL_ML, Decimal("-1.5") / 200),
                             (Kind.CIGARETTES, Decimal(-3) / 5)]:
            if (mean := average(kind)) is not None:
                total += (mean * points).quantize(Decimal("0.01"), ROUND_HALF_UP)
        if (mean := average(Kind.STEPS)) is not None and mean >= 15_000:
            total += 5
        if (mean := average(Kind.SLEEP_HOURS)) is not None and mean >= Decimal("7.5"):
            total += 1
        score = int(min(max(total, 0), 100).quantize(Decimal(1), ROUND_HALF_UP))
    if "positive" in recent(Kind.TEST_RESULT, 14):
        return score, 20, Colour.RED
    if (True in recent(Kind.CONTACT, 14) or True in recent(Kind.SYMPTOMS, 7)
            or "HUBEI-WUHAN" in recent(Kind.TRAVEL, 14)):
        return score, 59, Colour.YELLOW
    return score, None, None


def test_contributions_add_up_to_the_score_in_random_cases(policy):
    rng = random.Random(20200211)
    fired_counts = {Colour.RED: 0, Colour.YELLOW: 0, None: 0}
    for _ in range(4000):
        observations = random_observations(rng)
        assessment = policy.score(observations, NOW)
        assert_adds_up(assessment)
        assert 0 <= assessment.score <= 100
        # Exact in JSON too, when the numbers are read as decimals.
        wire = json.loads(json.dumps(assessment.as_dict()), parse_float=Decimal)
        assert sum(c["points"] for c in wire["contributions"]) == wire["score"]
        # The same score and colour as an independent reckoning.
        unc, cap, forced = expected_score(observations)
        score = min(unc, cap) if cap is not None else unc
        assert assessment.score == score
        by_score = Colour.GREEN if score >= 70 else Colour.YELLOW if score >= 40 else Colour.RED
        severity = [Colour.GREEN, Colour.YELLOW, Colour.RED]
        colour = max([by_score, forced or Colour.GREEN], key=severity.index)
        assert assessment.colour is colour
        fired_counts[forced] += 1
    assert min(fired_counts.values()) > 300  # every branch is exercised


# Observations -------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "normalised"), [
    ("test_result", " Positive ", "positive"),
    (Kind.TEST_RESULT, "negative", "negative"),
    ("contact", True, True),
    ("symptoms", False, False),
    ("travel", " hubei-wuhan ", "HUBEI-WUHAN"),
    ("steps", 0, 0),
    ("steps", 15_000, 15_000),
    ("sleep_hours", 8, 8.0),
    ("sleep_hours", 24, 24.0),
    ("alcohol_ml", 0.5, 0.5),
    ("cigarettes", 10, 10),
])
def test_valid_observation_values_are_normalised(kind, value, normalised):
    result = validate_observation(kind, value)
    assert result == normalised and type(result) is type(normalised)


@pytest.mark.parametrize(("kind", "value", "field"), [
    ("mood", "happy", "kind"),
    ("", 1, "kind"),
    ("test_result", "maybe", "value"),
    ("test_result", True, "value"),
    ("contact", "yes", "value"),
    ("contact", 1, "value"),
    ("symptoms", None, "value"),
    ("travel", "", "value"),
    ("travel", "../etc", "value"),
    ("travel", "HUBEI WUHAN", "value"),
    ("travel", "X" * 65, "value"),
    ("travel", 42, "value"),
    ("steps", -1, "value"),
    ("steps", 1.5, "value"),
    ("steps", True, "value"),
    ("steps", "100", "value"),
    ("steps", 200_001, "value"),
    ("sleep_hours", 24.5, "value"),
    ("sleep_hours", -0.5, "value"),
    ("sleep_hours", float("nan"), "value"),
    ("alcohol_ml", -1, "value"),
    ("alcohol_ml", float("inf"), "value"),
    ("alcohol_ml", "200", "value"),
    ("cigarettes", -1, "value"),
    ("cigarettes", 2.0, "value"),
])
def test_invalid_observation_values_name_the_field(kind, value, field):
    with pytest.raises(ObservationError) as caught:
        validate_observation(kind, value)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ObservationError) as caught:
        Observation(kind, value, NOW, "test")
    assert caught.value.field == field


@pytest.mark.parametrize(("observed_at", "source", "field"), [
    (float(NOW), "lab", "observed_at"),
    (str(NOW), "lab", "observed_at"),
    (True, "lab", "observed_at"),
    (-1, "lab", "observed_at"),
    (NOW, "", "source"),
    (NOW, "   ", "source"),
    (NOW, None, "source"),
    (NOW, "x" * 101, "source"),
])
def test_invalid_observation_times_and_sources(observed_at, source, field):
    with pytest.raises(ObservationError) as caught:
        Observation(Kind.STEPS, 100, observed_at, source)
    assert caught.value.field == field


def test_observation_is_normalised_and_frozen():
    observation = Observation("travel", "hubei-wuhan", NOW, " customs ")
    assert (observation.kind, observation.value, observation.source) == (
        Kind.TRAVEL, "HUBEI-WUHAN", "customs")
    with pytest.raises(AttributeError):
        observation.value = "BEIJING"


# Loading ------------------------------------------------------------------------------------

@pytest.mark.parametrize("policy_id", [
    "../hangzhou-2020", "hangzhou-2020.toml", "HANGZHOU-2020", "", "a/b", "..", ".",
    "/etc/passwd", "..%2fhangzhou-2020", "hangzhou-2020\n", "hangzhou-2020\x00", "x" * 65,
    " hangzhou-2020", None, 2020,
])
def test_load_policy_refuses_ids_that_are_not_names(policy_id):
    with pytest.raises(PolicyError) as caught:
        load_policy(policy_id)
    assert caught.value.reason is PolicyProblem.BAD_ID


def test_load_policy_unknown_id():
    with pytest.raises(PolicyError) as caught:
        load_policy("no-such-policy")
    assert (caught.value.reason, caught.value.policy_id) == (PolicyProblem.NOT_FOUND,
                                                             "no-such-policy")


def test_a_file_must_carry_its_own_id(tmp_path, monkeypatch, policy):
    (tmp_path / "copy.toml").write_bytes(policy.document)
    (tmp_path / "hangzhou-2020.toml").write_bytes(policy.document)
    (tmp_path / "Not An Id.toml").write_bytes(policy.document)
    (tmp_path / "notes.txt").write_text("not a policy")
    monkeypatch.setattr(policy_module, "_folder", lambda: tmp_path)
    assert list_policies() == ["copy", "hangzhou-2020"]
    assert load_policy("hangzhou-2020").digest == policy.digest
    with pytest.raises(PolicyError) as caught:
        load_policy("copy")
    assert caught.value.reason is PolicyProblem.MALFORMED


BROKEN = [  # (what is wrong, old bytes, new bytes) applied to the shipped document
    ("not UTF-8", b"Hangzhou", b"\xff\xfe"),
    ("not TOML", b"version = 1", b"version = "),
    ("unknown key", b"version = 1", b"version = 1\nauthor = 'me'"),
    ("misspelt key", b"window_days = 7", b"windows_days = 7"),
    ("missing base", b"base = 80", b""),
    ("base as text", b"base = 80", b"base = '80'"),
    ("version 0", b"version = 1", b"version = 0"),
    ("version true", b"version = 1", b"version = true"),
    ("max over 100", b"max = 100", b"max = 101"),
    ("base over max", b"base = 80", b"base = 101"),
    ("thresholds crossed", b"yellow_at = 40", b"yellow_at = 75"),
    ("unknown rounding", b'"half_up"', b'"up"'),
    ("bad offset", b'"+08:00"', b'"+8"'),
    ("offset out of range", b'"+08:00"', b'"+25:00"'),
    ("bad id", b'id = "hangzhou-2020"', b'id = "../hangzhou"'),
    ("bad rule id", b'id = "positive-test"', b'id = "score.base"'),
    ("duplicate ids", b'id = "close-contact"', b'id = "positive-test"'),
    ("unknown kind", b'kind = "contact"', b'kind = "handshake"'),
    ("bad match", b'["HUBEI-WUHAN"]', b'["HUBEI WUHAN"]'),
    ("no matches", b'["HUBEI-WUHAN"]', b"[]"),
    ("unknown colour", b'colour = "red"', b'colour = "purple"'),
    ("cap over max", b"cap = 20", b"cap = 120"),
    ("template field", b"until {until}", b"until {unit}"),
    ("template attribute", b"on {date}", b"on {date.__class__}"),
    ("template index", b"on {date}", b"on {date[0]}"),
    ("template spec", b"for {days}", b"for {days:>10}"),
    ("template braces", b"for {days}", b"for {days"),
    ("positional field", b"for {days}", b"for {}"),
    ("factor on a flag", b'kind = "steps"', b'kind = "contact"'),
    ("unknown method", b'method = "threshold"', b'method = "linear"'),
    ("per zero", b"per = 200", b"per = 0"),
    ("per missing", b"per = 200", b""),
    ("threshold with per", b"at_least = 15000", b"at_least = 15000\nper = 1"),
    ("points infinite", b"points = -3", b"points = -inf"),
    ("empty title", b'title = "Hangzhou health code, 2020 rules (demo)"', b'title = " "'),
]


@pytest.mark.parametrize(("old", "new"), [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_parse_policy_refuses_broken_documents(policy, old, new):
    assert old in policy.document
    with pytest.raises(PolicyError) as caught:
        parse_policy(policy.document.replace(old, new, 1))
    assert caught.value.reason is PolicyProblem.MALFORMED
