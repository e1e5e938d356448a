"""Holders' phones in the repository: one-time enrolment links, bound phones and their live
credentials, sign-in by one-time code. Each write is audited in its own transaction; the
rules (lifetimes, guesses, hashing) are in :mod:`.holders`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import audit, credentials, holders
from .base import StoreBase, clock
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
                         ) -> tuple[str, str]:
        """Use an enrolment link to bind a phone (its public JWK); return ``(person id,
        device id)``. Raises :class:`HolderError`; the link stays usable if the key is bad."""
        now = clock(now)
        public_key = holders.device_public_key(jwk)
        with self.writing() as session:
            enrolment = holders.open_enrolment(session, token, now)
            enrolment.used_at = now
            return self._bind(session, enrolment.person_id, public_key, "enrolment link", now)

    def bind_device(self, person_id: str, jwk: Any, *, reason: str,
                    now: int | None = None) -> str:
        """Bind a phone (its public JWK) to a signed-in person; return the device id.
        Raises :class:`HolderError`, :class:`NotFound`."""
        now = clock(now)
        public_key = holders.device_public_key(jwk)
        with self.writing() as session:
            self.person_row(session, person_id)
            return self._bind(session, person_id, public_key, reason, now)[1]

    @staticmethod
    def _bind(session: Session, person_id: str, public_key: bytes, reason: str,
              now: int) -> tuple[str, str]:
        device, revoked = holders.add_device(session, person_id, public_key, now)
        audit.append(session, "holder", "device.bind", reason, person_id,
                     {"device": device.id, "revoked": revoked}, now)
        return person_id, device.id

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
        (the caller must answer as if a code was sent: numbers are not to be probed).
        Raises :class:`HolderError` (``too_many_codes``), ``ValueError`` (no digits)."""
        now = clock(now)
        phone_mac = self.data_keys.phone_mac(phone)
        with self.writing() as session:
            if not holders.people_with_phone(session, phone_mac):
                return None
            return holders.new_code(session, phone_mac, now)

    def check_code(self, phone: str, code: str, now: int | None = None) -> str:
        """Sign in with a code: return the person id. Raises :class:`HolderError`:
        ``wrong_code``, or ``shared_phone`` when several people are enrolled with the number
        (they use their enrolment letters instead)."""
        now = clock(now)
        try:
            phone_mac = self.data_keys.phone_mac(phone)
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
