"""The issuer as a city would run it: N ``healthcode-issuer serve`` processes on one
PostgreSQL behind nginx, driven by wrk, for N = 1, 2, 4; then the checks of
:mod:`bench.loadcheck` on what each run left behind.

Each process count gets a fresh schema: PEOPLE people with a week of lifestyle observations
(28 rows each), each with a bound phone and a signed-in session (made through the store, as an
enrolment link redeemed by the phone would), and one write token. Every process runs on the
same home (keys, session secret) and database; nginx (one worker, ``least_conn``, keep-alive
to the processes, no retries) is the only door; wrk (one thread, a Lua script picking a
random person per request) keeps CONNECTIONS requests in flight through it.

Requests: ``POST /api/people/<id>/credentials`` (sign and store a credential), ``GET
/api/people/<id>/assessment`` (score), the holder's ``GET /me/credential.json`` (its phone's
live code, valid 24 h: issued on the phone's first request, here before the load, as a phone
finds it on its later visits of the day; re-scored on each), and a mix of 8 holder requests to
1 assessment and 1 issue. Each: a warm-up (its errors count), then ROUNDS measured rounds;
requests/s and p99 are medians over the rounds. Any answer other than 2xx, and any socket
error, is an error. The cities of all process counts are up at once and take their rounds in
turn, so that a neighbour's burst of load on this shared machine falls on every count alike.

PostgreSQL: ``$HEALTHCODE_BENCH_POSTGRES_URL`` (or ``$HEALTHCODE_TEST_POSTGRES_URL``), else a
throw-away server (``scripts/postgres-test-server.sh``, durability off) for the run
(:mod:`bench.pgserver`).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.service.issuance import IssuerService
from issuer.web import create_app
from verifier.keys import key_to_jwk

from . import loadcheck, loadrig, machine, report
from .api import seed_people
from .fixtures import BENCH_PASSPHRASE, bench_passphrase
from .loadcheck import Checks
from .loadrig import Holder, WrkRun
from .pgserver import own_schema, postgres
from .timing import Settings

PROCESSES, PEOPLE, CONNECTIONS, ROUNDS = (1, 2, 4), 1000, 32, 5
WARM_S, ROUND_S = 2, 4
#: label -> request kinds wrk picks from at random (see :func:`bench.loadrig.lua_script`).
MIXES: dict[str, tuple[str, ...]] = {
    "`POST /api/people/<id>/credentials`": ("post",),
    "`GET /api/people/<id>/assessment`": ("assess",),
    "holder `GET /me/credential.json`": ("holder",),
    "mix 8 : 1 : 1 (holder : assessment : issue)": ("holder",) * 8 + ("assess", "post"),
}


@dataclass(frozen=True)
class Result:
    """One request mix at one process count: the measured rounds, the CPU time the serve
    processes used in each (seconds), and the warm-up's errors."""

    rounds: tuple[WrkRun, ...]
    cpu: tuple[float, ...]
    warm_errors: int

    @property
    def cpu_per_request(self) -> float:
        """Seconds of serve-process CPU per answered request (median over the rounds): what
        a request costs, whatever the neighbours take of the machine."""
        return statistics.median(c / max(r.requests, 1) for r, c in zip(self.rounds, self.cpu,
                                                                         strict=True))

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds)

    @property
    def p99(self) -> float:
        return statistics.median(r.p99 for r in self.rounds)

    @property
    def p50(self) -> float:
        return statistics.median(r.p50 for r in self.rounds)

    @property
    def errors(self) -> int:
        return self.warm_errors + sum(r.errors for r in self.rounds)


@dataclass(frozen=True)
class CityRun:
    processes: int
    results: dict[str, Result]
    checks: Checks


@dataclass
class _City:
    """One process count's city while it runs: its schema, home, processes and nginx."""

    processes: int
    root: Path
    service: IssuerService
    env: dict[str, str]
    phones: list[Holder]
    secret: str
    running: ExitStack
    served: list[loadrig.Served] = field(default_factory=list)
    port: int = 0
    rounds: dict[str, list[WrkRun]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    warm_errors: dict[str, int] = field(default_factory=dict)

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self.served]

    def measure(self, label: str, script: Path, connections: int, seconds: int) -> None:
        """One measured round of wrk, and the serve processes' CPU time over it."""
        pids = [s.pid for s in self.served]
        before = loadrig.cpu_seconds(pids)
        self.rounds[label].append(loadrig.wrk(self.port, script, connections, seconds))
        self.cpu[label].append(loadrig.cpu_seconds(pids) - before)

    @property
    def logs(self) -> list[Path]:
        return [self.root / f"serve-{n}.log" for n in range(self.processes)]


