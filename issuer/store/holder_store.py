"""Holders' phones in the repository: one-time enrolment links, bound phones and their live
credentials, sign-in by one-time code, server-side sessions, and the rate-limit counters the
web app keeps here. Each write is audited in its own transaction; the rules (lifetimes,
guesses, hashing) are in :mod:`.holders` and :mod:`.sessions`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit, credentials, holders, sessions, throttle
from .base import StoreBase, clock
from .family_store import FamilyStore
from .holders import HolderError, HolderProblem


class HolderStore(StoreBase):
    """The repository's holder operations (:class:`issuer.store.Store` inherits them)."""

    def create_enrolment(self, person_id: str, *, actor: str, reason: str = "enrolment link",
                         now: int | None = None) -> str:
        """Add a one-time enrolment link for the person; return its token (shown once).
        Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            token = holders.new_enrolment(session, person_id, actor, now)
            audit.append(session, actor, "enrolment.create", reason, person_id,
                         {"expires_at": now + holders.ENROLMENT_TTL}, now)
        return token

    def enrolment_person(self, token: str, now: int | None = None) -> str:
        """The person an enrolment link is for; raises :class:`HolderError` if it is unknown,
        used or expired."""
        with self.reading() as session:
            return holders.open_enrolment(session, token, clock(now)).person_id

    def redeem_enrolment(self, token: str, jwk: Any, now: int | None = None
                         ) -> tuple[str, str, str]:
        """Use an enrolment link to bind a phone (its public JWK) and sign it in; return
        ``(person id, device id, session id)``. Every other session of the person ends.
        Raises :class:`HolderError`; the link stays usable if the key is bad. Of concurrent
        redemptions of one link exactly one succeeds."""
        now = clock(now)
        public_key = holders.device_public_key(jwk)
        with self.writing() as session:
            person_id = holders.claim_enrolment(session, token, now)
            device_id = self._bind(session, person_id, public_key, "enrolment link", now)
            return person_id, device_id, sessions.start(session, person_id, device_id, now)

    def bind_device(self, person_id: str, jwk: Any, *, reason: str, session_id: str,
                    now: int | None = None) -> str:
        """Bind a phone (its public JWK) to the person signed in with ``session_id``; return
        the device id. That session now carries the phone; every other one of the person
        ends (a session signed in with a stolen code among them). Raises
        :class:`HolderError` (``signed_out`` when the session is no longer live),
        :class:`NotFound`."""
        now = clock(now)
        public_key = holders.device_public_key(jwk)
        with self.writing() as session:
            row = sessions.live(session, session_id, now)
            if row is None or row.person_id != person_id:
                raise HolderError(HolderProblem.SIGNED_OUT, "sign in again")
            device_id = self._bind(session, person_id, public_key, reason, now,
                                   keep=session_id)
            row.device_id = device_id
            return device_id

    def _bind(self, session: Session, person_id: str, public_key: bytes, reason: str,
              now: int, keep: str | None = None) -> str:
        # Lock the person: two phones bound at once must not both stay bound.
        self.person_row(session, person_id, lock=True)
        # The family codes the old phone showed go with it (each on its dependant's trail).
        FamilyStore.revoke_family_codes_of_phones(session, person_id, now)
        device, revoked = holders.add_device(session, person_id, public_key, now)
        ended = sessions.end_all(session, person_id, now, "a new phone was bound", keep=keep)
        audit.append(session, "holder", "device.bind", reason, person_id,
                     {"device": device.id, "revoked": revoked, "sessions_ended": ended}, now)
        return device.id

    def device(self, person_id: str, device_id: str) -> dict[str, Any] | None:
        """The person's bound phone ``device_id`` (id, public_key, created_at), or None if
        it is unknown, someone else's, or was replaced."""
        with self.reading() as session:
            device = holders.live_device(session, person_id, device_id)
            return None if device is None else {
                "id": device.id, "public_key": device.public_key,
                "created_at": device.created_at}

    def device_credential(self, person_id: str, device_id: str, now: int | None = None
                          ) -> dict[str, Any] | None:
        """The phone's current live credential (the newest unrevoked, unexpired one bound to
        it; issuing a newer one revokes the older), as :meth:`credential` gives it, or None."""
        with self.reading() as session:
            row = holders.current_credential(session, person_id, device_id, clock(now))
            return None if row is None else credentials.as_dict(row)

    def devices(self, person_id: str) -> list[dict[str, Any]]:
        """The person's phones, newest first."""
        with self.reading() as session:
            return holders.devices_of(session, person_id)

    def send_code(self, phone: str, now: int | None = None) -> str | None:
        """Make a sign-in code for ``phone``; None when no one is enrolled with that number
        (the caller must answer as if a code was sent: numbers are not to be probed). The
        code is made, stored and counted against the number's quota either way.
        Raises :class:`HolderError` (``too_many_codes``, for any number),
        :class:`.phones.PhoneError` (a number that cannot be valid)."""
        now = clock(now)
        phone_mac = self.data_keys.phone_mac(phone, self.phone_region)
        with self.writing() as session:
            enrolled = bool(holders.people_with_phone(session, phone_mac))
            code = holders.new_code(session, phone_mac, now)
            return code if enrolled else None

    def check_code(self, phone: str, code: str, now: int | None = None) -> str:
        """Sign in with a code: return the person id. Raises :class:`HolderError`:
        ``wrong_code``, or ``shared_phone`` when several people are enrolled with the number
        (they use their enrolment letters instead)."""
        now = clock(now)
        try:
            phone_mac = self.data_keys.phone_mac(phone, self.phone_region)
        except ValueError:
            raise HolderError(HolderProblem.WRONG_CODE, holders.WRONG_CODE) from None
        with self.writing() as session:
            accepted = holders.use_code(session, phone_mac, code, now)
            people = holders.people_with_phone(session, phone_mac) if accepted else []
            if len(people) == 1:
                audit.append(session, "holder", "holder.sign_in", "one-time code", people[0],
                             {}, now)
        if not accepted or not people:
            raise HolderError(HolderProblem.WRONG_CODE, holders.WRONG_CODE)
        if len(people) > 1:
            raise HolderError(HolderProblem.SHARED_PHONE,
                              "several people are enrolled with this number: use the "
                              "enrolment letter each of you received")
        return people[0]

    # Sessions -------------------------------------------------------------------------------

    def start_session(self, person_id: str, device_id: str | None = None,
                      now: int | None = None) -> str:
        """Start a holder's session; return its id (for the cookie; only a hash is kept)."""
        with self.writing() as session:
            return sessions.start(session, person_id, device_id, clock(now))

    def holder_session(self, session_id: str, now: int | None = None
                       ) -> tuple[str, dict[str, Any] | None] | None:
        """``(person id, bound phone or None)`` of a live session (the phone as
        :meth:`device` gives it), or None: unknown, ended, expired, or its phone replaced."""
        with self.reading() as session:
            row = sessions.live(session, session_id, clock(now))
            if row is None:
                return None
            if row.device_id is None:
                return row.person_id, None
            device = holders.live_device(session, row.person_id, row.device_id)
            if device is None:
                return None
            return row.person_id, {"id": device.id, "public_key": device.public_key,
                                   "created_at": device.created_at}

    def end_session(self, session_id: str, reason: str = "signed out",
                    now: int | None = None) -> bool:
        """End one session (signing out); True if it was live."""
        with self.writing() as session:
            return sessions.end(session, session_id, clock(now), reason)

    def end_sessions(self, person_id: str, *, actor: str, reason: str,
                     now: int | None = None) -> int:
        """End every session of the person (audited); return how many were live.
        Raises :class:`NotFound`."""
        now = clock(now)
        with self.writing() as session:
            self.person_row(session, person_id)
            ended = sessions.end_all(session, person_id, now, reason)
            audit.append(session, actor, "session.revoke_all", reason, person_id,
                         {"sessions_ended": ended}, now)
            return ended

    def live_sessions(self, person_id: str, now: int | None = None) -> int:
        """How many sessions of the person are live."""
        with self.reading() as session:
            return sessions.live_count(session, person_id, clock(now))

    # Rate-limit counters (issuer.web.throttle) ----------------------------------------------

    def count_hits(self, keys: list[tuple[str, int]], amount: int = 1,
                   now: int | None = None) -> list[tuple[int, int]]:
        """Count a hit against each ``(key, window seconds)`` in one transaction; return each
        ``(hits in the window, when it ends)``, atomically across processes
        (:func:`issuer.store.throttle.incr`)."""
        now = clock(now)
        with self.writing() as session:
            return [throttle.incr(session, key, expiry, amount, now) for key, expiry in keys]

    def hits(self, key: str, now: int | None = None) -> tuple[int, int]:
        """``(hits, window end)`` of a running window, ``(0, now)`` when none runs."""
        with self.reading() as session:
            return throttle.get(session, key, clock(now))

    def clear_hits(self, key: str | None = None) -> int:
        """Forget one counter, or all of them."""
        with self.writing() as session:
            return throttle.clear(session, key)

    def purge_holder_state(self, now: int | None = None) -> dict[str, int]:
        """Delete what has run out: ended windows, ended or expired sessions, sign-in codes
        older than the hour their quota counts. Returns how many rows of each went."""
        now = clock(now)
        with self.writing() as session:
            return {"rate_counters": throttle.purge(session, now),
                    "sessions": sessions.purge(session, now),
                    "codes": holders.purge_codes(session, now)}
