"""Family codes in the issuer (issue 17), on SQLite and PostgreSQL: a guardian's phone holds
two dependants' live codes, each the dependant's colour bound to the guardian's phone key and
marked as a family code; ending a link revokes that dependant's codes and nothing else; a new
phone of the guardian takes the family codes of the old one with it; every step is on both
people's audit trails and `audit verify` (full and from a checkpoint) still passes; the
limits and refusals, each with its reason."""

from __future__ import annotations

import time

import pytest
from conftest import NOW
from cryptography.hazmat.primitives.asymmetric import ec
from test_presentation import present

from issuer.service import family as family_service
from issuer.store import FamilyError, FamilyProblem, HolderError, HolderProblem, NotFound
from issuer.store.family import MAX_DEPENDANTS
from verifier import Reason, Revocations, TrustList, VerificationError, verify
from verifier.keys import b64url
from verifier.revocation import RevocationList

PEOPLE = {
    "mother": ("Li Na", "330106198001011234", "+8613700000011"),
    "son": ("Li Xiaoming", "330106201501012345", "+8613700000011"),
    "grandad": ("Zhang Wei", "330106194001013456", "+8613700000012"),
    "stranger": ("Wang Fang", "330106199001014567", "+8613700000013"),
}


def _enrol(service, who: str, now: int) -> str:
    name, id_number, phone = PEOPLE[who]
    return service.create_person(actor="staff", name=name, id_number=id_number, phone=phone,
                                 organisation="Gongshu", now=now)


def _phone(service, person: str, now: int):
    """Bind a new phone (a fresh P-256 key) to the person by an enrolment link; return
    ``(private key, device)``."""
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}
    token = service.store.create_enrolment(person, actor="staff", now=now)
    _, device_id, _ = service.store.redeem_enrolment(token, jwk, now=now)
    return key, service.store.device(person, device_id)


@pytest.fixture
def family(v3_service):
    """A mother with a phone, holding her son's (red) and her father's (green) codes."""
    service, now = v3_service, int(time.time())
    mother, son, grandad = (_enrol(service, who, now) for who in ("mother", "son", "grandad"))
    service.add_observation(son, actor="lab", kind="test_result", value="positive",
                            observed_at=now - 3600, source="city lab", now=now)
    key, device = _phone(service, mother, now)
    links = {who: service.store.link_family(person, mother, actor="t-staff",
                                            reason="birth certificate seen", now=now)
             for who, person in (("son", son), ("grandad", grandad))}
    return service, now, {"mother": mother, "son": son, "grandad": grandad}, key, device, links


def _trust(service) -> TrustList:
    return TrustList.load(service.home.trust_list)


def _revocations(service, trust: TrustList) -> Revocations:
    from issuer.service.revocations import RevocationPublisher

    data = RevocationPublisher(service.home, service.store).current(*service.signer())
    rl = RevocationList.from_cose(data, trust)
    return Revocations({rl.iss: rl})


def _codes(family):
    """The son's and the grandad's family codes on the mother's phone, and her own code."""
    service, now, people, _, device, links = family
    codes = {who: family_service.family_credential(service, people["mother"], device,
                                                   links[who]["id"], now)
             for who in ("son", "grandad")}
    return codes, service.live_credential(people["mother"], device, now)


def test_a_guardian_phone_shows_each_dependant_s_colour_as_a_family_code(family):
    service, now, people, key, device, links = family
    trust = _trust(service)
    codes, own = _codes(family)
    son = verify(present(key, codes["son"]["text"], now), trust, now)
    grandad = verify(present(key, codes["grandad"]["text"], now), trust, now)
    mine = verify(present(key, own["text"], now), trust, now)
    assert (son.colour, son.family, grandad.colour, grandad.family) == ("red", True, "green", True)
    assert (mine.family, son.id_check, grandad.id_check) == (False, None, None)
    # Each code is its own: the son's, the grandad's and the mother's all stay valid together.
    assert {r["cti"] for r in service.store.credentials(people["son"])} == {codes["son"]["cti"]}
    assert service.store.credential(own["cti"])["revoked_at"] is None
    assert service.store.credential(codes["son"]["cti"])["purpose"] == "family"
    # Asked again, the phone gets the same code back (not a new one each time).
    again = family_service.family_credential(service, people["mother"], device,
                                             links["son"]["id"], now + 5)
    assert again["cti"] == codes["son"]["cti"]


