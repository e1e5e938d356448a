"""Everything the issuer holds about a person, as *My data* shows it and exports it, and how
long each part counts and is kept."""

from __future__ import annotations

import time
from typing import Any

from .corrections import holder_may_void
from .issuance import IssuerService
from .retention import summary

#: The columns of a credential a holder sees (not the signed text: the code itself is shown on
#: its own page).
CREDENTIAL_FIELDS = ("cti", "colour", "score", "policy_id", "iat", "exp", "purpose",
                     "device_id", "revoked_at", "revocation_reason")


def holder_data(service: IssuerService, person_id: str, now: int | None = None
                ) -> dict[str, Any]:
    """Everything the issuer holds about the person, and its audit trail: what *My data*
    shows and exports (voided observations too, with who voided them and why; whether the
    holder may still withdraw each; their appeals, in their words, and the decisions). Raises
    NotFound."""
    now = int(time.time()) if now is None else now
    store = service.store
    person = store.get_person(person_id)
    credentials = [{k: row[k] for k in CREDENTIAL_FIELDS} for row in store.credentials(person_id)]
    observations = [{**o, "withdrawable": holder_may_void(service, o, now)}
                    for o in store.observations(person_id, voided=True)]
    return {"exported_at": now, "issuer": service.signer()[1].name, "person": person,
            "observations": observations,
            "assessment": service.assess(person_id, now).as_dict(),
            "credentials": credentials, "phones": store.devices(person_id),
            "appeals": [{k: v for k, v in a.items() if k != "person_id"}
                        for a in store.appeals_of(person_id)],
            "audit": store.audit_entries(person_id), "retention": summary(service.policy)}
