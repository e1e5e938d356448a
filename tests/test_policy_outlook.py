"""issuer.policy.outlook: when the colour changes if nothing new is recorded, on the shipped
policy (version 2) and on small fixtures; and the advice said in both languages."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from conftest import DAY, NOW

from issuer.policy import Kind, Observation, advice, load_policy, outlook, parse_policy
from verifier.labels import Colour

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def policy():
    return load_policy("hangzhou-2020-v2")


def seen(kind, value, age):
    return Observation(kind, value, NOW - age, "test")


def test_a_positive_test_is_red_until_its_window_ends_then_green(policy):
    view = outlook(policy, [seen(Kind.TEST_RESULT, "positive", 3 * DAY)], NOW)
    assert view.colour is Colour.RED
    assert [(c.at, c.colour) for c in view.changes] == [(NOW + 11 * DAY, Colour.GREEN)]
    assert view.next.score == 80


def test_the_change_is_at_the_exact_second_the_window_ends(policy):
    observations = [seen(Kind.TEST_RESULT, "positive", 3 * DAY)]
    change = outlook(policy, observations, NOW).next
    assert policy.score(observations, change.at - 1).colour is Colour.RED
    assert policy.score(observations, change.at).colour is Colour.GREEN
    # Asked one second before the boundary, the change is still ahead; at it, it is behind.
    assert outlook(policy, observations, change.at - 1).next.at == change.at
    assert outlook(policy, observations, change.at).changes == ()


def test_overlapping_yellow_rules_last_until_the_later_window(policy):
    observations = [seen(Kind.SYMPTOMS, True, DAY),        # yellow until NOW + 6 days
                    seen(Kind.CONTACT, True, 2 * DAY)]     # yellow until NOW + 12 days
    view = outlook(policy, observations, NOW)
    assert view.colour is Colour.YELLOW
    assert [(c.at, c.colour) for c in view.changes] == [(NOW + 12 * DAY, Colour.GREEN)]


def test_red_then_yellow_then_green(policy):
    observations = [seen(Kind.TEST_RESULT, "positive", 10 * DAY),   # red until NOW + 4 days
                    seen(Kind.CONTACT, True, DAY)]                  # yellow until NOW + 13
    view = outlook(policy, observations, NOW)
    assert [(c.at, c.colour) for c in view.changes] == [
        (NOW + 4 * DAY, Colour.YELLOW), (NOW + 13 * DAY, Colour.GREEN)]


def test_lifestyle_averages_leaving_the_window(policy):
    # 20 cigarettes a day on each of the last three days: 80 - 12 = 68, yellow. The days leave
    # the 7-day window one by one, but the average stays 20 until the last one has left.
    observations = [seen(Kind.CIGARETTES, 20, age * DAY) for age in (1, 2, 3)]
    view = outlook(policy, observations, NOW)
    assert (view.colour, view.score) == (Colour.YELLOW, 68)
    assert [(c.at, c.colour, c.score) for c in view.changes] == [
        (NOW + 6 * DAY, Colour.GREEN, 80)]


def test_a_changing_average_can_change_the_colour_before_the_last_day_leaves(policy):
    # 20 cigarettes 5 days ago, none yesterday: average 10, -6, 74 green. When the 0 leaves
    # (in 6 days) the 20 is gone already (in 2 days): green all along, no change.
    quiet = [seen(Kind.CIGARETTES, 20, 5 * DAY), seen(Kind.CIGARETTES, 0, DAY)]
    assert outlook(policy, quiet, NOW).changes == ()
    # 20 yesterday, 0 five days ago: average 10, green; in 2 days the 0 leaves: 20 a day,
    # yellow (68); in 6 days the 20 leaves too: green again.
    loud = [seen(Kind.CIGARETTES, 20, DAY), seen(Kind.CIGARETTES, 0, 5 * DAY)]
    view = outlook(policy, loud, NOW)
    assert view.colour is Colour.GREEN
    assert [(c.at, c.colour) for c in view.changes] == [
        (NOW + 2 * DAY, Colour.YELLOW), (NOW + 6 * DAY, Colour.GREEN)]


def test_a_green_code_with_nothing_to_expire_does_not_change(policy):
    assert outlook(policy, [], NOW).changes == ()
    view = outlook(policy, [seen(Kind.STEPS, 20_000, DAY), seen(Kind.CONTACT, False, DAY)],
                   NOW)
    assert (view.colour, view.next) == (Colour.GREEN, None)


def test_observations_that_match_nothing_add_no_instants(policy):
    observations = [seen(Kind.TRAVEL, "ZHEJIANG-HANGZHOU", DAY),
                    seen(Kind.TEST_RESULT, "negative", DAY)]
    assert outlook(policy, observations, NOW).changes == ()


def test_an_observation_dated_later_counts_from_its_time(policy):
    later = Observation(Kind.TEST_RESULT, "positive", NOW + 60, "lab")
    view = outlook(policy, [later], NOW)
    assert [(c.at, c.colour) for c in view.changes] == [
        (NOW + 60, Colour.RED), (NOW + 60 + 14 * DAY, Colour.GREEN)]


def test_a_policy_whose_base_is_yellow_never_turns_green(policy):
    document = policy.document.replace(b"base = 80", b"base = 60")
    yellow = parse_policy(document.replace(b'id = "hangzhou-2020-v2"', b'id = "yellow"'))
    view = outlook(yellow, [seen(Kind.TEST_RESULT, "positive", DAY)], NOW)
    assert [c.colour for c in view.changes] == [Colour.YELLOW]


def test_now_must_be_epoch_seconds(policy):
    with pytest.raises(TypeError):
        outlook(policy, [], float(NOW))


# The advice, in both languages ----------------------------------------------------------------

def test_advice_on_red_says_what_to_do_whom_to_call_and_when(policy):
    positive = Observation(Kind.TEST_RESULT, "positive", 1_796_688_000, "lab")  # 2026-12-08Z
    view = outlook(policy, [positive], 1_796_688_000 + DAY)
    chinese = advice(policy, view, "zh_CN", SHANGHAI)
    assert chinese["colour"] == "red"
    assert "居家" in chinese["do"] and "12345" in chinese["contact"]
    assert chinese["change"]["colour"] == "green"
    assert chinese["change"]["at"] == 1_796_688_000 + 14 * DAY
    assert chinese["change"]["text"] == "如无新结果，绿码将于2026年12月22日 08:00 (UTC+08:00)恢复"
    english = advice(policy, view, "en", SHANGHAI)
    assert english["change"]["text"] == \
        "Green again on Dec 22, 2026 08:00 (UTC+08:00) if no new result"
    assert "Stay at home" in english["do"] and "12345" in english["contact"]
    assert english["stays"] is None


def test_advice_on_green_is_short(policy):
    for locale in ("zh_CN", "en"):
        said = advice(policy, outlook(policy, [], NOW), locale, SHANGHAI)
        assert said["change"] is None and said["changes"] == [] and said["stays"]
        assert said["contact"] is None and said["do"]


def test_the_old_document_has_no_guidance_but_still_has_an_outlook():
    old = load_policy("hangzhou-2020")
    view = outlook(old, [seen(Kind.SYMPTOMS, True, DAY)], NOW)
    said = advice(old, view, "en", SHANGHAI)
    assert (said["do"], said["contact"]) == (None, None)
    assert said["change"]["colour"] == "green"
