"""The log-append benchmark (bench/logappend.py), small, on SQLite and PostgreSQL: every entry
goes to both stores, leaves only to the one whose sessions carry the publisher (``measure``
checks the count, that the other has none, and each checkpoint's root against the leaves'),
and the report renders."""

from __future__ import annotations

import pytest
from dbfixtures import BACKENDS

from bench import logappend
from bench.__main__ import main


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "sqlite" else request.getfixturevalue("postgres_database")


def test_a_small_run_appends_leaves_to_one_store_and_reports(server):
    result = logappend.measure("db", server, 1_200, rounds=3, single_rounds=2)
    assert (result.leaves, result.singles) == (1_200, 24)
    assert len(result.batched.leaves) == len(result.batched.bare) == 3
    assert len(result.single.ratios) == 2 and all(r > 0 for r in result.batched.ratios)
    assert 0 < result.leaf_bytes < result.store_bytes[0]
    assert result.store_bytes[0] > result.store_bytes[1]
    assert {name: len(times) for name, times in result.checkpoint.items()} == {
        "bare": logappend.CHECKPOINT_ROUNDS, "cold": logappend.CHECKPOINT_ROUNDS,
        "warm": logappend.CHECKPOINT_ROUNDS, "grown": logappend.CHECKPOINT_ROUNDS}
    section = logappend.section([result, logappend.Result("other", skipped="skipped: none")])
    assert "1,200 leaves" in section.body
    assert "| other | skipped: none |" in section.body
    assert [row[0] for row in section.summary] == [
        "log append, db: leaves/s in batches of 500, vs the same entries without a leaf",
        "log append, other"]


@pytest.mark.parametrize("leaves", ["0", "1,2", "many"])
def test_leaves_must_be_one_whole_number(leaves, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["logappend", "--leaves", leaves])
    assert exited.value.code == 2
    assert "--leaves" in capsys.readouterr().err
