"""The accessibility checks wait for a page to settle before they measure it."""

from __future__ import annotations

import webcam
from a11y import settle


def test_settle_waits_for_transitions_to_finish(playwright, tmp_path):
    with webcam.browser(playwright, None, tmp_path / "profile") as context:
        page = context.new_page()
        page.set_content("""<style>#v { background: rgb(255, 255, 255);
            transition: background-color 0.6s linear; } #v.on { background: rgb(0, 0, 0); }
            </style><div id="v">verdict</div>""")
        page.evaluate("""() => { const v = document.getElementById('v');
            getComputedStyle(v).backgroundColor; v.classList.add('on'); }""")
        colour = "getComputedStyle(document.getElementById('v')).backgroundColor"
        assert page.evaluate(colour) != "rgb(0, 0, 0)"  # midway: neither colour
        settle(page)
        assert page.evaluate(colour) == "rgb(0, 0, 0)"
