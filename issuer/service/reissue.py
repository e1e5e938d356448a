"""Bulk re-issuance: re-score everyone under the published policy and sign fresh credentials.

A run is a row in ``reissue_run``; each credential it issues carries the run's id, and the
database holds at most one credential per (run, person). People are taken in a fixed order in
batches; each batch (scoring, signing, the credential rows and their audit entries) is one
transaction. A run killed midway therefore leaves whole batches behind it and none half-done;
running again resumes the unfinished run with the people it has not reached: nobody is
skipped, nobody gets two credentials from one run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import exists, func, insert, select
from sqlalchemy.orm import Session

from verifier import IdCheck, decode_unverified
from verifier.timefmt import iso

from ..keys.signing import issue_credential
from ..store import audit
from ..store.audit_tables import row_mac
from ..store.db import AuditEntry, CredentialRecord, Person, ReissueRun
from .issuance import DEFAULT_TTL, IssuerService

DEFAULT_BATCH = 200
ACTION_COLOUR_CHANGE = "colour.change"


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: its id, people issued by it so far, people in all."""

    run_id: int
    done: int
    total: int
    resumed: bool


def open_run(service: IssuerService, *, actor: str, new: bool = False,
             now: int | None = None) -> RunProgress:
    """Resume the newest unfinished run, or start one (``new``: close any unfinished run as
    failed first and start afresh)."""
    now = int(time.time()) if now is None else now
    store = service.store
    with store.reading() as session:
        running = session.scalar(select(ReissueRun.id).where(ReissueRun.status == "running")
                                 .order_by(ReissueRun.id.desc()).limit(1))
    if running is not None and new:
        store.finish_reissue_run(running, "failed", actor=actor, now=now)
        running = None
    resumed = running is not None
    if running is None:
        running = store.start_reissue_run(actor=actor, reason="re-issue everyone", now=now)
    return _progress(service, running, resumed)


def _progress(service: IssuerService, run_id: int, resumed: bool) -> RunProgress:
    with service.store.reading() as session:
        total = session.scalar(select(func.count()).select_from(Person)) or 0
        done = session.scalar(select(func.count()).select_from(CredentialRecord)
                              .where(CredentialRecord.run_id == run_id)) or 0
    return RunProgress(run_id, done, total, resumed)


def run_batches(service: IssuerService, run_id: int, *, actor: str,
                batch_size: int = DEFAULT_BATCH, ttl: int = DEFAULT_TTL,
                clock: Callable[[], int] | None = None,
                on_batch: Callable[[int], None] | None = None) -> int:
    """Issue a credential to everyone the run has not reached yet, ``batch_size`` people per
    transaction; call ``on_batch(n)`` after each committed batch; close the run as done and
    return how many credentials this call issued."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    clock = clock or (lambda: int(time.time()))
    issued = 0
    while True:
        with service.store.writing() as session:
            pending = _pending(session, run_id, batch_size)
            if pending:
                _issue_batch(service, session, run_id, pending, actor, ttl, clock())
        if not pending:
            break
        issued += len(pending)
        if on_batch is not None:
            on_batch(len(pending))
    service.store.finish_reissue_run(run_id, "done", actor=actor, now=clock())
    return issued


def _pending(session: Session, run_id: int, limit: int) -> list[str]:
    """The next people, in enrolment order, who hold no credential from this run."""
    issued = exists().where(CredentialRecord.run_id == run_id,
                            CredentialRecord.person_id == Person.id)
    return list(session.scalars(select(Person.id).where(~issued)
                                .order_by(Person.created_at, Person.id).limit(limit)))


def _issue_batch(service: IssuerService, session: Session, run_id: int, people: Sequence[str],
                 actor: str, ttl: int, now: int) -> None:
    observations = service.store.observations_of(session, people,
                                                 since=now - service.policy.lookback)
    identities = service.store.identities_of(session, people)
    last_colour = _last_recorded_colours(session, people)
    policy, exp = service.policy, now + ttl
    key, config = service.signer()
    valid_to = iso(exp)
    rows: list[dict[str, object]] = []
    entries: list[audit.Pending] = []
    for person_id in people:
        assessment = service.score_observations(observations[person_id], now)
        colour = assessment.colour.value
        previous = last_colour.get(person_id)
        if previous is not None and previous != colour:
            rules = "; ".join(c.text for c in assessment.contributions
                              if c.kind.value == "rule")
            entries.append(audit.Pending(
                actor, ACTION_COLOUR_CHANGE, f"re-scored by re-issue run {run_id}: "
                f"{rules or f'score now {assessment.score}'}", person_id,
                {"from": previous, "to": colour, "score": [None, assessment.score],
                 "policy": policy.id}, now))
        text = issue_credential(key, iss=config.iss, colour=assessment.colour,
                                score=assessment.score, iat=now, ttl=ttl, policy=policy.digest,
                                id_check=IdCheck.of(*identities[person_id]))
        cti = decode_unverified(text).cti.hex()
        row = {"cti": cti, "person_id": person_id, "colour": colour,
               "score": assessment.score, "policy_id": policy.id,
               "policy_digest": policy.digest.hex(), "iat": now, "exp": exp,
               "text": text, "issued_by": actor, "run_id": run_id}
        rows.append(row)
        mac = row_mac(service.store.data_keys, "credential",
                      {**row, "device_id": None, "purpose": None})
        entries.append(audit.Pending(
            actor, "credential.issue", f"{colour} {assessment.score} under {policy.id}, valid "
            f"to {valid_to} (re-issue run {run_id})", person_id,
            {"cti": cti, "policy_id": policy.id, "exp": exp, "run": run_id, "mac": mac}, now))
    # Two multi-row inserts per batch. The database's UNIQUE(run_id, person_id) stops a second
    # credential from one run even if two processes ever raced on the same run.
    session.execute(insert(CredentialRecord), rows)
    audit.append_many(session, entries)


def _last_recorded_colours(session: Session, people: Sequence[str]) -> dict[str, str]:
    """Each person's colour as last recorded: by their newest credential or their newest
    colour-change entry, whichever is later (so a change already logged when an observation
    caused it is not logged again)."""
    cred = (select(CredentialRecord.person_id, CredentialRecord.colour, CredentialRecord.iat,
                   func.row_number().over(partition_by=CredentialRecord.person_id,
                                          order_by=(CredentialRecord.iat.desc(),
                                                    CredentialRecord.cti)).label("rank"))
            .where(CredentialRecord.person_id.in_(people)).subquery())
    change = (select(AuditEntry.person_id, AuditEntry.details_json, AuditEntry.at,
                     func.row_number().over(partition_by=AuditEntry.person_id,
                                            order_by=AuditEntry.seq.desc()).label("rank"))
              .where(AuditEntry.person_id.in_(people),
                     AuditEntry.action == ACTION_COLOUR_CHANGE).subquery())
    latest: dict[str, tuple[int, str]] = {}
    for person_id, colour, at in session.execute(
            select(cred.c.person_id, cred.c.colour, cred.c.iat).where(cred.c.rank == 1)):
        latest[person_id] = (at, colour)
    for person_id, details, at in session.execute(
            select(change.c.person_id, change.c.details_json, change.c.at)
            .where(change.c.rank == 1)):
        if person_id not in latest or at >= latest[person_id][0]:
            latest[person_id] = (at, json.loads(details)["to"])
    return {person_id: colour for person_id, (_, colour) in latest.items()}
