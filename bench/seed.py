"""Seed an issuer's store with many invented people, fast, exactly as the store writes them:
``python -m bench.seed --people 1000000 --database-url URL --home DIR``.

Each person gets what :meth:`issuer.store.Store.create_person` writes (name, id number and
phone as AES-GCM ciphertexts bound to column and id, the id-number and phone lookup MACs, an
organisation, a ``person.create`` audit entry) and a week of lifestyle observations (steps,
sleep, alcohol, cigarettes: 28 rows) with the ``observation.add`` entries
:meth:`issuer.store.Store.add_observation` appends (with the keyed MAC of each row), all
through the store's own encryption, MAC and hash-chain functions, so the issuer reads everyone
and ``audit verify`` holds afterwards (tests/test_seed.py). Personal data is invented
(bench/synthetic.py).

Realistic where it matters to a re-issue: people are enrolled at 20 a second (many share a
``created_at``; the re-issue orders by ``(created_at, id)``), and their observations arrive
day by day, so one person's 28 rows lie in 7 places of the table, not side by side.

The schema comes from the store's migrations (the store is opened once); rows go in with
``COPY`` (PostgreSQL) or ``executemany`` (SQLite) in chunks of ``--chunk`` people, one
transaction each, so memory stays bounded at any size. The store must hold nobody yet.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from issuer.keys.home import Home
from issuer.keys.keystore import init_home
from issuer.policy.observations import validate_observation
from issuer.store import Store
from issuer.store.audit import canonical_json
from issuer.store.people import COLUMNS, new_person_id, organisation_id
from issuer.store.phones import normalise

from . import bulk, canon
from .bulk import Row
from .synthetic import DAY, KINDS_PER_DAY, day_of, habits, organisation_name, resident

ACTOR = "system:bench-seed"
DEFAULT_CHUNK = 5000
ENROLMENTS_PER_SECOND = 20
PEOPLE_PER_ORGANISATION = 250
DAYS = 7
PERSON_COLUMNS = ("id", "organisation_id", "name_enc", "id_number_enc", "phone_enc",
                  "id_number_mac", "created_at", "phone_mac", "data_key")
OBSERVATION_COLUMNS = ("id", "person_id", "kind", "value_json", "observed_at", "source",
                       "recorded_at", "recorded_by")
AUDIT_COLUMNS = ("seq", "at", "actor", "person_id", "action", "reason", "details_json",
                 "prev_hash", "hash")

#: An audit entry before it is chained: (at, person_id, action, reason, details_json).
Entry = tuple[int, str, str, str, str]


@dataclass(frozen=True)
class Seeded:
    """What :func:`seed` wrote, and how long it took."""

    people: int
    observations: int
    organisations: int
    seconds: float

    @property
    def people_per_second(self) -> float:
        return self.people / self.seconds if self.seconds > 0 else math.inf


class NotEmpty(Exception):
    """The store already holds people: seeding adds only to an empty one."""


def seed(store: Store, people: int, *, now: int | None = None, chunk: int = DEFAULT_CHUNK,
         rng: random.Random | None = None, progress: Callable[[str], None] | None = None
         ) -> Seeded:
    """Enrol ``people`` invented people with a week of observations each (the last one
    ``now``, default the clock) into ``store``, which must hold nobody (:class:`NotEmpty`).
    Returns counts and seconds."""
    if people < 0 or chunk < 1:
        raise ValueError("people must be >= 0 and chunk >= 1")
    now = int(time.time()) if now is None else now
    rng = rng or random.Random(2020)  # noqa: S311 (invented data, not secrets)
    say = progress or (lambda _: None)
    started = time.perf_counter()
    enrolled_by = now - DAYS * DAY  # everyone is enrolled before their week begins
    first_enrolment = enrolled_by - (people - 1) // ENROLMENTS_PER_SECOND
    with bulk.writer(store.engine) as out:
        if out.count("person"):
            raise NotEmpty("the store already holds people; seed an empty one")
        organisations = _organisations(store, -(-people // PEOPLE_PER_ORGANISATION),
                                       first_enrolment)
        for start in range(0, people, chunk):
            numbers = range(start, min(people, start + chunk))
            entries: list[Entry] = []
            with out.transaction():
                out.insert("person", PERSON_COLUMNS, _enrol(
                    store, numbers, organisations, entries,
                    lambda n: enrolled_by - (people - 1 - n) // ENROLMENTS_PER_SECOND))
                _chain(out, entries)
            say(f"enrolled {numbers.stop:,} of {people:,}")
        observations, mac = 0, canon.ObservationMac(store.data_keys)
        for days_ago in range(DAYS - 1, -1, -1):
            last = ""
            while ids := out.person_ids_after(last, chunk):
                last = ids[-1]
                entries = []
                with out.transaction():
                    fresh = iter(out.observation_ids(len(ids) * KINDS_PER_DAY))
                    out.insert("observation", OBSERVATION_COLUMNS,
                               _observe(ids, days_ago, now, rng, fresh, mac, entries))
                    _chain(out, entries)
                observations += len(entries)
            say(f"observations of day {DAYS - days_ago} of {DAYS} recorded")
        out.finish()
    return Seeded(people, observations, len(organisations), time.perf_counter() - started)


# The rows are generated while they are written (the database works on one chunk while the
# next rows are made), and each function collects the audit entries of what it yielded.

def _organisations(store: Store, count: int, now: int) -> list[tuple[int, str]]:
    """Add ``count`` organisations; return each one's id and the ``details_json`` of its
    members' ``person.create`` entries."""
    with store.writing() as session:
        return [(organisation_id(session, name, now), canonical_json({"organisation": name}))
                for name in map(organisation_name, range(count))]


