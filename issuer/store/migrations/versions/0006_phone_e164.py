"""Phone numbers looked up in E.164: the lookup keys made from the old digits-only form are
cleared here, and the store makes them again from each stored number at its next start
(``backfill_phone_macs`` in issuer/store/people.py: it needs the data keys, which a migration
never sees). Sign-in codes asked for under an old key move to the new one there, spent.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_person = sa.table("person", sa.column("phone_mac", sa.LargeBinary()))


def upgrade() -> None:
    op.execute(sa.update(_person).values(phone_mac=None))


def downgrade() -> None:
    # The older code makes the digits-only keys again from the stored numbers at its start.
    op.execute(sa.update(_person).values(phone_mac=None))