def holders(app, service: IssuerService, ids: Sequence[str], now: int, prime: bool
            ) -> list[Holder]:
    """Bind a fresh phone key to each person (an enrolment link, redeemed) and return the
    ``Cookie`` header of its signed-in session; ``prime``: issue each phone its live code
    too, as its first visit would have."""
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    made = []
    for person in ids:
        token = service.store.create_enrolment(person, actor="bench", now=now)
        jwk = key_to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
        _, device, session_id = service.store.redeem_enrolment(token, jwk, now)
        if prime:
            service.live_credential(person, service.store.device(person, device))
        cookie = serializer.dumps({"sid": session_id, "_permanent": True})
        made.append(Holder(person, f"{name}={cookie}"))
    return made


def _open(stack: ExitStack, database_url: str, processes: int, people: int, prime: bool
          ) -> _City:
    """Seed a fresh schema and home, start the processes and nginx in front of them."""
    root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="healthcode-city.")))
    url = stack.enter_context(own_schema(database_url))
    home = root / "home"
    home.mkdir()
    now = int(time.time())
    init_home(Home(home), now=now)
    app = create_app({"HOME": str(home), "DATABASE_URL": url})
    service: IssuerService = app.extensions["healthcode"]
    stack.callback(service.close)
    phones = holders(app, service, seed_people(service, now, people), now, prime)
    _, secret = service.create_token("write", "city load", now)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHCODE_")}
    env |= {PASSPHRASE_ENV: BENCH_PASSPHRASE, "HEALTHCODE_DATABASE_URL": url}
    city = _City(processes, root, service, env, phones, secret, stack.enter_context(ExitStack()))
    city.served = city.running.enter_context(loadrig.serve_processes(home, env, city.logs))
    city.port = city.running.enter_context(loadrig.nginx(root / "nginx", city.ports))
    return city


def _finish(city: _City) -> CityRun:
    """Revoke a few credentials, fetch each process's revocation list, stop the processes
    and nginx, and check what the run left behind."""
    revoked = loadcheck.revoke_some(city.service, city.port, city.secret)
    lists = loadcheck.revocation_lists(city.ports)
    city.running.close()
    nginx = city.root / "nginx"
    checks = loadcheck.check(city.service, city.root / "home", city.env,
                             loadrig.access_log(nginx), loadrig.nginx_problems(nginx),
                             city.logs, lists, revoked, city.processes)
    return CityRun(city.processes, {label: Result(tuple(runs), tuple(city.cpu[label]),
                                                  city.warm_errors[label])
                                    for label, runs in city.rounds.items()}, checks)


def cities(database_url: str, counts: Sequence[int], *, people: int = PEOPLE,
           connections: int = CONNECTIONS, warm: int = WARM_S, seconds: int = ROUND_S,
           rounds: int = ROUNDS, mixes: dict[str, tuple[str, ...]] | None = None,
           prime: bool = True) -> list[CityRun]:
    """A city for each process count in ``counts``, each on a fresh schema of
    ``database_url``, all up at once; every mix's rounds run on each in turn (the order
    alternating round by round, so that a neighbour's burst of load falls on every count
    alike); then each city is checked. ``prime``: every phone has its live code before the
    load (else its first request issues it)."""
    mixes = MIXES if mixes is None else mixes
    loadrig.tools()
    with ExitStack() as stack:
        stack.enter_context(bench_passphrase())
        towns = [_open(stack, database_url, n, people, prime) for n in counts]
        for n, (label, kinds) in enumerate(mixes.items()):
            for city in towns:
                script = city.root / f"mix-{n}.lua"
                script.write_text(loadrig.lua_script(city.phones, kinds, city.secret))
                city.warm_errors[label] = (loadrig.wrk(city.port, script, connections, warm)
                                           .errors if warm else 0)
                city.rounds[label], city.cpu[label] = [], []
            for turn in range(rounds):
                for city in towns if turn % 2 == 0 else towns[::-1]:
                    city.measure(label, city.root / f"mix-{n}.lua", connections, seconds)
        return [_finish(city) for city in towns]


