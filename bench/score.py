"""Python per person in a re-issue (issue 16): loading, scoring and the cti, against signing.

A SQLite store holds people with a week of lifestyle observations each (28 rows: steps, sleep,
alcohol, cigarettes, seeded as bench/reissue.py seeds them) under the demo policy. Each step of a
re-issue's work per person is timed on a batch of them, interleaved round by round with bare
signing (``issue_credential``, the same key, a static code) as the baseline: the table gives µs
per person and the cost in bare signatures. Then each step's old way against its new way:
observations as dicts and checked again, ``Policy.score`` with its explanation, the cti decoded
back out of the signed code; against plain rows, ``Policy.score_fast`` and the cti
``sign_credential`` returns.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.keys.signing import _DETERMINISTIC_ES256, issue_credential, sign_credential
from issuer.policy import Observation
from issuer.service.issuance import IssuerService
from verifier import IdCheck, decode_unverified

from . import report
from .fixtures import bench_passphrase
from .seed import seed
from .timing import Comparison, Settings, compare

NOW = 1_790_000_000
DAY = 86_400


def _steps(service: IssuerService, people: list[str]) -> dict[str, Callable[[], object]]:
    """Each step of the per-person work, over the whole batch of ``people``."""
    store, policy = service.store, service.policy
    since = NOW - policy.lookback
    key, iss, digest = service.key, service.config.iss, policy.digest
    check = IdCheck.of("王伍", "330106198803031234")
    with store.reading() as session:
        dicts = store.observations_of(session, people, since=since)
        rows = store.observation_rows_of(session, people, since=since)
    stored = {p: [Observation.stored(o["kind"], o["value"], o["observed_at"], o["source"])
                  for o in dicts[p]] for p in people}
    texts = [issue_credential(key, iss=iss, colour="green", score=88, iat=NOW, ttl=DAY,
                              policy=digest, id_check=check) for _ in people]
    message = b"\x00" * 200

    def load(read: Callable) -> Callable[[], object]:
        def run() -> object:
            with store.reading() as session:
                return read(session, people, since=since)
        return run

    def before() -> object:  # what the re-issue loop did per person, apart from signing
        with store.reading() as session:
            found = store.observations_of(session, people, since=since)
        for person, text in zip(people, texts, strict=True):
            policy.score([Observation(o["kind"], o["value"], o["observed_at"], o["source"])
                          for o in found[person]], NOW)
            decode_unverified(text)
        return found

    def after() -> object:
        with store.reading() as session:
            found = store.observation_rows_of(session, people, since=since)
        return [policy.score_fast(found[person], NOW) for person in people]

    return {
        "sign": lambda: [issue_credential(key, iss=iss, colour="green", score=88, iat=NOW,
                                          ttl=DAY, policy=digest, id_check=check)
                         for _ in people],
        "sign, keeping the cti": lambda: [sign_credential(
            key, iss=iss, colour="green", score=88, iat=NOW, ttl=DAY, policy=digest,
            id_check=check) for _ in people],
        "ES256 alone": lambda: [key.sign(message, _DETERMINISTIC_ES256) for _ in people],
        "dicts": load(store.observations_of),
        "tuples": load(store.observation_rows_of),
        "checked": lambda: [[Observation(o["kind"], o["value"], o["observed_at"], o["source"])
                             for o in dicts[p]] for p in people],
        "stored": lambda: [[Observation.stored(o["kind"], o["value"], o["observed_at"],
                                               o["source"]) for o in dicts[p]] for p in people],
        "score": lambda: [policy.score(stored[p], NOW) for p in people],
        "score_fast": lambda: [policy.score_fast(rows[p], NOW) for p in people],
        "decode cti": lambda: [decode_unverified(text).cti for text in texts],
        "before": before,
        "after": after,
    }


#: (label, step) rows of the first table, each timed against bare signing.
AGAINST_SIGNING = [
    ("ES256 sign alone (`key.sign`)", "ES256 alone"),
    ("sign and keep the cti (`sign_credential`)", "sign, keeping the cti"),
    ("load the week as dicts (`observations_of`)", "dicts"),
    ("load the week as tuples (`observation_rows_of`)", "tuples"),
    ("build checked `Observation`s", "checked"),
    ("build `Observation.stored`s", "stored"),
    ("`Policy.score` (with the explanation)", "score"),
    ("`Policy.score_fast`", "score_fast"),
    ("the cti decoded from the signed code", "decode cti"),
    ("**before**: dicts, checked, `score`, cti decoded", "before"),
    ("**now**: tuples, `score_fast` (cti from signing)", "after"),
]
#: (label, old step, new step) rows of the second table.
OLD_NEW = [
    ("load a week: dicts → tuples", "dicts", "tuples"),
    ("observations: checked → stored", "checked", "stored"),
    ("score: `score` → `score_fast`", "score", "score_fast"),
    ("all of it, per person (before → now)", "before", "after"),
]


def _cost(comparison: Comparison) -> str:
    """The candidate's cost in baselines: the median of the per-round time ratios."""
    return f"{statistics.median(1 / r for r in comparison.paired):.2f}"


def run(settings: Settings) -> report.Section:
    quick = settings.rounds < Settings().rounds
    people = 20 if quick else 200
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder:
        home = Home(Path(folder))
        init_home(home, now=NOW)
        service = IssuerService.open(home, database_url=f"sqlite:///{folder}/issuer.db")
        try:
            seed(service.store, people, now=NOW)  # the re-issue bench's people and weeks
            steps = _steps(service, service.store.person_ids())
            against = [compare(steps["sign"], steps[step], settings)
                       for _, step in AGAINST_SIGNING]
            old_new = [compare(steps[old], steps[new], settings) for _, old, new in OLD_NEW]
        finally:
            service.close()
    sign = against[0].baseline

    def per_person(seconds: float) -> str:
        return report.us(seconds / people)

    first = [["bare signing (`issue_credential`, baseline)",
              f"{per_person(sign.median)} ({per_person(sign.best)})", "1.00"]]
    first += [[label, f"{per_person(c.candidate.median)} ({per_person(c.candidate.best)})",
               _cost(c)] for (label, _), c in zip(AGAINST_SIGNING, against, strict=True)]
    second = [[label, per_person(c.baseline.median), per_person(c.candidate.median),
               report.ratios(c)] for (label, _, _), c in zip(OLD_NEW, old_new, strict=True)]
    body = "\n".join([
        "### Scoring per person: the Python around each signature",
        "",
        f"{people} people with 28 observations each (a week of steps, sleep, alcohol, "
        "cigarettes), the demo policy, SQLite; each step over the whole batch, interleaved "
        "with as many bare signatures; µs per person, median (min) over rounds.",
        "",
        report.table(["step", "µs per person", "cost in bare signatures"], first,
                     align="lrr"),
        "",
        "Old way against new, interleaved; speed-up = old time / new time, median (min/min).",
        "",
        report.table(["step", "old µs", "new µs", "speed-up"], second, align="lrrr"),
    ])
    summary = [["Python per person before → now, in bare signatures",
                f"{_cost(against[-2])} → {_cost(against[-1])}", "issue 16: less Python"]]
    return report.Section(body, summary)
