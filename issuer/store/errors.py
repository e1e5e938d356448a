"""The storage exceptions (re-exported by :mod:`.db`, where they always were)."""

from __future__ import annotations


class StoreError(Exception):
    """Root of the storage errors."""


class NotFound(StoreError):
    """No such person, credential, token or run (an API maps this to 404)."""


class Erased(NotFound):
    """The person was erased: only their pseudonymous id is left (an API maps this to 410)."""

    def __init__(self, person_id: str, erased_at: int) -> None:
        super().__init__(f"{person_id} was erased")
        self.person_id, self.erased_at = person_id, erased_at


class Conflict(StoreError):
    """The write would duplicate a unique fact (409); ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field
