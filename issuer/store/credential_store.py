"""Issued credentials in the repository: recording them, revoking them (one, a person's, or
those a new assessment makes untrue), the revocation list's contents, and re-issue runs. Each
write is audited in its own transaction; the row-level rules are in :mod:`.credentials`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from verifier.labels import Colour

from . import audit, credentials, family, holders
from .audit_tables import row_mac
from .base import StoreBase, clock
from .db import CredentialRecord, NotFound

#: The reason recorded when a credential is revoked because it shows more than the truth.
SUPERSEDED = "superseded"


class CredentialStore(StoreBase):
    """The repository's credential operations (:class:`issuer.store.Store` inherits them)."""

    def record_credential(self, person_id: str, *, cti: bytes | str, text: str,
                          colour: Colour | str, score: int, policy_id: str,
                          policy_digest: bytes | str, iat: int, exp: int, actor: str,
                          reason: str = "credential issued", run_id: int | None = None,
                          now: int | None = None, device_id: str | None = None,
                          purpose: str | None = None,
                          current: Callable[[dict[str, Any]], bool] | None = None,
                          family_link: str | None = None) -> dict[str, Any]:
        """Store an issued credential (``cti``, ``policy_digest``: bytes or hex) and return it
        as :meth:`credential` does. Raises :class:`NotFound` (person or run),
        :class:`Conflict` (``field="run_id"``: the run already issued this person one;
        ``"cti"``: a reused cti), ``ValueError`` (unknown colour, score outside 0–100, ``exp``
        not after ``iat``, a cti or digest that is not hex).

        ``device_id``: the phone a live credential is bound to; its older live credentials are
        revoked in the same transaction (``superseded``), so a phone cannot keep showing a
        greener code it was once given. ``purpose``: ``live`` or ``card``. ``current``: if
        the phone's current live credential, read once the phone is locked, satisfies it, that
        one is returned and nothing is stored (the same phone asking twice at once gets one
        code, not two). ``family_link``: a family code, stored only while that link is live
        (its row locked, so ending the link at the same time revokes this code or refuses
        it: :class:`NotFound`).
        """
        now = clock(now)
        with self.writing() as session:
            self.person_row(session, person_id)  # Erased; waits for an erasure in progress
            if family_link is not None:
                link = family.get(session, family_link, lock=True)
                if link is None or link.revoked_at is not None or link.dependant_id != person_id:
                    raise NotFound(f"no live family link {family_link[:40]}")
            if device_id is not None:
                holders.lock_device(session, device_id)
                if current is not None:
                    existing = holders.current_credential(session, person_id, device_id, now)
                    if existing is not None and current(credentials.as_dict(existing)):
                        return credentials.as_dict(existing)
            row = credentials.record(
                session, person_id=person_id, cti=cti, text=text, colour=colour, score=score,
                policy_id=policy_id, policy_digest=policy_digest, iat=iat, exp=exp,
                issued_by=actor, run_id=run_id)
            row.device_id, row.purpose = device_id, purpose
            superseded = holders.revoke_device_credentials(
                session, device_id, now, "superseded by a newer live code", keep=row.cti,
                person_id=person_id) if device_id is not None else []
            # What was issued under which rules, never the person's colour or score.
            details = {"cti": row.cti, "policy_id": policy_id, "exp": exp, "run": run_id}
            if purpose is not None:
                details.update(purpose=purpose, device=device_id, superseded=superseded)
            details["mac"] = row_mac(self.data_keys, "credential", credentials.as_dict(row))
            audit.append(session, actor, "credential.issue", reason, person_id, details, now)
            return credentials.as_dict(row)

    def credential(self, cti: bytes | str) -> dict[str, Any]:
        """Return a credential: cti, person_id, colour, score, policy_id, policy_digest, iat,
        exp, text, issued_by, run_id. Raises :class:`NotFound`."""
        with self.reading() as session:
            return credentials.as_dict(credentials.get(session, cti))

    def credentials(self, person_id: str) -> list[dict[str, Any]]:
        """Return the person's credentials, newest first."""
        with self.reading() as session:
            return [credentials.as_dict(r) for r in credentials.for_person(session, person_id)]

    def revoke(self, cti: bytes | str, *, actor: str, reason: str, now: int | None = None
               ) -> dict[str, Any]:
        """Revoke one credential (audited); return it. Revoking it again changes nothing.
        Raises :class:`NotFound`, ``ValueError`` for a cti that is not hex."""
        now = clock(now)
        with self.writing() as session:
            row = credentials.get(session, cti)
            if credentials.revoke(session, row, actor, reason, now):
                audit.append(session, actor, "credential.revoke", reason, row.person_id,
                             {"cti": row.cti, "exp": row.exp}, now)
            return credentials.as_dict(row)

    def revoke_person(self, person_id: str, *, actor: str, reason: str,
                      now: int | None = None) -> list[str]:
        """Revoke every unexpired credential of a person in one transaction (one audit entry);
        return the ctis newly revoked. Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            self.person_row(session, person_id)
            revoked = [row.cti for row in credentials.unexpired_of(session, person_id, now)
                       if credentials.revoke(session, row, actor, reason, now)]
            audit.append(session, actor, "credential.revoke_all", reason, person_id,
                         {"ctis": revoked}, now)
            return revoked

    def revoked_unexpired(self, now: int | None = None) -> list[str]:
        """The ctis (hex) of revoked, unexpired credentials."""
        with self.reading() as session:
            return credentials.revoked_unexpired(session, clock(now))

    def revocation_stamp(self) -> tuple[int, int]:
        """``(revoked credentials, latest revocation time)``: changes whenever one is revoked."""
        with self.reading() as session:
            count, latest = session.execute(
                select(func.count(), func.max(CredentialRecord.revoked_at))
                .where(CredentialRecord.revoked_at.is_not(None))).one()
            return int(count), int(latest or 0)

    def start_reissue_run(self, *, actor: str, reason: str, now: int | None = None) -> int:
        """Open a re-issue run and return its id (pass it to :meth:`record_credential`)."""
        now = clock(now)
        with self.writing() as session:
            run = credentials.start_run(session, actor, now)
            audit.append(session, actor, "reissue.start", reason, None, {"run": run.id}, now)
            return run.id

    def finish_reissue_run(self, run_id: int, status: str = "done", *, actor: str,
                           now: int | None = None) -> None:
        """Close a run as ``done`` or ``failed``. Raises :class:`NotFound`, ``ValueError``."""
        now = clock(now)
        with self.writing() as session:
            credentials.finish_run(session, run_id, status, now)
            audit.append(session, actor, "reissue.finish", status, None, {"run": run_id}, now)

    @staticmethod
    def supersede(session: Session, person_id: str, colour: Colour | str, score: int, *,
                  actor: str, now: int, observation: int | None = None) -> list[str]:
        """In ``session``, revoke the person's unexpired credentials that show more than
        ``colour`` and ``score`` (a better colour or a higher score), audited as one entry
        with reason ``superseded``; return their ctis."""
        shown = credentials.better_than(session, person_id, colour, score, now)
        revoked = [row.cti for row in shown
                   if credentials.revoke(session, row, actor, SUPERSEDED, now)]
        if revoked:
            audit.append(session, actor, "credential.revoke_all", SUPERSEDED, person_id,
                         {"ctis": revoked, "observation": observation}, now)
        return revoked
