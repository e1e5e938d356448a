"""Family codes: a guardian's phone shows live codes of people who cannot show their own
(children, elderly parents). Each is the dependant's credential, their colour and score,
bound to the guardian's phone key and marked as a family code (docs/FORMAT.md, health key 5),
so that a checkpoint says "family code" and nothing about whose it is.

Who may see what: a guardian reads a dependant's code, *Why?* and *My data* only through a
live link they hold (:meth:`issuer.store.Store.guardian_link`); anything else is
:class:`NotFound`, the same answer for a link that is someone else's, ended or unknown.
"""

from __future__ import annotations

import time
from typing import Any

from ..store import NotFound
from .issuance import IssuerService
from .records import holder_data


def dependant_of(service: IssuerService, guardian_id: str, link_id: str) -> dict[str, Any]:
    """The guardian's live link ``link_id``, with the dependant's masked ``label``. Raises
    :class:`NotFound` unless the guardian holds it and it is live."""
    for link in service.store.dependants(guardian_id):
        if link["id"] == link_id:
            return link
    raise NotFound("no such family member on this phone")


def family_credential(service: IssuerService, guardian_id: str, device: dict[str, Any],
                      link_id: str, now: int | None = None) -> dict[str, Any]:
    """The dependant's live family code for the guardian's bound phone ``device``: the
    current one if it still holds, else a new one (issued only while the link is live).
    Raises :class:`NotFound`."""
    link = dependant_of(service, guardian_id, link_id)
    now = int(time.time()) if now is None else now
    return service.live_credential(link["dependant_id"], device, now, family_link=link_id)


def dependant_data(service: IssuerService, guardian_id: str, link_id: str,
                   now: int | None = None) -> dict[str, Any]:
    """The dependant's *My data*, for their guardian to read. Raises :class:`NotFound`."""
    link = dependant_of(service, guardian_id, link_id)
    return holder_data(service, link["dependant_id"], now)