def _enrol(store: Store, numbers: range, organisations: Sequence[tuple[int, str]],
           entries: list[Entry], enrolled_at: Callable[[int], int]) -> Iterator[Row]:
    """What :func:`issuer.store.people.enrol` and ``create_person``'s audit entry write."""
    keys, region = store.data_keys, store.phone_region
    for n in numbers:
        person = resident(n)
        person_id, created_at = new_person_id(), enrolled_at(n)
        organisation, details = organisations[n % len(organisations)]
        e164 = normalise(person.phone, region)
        values = {"name": person.name, "id_number": person.id_number, "phone": e164}
        own, wrapped = keys.new_person_key(person_id)
        encrypted = [own.encrypt(COLUMNS[field], person_id, value)
                     for field, value in values.items()]
        entries.append((created_at, person_id, "person.create", "enrolment", details))
        yield (person_id, organisation, *encrypted, keys.id_number_mac(person.id_number),
               created_at, keys.phone_form_mac(e164), wrapped)


def _observe(ids: Sequence[str], days_ago: int, now: int, rng: random.Random,
             fresh: Iterator[int], mac: canon.ObservationMac, entries: list[Entry]
             ) -> Iterator[Row]:
    """One day of observations of ``ids``, as ``add_observation`` writes them."""
    for person_id in ids:
        person = habits(person_id)
        day = day_of(person, days_ago, now, rng)
        recorded_at = day[0][2] + person.delay
        for kind, value, observed_at in day:
            row = {"id": next(fresh), "person_id": person_id, "kind": kind,
                   "value_json": _value_json(kind, value), "observed_at": observed_at,
                   "source": person.source, "recorded_at": recorded_at, "recorded_by": ACTOR}
            first = not entries
            details = canon.observation_details(row, mac(row, first), first)
            entries.append((recorded_at, person_id, "observation.add", "observation recorded",
                            details))
            yield tuple(row.values())


@lru_cache(maxsize=65_536)
def _value_json(kind: str, value: int | float) -> str:
    """The stored JSON of a value: validated and normalised as the service does first."""
    return json.dumps(validate_observation(kind, value), sort_keys=True, allow_nan=False)


def _chain(out: bulk.Writer, entries: Sequence[Entry]) -> None:
    """Append ``entries`` to the audit chain (as :func:`issuer.store.audit.append_many`)."""
    out.insert("audit_entry", AUDIT_COLUMNS, _chained(entries, *out.audit_head()))


def _chained(entries: Sequence[Entry], seq: int, prev_hash: str) -> Iterator[Row]:
    for number, (at, person_id, action, reason, details_json) in enumerate(entries):
        fields = (seq + number + 1, at, ACTOR, person_id, action, reason, details_json,
                  prev_hash)
        prev_hash = canon.entry_hash(*fields, check=not number)
        yield (*fields, prev_hash)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, required=True, help="how many to enrol")
    parser.add_argument("--database-url", default=None,
                        help="default: $HEALTHCODE_DATABASE_URL, else HOME/issuer.db")
    parser.add_argument("--home", type=Path, default=None,
                        help="the issuer's home (keys made there if it has none; default: "
                             "$HEALTHCODE_HOME, else the current folder)")
    parser.add_argument("--now", type=int, default=None,
                        help="epoch seconds of the last observations (default: now)")
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                        help=f"people per transaction (default {DEFAULT_CHUNK})")
    args = parser.parse_args(argv)
    home = Home.resolve(args.home)
    if not home.issuer_config.exists():
        init_home(home)
    with Store.open(home, args.database_url) as store:
        try:
            done = seed(store, args.people, now=args.now, chunk=args.chunk,
                        progress=lambda line: print(line, file=sys.stderr, flush=True))
        except NotEmpty as exc:
            parser.exit(1, f"{parser.prog}: {exc}\n")
    print(f"seeded {done.people:,} people, {done.observations:,} observations, "
          f"{done.organisations:,} organisations in {done.seconds:.1f} s: "
          f"{done.people_per_second:,.0f} people/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
