"""issuer.policy: the policy's texts in both languages (version 2 of the demo policy), the
score explanation said in the reader's locale with numbers rounded for people, and the old
English-only document still loading byte for byte."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import DAY, NOW

import issuer
from issuer.policy import (
    ContributionKind,
    Kind,
    Observation,
    PolicyError,
    PolicyProblem,
    list_policies,
    load_policy,
    parse_policy,
)
from verifier.labels import Colour

POLICIES = Path(issuer.__file__).parent / "policy" / "policies"
# 2020-05-02T23:00:00Z, already 3 May in Hangzhou (UTC+8).
MAY_2_2300Z = 1_588_460_400


@pytest.fixture(scope="module")
def policy():
    return load_policy("hangzhou-2020-v2")


def seen(kind, value, age):
    return Observation(kind, value, NOW - age, "test")


def test_both_versions_are_published_and_the_old_one_is_unchanged(policy):
    assert {"hangzhou-2020", "hangzhou-2020-v2"} <= set(list_policies())
    old = load_policy("hangzhou-2020")
    # The digest version-1 credentials carry (pinned: the file must never change).
    assert old.digest.hex() == hashlib.sha256(
        (POLICIES / "hangzhou-2020.toml").read_bytes()).digest()[:8].hex()
    assert old.digest.hex() == "3396ce3d41057df2"
    assert (policy.version, old.version) == (2, 1)
    assert policy.family == old.family == "hangzhou-2020"
    assert policy.digest != old.digest


def test_every_text_is_in_both_languages(policy):
    texts = [policy.title, policy.description]
    texts += [t for rule in policy.rules for t in (rule.name, rule.text)]
    texts += [t for factor in policy.factors for t in (factor.text, factor.text_unmet)]
    texts += [t for g in policy.guidance.values() for t in (g.do, g.contact) if t]
    for text in texts:
        assert text.zh_CN and text.en and text.zh_CN != text.en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text.zh_CN)
    assert set(policy.guidance) == {Colour.GREEN, Colour.YELLOW, Colour.RED}


def test_the_scores_are_those_of_version_1(policy):
    old = load_policy("hangzhou-2020")
    cases = [[], [seen(Kind.TEST_RESULT, "positive", DAY)], [seen(Kind.CIGARETTES, 7, DAY)],
             [seen(Kind.STEPS, 15_000, DAY), seen(Kind.ALCOHOL_ML, 100, 2 * DAY)],
             [seen(Kind.CONTACT, True, DAY), seen(Kind.SLEEP_HOURS, 8, DAY)]]
    for observations in cases:
        new, was = policy.score(observations, NOW), old.score(observations, NOW)
        assert (new.score, new.colour) == (was.score, was.colour)
        assert [c.text for c in new.contributions] == [c.text for c in was.contributions]


def test_sentences_in_each_language(policy):
    positive = Observation(Kind.TEST_RESULT, "positive", MAY_2_2300Z, "lab")
    lines = policy.score([positive], MAY_2_2300Z + DAY).contributions
    assert [c.line("zh_CN") for c in lines] == [
        "基础分：80",
        "5月3日检测结果为阳性：14天内为红码，至5月17日",
        "因核酸检测阳性，分数上限为 20：-60",
    ]
    assert [c.line("en") for c in lines] == [
        "Base score: 80",
        "Positive test on 3 May: red for 14 days, until 17 May",
        "Capped at 20 by a positive test: -60",
    ]
    assert lines[1].sentence("zh_CN") == lines[1].line("zh_CN")  # a rule moves no points
    assert lines[2].sentence("en") == "Capped at 20 by a positive test"


def test_numbers_are_rounded_for_people_and_points_stay_exact(policy):
    observations = [seen(Kind.STEPS, steps, age * DAY)
                    for age, steps in ((1, 5_000), (2, 6_000), (3, 6_000))]
    observations += [seen(Kind.CIGARETTES, n, age * DAY) for age, n in ((1, 4), (2, 4), (3, 5))]
    assessment = policy.score(observations, NOW)
    steps = next(c for c in assessment.contributions if c.rule == "steps")
    smoking = next(c for c in assessment.contributions if c.rule == "smoking")
    assert steps.sentence("en") == "5,667 steps a day, under 15,000"
    assert steps.sentence("zh_CN") == "平均每天走 5,667 步，不到 15,000 步"
    assert smoking.sentence("en") == "4.3 cigarettes a day"  # 4.33…
    assert smoking.points == Decimal("-2.6")
    assert smoking.input == 4.33  # the machine form keeps its hundredths
    assert sum(c.points for c in assessment.contributions) == assessment.score
    as_json = smoking.as_dict()
    assert as_json["sentences"] == {"zh-CN": "平均每天吸烟 4.3 支", "en": "4.3 cigarettes a day"}
    assert as_json["text"] == "4.3 cigarettes a day: -2.6"


@pytest.mark.parametrize(("hours", "met", "shown"), [
    ([7.5, 7.4], False, "7.45"),   # 7.45 rounds to 7.5, under 7.5: shown with what it needs
    ([7.5, 7.5], True, "7.5"),
    ([8, 7.1], True, "7.6"),       # 7.55
    ([7, 7.1, 7.2], False, "7.1"),
])
def test_a_shown_average_never_lands_on_the_wrong_side_of_a_threshold(policy, hours, met,
                                                                      shown):
    observations = [seen(Kind.SLEEP_HOURS, h, (i + 1) * DAY) for i, h in enumerate(hours)]
    sleep = next(c for c in policy.score(observations, NOW).contributions if c.rule == "sleep")
    assert (sleep.points == 1) is met
    assert sleep.sentence("en").startswith(f"{shown} hours of sleep a night")


def test_the_old_document_says_its_english_in_both_languages_with_chinese_engine_words():
    old = load_policy("hangzhou-2020")
    lines = old.score([seen(Kind.CIGARETTES, 5, DAY)], NOW).contributions
    assert lines[1].text == "5 cigarettes a day: -3"
    assert lines[1].sentence("zh_CN") == "5 cigarettes a day"
    assert lines[0].line("zh_CN") == "基础分：80"


def _replace(document: bytes, old: bytes, new: bytes) -> bytes:
    assert old in document
    return document.replace(old, new, 1)


BROKEN = [  # (what is wrong, old text, new text) applied to the version 2 document
    ("Chinese missing", 'name = { zh-CN = "核酸检测阳性", en = "a positive test" }',
     'name = { en = "a positive test" }'),
    ("English missing", 'en = "a positive test" }', 'fr = "un test positif" }'),
    ("plain string in a bilingual document",
     'text = { zh-CN = "平均每天吸烟 {average} 支", en = "{average} cigarettes a day" }',
     'text = "{average} cigarettes a day"'),
    ("empty English", 'en = "{average} ml of alcohol a day"', 'en = " "'),
    ("bad field in Chinese", 'zh-CN = "{date}申报', 'zh-CN = "{day}申报'),
    ("no guidance on red", "[guidance.red]", "[guidance.purple]"),
    ("guidance key", "[guidance.red]\ndo", "[guidance.red]\nadvice"),
]


@pytest.mark.parametrize(("old", "new"), [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_a_text_missing_in_either_language_is_refused(policy, old, new):
    with pytest.raises(PolicyError) as caught:
        parse_policy(_replace(policy.document, old.encode(), new.encode()))
    assert caught.value.reason is PolicyProblem.MALFORMED


def test_guidance_removed_from_red_only_is_refused(policy):
    start = policy.document.index(b"[guidance.red]")
    end = policy.document.index(b"# Hard rules")
    with pytest.raises(PolicyError):
        parse_policy(policy.document[:start] + policy.document[end:])


def test_assessment_kinds_are_unchanged(policy):
    kinds = [c.kind for c in policy.score([seen(Kind.STEPS, 1, DAY)], NOW).contributions]
    assert kinds == [ContributionKind.BASE, ContributionKind.FACTOR]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_numbers_and_days_are_written_as_babel_writes_them(locale):
    from datetime import datetime, timedelta, timezone
    from fractions import Fraction

    from babel import dates, numbers

    from issuer.policy.wording import day, number

    for value in (Decimal("15000"), Decimal("-1.5"), Decimal("0.75"), 0, 1_234_567,
                  Decimal("7.5"), Fraction(17000, 3)):
        expected = numbers.format_decimal(
            Decimal(str(round(float(value), 6))), "#,##0.######", locale=locale)
        assert number(value, locale) == expected
    hangzhou = timezone(timedelta(hours=8))
    pattern = {"zh_CN": "M月d日", "en": "d MMMM"}[locale]
    for epoch in (MAY_2_2300Z, NOW, NOW + 200 * DAY):
        moment = datetime.fromtimestamp(epoch, hangzhou)
        assert day(epoch, hangzhou, locale) == dates.format_datetime(moment, pattern,
                                                                     locale=locale)