def test_ending_a_link_revokes_that_dependant_s_codes_only(family):
    service, now, people, key, device, links = family
    trust = _trust(service)
    codes, own = _codes(family)
    link, revoked = service.store.end_family_link(links["son"]["id"], actor="t-staff",
                                                  reason="custody changed", now=now + 1)
    assert revoked == [codes["son"]["cti"]] and link["revoked_at"] == now + 1
    assert service.store.end_family_link(links["son"]["id"], actor="t-staff",
                                         reason="again", now=now + 2)[1] == []
    lists = _revocations(service, trust)
    with pytest.raises(VerificationError) as refused:
        verify(present(key, codes["son"]["text"], now + 3), trust, now + 3, lists)
    assert refused.value.reason is Reason.REVOKED
    for text in (codes["grandad"]["text"], own["text"]):
        assert verify(present(key, text, now + 3), trust, now + 3, lists).colour == "green"
    with pytest.raises(NotFound):  # the phone may no longer fetch the son's code
        family_service.family_credential(service, people["mother"], device,
                                         links["son"]["id"], now + 4)
    with pytest.raises(NotFound):  # nor read his data
        family_service.dependant_data(service, people["mother"], links["son"]["id"], now + 4)
    son_trail = [e for e in service.store.audit_entries(people["son"])
                 if e["action"].startswith("family.")]
    assert [(e["action"], e["actor"]) for e in son_trail] == [
        ("family.link", "t-staff"), ("family.unlink", "t-staff")]
    assert son_trail[1]["details"]["revoked"] == revoked
    mother_trail = [e["action"] for e in service.store.audit_entries(people["mother"])]
    assert mother_trail.count("family.link") == 2 and mother_trail.count("family.unlink") == 1
    assert service.store.audit_report().ok


def test_a_new_phone_of_the_guardian_revokes_the_family_codes_on_the_old_one(family):
    service, now, people, key, device, links = family
    trust = _trust(service)
    checkpoint = service.store.audit_report().marks
    old = family_service.family_credential(service, people["mother"], device,
                                           links["grandad"]["id"], now)
    new_key, new_device = _phone(service, people["mother"], now + 10)
    assert service.store.credential(old["cti"])["revocation_reason"] == "replaced by a new phone"
    fresh = family_service.family_credential(service, people["mother"], new_device,
                                             links["grandad"]["id"], now + 11)
    assert fresh["cti"] != old["cti"]
    lists = _revocations(service, trust)
    with pytest.raises(VerificationError) as refused:
        verify(present(key, old["text"], now + 12), trust, now + 12, lists)
    assert refused.value.reason is Reason.REVOKED
    assert verify(present(new_key, fresh["text"], now + 12), trust, now + 12, lists).family
    entry = [e for e in service.store.audit_entries(people["grandad"])
             if e["action"] == "credential.revoke_all"][-1]
    assert entry["details"]["ctis"] == [old["cti"]]
    # The check from a checkpoint reads revocations by the credential's person: the entry
    # must be on the grandad's trail, or this would be a revocation_mismatch.
    assert service.store.audit_report(since=checkpoint).ok
    assert service.store.audit_report().ok


def test_a_guardian_reads_only_their_dependants(family):
    service, now, people, _, device, links = family
    stranger = _enrol(service, "stranger", now)
    other = service.store.link_family(stranger, people["grandad"], actor="t-staff",
                                      reason="neighbour", now=now)
    data = family_service.dependant_data(service, people["mother"], links["son"]["id"], now)
    assert data["person"]["id"] == people["son"]
    for link_id in (other["id"], "f-unknown", "p-" + people["son"][2:], "x" * 5000):
        with pytest.raises(NotFound):
            family_service.dependant_data(service, people["mother"], link_id, now)
        with pytest.raises(NotFound):
            family_service.family_credential(service, people["mother"], device, link_id, now)
    with pytest.raises(NotFound):  # the mother cannot end someone else's link
        service.store.end_family_link(other["id"], actor="guardian", guardian_id=people["mother"])
    assert service.store.family_link(other["id"])["revoked_at"] is None
    labels = sorted(d["label"] for d in service.store.dependants(people["mother"]))
    assert labels == ["L*", "Z*"]


@pytest.mark.parametrize("case", ["self", "twice", "unknown"])
def test_links_that_cannot_be_are_refused_with_a_reason(v3_service, case):
    service, now = v3_service, NOW
    mother, son = _enrol(service, "mother", now), _enrol(service, "son", now)
    service.store.link_family(son, mother, actor="t", reason="r", now=now)
    before = len(service.store.audit_entries(mother))
    if case == "unknown":
        with pytest.raises(NotFound):
            service.store.link_family("p-nobody", mother, actor="t", reason="r", now=now)
    else:
        with pytest.raises(FamilyError) as refused:
            service.store.link_family(mother if case == "self" else son, mother, actor="t",
                                      reason="r", now=now)
        assert refused.value.problem is {"self": FamilyProblem.SELF_LINK,
                                         "twice": FamilyProblem.ALREADY_LINKED}[case]
    assert len(service.store.audit_entries(mother)) == before  # nothing written


