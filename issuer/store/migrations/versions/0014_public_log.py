"""The public transparency log's leaves (issue 18): one row a leaf, its index the primary key,
the audit entry it publishes (unique), the leaf (canonical JSON) and its RFC 9162 leaf hash.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_leaf",
        sa.Column("idx", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaf")),
        sa.UniqueConstraint("seq", name=op.f("uq_log_leaf_seq")),
    )


def downgrade() -> None:
    op.drop_table("log_leaf")
