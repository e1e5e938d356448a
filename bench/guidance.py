"""What the code page's guidance costs (issue 14): when the colour changes if nothing new is
recorded, and what to do, said in the reader's language.

The phone fetches its credential every few minutes; the answer now carries the guidance, which
re-scores the person's observations at each instant one of them enters or leaves a window
(:func:`issuer.policy.outlook`). Timed against the assessment the same request already makes,
in interleaved rounds (SQLite, in the service, no HTTP): a person with a week of lifestyle
figures (steps, sleep, alcohol, cigarettes: 28 observations) and symptoms declared two days
ago (yellow now, green in five days). The pure parts are timed too: one ``Policy.score``
against ``outlook`` on the same observations.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.policy import Observation, outlook
from issuer.service.issuance import IssuerService

from . import report
from .fixtures import bench_passphrase
from .timing import Settings, compare

NOW = 1_790_000_000
DAY = 86_400
WEEK = {"steps": 9_000, "sleep_hours": 7, "alcohol_ml": 100, "cigarettes": 3}


def _person(service: IssuerService) -> str:
    person = service.create_person(actor="bench", name="王伍", id_number="330106198803031234",
                                   phone="137 0000 0013", organisation="Bench", now=NOW)
    for day in range(7):
        for kind, value in WEEK.items():
            service.add_observation(person, actor="bench", kind=kind, value=value,
                                    observed_at=NOW - day * DAY - 3600, source="bench", now=NOW)
    service.add_observation(person, actor="bench", kind="symptoms", value=True,
                            observed_at=NOW - 2 * DAY, source="bench", now=NOW)
    return person


def run(settings: Settings) -> report.Section:
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as folder:
        home = Home(Path(folder))
        init_home(home, now=NOW)
        service = IssuerService.open(home, database_url=f"sqlite:///{folder}/issuer.db")
        try:
            person = _person(service)
            seen = service.outlook(person, NOW)
            assert seen.colour.value == "yellow" and seen.changes, seen
            served = compare(lambda: service.assess(person, NOW),
                             lambda: service.guidance(person, "zh_CN", now=NOW), settings)
            stored = service.store.observations(person, since=NOW - service.policy.lookback)
            observations = [Observation(o["kind"], o["value"], o["observed_at"], o["source"])
                            for o in stored]
            policy = service.policy
            pure = compare(lambda: policy.score(observations, NOW),
                           lambda: outlook(policy, observations, NOW), settings)
        finally:
            service.close()
    rows = [["`IssuerService.assess` (baseline: the request made it already)",
             report.stats_ms(served.baseline), "1.00"],
            ["`IssuerService.guidance` (outlook and its words)",
             report.stats_ms(served.candidate), report.ratios(served)],
            ["`Policy.score` (pure, baseline)", report.stats_ms(pure.baseline), "1.00"],
            ["`outlook` (pure: a score at each window edge)", report.stats_ms(pure.candidate),
             report.ratios(pure)]]
    body = "\n".join([
        "### Guidance on the code page: when the colour changes, what to do",
        "",
        f"{len(stored)} observations in the look-back window; the outlook finds "
        f"{len(seen.changes)} change(s). Ratio = throughput against the baseline above it, "
        "interleaved rounds; median (min).",
        "",
        report.table(["call", "ms per call, median (min)", "ratio"], rows, align="lrr"),
    ])
    summary = [["guidance vs assessment, per credential request", report.ratios(served),
                "no target set"]]
    return report.Section(body, summary)
