"""Synthetic demo data for ``make run``: a few dozen invented people in several organisations.

Nothing here is real: names are "Demo Person NNN", id numbers are ``DEMO`` plus digits, phone
numbers ``+86 137 0000 NNNN`` (valid numbers: the service refuses any other kind). The
data is drawn from a seeded generator, so every demo looks the same.
"""

from __future__ import annotations

import random

from ..service import IssuerService

ORGANISATIONS = ("West Lake Primary School", "Binjiang Software Park", "Xihu Hospital",
                 "Qiantang Logistics", "Corner Noodle Shop")
#: People per organisation; the last one is below the ranking's k and stays hidden.
SIZES = (12, 11, 10, 10, 4)
ACTOR = "system:demo-seed"
DAY = 86_400


def seed(service: IssuerService, now: int, rng: random.Random | None = None) -> int:
    """Enrol the demo people with a week of observations and a credential each; return how
    many were enrolled (0 when the store already holds people)."""
    if service.store.person_ids():
        return 0
    rng = rng or random.Random(2020)  # noqa: S311 (invented demo data, not secrets)
    count = 0
    for organisation, size in zip(ORGANISATIONS, SIZES, strict=True):
        for _ in range(size):
            count += 1
            person = service.create_person(
                actor=ACTOR, name=f"Demo Person {count:03d}", id_number=f"DEMO{count:08d}",
                phone=f"+86 137 0000 {count:04d}", organisation=organisation,
                reason="synthetic demo data", now=now)
            for day in range(1, 8):
                at = now - day * DAY
                for kind, value in (("steps", rng.choice([4000, 9000, 15000, 17000])),
                                    ("sleep_hours", rng.choice([5.5, 6.5, 7.5, 8.0])),
                                    ("alcohol_ml", rng.choice([0, 0, 0, 100, 200])),
                                    ("cigarettes", rng.choice([0, 0, 0, 5, 10]))):
                    service.add_observation(person, actor=ACTOR, kind=kind, value=value,
                                            observed_at=at, source="demo wearable", now=now)
            event = rng.random()
            if event < 0.08:
                service.add_observation(person, actor=ACTOR, kind="test_result",
                                        value="positive", observed_at=now - 2 * DAY,
                                        source="demo lab", now=now,
                                        reason="synthetic positive PCR")
            elif event < 0.2:
                service.add_observation(person, actor=ACTOR, kind="contact", value=True,
                                        observed_at=now - 3 * DAY, source="demo tracing",
                                        now=now, reason="synthetic close contact")
            service.issue(person, actor=ACTOR, now=now)
    return count
