"""Appeals: a holder contests a record or their colour; a reviewer upholds or rejects it in
writing, by a deadline the policy sets.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "appeal",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("person_id", sa.String(length=14), nullable=False),
        sa.Column("observation_id", _BIG_ID, nullable=True),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=False),
        sa.Column("attachment_enc", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_type", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decision_enc", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'upheld', 'rejected')",
                           name=op.f("ck_appeal_state")),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"],
                                name=op.f("fk_appeal_observation_id_observation")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_appeal_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal")),
    )
    op.create_index(op.f("ix_appeal_person_id"), "appeal", ["person_id"])
    op.create_index(op.f("ix_appeal_state_created_at"), "appeal", ["state", "created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_appeal_state_created_at"), table_name="appeal")
    op.drop_index(op.f("ix_appeal_person_id"), table_name="appeal")
    op.drop_table("appeal")
