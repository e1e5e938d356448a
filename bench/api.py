"""The issuer API under load: ``POST /api/people/<id>/credentials`` over loopback HTTP.

The production server (``healthcode-issuer serve``: waitress, 8 threads) runs in a process of
its own on a throw-away home: SQLite in the home, 50 people with a week of lifestyle
observations each (28 rows, as the demo data has), one write token. A closed-loop load generator
in another process keeps N requests in flight: each client sends its next request (another
person) when the previous answer arrives, on a keep-alive connection. The generator is ``wrk``
when it is on PATH (C, one thread, bench/loadrig.py's Lua script: a random person per request,
every answer other than 2xx counted), else Python ``http.client`` clients in up to one process
per core (the next person in turn; any status other than 201, or 200 for the assessment,
counted); ``$HEALTHCODE_BENCH_LOADGEN=python`` forces the latter. Those statuses, any
connection error or timeout count as errors, warm-up included.

Baseline, same run: the same store's in-process ``IssuerService.issue`` (``assess`` for the
GET), timed by the harness just before and just after each load run; the headline is HTTP
requests/s over in-process calls/s. Nothing is pinned in this section: the server and the
client need a core each, and on a 2-core machine they share the cores with each other and with
any neighbour.
"""

from __future__ import annotations

import http.client
import itertools
import json
import math
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.keys.signing import issue_credential
from issuer.service.issuance import IssuerService
from issuer.store import audit
from issuer.store.audit_tables import row_mac
from issuer.store.db import Observation
from issuer.web import create_app

from . import loadrig, machine, report
from .fixtures import BENCH_PASSPHRASE, bench_passphrase
from .timing import Settings, Stats, measure

PEOPLE, THREADS, DAY = 50, 8, 86_400
_LIFESTYLE = (("steps", (4000, 9000, 15000, 17000)), ("sleep_hours", (5.5, 6.5, 7.5, 8.0)),
              ("alcohol_ml", (0, 0, 100, 200)), ("cigarettes", (0, 0, 5, 10)))
@dataclass(frozen=True)
class Endpoint:
    """One request shape: method, path after the person id, JSON body, expected status, and
    the request kind of :func:`bench.loadrig.lua_script` that sends it."""

    label: str
    method: str
    suffix: str
    body: str | None
    expect: int
    kind: str


POST = Endpoint("`POST /api/people/<id>/credentials`", "POST", "/credentials", "{}", 201,
                "post")
GET = Endpoint("`GET /api/people/<id>/assessment`", "GET", "/assessment", None, 200, "assess")


#: One load run: requests answered as expected in the measured window, errors, latencies (s).
Load = loadrig.WrkRun


def seed_people(service: IssuerService, now: int, people: int = PEOPLE) -> list[str]:
    """Enrol ``people`` people, each with a week of lifestyle observations (28 rows, as the
    demo data has), audited as :meth:`Store.add_observation` audits them (so ``audit
    verify`` holds), in one transaction; return their ids."""
    ids = [service.create_person(actor="bench", name=f"Bench Person {n}", id_number=f"B{n:09d}",
                                 phone="+86 137 0000 0000", organisation=f"Org {n % 5}", now=now)
           for n in range(people)]
    rows = [Observation(person_id=pid, kind=kind, value_json=json.dumps(values[(n + day) % 4]),
                        observed_at=now - day * DAY, source="bench", recorded_at=now,
                        recorded_by="bench")
            for n, pid in enumerate(ids) for day in range(1, 8) for kind, values in _LIFESTYLE]
    keys = service.store.data_keys
    with service.store.writing() as session:
        session.add_all(rows)
        session.flush()  # the ids, for the log
        audit.append_many(session, [audit.Pending(
            "bench", "observation.add", "observation recorded", row.person_id,
            {"observation": row.id, "kind": row.kind, "source": row.source,
             "observed_at": row.observed_at,
             "mac": row_mac(keys, "observation", {c.name: getattr(row, c.name)
                                                  for c in Observation.__table__.columns})},
            now) for row in rows])
    return ids


@contextmanager
def _server(home: Path, env: dict[str, str], log: Path) -> Iterator[int]:
    """Run ``healthcode-issuer serve`` on a free port of 127.0.0.1; yield the port."""
    with loadrig.serve_processes(home, env, [log], THREADS) as (served,):
        yield served.port