def test_a_guardian_holds_at_most_so_many_dependants(v3_service):
    service, now = v3_service, NOW
    guardian = _enrol(service, "mother", now)
    for n in range(MAX_DEPENDANTS):
        child = service.create_person(actor="t", name=f"Child {n}", id_number=f"C{n:05d}",
                                      phone="+8613700000011", organisation="Gongshu", now=now)
        service.store.link_family(child, guardian, actor="t", reason="r", now=now)
    one_more = _enrol(service, "son", now)
    with pytest.raises(FamilyError) as refused:
        service.store.link_family(one_more, guardian, actor="t", reason="r", now=now)
    assert refused.value.problem is FamilyProblem.TOO_MANY_DEPENDANTS
    ended = service.store.dependants(guardian)[0]["id"]
    service.store.end_family_link(ended, actor="t", now=now + 1)
    assert service.store.link_family(one_more, guardian, actor="t", reason="r", now=now + 2)


def test_a_dependant_s_enrolment_letter_adds_them_to_a_signed_in_guardian(v3_service):
    service, now = v3_service, int(time.time())
    mother, son = _enrol(service, "mother", now), _enrol(service, "son", now)
    _phone(service, mother, now)
    sessions = service.store.live_sessions(mother, now)
    letter = service.store.create_enrolment(son, actor="staff", now=now)
    link = service.store.redeem_enrolment_for_guardian(letter, mother, now)
    assert (link["guardian_id"], link["dependant_id"], link["created_by"]) == (
        mother, son, "guardian")
    assert service.store.devices(son) == []  # no phone bound to the son, nobody signed out
    assert service.store.live_sessions(mother, now) == sessions
    with pytest.raises(HolderError) as used:
        service.store.redeem_enrolment_for_guardian(letter, mother, now)
    assert used.value.problem is HolderProblem.USED_LINK
    # The mother's own letter cannot make her her own guardian; it stays usable.
    own = service.store.create_enrolment(mother, actor="staff", now=now)
    with pytest.raises(FamilyError) as refused:
        service.store.redeem_enrolment_for_guardian(own, mother, now)
    assert refused.value.problem is FamilyProblem.SELF_LINK
    assert service.store.enrolment_person(own, now) == mother


def test_erasing_a_guardian_ends_the_links_and_revokes_the_family_codes(family):
    service, now, people, key, device, links = family
    trust = _trust(service)
    checkpoint = service.store.audit_report().marks
    codes, own = _codes(family)
    went = service.store.erase_person(people["mother"], actor="t-admin",
                                      reason="her request", now=now + 1)
    assert (went["family_links"], went["devices"], went["revoked"]) == (2, 1, 1)
    assert service.store.family_link(links["son"]["id"])["revoked_at"] == now + 1
    lists = _revocations(service, trust)
    for text in (codes["son"]["text"], codes["grandad"]["text"], own["text"]):
        with pytest.raises(VerificationError) as refused:
            verify(present(key, text, now + 2), trust, now + 2, lists)
        assert refused.value.reason is Reason.REVOKED
    son_trail = [e for e in service.store.audit_entries(people["son"])
                 if e["action"] == "family.unlink"]
    assert son_trail[0]["details"]["revoked"] == [codes["son"]["cti"]]
    assert service.store.audit_report().ok and service.store.audit_report(since=checkpoint).ok


def test_erasing_a_dependant_ends_their_link_and_leaves_the_others(family):
    service, now, people, key, device, links = family
    trust = _trust(service)
    codes, own = _codes(family)
    went = service.store.erase_person(people["son"], actor="t-admin", reason="request",
                                      now=now + 1)
    assert (went["family_links"], went["revoked"]) == (1, 1)
    assert service.store.family_link(links["grandad"]["id"])["revoked_at"] is None
    lists = _revocations(service, trust)
    with pytest.raises(VerificationError):
        verify(present(key, codes["son"]["text"], now + 2), trust, now + 2, lists)
    for text in (codes["grandad"]["text"], own["text"]):
        assert verify(present(key, text, now + 2), trust, now + 2, lists)
    assert [d["link"]["id"] if "link" in d else d["id"]
            for d in service.store.dependants(people["mother"])] == [links["grandad"]["id"]]
    assert service.store.audit_report().ok
