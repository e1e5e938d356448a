"""Holders' sessions kept server-side (a hash of the cookie's session id, the person, the bound
phone, when it ends) and fixed-window rate-limit counters shared by every server process.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holder_session",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(14), nullable=False),
        sa.Column("device_id", sa.String(24), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_holder_session_person_id_person")),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"],
                                name=op.f("fk_holder_session_device_id_device")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_holder_session")),
    )
    op.create_index(op.f("ix_holder_session_person_id"), "holder_session", ["person_id"])
    op.create_table(
        "rate_counter",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counter")),
    )
    op.create_index(op.f("ix_rate_counter_expires_at"), "rate_counter", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_counter_expires_at"), table_name="rate_counter")
    op.drop_table("rate_counter")
    op.drop_index(op.f("ix_holder_session_person_id"), table_name="holder_session")
    op.drop_table("holder_session")
