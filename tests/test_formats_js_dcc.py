"""The EU certificate's browser verifier (verifier/static/verifier/formats/dcc.js) next to the
Python one (verifier/formats/dcc.py), in a real headless Chromium: every case of the EU's
test data, then what a stranger may show a checkpoint, then the keys a trust list carries.
Same verdict (valid and the same code, or the same reason at the same step) every time."""

from __future__ import annotations

from collections.abc import Iterator

import foreigncases
import pytest
from formatspage import PAGE, mismatches, serve_page
from jsverifier import open_page

webcam = pytest.importorskip("webcam")
CORPUS = foreigncases.cases("dcc")


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    yield from serve_page()


@pytest.fixture(scope="module")
def page(origin, playwright, tmp_path_factory) -> Iterator[object]:
    with open_page(playwright, origin + PAGE, tmp_path_factory.mktemp("dcc")) as page:
        page.origin = origin
        yield page


def _clean(page) -> None:
    assert page.errors == []
    assert all(url.startswith(page.origin + "/") for url in page.asked), page.asked


def test_every_case_of_the_corpus(page):
    assert len(CORPUS) == 485
    assert mismatches(page, CORPUS) == []
    _clean(page)