def _call(port: int, endpoint: Endpoint, person: str, secret: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(endpoint.method, f"/api/people/{person}{endpoint.suffix}", endpoint.body,
                     {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _wrk(port: int, endpoint: Endpoint, ids: list[str], secret: str, clients: int,
         seconds: int, script: Path) -> Load:
    script.write_text(loadrig.lua_script([loadrig.Holder(i, "") for i in ids],
                                         [endpoint.kind], secret))
    run = loadrig.wrk(port, script, clients, seconds)
    # wrk's latencies include the unexpected answers; with no errors that is moot.
    return replace(run, requests=run.requests - run.bad_status)


def _wrk_run(port: int, endpoint: Endpoint, ids: list[str], secret: str, clients: int,
             warm: int, seconds: int, script: Path) -> Load:
    """A warm-up run (only its errors count), then the measured run."""
    warm_errors = _wrk(port, endpoint, ids, secret, clients, warm, script).errors if warm else 0
    load = _wrk(port, endpoint, ids, secret, clients, seconds, script)
    return replace(load, socket_errors=load.socket_errors + warm_errors)


def _clients(port: int, endpoint: Endpoint, ids: list[str], secret: str, clients: int,
             start: int, measure_from: float, until: float) -> tuple[list[float], int]:
    """One load process: ``clients`` threads, each a closed loop on its own connection.

    Returns the latencies of the requests that ended inside [measure_from, until] (monotonic
    clock, shared by every process) and the number of errors over the whole run."""
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = [0]

    def loop(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while (sent := time.monotonic()) < until:
            n += clients
            try:
                conn.request(endpoint.method, f"/api/people/{ids[n % len(ids)]}"
                             f"{endpoint.suffix}", endpoint.body, headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == endpoint.expect
            except (OSError, http.client.HTTPException):
                conn.close()
                ok = False
            ended = time.monotonic()
            if not ok:
                errors[0] += 1
            elif measure_from <= ended <= until:
                latencies.append(ended - sent)
        conn.close()

    threads = [threading.Thread(target=loop, args=(start + k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors[0]


def _python_load(port: int, endpoint: Endpoint, ids: list[str], secret: str, clients: int,
                 warm: float, seconds: float) -> Load:
    processes = min(clients, os.cpu_count() or 1)
    shares = [clients // processes + (k < clients % processes) for k in range(processes)]
    measure_from = time.monotonic() + 0.3 + warm  # 0.3 s for the processes to start
    until = measure_from + seconds
    jobs = [(port, endpoint, ids, secret, share, sum(shares[:k]), measure_from, until)
            for k, share in enumerate(shares)]
    with get_context("fork").Pool(processes) as pool:
        results = pool.starmap(_clients, jobs)
    latencies = sorted(x for lat, _ in results for x in lat)
    errors = sum(e for _, e in results)
    if not latencies:
        return Load(0, seconds, errors, 0, 0, float("nan"), float("nan"), float("nan"))
    return Load(len(latencies), seconds, errors, 0, 0, _percentile(latencies, 50),
                _percentile(latencies, 99), latencies[-1])


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(len(ordered) * q / 100) - 1)]


def _row(label: str, clients: int, load: Load, base: Stats) -> list[str]:
    ratio = load.rate * base.median
    return [label, str(clients), f"{load.rate:,.0f}", report.ms(load.p50), report.ms(load.p99),
            report.ms(load.worst), f"**{load.errors}**" if load.errors else "0",
            f"**{report.ratio(ratio)}**"]


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for the issuer API under load."""
    quick = settings.rounds < Settings().rounds
    warm, seconds = (0, 1) if quick else (1, 4)
    levels = {POST: (1, 16) if quick else (1, 4, 16), GET: (16,) if quick else (1, 4, 16)}
    base_settings = Settings(rounds=2 if quick else 5, batch_seconds=0.02 if quick else 0.1)
    wrk = shutil.which("wrk") if os.environ.get("HEALTHCODE_BENCH_LOADGEN") != "python" else None
    with tempfile.TemporaryDirectory(prefix="healthcode-bench-api.") as folder, \
            machine.unpinned(), bench_passphrase():
        root = Path(folder)
        url = f"sqlite:///{root / 'issuer.db'}"
        now = int(time.time())
        init_home(Home(root), now=now)
        service: IssuerService = create_app({"HOME": folder, "DATABASE_URL": url}
                                            ).extensions["healthcode"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
        env |= {PASSPHRASE_ENV: BENCH_PASSPHRASE, "HEALTHCODE_DATABASE_URL": url}
        try:
            ids = seed_people(service, now)
            _, secret = service.create_token("write", "bench api", now)
            people = itertools.cycle(ids)
            in_process: dict[Endpoint, Callable[[], object]] = {
                POST: lambda: service.issue(next(people), actor="bench"),
                GET: lambda: service.assess(next(people))}
            key, iss = service.key, service.config.iss
            sign = measure(lambda: issue_credential(key, iss=iss, colour="green", score=88,
                                                    iat=now, ttl=DAY), base_settings)
            runs: dict[tuple[Endpoint, int], tuple[Load, Stats]] = {}
            with _server(root, env, root / "server.log") as port:
                for endpoint, clients_levels in levels.items():
                    status, body = _call(port, endpoint, ids[0], secret)
                    if status != endpoint.expect:
                        raise RuntimeError(f"{endpoint.label}: {status} {body[:300]!r}")
                    for clients in clients_levels:
                        before = measure(in_process[endpoint], base_settings)
                        load = (_wrk_run(port, endpoint, ids, secret, clients, warm, seconds,
                                         root / "load.lua") if wrk else
                                _python_load(port, endpoint, ids, secret, clients, warm,
                                             seconds))
                        after = measure(in_process[endpoint], base_settings)
                        runs[endpoint, clients] = load, Stats(before.samples + after.samples)
            tracebacks = (root / "server.log").read_text(errors="replace").count("Traceback")
        finally:
            service.close()
    loadgen = ("`wrk` (1 thread, Lua script)" if wrk
               else "Python `http.client` clients (threads in up to one process per core)")
    return _section(runs, sign, loadgen, warm, seconds, tracebacks)


def _section(runs: dict[tuple[Endpoint, int], tuple[Load, Stats]], sign: Stats, loadgen: str,
             warm: int, seconds: int, tracebacks: int) -> report.Section:
    rows, labelled = [], set()
    for (endpoint, clients), (load, base) in runs.items():
        rows.append(_row("" if endpoint in labelled else endpoint.label, clients, load, base))
        labelled.add(endpoint)
    base_s = {endpoint: statistics.median(base.median for (ep, _), (_, base) in runs.items()
                                          if ep is endpoint) for endpoint in (POST, GET)}
    names = {POST: "`service.issue`", GET: "`service.assess`"}
    http_cost = [f"{names[ep]} {report.ms(load.p50)} − {report.ms(base_s[ep])} = "
                 f"**{report.ms(load.p50 - base_s[ep])} ms**"
                 for (ep, clients), (load, _) in runs.items() if clients == 1]
    top = max(clients for ep, clients in runs if ep is POST)
    top_load, top_base = runs[POST, top]
    body = [
        "### Issuer API under load (waitress, SQLite, loopback HTTP)",
        "",
        f"`healthcode-issuer serve` (waitress, {THREADS} threads) in its own process, SQLite in "
        f"a throw-away home on disk, {PEOPLE} people with 28 observations each; load from "
        f"{loadgen} in another process: N clients in a closed loop on keep-alive connections, "
        f"each request for another person; {warm} s warm-up, then {seconds} s measured. "
        "**Not pinned**: server and client share the machine's cores (and any neighbour's "
        "load). Ratio = HTTP requests/s over in-process calls/s of the same store "
        "(`IssuerService.issue` / `assess`, one thread, no HTTP), timed just before and just "
        "after each run.",
        "",
        report.table(["request", "clients", "requests/s", "p50 ms", "p99 ms", "max ms",
                      "errors", "ratio to in-process"], rows),
        "",
        f"In-process, median: `service.issue` {report.ms(base_s[POST])} ms "
        f"({1 / base_s[POST]:,.0f}/s), of which the bare signature (`issue_credential`) "
        f"{report.ms(sign.median)} ms; `service.assess` {report.ms(base_s[GET])} ms "
        f"({1 / base_s[GET]:,.0f}/s).",
    ]
    if http_cost:
        body += ["", "Cost of HTTP per request, 1 client (p50 − in-process median, ms): "
                 + "; ".join(http_cost) + " (waitress, Flask/APIFlask, token check, JSON, "
                 "loopback, the client)."]
    if tracebacks:
        body += ["", f"**The server logged {tracebacks} tracebacks.**"]
    summary = [[f"API `POST …/credentials`, {top} clients: HTTP/s vs in-process issue/s",
                f"**{report.ratio(top_load.rate * top_base.median)}**",
                f"{top_load.rate:,.0f}/s, p99 {report.ms(top_load.p99)} ms, "
                f"{top_load.errors} errors"]]
    if (POST, 1) in runs:
        one = runs[POST, 1][0]
        summary.append(["API `POST …/credentials`, HTTP cost per request at 1 client",
                        f"{report.ms(one.p50 - base_s[POST])} ms",
                        "p50 minus in-process `issue`"])
    return report.Section("\n".join(body), summary)
