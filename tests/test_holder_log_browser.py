"""Issue 18's holder's phone, in a real headless Chromium on SQLite and PostgreSQL: My data
checks each of the holder's changes against the issuer's public log in JavaScript (the leaf is
theirs, its inclusion proof leads to the root of a checkpoint signed by the log's key and
cosigned by a witness); a change after the checkpoint waits for the next one; and when whoever
runs the database rewrites the holder's red history (or deletes the red), rehashes every leaf
and signs the new history afresh, the phone, which kept the last checkpoint it saw, finds the
contradiction, keeps both signed checkpoints as evidence, and says so on My data and on the code
page. A rewrite that keeps the old checkpoint is found by the inclusion proofs instead.
Screenshots in tests/artifacts/log-*.png."""

from __future__ import annotations

import subprocess
import time

import pytest
from sqlalchemy import text
from test_appeal_browser import red_phone
from test_holder_browser import keep, phone  # noqa: F401
from test_public_log import delete_leaf, rewrite_leaves
from test_witness import CLI, ENV, _witness

from issuer.service.publiclog import WITNESSES_FILE

webcam = pytest.importorskip("webcam")


def _cosigning_witness(api, tmp_path):
    """A witness the issuer names, its key in ``tmp_path``; returns a function that has it
    check and cosign the log's checkpoint now."""
    key = tmp_path / "court.json"
    made = subprocess.run([CLI, "witness", "--key", str(key), "--init", "court.example/w1"],
                          env=ENV, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    (api.service.home.root / WITNESSES_FILE).write_text(made.stdout)

    def cosign() -> None:
        done = _witness(api, key)
        assert done.returncode == 0, done.stdout + done.stderr
    return cosign


def _wait_status(page, done) -> str:
    """Wait until the phone's check says ``done(state)``; its state."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state = page.locator("#log-status").get_attribute("data-state")
        if done(state):
            return state
        page.wait_for_timeout(100)
    raise AssertionError(f"the phone's check stayed {state!r}")


def _checked(page) -> dict[str, str]:
    """Open My data's record of changes and wait for the phone's check: ``{index: state}``."""
    page.goto(page.url.split("/me")[0] + "/me/data")
    page.click("#changes > summary")
    _wait_status(page, lambda state: state != "checking")
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('#audit tr[data-log]')]
            .map(r => [r.dataset.log, r.querySelector('.log').dataset.state]))""")


def _status(page) -> str:
    return page.locator("#log-status").get_attribute("data-state")


def test_the_phone_checks_its_history_and_catches_a_rewrite(phone, api, tmp_path):  # noqa: F811
    base, service, app = api.base, api.service, api.app
    app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    cosign = _cosigning_witness(api, tmp_path)
    page, person, _ = red_phone(phone, api, "zhao")
    cosign()

    # Every change with a leaf is checked on the phone, against a cosigned checkpoint.
    states = _checked(page)
    assert len(states) >= 3 and set(states.values()) == {"ok"}, states
    assert _status(page) == "ok"
    assert "1 witness" in page.locator("#log-status").inner_text()
    line = page.locator("#audit tr[data-action='colour.change'] .log").first.inner_text()
    assert "In the public log at index" in line and "checked on this phone" in line
    assert page.locator("#log-alarm").is_hidden()
    page.locator("#log-check").scroll_into_view_if_needed()
    keep(page, "log-checked.png")

    # A change after the published checkpoint waits for the next one.
    app.config["LOG_CHECKPOINT_INTERVAL"] = 3600
    service.add_observation(person, actor="lab", kind="steps", value=9000, source="watch",
                            observed_at=int(time.time()))
    states = _checked(page)
    assert sorted(states.values()).count("pending") == 1 and _status(page) == "ok", states

    # Whoever runs the database turns the red into green, rehashes every leaf, drops the
    # checkpoints it published and signs the new history with the log's own key.
    rewrite_leaves(api, '"to":"red"', '"to":"green"')
    with service.store.engine.begin() as connection:
        connection.execute(text("DELETE FROM log_checkpoint"))
    app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    service.add_observation(person, actor="lab", kind="steps", value=9100, source="watch",
                            observed_at=int(time.time()))
    _checked(page)
    assert _status(page) == "contradiction"
    assert page.locator("#log-alarm").is_visible()
    page.click("#log-alarm summary")
    evidence = page.locator("#log-evidence").inner_text()
    assert "reason: inconsistent" in evidence
    assert evidence.count("\n— ") >= 2  # both checkpoints, with their signatures
    page.locator("#log-alarm").scroll_into_view_if_needed()
    keep(page, "log-contradiction.png")

    # The warning stays, on the code page too, even once the issuer serves its history again.
    page.goto(f"{base}/me")
    page.wait_for_selector("#log-alarm:not([hidden])", timeout=20_000)
    assert "contradicts" in page.locator("#log-alarm").inner_text()
    _checked(page)
    assert page.locator("#log-alarm").is_visible() and _status(page) == "contradiction"

    # Once the holder has kept the proof, the phone starts again from the log as it is.
    page.click("#log-dismiss")
    _wait_status(page, lambda state: state == "ok")
    assert page.locator("#log-alarm").is_hidden()


def test_a_rewrite_under_the_old_checkpoint_fails_the_inclusion_proofs(phone, api):  # noqa: F811
    app = api.app
    app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    page, _, _ = red_phone(phone, api, "wang")
    assert set(_checked(page).values()) == {"ok"}

    # The leaves are rewritten and rehashed, but no new checkpoint is signed.
    app.config["LOG_CHECKPOINT_INTERVAL"] = 3600
    rewrite_leaves(api, '"to":"red"', '"to":"green"')
    states = _checked(page)
    change = page.locator("#audit tr[data-action='colour.change']").first.get_attribute(
        "data-log")
    assert states[change] == "bad", states
    assert "does not match" in page.locator(
        f"#audit tr[data-log='{change}'] .log").inner_text()
    page.locator(f"#audit tr[data-log='{change}']").scroll_into_view_if_needed()
    keep(page, "log-mismatch.png")


def test_a_deleted_colour_change_is_caught_by_the_phone(phone, api):  # noqa: F811
    api.app.config["LOG_CHECKPOINT_INTERVAL"] = 0
    page, person, _ = red_phone(phone, api, "zhao")
    assert set(_checked(page).values()) == {"ok"}
    delete_leaf(api, '"to":"red"')  # the red never happened, and the shorter log is signed
    _checked(page)
    assert _status(page) == "contradiction"
    assert "reason: rollback" in page.locator("#log-evidence").text_content()
    for value in (9000, 9100):  # nor is it hidden once the log has grown past it
        api.service.add_observation(person, actor="lab", kind="steps", value=value,
                                    source="watch", observed_at=int(time.time()))
    _checked(page)
    assert _status(page) == "contradiction" and page.locator("#log-alarm").is_visible()
