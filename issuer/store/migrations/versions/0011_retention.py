"""Retention: what the purge reads, by index. Observations by ``(kind, observed_at)`` (the
purge deletes each kind's past its cutoff), and the few ``retention.purge`` audit entries (the
audit check reads them before the rest, to tell a purged row from a deleted one).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_PURGE = sa.text("action = 'retention.purge'")


def upgrade() -> None:
    op.create_index(op.f("ix_observation_kind_observed_at"), "observation",
                    ["kind", "observed_at"])
    op.create_index("ix_audit_entry_purge", "audit_entry", ["seq"], sqlite_where=_PURGE,
                    postgresql_where=_PURGE)


def downgrade() -> None:
    op.drop_index("ix_audit_entry_purge", table_name="audit_entry")
    op.drop_index(op.f("ix_observation_kind_observed_at"), table_name="observation")
