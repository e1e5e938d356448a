"""Erasure: each person's own data key on their row (``person.data_key``, wrapped under the
data key), the time a person was erased (``person.erased_at``), and the personal columns
nullable, since an erased person keeps only the pseudonymous row. A partial index finds the
people not given a key of their own yet (``Store.open`` gives them one and re-encrypts their
fields under it). The erasure entries are indexed like the purges: the audit check reads them
first.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_KEYLESS = sa.text("data_key IS NULL AND erased_at IS NULL")
_ERASE = sa.text("action = 'person.erase'")
_PERSONAL = ("name_enc", "id_number_enc", "phone_enc", "id_number_mac")


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("data_key", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.BigInteger(), nullable=True))
        for column in _PERSONAL:
            batch.alter_column(column, existing_type=sa.LargeBinary(), nullable=True)
    op.create_index("ix_person_keyless", "person", ["id"], sqlite_where=_KEYLESS,
                    postgresql_where=_KEYLESS)
    op.create_index("ix_audit_entry_erase", "audit_entry", ["seq"], sqlite_where=_ERASE,
                    postgresql_where=_ERASE)


def downgrade() -> None:
    # Erased people have no personal fields left to make NOT NULL again: this fails on them.
    op.drop_index("ix_audit_entry_erase", table_name="audit_entry")
    op.drop_index("ix_person_keyless", table_name="person")
    with op.batch_alter_table("person") as batch:
        for column in _PERSONAL:
            batch.alter_column(column, existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("erased_at")
        batch.drop_column("data_key")
