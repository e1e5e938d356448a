"""The city load test, short (``python -m bench load`` is the long one): two real
``healthcode-issuer serve`` processes on one PostgreSQL behind a real nginx on 127.0.0.1, wrk for
2 s on each request kind; then every check of bench/loadcheck.py. Figures are the benchmark's
business: this asserts that nothing went wrong, never how fast it went.

nginx and wrk come from Debian (``apt-get install nginx wrk``: .ci/run, scripts/bootstrap.sh).
Without them, or without PostgreSQL, the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import pytest
from dbfixtures import in_ci

from bench import load, loadrig


@pytest.fixture(scope="module")
def tools() -> None:
    try:
        loadrig.tools()
    except loadrig.MissingTool as exc:
        if in_ci():
            pytest.fail(f"CI must run the load test: {exc}")
        pytest.skip(str(exc))


def test_two_processes_behind_nginx_stay_right(tools, postgres_database):
    kinds = {label: kinds for label, kinds in load.MIXES.items() if len(set(kinds)) == 1}
    assert len(kinds) == 3  # issue, assessment, the holder's live code
    # Phones not primed: their first requests issue their live codes, some of them at once.
    run = load.city(postgres_database, 2, people=30, connections=6, warm=0, seconds=2,
                    rounds=1, mixes=kinds, prime=False)
    for label, result in run.results.items():
        assert result.rounds[0].requests > 0, label
        assert result.errors == 0, (label, result)
    checks = run.checks
    assert checks.problems() == []
    # The checks had something to check: both processes answered, the API issued codes,
    # phones got live codes, and credentials were revoked and listed.
    assert len(checks.shares) == 2 and checks.api_issued > 0 and checks.phones > 0
    assert checks.audit_ok and checks.distinct_lists == 1 and checks.list_problem is None


def test_the_rig_counts_what_goes_wrong(tools, tmp_path):
    """nginx in front of a port nobody listens on: every answer is a 502, and wrk, nginx's
    log and its error log all say so (a load run's "0 errors" is not for want of counting)."""
    script = tmp_path / "load.lua"
    script.write_text(loadrig.lua_script([loadrig.Holder("p-nobody", "hc_session=x")],
                                         ["post", "assess", "holder"], "no-such-token"))
    with loadrig.nginx(tmp_path / "nginx", [loadrig.free_port()]) as port:
        run = loadrig.wrk(port, script, connections=2, seconds=1)
    assert run.requests > 0 and run.bad_status == run.requests and run.last_bad == 502
    logged = loadrig.access_log(tmp_path / "nginx")
    assert logged and {row.status for row in logged} == {502}
    assert loadrig.nginx_problems(tmp_path / "nginx")
