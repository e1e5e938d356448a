"""Each person's last recorded colour on their row (``person.colour``): a re-issue compares
with it instead of searching the person's credentials and audit entries, a search that grew
with every run (a daily re-issue adds a credential and an entry per person per day).

Left NULL here: for the people it does not know yet, the re-issue still searches their history
once, and their next credential fills it in.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("colour", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.drop_column("colour")
