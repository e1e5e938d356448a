"""verify(): time, skew, keys and claims, with an explicit clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import DAY, NOW

from issuer.keys.signing import issue_credential
from verifier import (
    CLOCK_SKEW,
    Colour,
    Reason,
    TrustListError,
    VerificationError,
    decode_unverified,
    is_valid,
    verify,
)


def reason_of(text, trust, now):
    with pytest.raises(VerificationError) as caught:
        verify(text, trust, now=now)
    return caught.value.reason


def test_valid_code_returns_its_claims(make_code, trust, signing):
    credential = verify(make_code(colour="yellow", score=61), trust, now=NOW + 10)
    assert credential.colour is Colour.YELLOW
    assert credential.score == 61
    assert credential.iss == signing[1].iss
    assert (credential.iat, credential.exp) == (NOW, NOW + DAY)
    assert len(credential.cti) == 12


def test_two_codes_of_one_person_share_no_identifier(make_code, trust):
    a, b = (verify(make_code(), trust, now=NOW) for _ in range(2))
    assert a.cti != b.cti


@pytest.mark.parametrize(("offset", "expected"), [
    (DAY, None),                                   # at exp: valid
    (DAY + CLOCK_SKEW, None),                      # last second of the skew allowance
    (DAY + CLOCK_SKEW + 1, Reason.EXPIRED),
    (10 * DAY, Reason.EXPIRED),
    (0, None),
    (-CLOCK_SKEW, None),                           # verifier's clock a little behind
    (-CLOCK_SKEW - 1, Reason.NOT_YET_VALID),
])
def test_expiry_and_skew(make_code, trust, offset, expected):
    text = make_code(iat=NOW, ttl=DAY)
    if expected is None:
        assert verify(text, trust, now=NOW + offset).exp == NOW + DAY
    else:
        assert reason_of(text, trust, NOW + offset) is expected


def test_now_may_be_an_aware_datetime(make_code, trust):
    text = make_code(iat=NOW, ttl=DAY)
    at = datetime.fromtimestamp(NOW + DAY + CLOCK_SKEW + 1, UTC).astimezone(
        timezone(timedelta(hours=8)))
    assert reason_of(text, trust, at) is Reason.EXPIRED
    assert verify(text, trust, now=at - timedelta(hours=1)).score == 87


def test_naive_datetime_is_refused(make_code, trust):
    with pytest.raises(ValueError, match="naive"):
        verify(make_code(), trust, now=datetime(2026, 11, 18, 12, 0))


def test_expired_beats_key_window_for_a_backdated_code(make_code, trust):
    """A code back-dated before its key existed, and long expired, is reported as expired."""
    text = make_code(iat=NOW - 10 * DAY, ttl=DAY)
    assert reason_of(text, trust, NOW) is Reason.EXPIRED


def test_code_issued_before_key_window_but_unexpired(make_code, trust):
    text = make_code(iat=NOW - 2 * DAY, ttl=5 * DAY)  # key nbf is NOW - 1 day
    assert reason_of(text, trust, NOW) is Reason.KEY_NOT_VALID


def test_code_issued_after_key_window(make_code, trust):
    key = next(iter(trust.keys.values()))
    text = make_code(iat=key.not_after + 1, ttl=DAY)
    shifted = replace(trust, expires_at=key.not_after + 2 * DAY)
    assert reason_of(text, shifted, key.not_after + 10) is Reason.KEY_NOT_VALID


def test_issuer_mismatch(make_code, trust):
    assert reason_of(make_code(iss="SH"), trust, NOW) is Reason.KEY_NOT_VALID


def test_expired_trust_list_refuses_everything(make_code, trust):
    with pytest.raises(TrustListError) as caught:
        verify(make_code(iat=trust.expires_at), trust, now=trust.expires_at + 1)
    assert caught.value.reason is Reason.TRUST_LIST_EXPIRED


def test_key_algorithm_pinned_by_trust_list_wins(make_code, trust):
    """A trust entry pinned to EdDSA refuses an ES256 header with the same kid."""
    from verifier.labels import Alg

    kid, entry = next(iter(trust.keys.items()))
    pinned = replace(trust, keys={kid: replace(entry, alg=Alg.EDDSA)})
    assert reason_of(make_code(), pinned, NOW) is Reason.UNSUPPORTED_ALGORITHM


def test_unknown_key_carries_kid(make_code, trust):
    empty = replace(trust, keys={})
    with pytest.raises(VerificationError) as caught:
        verify(make_code(), empty, now=NOW)
    assert caught.value.reason is Reason.UNKNOWN_KEY
    assert caught.value.context["kid"]


def test_context_of_expired_error(make_code, trust):
    with pytest.raises(VerificationError) as caught:
        verify(make_code(iat=NOW, ttl=60), trust, now=NOW + 3600)
    assert caught.value.context["exp"] == NOW + 60
    assert caught.value.context["now"] == NOW + 3600
    assert "expired" in caught.value.explanation


def test_is_valid_wraps_verify(make_code, trust):
    assert is_valid(make_code(), trust, now=NOW)
    assert not is_valid(make_code(ttl=60), trust, now=NOW + 3600)
    assert not is_valid("HCC1:garbage", trust, now=NOW)
    assert not is_valid(None, trust, now=NOW)


def test_decode_unverified_checks_nothing(make_code, trust):
    expired = make_code(ttl=60)
    assert decode_unverified(expired).exp == NOW + 60
    with pytest.raises(VerificationError):
        decode_unverified("HCC1:")


def test_issuer_refuses_to_sign_what_verifiers_reject(signing):
    key, config = signing
    for bad in ({"score": 101}, {"score": -1}, {"colour": "blue"}, {"ttl": 0},
                {"iss": ""}, {"iss": "X" * 33}):
        args = {"iss": config.iss, "colour": "green", "score": 50, "iat": NOW, "ttl": DAY,
                **bad}
        with pytest.raises(ValueError):
            issue_credential(key, **args)


@pytest.mark.parametrize("iss", ["HZ", "CN-ZJ-HZ"])
def test_static_credential_fits_qr_version_8_at_ecc_m(make_code, iss):
    """With a policy digest and an issuer id of up to 8 characters (docs/FORMAT.md budget)."""
    from issuer.render.qr import make_qr

    text = make_code(policy=bytes(8), iss=iss, score=100)
    qr = make_qr(text)
    assert (qr.version, qr.error, qr.mode) == (8, "M", "alphanumeric")
    assert qr.symbol_size(border=0) == (49, 49)