def city(database_url: str, processes: int, **options) -> CityRun:
    """:func:`cities` for one process count."""
    [one] = cities(database_url, [processes], **options)
    return one


def run(settings: Settings) -> report.Section:
    """Return the Markdown section for the city load test."""
    quick = settings.rounds < Settings().rounds
    counts = PROCESSES[:2] if quick else PROCESSES
    shape = (dict(people=100, warm=1, seconds=1, rounds=1) if quick else {})
    with machine.unpinned(), postgres() as url:
        if url is None:
            return report.Section("### City load: serve processes behind nginx\n\n"
                                  "Skipped: no PostgreSQL (install it, or set "
                                  "`$HEALTHCODE_BENCH_POSTGRES_URL`).")
        runs = cities(url, counts, **shape)
    return _section(runs, shape.get("people", PEOPLE), shape.get("seconds", ROUND_S),
                    shape.get("rounds", ROUNDS))


def _section(runs: Sequence[CityRun], people: int, seconds: int, rounds: int
             ) -> report.Section:
    cores = os.cpu_count() or 1
    base = {label: result.rate for label, result in runs[0].results.items()}
    rows = []
    for run in runs:
        for n, (label, result) in enumerate(run.results.items()):
            note = f" ({cores} cores)" if run.processes > cores and n == 0 else ""
            errors = f"**{result.errors}**" if result.errors else "0"
            rows.append([f"{run.processes}{note}" if n == 0 else "", label,
                         f"{result.rate:,.0f}", report.ms(result.p50), report.ms(result.p99),
                         errors, f"{result.rate / base[label]:.2f}",
                         report.ms(result.cpu_per_request)])
    checks = [[str(run.processes),
               "yes" if run.checks.audit_ok else "**no**",
               f"{run.checks.distinct_lists} of {run.processes}",
               f"{run.checks.api_issued:,} / {run.checks.api_answered:,}",
               f"{run.checks.phones:,}, at most {run.checks.live_most}",
               " / ".join(f"{n:,}" for _, n in sorted(run.checks.shares.items())),
               "; ".join(run.checks.problems()) or "none"] for run in runs]
    body = [
        "### City load: serve processes behind nginx on one PostgreSQL",
        "",
        f"{people:,} people (28 observations each; a bound phone each, signed in, with its "
        f"live code: the holder's request re-scores and returns it); nginx (1 worker, "
        f"`least_conn`, keep-alive to the processes, no retries) in front of N "
        f"`healthcode-issuer serve` processes (waitress, 8 threads each) on one PostgreSQL; "
        f"wrk (1 thread, a Lua script picking a random person per request) with "
        f"{CONNECTIONS} connections through nginx; a warm-up, then {rounds} × {seconds} s "
        f"measured, the process counts taking their rounds in turn; medians. Everything on "
        f"this machine's {cores} cores (wrk, nginx, the "
        f"processes, PostgreSQL): not pinned. Errors = answers other than 2xx plus socket "
        f"errors, warm-up included. Ratio: requests/s over 1 process's. Serve CPU: the "
        f"processes' user + system time over a round per request answered in it (median): "
        f"what a request costs them, however much of the machine the neighbours take.",
        "",
        report.table(["processes", "requests", "requests/s", "p50 ms", "p99 ms", "errors",
                      "ratio to 1 process", "serve CPU ms / request"], rows),
        "",
        "Checks afterwards, per run: `audit verify`; the revocation list fetched from every "
        "process directly (distinct lists of N fetched, after revoking "
        f"{loadcheck.REVOKED} credentials through nginx); credentials the API issued "
        "(database) / answers 201 nginx logged; phones with a live code and the most any "
        "phone was issued; requests each process answered (nginx's log).",
        "",
        report.table(["processes", "audit verify", "distinct revocation lists",
                      "API credentials / 201s", "phones, live codes each", "per process",
                      "problems"], checks),
    ]
    last = runs[-1]
    mix = list(last.results)[-1]
    summary = [[f"City load, mix, {last.processes} processes vs 1 (nginx, PostgreSQL)",
                f"**{last.results[mix].rate / base[mix]:.2f}**",
                f"{last.results[mix].rate:,.0f}/s, p99 {report.ms(last.results[mix].p99)} ms, "
                f"{sum(r.errors for run in runs for r in run.results.values())} errors, "
                f"{sum(len(run.checks.problems()) for run in runs)} problems"]]
    return report.Section("\n".join(body), summary)
