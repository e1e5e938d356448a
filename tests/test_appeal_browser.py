"""Issue 17's appeal round trip, in a real headless Chromium on SQLite and PostgreSQL: a
holder whose code is red contests the test result from My data, with a photo; a member of
staff upholds it in writing on the staff page; the holder's phone shows a green live code
again; a checkpoint admits that code and refuses the red one it replaced, now revoked. The
pages on the way are checked with axe-core; screenshots in tests/artifacts/appeal-*.png."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest
from a11y import axe_serious
from PIL import Image
from test_holder_browser import PEOPLE, _serve, keep, phone, presentation_in, wait_for_code  # noqa: F401

from verifier import Reason, Revocations, TrustList, VerificationError, verify
from verifier.kiosk import create_app as create_kiosk
from verifier.revocation import RevocationList

webcam = pytest.importorskip("webcam")
ARTIFACTS = Path(__file__).parent / "artifacts"
LAPTOP = {"width": 1280, "height": 720}
WORDS = "That test was not mine: I was at work that day, my test was negative."
DECISION = "The laboratory confirmed a mix-up of two samples."


def _checked(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"appeal-{name}.png"), full_page=True)
    bad = axe_serious(page)
    assert not bad, f"{name}: axe: {bad}"


def _verdict(kiosk_base: str, text: str) -> dict:
    request = urllib.request.Request(kiosk_base + "/api/text", data=text.encode(),
                                     headers={"Content-Type": "text/plain"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return json.loads(response.read())


def red_phone(open_phone, api, who: str):
    """A person whose positive test made them red, enrolled on a fresh phone showing their
    red code: ``(page, person id, time of the code shown)``."""
    service = api.service
    person = service.create_person(actor="test", **PEOPLE[who])
    service.add_observation(person, actor="lab", kind="test_result", value="positive",
                            observed_at=int(time.time()) - 3600, source="city lab")
    page = open_phone(who).new_page()
    page.goto(f"{api.base}/enrol/{service.store.create_enrolment(person, actor='test')}")
    page.wait_for_url(f"{api.base}/me", timeout=20_000)
    return page, person, wait_for_code(page, "red")


def test_contest_uphold_and_the_checkpoint_sees_the_new_code(phone, api, tmp_path):  # noqa: F811
    base, service = api.base, api.service
    trust = TrustList.load(service.home.trust_list)
    page, person, red_at = red_phone(phone, api, "wang")
    red = presentation_in(keep(page, "appeal-red-code.png"))

    # The holder contests the result from My data, with a photo of their negative test.
    page.goto(f"{base}/me/data")
    page.click("#records > summary")
    page.click("#observations tr[data-kind=test_result] a.action")
    page.wait_for_selector("#appeal")
    photo = tmp_path / "negative-test.png"
    Image.new("RGB", (800, 600), (240, 240, 240)).save(photo)
    page.fill("#f-reason", WORDS)
    page.set_input_files("#f-photo", str(photo))
    _checked(page, "form")
    page.click("#appeal button[type=submit]")
    page.wait_for_selector("#appeals .done", timeout=20_000)
    assert page.locator('#appeal-list tr[data-state="open"]').count() == 1
    _checked(page, "sent")

    # A member of staff upholds it on the staff page, in writing.
    reviewer = service.create_token("review", "appeals desk", int(time.time()))[1]
    staff = phone("staff", viewport=LAPTOP, device_scale_factor=1, is_mobile=False,
                  has_touch=False).new_page()
    staff.goto(f"{base}/staff")
    staff.fill("#token", reviewer)
    staff.click("#load-appeals")
    item = staff.locator(".appeal").first
    item.wait_for(timeout=20_000)
    assert WORDS in item.locator(".words").inner_text()
    item.locator(".show-photo").click()
    staff.wait_for_selector(".appeal img.photo:not([hidden])", timeout=20_000)
    assert staff.evaluate("() => document.querySelector('.appeal img.photo').naturalWidth") == 800
    _checked(staff, "staff-queue")
    item.locator(".reason").fill(DECISION)
    item.locator(".uphold").click()
    staff.wait_for_selector("#appeals-empty:not([hidden])", timeout=20_000)
    assert staff.locator(".appeal").count() == 0
    assert "Upheld" in staff.locator("#status").inner_text()
    assert "green" in staff.locator("#status").inner_text()

    # The holder's phone shows a green live code again, and My data says why.
    page.goto(f"{base}/me")
    green_at = wait_for_code(page, "green", after=red_at)
    green = presentation_in(keep(page, "appeal-green-code.png"))
    page.goto(f"{base}/me/data")
    page.click("#appeals > summary")
    upheld = page.locator('#appeal-list tr[data-state="upheld"]')
    assert upheld.count() == 1 and DECISION in upheld.inner_text()
    _checked(page, "decided")

    # A checkpoint with the issuer's lists admits the green code and refuses the red one: the
    # phone's new code revoked it. (Its revocation, not only its age: checked at its time.)
    with urllib.request.urlopen(f"{base}/trust/revocations", timeout=30) as response:  # noqa: S310
        revocations = RevocationList.from_cose(response.read(), trust)
    kiosk = create_kiosk({"TRUST": service.home.trust_list, "RULE": "green",
                          "DEFAULT_LOCALE": "en"})
    kiosk_base, server, thread = _serve(kiosk)
    try:
        admitted = _verdict(kiosk_base, green)
        assert (admitted["state"], admitted["colour"]) == ("admit", "green"), admitted
        refused = _verdict(kiosk_base, red)
        assert refused["state"] == "invalid", refused
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    with pytest.raises(VerificationError) as old:
        verify(red, trust, red_at + 1, Revocations({revocations.iss: revocations}))
    assert old.value.reason is Reason.REVOKED
    assert verify(green, trust, green_at + 1).colour.value == "green"
    assert service.verify_audit()[1] is None
