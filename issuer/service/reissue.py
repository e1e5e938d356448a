"""Bulk re-issuance: re-score everyone under the published policy and sign fresh credentials.

A run is a row in ``reissue_run``; each credential it issues carries the run's id, and the
database holds at most one credential per (run, person) and at most one running run. The run
is cut into slices of everyone in enrolment order (:mod:`issuer.store.batches`); any number of
workers — this process, ``--workers N`` processes, ``reissue --join`` on other machines — take
slices until none is left, each slice (scoring, signing, the credential rows, their audit
entries, the slice marked done) one transaction. A worker killed midway leaves whole slices
behind it and none half-done; the others (or the next ``reissue --all``) take its slice over:
nobody is skipped, nobody gets two credentials from one run.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from verifier import IdCheck
from verifier.timefmt import iso

from ..keys.signing import sign_credential
from ..policy import Observation
from ..store import audit, batches
from ..store.audit_tables import row_mac
from ..store.credentials import finish_run
from ..store.db import AuditEntry, CredentialRecord, Person, ReissueRun
from .issuance import DEFAULT_TTL, IssuerService

DEFAULT_BATCH = 500
DEFAULT_LEASE = batches.DEFAULT_LEASE
ACTION_COLOUR_CHANGE = "colour.change"
#: Seconds between looks at the run while other workers hold its last slices.
POLL = 0.5


class RunError(Exception):
    """This worker cannot take part in the run (it is not running, or this worker would issue
    under another policy than the run's)."""


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: its id, people issued by it so far, people in all."""

    run_id: int
    done: int
    total: int
    resumed: bool


def worker_name() -> str:
    """This worker as the batch table records it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def open_run(service: IssuerService, *, actor: str, new: bool = False, now: int | None = None,
             batch_size: int | None = None, ttl: int = DEFAULT_TTL) -> RunProgress:
    """Resume the running run, or start one (``new``: close a running run as failed first and
    start afresh). A new run pins the service's policy and ``ttl``; with ``batch_size`` it is
    also cut into slices now (else at its first :func:`run_batches`). Two processes opening at
    once get the same run: the database admits one running run."""
    now = int(time.time()) if now is None else now
    for _ in range(3):
        try:
            with service.store.writing() as session:
                run_id, resumed = _open(service, session, actor, new, now, batch_size, ttl)
            return _progress(service, run_id, resumed)
        except IntegrityError:  # another process opened a run between our look and insert
            new = False
    raise RunError("could not open or find a running re-issue run")


def _open(service: IssuerService, session: Session, actor: str, new: bool, now: int,
          batch_size: int | None, ttl: int) -> tuple[int, bool]:
    running = session.scalar(select(ReissueRun).where(ReissueRun.status == "running")
                             .with_for_update(key_share=True))
    if running is not None and new:
        finish_run(session, running.id, "failed", now)
        audit.append(session, actor, "reissue.finish", "failed", None, {"run": running.id}, now)
        session.flush()
        running = None
    if running is not None:
        return running.id, True
    policy = service.policy
    run = ReissueRun(started_at=now, started_by=actor, status="running", policy_id=policy.id,
                     policy_digest=policy.digest.hex(), ttl=ttl)
    session.add(run)
    session.flush()
    audit.append(session, actor, "reissue.start", "re-issue everyone", None,
                 {"run": run.id, "policy": policy.id, "ttl": ttl}, now)
    if batch_size is not None:
        run.batch_size = batch_size
        batches.plan(session, run.id, batch_size)
    return run.id, False


def _progress(service: IssuerService, run_id: int, resumed: bool) -> RunProgress:
    with service.store.reading() as session:
        total = session.scalar(select(func.count()).select_from(Person)
                               .where(Person.erased_at.is_(None))) or 0
        done = session.scalar(select(func.count()).select_from(CredentialRecord)
                              .where(CredentialRecord.run_id == run_id)) or 0
    return RunProgress(run_id, done, total, resumed)


def joined_run(service: IssuerService, run_id: int) -> RunProgress:
    """Where an existing run stands (for a worker joining it). Raises :class:`RunError`."""
    if run_status(service, run_id) is None:
        raise RunError(f"no re-issue run {run_id}")
    return _progress(service, run_id, True)


def run_status(service: IssuerService, run_id: int) -> str | None:
    """``running``, ``done`` or ``failed``; None for no such run."""
    with service.store.reading() as session:
        return session.scalar(select(ReissueRun.status).where(ReissueRun.id == run_id))


def progress(service: IssuerService, run_id: int) -> batches.Progress:
    """The run's slices and people so far, over all its workers (cheap: the batch table)."""
    with service.store.reading() as session:
        return batches.progress(session, run_id)


def run_batches(service: IssuerService, run_id: int, *, actor: str,
                batch_size: int = DEFAULT_BATCH, ttl: int = DEFAULT_TTL,
                clock: Callable[[], int] | None = None,
                on_batch: Callable[[int], None] | None = None,
                on_lost: Callable[[DBAPIError], None] | None = None,
                lease: int = DEFAULT_LEASE) -> int:
    """Work on the run until no slice is left: take a slice, issue it, repeat; then close the
    run as done (if no other worker did) and return how many credentials this call issued.

    ``batch_size`` and ``ttl`` apply to a run not yet cut into slices or pinned (one opened
    before they were); ``on_batch(n)`` is called after each committed slice; ``on_lost`` when
    the database ended a slice's transaction (the worker was stalled past ``lease`` seconds
    and the slice went to another worker): the worker carries on with the next slice."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    clock = clock or (lambda: int(time.time()))
    ttl = _join(service, run_id, batch_size, ttl)
    worker, issued = worker_name(), 0
    while ttl is not None:  # None: the run is done (other workers finished it)
        try:
            with service.store.writing() as session:
                count = _take_slice(service, session, run_id, actor, ttl, clock(), worker,
                                    lease)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            if on_lost is not None:
                on_lost(exc)
            continue
        if count is None:
            if _finish(service, run_id, actor, clock()):
                break
            time.sleep(POLL)
            continue
        issued += count
        if on_batch is not None:
            on_batch(count)
    return issued


def _join(service: IssuerService, run_id: int, batch_size: int, ttl: int) -> int | None:
    """Check that this worker may work on the run, pin and plan it if that was left to the
    first worker, and return the run's ttl (None: the run is done already)."""
    digest = service.policy.digest.hex()
    with service.store.writing() as session:
        # FOR NO KEY UPDATE: slices in flight hold KEY SHARE on the run (their credentials
        # refer to it), and a worker joining must not wait for them to commit.
        run = session.get(ReissueRun, run_id, with_for_update={"key_share": True})
        if run is None:
            raise RunError(f"no re-issue run {run_id}")
        if run.status == "done":
            return None
        _check_running(run_id, run.status)
        if run.policy_digest is None:  # opened before runs were pinned
            run.policy_id, run.policy_digest, run.ttl = service.policy.id, digest, ttl
        if run.policy_digest != digest:
            raise RunError(f"re-issue run {run_id} issues under policy {run.policy_id} "
                           f"({run.policy_digest}); this worker's is {service.policy.id} "
                           f"({digest})")
        if not batches.planned(session, run_id):
            run.batch_size = batch_size
            batches.plan(session, run_id, batch_size)
        return run.ttl or ttl


def _check_running(run_id: int, status: str | None) -> None:
    if status != "running":
        raise RunError(f"re-issue run {run_id} is {status}, not running")


def _take_slice(service: IssuerService, session: Session, run_id: int, actor: str, ttl: int,
                now: int, worker: str, lease: int) -> int | None:
    """In one transaction: claim a slice, issue it, mark it done. None if none was free (or
    the run is done)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.set_config("idle_in_transaction_session_timeout",
                                               f"{lease * 1000}", True)))
    status = session.scalar(select(ReissueRun.status).where(ReissueRun.id == run_id))
    if status == "done":
        return None
    _check_running(run_id, status)
    batch = batches.claim(session, run_id)
    if batch is None:
        return None
    people = batches.people(session, batch)
    if people:
        _issue_batch(service, session, run_id, people, actor, ttl, now)
    batches.complete(session, batch, issued=len(people), worker=worker, now=now)
    return len(people)


def _finish(service: IssuerService, run_id: int, actor: str, now: int) -> bool:
    """Close the run as done if no slice is open; whether it is closed (by us or another)."""
    with service.store.writing() as session:
        if batches.open_slices(session, run_id):
            status = session.scalar(select(ReissueRun.status).where(ReissueRun.id == run_id))
            if status == "done":
                return True
            _check_running(run_id, status)
            return False
        closed = session.execute(update(ReissueRun)
                                 .where(ReissueRun.id == run_id, ReissueRun.status == "running")
                                 .values(status="done", finished_at=now)).rowcount
        if closed:
            audit.append(session, actor, "reissue.finish", "done", None, {"run": run_id}, now)
        return True


def _issue_batch(service: IssuerService, session: Session, run_id: int, people: Sequence[str],
                 actor: str, ttl: int, now: int) -> None:
    """Score, sign and store a slice's people, with their audit entries, in ``session``.

    Per person only what the credential needs: the score and colour in integers
    (``Policy.score_fast``, on the stored rows as they are), one signature whose cti comes back
    with it. The full explanation is built only for someone whose colour changed: the audit
    entry names the rules."""
    store, policy = service.store, service.policy
    identities = store.identities_of(session, people)
    people = [person_id for person_id in people if person_id in identities]  # not erased
    observations = store.observation_rows_of(session, people, since=now - policy.lookback)
    last_colour = {person_id: colour for person_id, (_, _, colour) in identities.items()
                   if colour is not None}
    if len(last_colour) < len(people):  # enrolled before the colour was kept on the row
        last_colour.update(_last_recorded_colours(
            session, [person_id for person_id in people if person_id not in last_colour]))
    key, config = service.signer()
    exp, digest, digest_hex = now + ttl, policy.digest, policy.digest.hex()
    issued = f"under {policy.id}, valid to {iso(exp)} (re-issue run {run_id})"
    rows: list[dict[str, object]] = []
    entries: list[audit.Pending] = []
    recolour: list[dict[str, str]] = []
    for person_id in people:
        score, colour = policy.score_fast(observations[person_id], now)
        previous = last_colour.get(person_id)
        if previous != colour.value:
            recolour.append({"id": person_id, "colour": colour.value})
            if previous is not None:
                entries.append(_colour_change(service, run_id, person_id, previous,
                                              observations[person_id], actor, now))
        name, id_number, _ = identities[person_id]
        signed = sign_credential(key, iss=config.iss, colour=colour, score=score, iat=now,
                                 ttl=ttl, policy=digest, id_check=IdCheck.of(name, id_number))
        cti = signed.cti.hex()
        row = {"cti": cti, "person_id": person_id, "colour": colour.value, "score": score,
               "policy_id": policy.id, "policy_digest": digest_hex, "iat": now, "exp": exp,
               "text": signed.text, "issued_by": actor, "run_id": run_id}
        rows.append(row)
        mac = row_mac(store.data_keys, "credential", {**row, "device_id": None, "purpose": None})
        entries.append(audit.Pending(
            actor, "credential.issue", f"{colour.value} {score} {issued}", person_id,
            {"cti": cti, "policy_id": policy.id, "exp": exp, "run": run_id, "mac": mac}, now))
    # Two multi-row inserts per batch. The database's UNIQUE(run_id, person_id) stops a second
    # credential from one run even if two processes ever raced on the same run.
    session.execute(insert(CredentialRecord), rows)
    audit.append_many(session, entries)
    if recolour:  # the few whose colour changed (everyone, the first time)
        session.execute(update(Person), recolour)


def _colour_change(service: IssuerService, run_id: int, person_id: str, previous: str,
                   observations: Sequence[tuple[str, Any, int]], actor: str, now: int
                   ) -> audit.Pending:
    """The audit entry of a colour that changed since last recorded, naming the rules that
    set it (the full assessment, built for the few whose colour changed)."""
    assessment = service.policy.score(
        [Observation.stored(kind, value, at, "") for kind, value, at in observations], now)
    rules = "; ".join(c.text for c in assessment.contributions if c.kind.value == "rule")
    return audit.Pending(
        actor, ACTION_COLOUR_CHANGE,
        f"re-scored by re-issue run {run_id}: {rules or f'score now {assessment.score}'}",
        person_id, {"from": previous, "to": assessment.colour.value,
                    "score": [None, assessment.score], "policy": service.policy.id}, now)


def _last_recorded_colours(session: Session, people: Sequence[str]) -> dict[str, str]:
    """Each person's colour as last recorded, from their history: by their newest credential
    or their newest colour-change entry, whichever is later (so a change already logged when
    an observation caused it is not logged again). Only for people whose row does not keep it
    yet (``Person.colour``, since migration 0008): this reads all their credentials and
    entries, more with every run."""
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
