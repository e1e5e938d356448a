"""City-scale re-issue: runs walked in keyset batches by many workers, one running run at a
time, and 64-bit ids for the tables that grow by millions a day.

- ``person (created_at, id)`` index: a run's batches are ranges of it.
- ``reissue_batch``: the slices of a run, each issued in one transaction by whichever worker
  locks it first (issuer/store/batches.py).
- ``reissue_run``: the policy, validity and batch size pinned when the run opens; a partial
  unique index allows one ``running`` run (runs left running side by side by the race this
  closes are closed here as ``failed``, all but the newest).
- ``audit_entry.seq`` and ``observation.id`` become BIGINT on PostgreSQL (SQLite's are 64-bit
  already): at 12 million people a day the 32-bit ones would run out within months.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_RUNNING = sa.text("status = 'running'")
_OPEN = sa.text("done_at IS NULL")


def upgrade() -> None:
    op.create_index(op.f("ix_person_created_at_id"), "person", ["created_at", "id"])
    run = sa.table("reissue_run", sa.column("id", sa.Integer()), sa.column("status", sa.String()))
    newest = sa.select(sa.func.max(run.c.id)).where(run.c.status == "running").scalar_subquery()
    op.execute(sa.update(run).where(run.c.status == "running", run.c.id < newest)
               .values(status="failed"))
    with op.batch_alter_table("reissue_run") as batch:
        batch.add_column(sa.Column("policy_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("policy_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("ttl", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("batch_size", sa.Integer(), nullable=True))
    op.create_index("uq_reissue_run_running", "reissue_run", ["status"], unique=True,
                    sqlite_where=_RUNNING, postgresql_where=_RUNNING)
    op.create_table(
        "reissue_batch",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("first_created_at", sa.BigInteger(), nullable=False),
        sa.Column("first_person_id", sa.String(length=14), nullable=False),
        sa.Column("next_created_at", sa.BigInteger(), nullable=True),
        sa.Column("next_person_id", sa.String(length=14), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
        sa.Column("done_by", sa.Text(), nullable=True),
        sa.Column("issued", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["reissue_run.id"],
                                name=op.f("fk_reissue_batch_run_id_reissue_run")),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_reissue_batch")),
    )
    op.create_index("ix_reissue_batch_open", "reissue_batch", ["run_id", "seq"],
                    sqlite_where=_OPEN, postgresql_where=_OPEN)
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("audit_entry", "seq", type_=sa.BigInteger(), existing_nullable=False)
        op.alter_column("observation", "id", type_=sa.BigInteger(), existing_nullable=False)
        op.execute("ALTER SEQUENCE IF EXISTS observation_id_seq AS BIGINT")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER SEQUENCE IF EXISTS observation_id_seq AS INTEGER")
        op.alter_column("observation", "id", type_=sa.Integer(), existing_nullable=False)
        op.alter_column("audit_entry", "seq", type_=sa.Integer(), existing_nullable=False)
    op.drop_index("ix_reissue_batch_open", table_name="reissue_batch")
    op.drop_table("reissue_batch")
    op.drop_index("uq_reissue_run_running", table_name="reissue_run")
    with op.batch_alter_table("reissue_run") as batch:
        batch.drop_column("batch_size")
        batch.drop_column("ttl")
        batch.drop_column("policy_digest")
        batch.drop_column("policy_id")
    op.drop_index(op.f("ix_person_created_at_id"), table_name="person")
