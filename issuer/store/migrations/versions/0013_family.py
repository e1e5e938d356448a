"""Family codes: a guardian's phone shows live codes of dependants (issue 17). One row a link
between two people, kept when it ends (who ended it, when, why).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "family_link",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("guardian_id", sa.String(length=14), nullable=False),
        sa.Column("dependant_id", sa.String(length=14), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.CheckConstraint("guardian_id <> dependant_id", name=op.f("ck_family_link_not_self")),
        sa.ForeignKeyConstraint(["guardian_id"], ["person.id"],
                                name=op.f("fk_family_link_guardian_id_person")),
        sa.ForeignKeyConstraint(["dependant_id"], ["person.id"],
                                name=op.f("fk_family_link_dependant_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_link")),
    )
    op.create_index(op.f("ix_family_link_guardian_id"), "family_link", ["guardian_id"])
    op.create_index(op.f("ix_family_link_dependant_id"), "family_link", ["dependant_id"])
    op.create_index("uq_family_link_live", "family_link", ["guardian_id", "dependant_id"],
                    unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE)


def downgrade() -> None:
    op.drop_index("uq_family_link_live", table_name="family_link")
    op.drop_index(op.f("ix_family_link_dependant_id"), table_name="family_link")
    op.drop_index(op.f("ix_family_link_guardian_id"), table_name="family_link")
    op.drop_table("family_link")
