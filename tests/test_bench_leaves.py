"""The benchmarks of the public log's leaves, small, on SQLite and PostgreSQL: the log-append
one (bench/logappend.py) gives every entry to both stores and leaves only to the one whose
sessions carry the publisher (``measure`` checks the count, that the other has none, and each
checkpoint's root against the leaves'), and its report renders; the re-issue one
(bench/leafcost.py) runs every variant, writes leaves by COPY that the audit check accepts, and
puts the store's own way back."""

from __future__ import annotations

import random

import pytest
from conftest import TEST_PASSPHRASE
from dbfixtures import BACKENDS
from sqlalchemy import func, select

from bench import leafcost, logappend
from bench.__main__ import main
from bench.seed import seed
from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.store import public_log
from issuer.store.db import LogLeaf


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


def test_every_re_issue_variant_runs_and_the_store_s_own_way_is_put_back(db_url, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "home")
    init_home(home)
    stored = (public_log.Publisher.add, public_log.publisher)
    service = IssuerService.open(home, database_url=db_url)
    try:
        seed(service.store, 12, rng=random.Random(1))
        postgresql = db_url.startswith("postgresql")
        found = leafcost.reissue_rounds(service, 12, 1, postgresql, "db")
        assert (public_log.Publisher.add, public_log.publisher) == stored
        assert {name: len(rates) for name, (rates, _) in found.items()} == {
            leafcost.STORED: 1, leafcost.NONE: 1, **({leafcost.COPY: 1} if postgresql else {})}
        report = service.audit_report()
        assert report.ok, report.problem
        with service.store.reading() as session:  # a leaf a credential, but for no leaves
            leaves = session.scalar(select(func.count()).select_from(LogLeaf))
        assert leaves >= 12 * (len(found) - 1)
    finally:
        service.close()


def test_appends_by_copy_and_as_stored(server):
    if server is None:
        pytest.skip("COPY is PostgreSQL's")
    row = leafcost.appends(server, 1_000, 2)
    assert row[0] == "1,000" and row[-1].startswith("**")
