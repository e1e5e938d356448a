"""Holders: phones bound to people (device keys), one-time enrolment links, one-time sign-in
codes, a lookup key for phone numbers, and which device or card a credential was issued for.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("id", sa.String(24), nullable=False),
        sa.Column("person_id", sa.String(14), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.Column("revocation_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_device_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    op.create_index(op.f("ix_device_person_id"), "device", ["person_id"])
    op.create_table(
        "enrolment",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(14), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_enrolment_person_id_person")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_enrolment")),
    )
    op.create_table(
        "otp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_mac", sa.LargeBinary(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp")),
    )
    op.create_index(op.f("ix_otp_phone_mac"), "otp", ["phone_mac"])
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("phone_mac", sa.LargeBinary(), nullable=True))
        batch.create_index(batch.f("ix_person_phone_mac"), ["phone_mac"])
    with op.batch_alter_table("credential") as batch:
        batch.add_column(sa.Column("device_id", sa.String(24), nullable=True))
        batch.add_column(sa.Column("purpose", sa.String(8), nullable=True))
        batch.create_foreign_key(batch.f("fk_credential_device_id_device"), "device",
                                 ["device_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("credential") as batch:
        batch.drop_constraint(batch.f("fk_credential_device_id_device"), type_="foreignkey")
        batch.drop_column("purpose")
        batch.drop_column("device_id")
    with op.batch_alter_table("person") as batch:
        batch.drop_index(batch.f("ix_person_phone_mac"))
        batch.drop_column("phone_mac")
    op.drop_index(op.f("ix_otp_phone_mac"), table_name="otp")
    op.drop_table("otp")
    op.drop_table("enrolment")
    op.drop_index(op.f("ix_device_person_id"), table_name="device")
    op.drop_table("device")
