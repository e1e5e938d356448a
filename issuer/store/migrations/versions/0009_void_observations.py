"""Corrections without deletion: an observation can be voided (kept, shown struck through, no
longer counted), with when, by whom and why.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_VOIDED = sa.text("voided_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("observation") as batch:
        batch.add_column(sa.Column("voided_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
    op.create_index("ix_observation_voided", "observation", ["voided_at"],
                    sqlite_where=_VOIDED, postgresql_where=_VOIDED)


def downgrade() -> None:
    op.drop_index("ix_observation_voided", table_name="observation")
    with op.batch_alter_table("observation") as batch:
        batch.drop_column("void_reason")
        batch.drop_column("voided_by")
        batch.drop_column("voided_at")
