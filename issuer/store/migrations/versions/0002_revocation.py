"""Revocation: when a credential was revoked and why (the signed revocation list holds the
unexpired ones).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.add_column(sa.Column("revoked_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("revocation_reason", sa.Text(), nullable=True))
    op.create_index(op.f("ix_credential_revoked_at_exp"), "credential", ["revoked_at", "exp"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credential_revoked_at_exp"), table_name="credential")
    with op.batch_alter_table("credential") as batch:
        batch.drop_column("revocation_reason")
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_at")
