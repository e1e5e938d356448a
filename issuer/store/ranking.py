"""Organisations ranked by their members' mean health score, without exposing anyone's score.

Each member counts with the score of their latest credential. An organisation is listed only
when at least ``k`` members have a score: with fewer, the mean would come close to telling
one person's score (with one, it would be that score). This is k-anonymity of the published
figures only; someone who can watch the ranking before and after one person's new credential
can still learn something, so the service should not let callers set k low.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .db import CredentialRecord, Organisation, Person

MEAN_DECIMALS = 1


def organisation_ranking(session: Session, k: int) -> list[dict[str, Any]]:
    """Return ``[{"organisation", "members", "mean_score"}, …]``, highest mean first (ties by
    name), for organisations with at least ``k`` members holding a credential. ``members``
    counts those members. Raises ``ValueError`` if ``k`` < 1."""
    if k < 1:
        raise ValueError("k must be at least 1")
    credential = CredentialRecord
    latest = select(
        credential.person_id, credential.score,
        func.row_number().over(partition_by=credential.person_id,
                               order_by=(credential.iat.desc(), credential.exp.desc(),
                                         credential.cti)).label("rank"),
    ).subquery()
    members = func.count(latest.c.person_id).label("members")
    mean = func.avg(latest.c.score).label("mean")
    rows = session.execute(
        select(Organisation.name, members, mean)
        .join(Person, Person.organisation_id == Organisation.id)
        .join(latest, latest.c.person_id == Person.id)
        .where(latest.c.rank == 1)
        .group_by(Organisation.id, Organisation.name)
        .having(members >= k)
        .order_by(mean.desc(), Organisation.name))
    return [{"organisation": row.name, "members": row.members,
             "mean_score": round(float(row.mean), MEAN_DECIMALS)} for row in rows]
