"""Issue 17's family codes in a real headless Chromium, on SQLite and PostgreSQL: a mother's
phone holds two dependants, her son (added by staff through the API; red after a positive
test) and her father (added by opening his enrolment letter on her phone). The phone shows
each one's live code; a checkpoint kiosk (a second browser, a real kiosk server on
127.0.0.1) admits each as a "family code" with no name on its screen. Then the mother
removes her son from her phone and staff end the grandfather's link: once the kiosk has the
issuer's new revocation list, both codes are refused as revoked. Screenshots in
tests/artifacts/family-*.png."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request

import pytest
from test_appeal_browser import _checked
from test_holder_browser import _serve, keep, phone, presentation_in, wait_for_code  # noqa: F401
from test_kiosk_browser import _no_camera_page, _paste

from verifier.kiosk import create_app as create_kiosk

webcam = pytest.importorskip("webcam")
PEOPLE = {
    "mother": {"name": "Li Na", "id_number": "330106198001011234", "phone": "+86 137 0000 0011",
               "organisation": "Gongshu Market"},
    "son": {"name": "Li Xiaoming", "id_number": "330106201501012345",
            "phone": "+86 137 0000 0011", "organisation": "Gongshu School"},
    "grandad": {"name": "Zhang Wei", "id_number": "330106194001013456",
                "phone": "+86 137 0000 0012", "organisation": "Gongshu Market"},
}
LAPTOP = {"width": 1280, "height": 720}


def _post(base: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def _sync_revocations(base: str, folder, iss: str) -> None:
    """What `healthcode-verifier sync` brings: the issuer's signed revocation list."""
    with urllib.request.urlopen(f"{base}/trust/revocations", timeout=30) as response:  # noqa: S310
        (folder / f"revocations-{iss}.cose").write_bytes(response.read())


def _family_code(page, base: str, link: str, colour: str, name: str) -> str:
    """Open a family member's code on the phone; return the presentation it shows."""
    page.goto(f"{base}/me/family/{link}")
    wait_for_code(page, colour)
    assert page.locator(".family-switch a[aria-current=page]").inner_text().endswith("*")
    return presentation_in(keep(page, f"family-{name}-code.png"))


def test_a_guardian_phone_with_two_dependants_at_a_checkpoint(phone, playwright, api, tmp_path):  # noqa: F811
    base, service = api.base, api.service
    now = int(time.time())
    people = {who: service.create_person(actor="test", **fields) for who, fields in PEOPLE.items()}
    service.add_observation(people["son"], actor="lab", kind="test_result", value="positive",
                            observed_at=now - 3600, source="city lab")
    mother = phone("mother").new_page()
    mother.goto(f"{base}/enrol/{service.store.create_enrolment(people['mother'], actor='t')}")
    mother.wait_for_url(f"{base}/me", timeout=20_000)
    wait_for_code(mother, "green")

    # Staff add the son to her phone; she adds her father herself, with his letter.
    son_link = _post(base, f"/api/people/{people['son']}/guardians", api.tokens["write"],
                     {"guardian": people["mother"], "reason": "birth certificate seen"})["id"]
    mother.goto(f"{base}/enrol/{service.store.create_enrolment(people['grandad'], actor='t')}")
    assert "Z*" in mother.locator("h1").inner_text()
    _checked(mother, "family-letter")
    mother.click("#add-family")
    mother.wait_for_url(f"{base}/me/family?added=1", timeout=20_000)
    assert service.store.devices(people["grandad"]) == []  # his letter bound no phone
    _checked(mother, "family-list")
    shown = {item.get_attribute("data-link")
             for item in mother.locator("#family-list li").all()}
    assert shown == {d["id"] for d in service.store.dependants(people["mother"])}
    assert son_link in shown and len(shown) == 2
    (grandad_link,) = shown - {son_link}

    son = _family_code(mother, base, son_link, "red", "son")
    _checked(mother, "family-son")
    grandad = _family_code(mother, base, grandad_link, "green", "grandad")
    mother.goto(f"{base}/me/family/{son_link}/data")
    assert "Li Xiaoming" in mother.locator("main").text_content()  # in a folded section
    assert mother.locator("#observations a.action").count() == 0  # read-only for her

    # The checkpoint: a kiosk with the issuer's trust list, a live code up to 10 min old.
    lists = tmp_path / "kiosk"
    lists.mkdir()
    for source in (service.home.trust_list, service.home.anchor_public):
        shutil.copy(source, lists / source.name)
    kiosk = create_kiosk({"TRUST": lists / service.home.trust_list.name,
                          "RULE": "green,yellow,red", "WINDOW": 600, "DEFAULT_LOCALE": "en"})
    kiosk_base, server, thread = _serve(kiosk)
    context, page = _no_camera_page(playwright, kiosk_base + "/", tmp_path / "kiosk-profile",
                                    "en", LAPTOP)
    try:
        for text, colour in ((son, "RED"), (grandad, "GREEN")):
            _paste(page, text, "admit")
            shown = page.locator("#verdict").inner_text()
            assert colour in shown.upper()
            note = page.locator("#verdict-static").text_content()
            assert note.startswith("Family code, live from the phone it is bound to")
            for name in ("Li", "Zhang", "Xiaoming", "Wei", "L*", "Z*"):
                assert name not in shown and name not in note
        keep(page, "family-kiosk-admit.png")

        # She removes her son; staff end the grandfather's link. The kiosk syncs.
        mother.goto(f"{base}/me/family")
        item = mother.locator(f'#family-list li[data-link="{son_link}"]')
        item.locator("input[name=confirm]").check()
        item.locator("button[type=submit]").click()
        mother.wait_for_url(f"{base}/me/family?removed=1", timeout=20_000)
        ended = _post(base, f"/api/family/{grandad_link}/revoke", api.tokens["write"],
                      {"reason": "moved to a care home"})
        assert len(ended["revoked"]) == 1
        _sync_revocations(base, lists, service.signer()[1].iss)
        for text in (son, grandad):
            _paste(page, text, "invalid")
            assert page.locator("#verdict").get_attribute("data-reason") == "revoked"
        keep(page, "family-kiosk-revoked.png")
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        thread.join(5)
    mother.goto(f"{base}/me/family/{son_link}")
    assert mother.locator("main").inner_text().strip()  # a plain page saying so, not a code
    assert service.verify_audit()[1] is None
