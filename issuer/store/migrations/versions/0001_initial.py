"""Initial schema: organisations, people (encrypted fields), observations, credentials,
re-issue runs, the hash-chained audit log (append-only by trigger) and API tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The audit log refuses UPDATE and DELETE (and TRUNCATE) from anyone, the application
# included: a bug or an injected statement cannot rewrite history. Whoever owns the database
# can still drop the trigger; the hash chain (issuer/store/audit.py) is what detects that.
_APPEND_ONLY = "audit_entry is append-only"
_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER audit_entry_no_{event.lower()} BEFORE {event} ON audit_entry "
    f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
    for event in ("UPDATE", "DELETE")
]
_POSTGRESQL_TRIGGERS = [
    "CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$",
    "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    "CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("name", name=op.f("uq_organisation_name")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.String(length=14), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("name_enc", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=False),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_mac", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_person_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
        sa.UniqueConstraint("id_number_mac", name=op.f("uq_person_id_number_mac")),
    )
    op.create_index(op.f("ix_person_organisation_id"), "person", ["organisation_id"])
    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=14), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("observed_at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_observation_person_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation")),
    )
    op.create_index(op.f("ix_observation_person_id_observed_at"), "observation",
                    ["person_id", "observed_at"])
    op.create_table(
        "reissue_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("started_by", sa.Text(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("status IN ('running', 'done', 'failed')",
                           name=op.f("ck_reissue_run_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reissue_run")),
    )
    op.create_table(
        "credential",
        sa.Column("cti", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=14), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("policy_digest", sa.String(length=64), nullable=False),
        sa.Column("iat", sa.BigInteger(), nullable=False),
        sa.Column("exp", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("colour IN ('green', 'yellow', 'red')",
                           name=op.f("ck_credential_colour")),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_credential_score")),
        sa.CheckConstraint("exp > iat", name=op.f("ck_credential_lifetime")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"],
                                name=op.f("fk_credential_person_id_person")),
        sa.ForeignKeyConstraint(["run_id"], ["reissue_run.id"],
                                name=op.f("fk_credential_run_id_reissue_run")),
        sa.PrimaryKeyConstraint("cti", name=op.f("pk_credential")),
        sa.UniqueConstraint("run_id", "person_id", name=op.f("uq_credential_run_id_person_id")),
    )
    op.create_index(op.f("ix_credential_person_id_iat"), "credential", ["person_id", "iat"])
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("person_id", sa.String(length=14), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_index(op.f("ix_audit_entry_person_id"), "audit_entry", ["person_id"])
    for statement in _triggers():
        op.execute(statement)
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )


def downgrade() -> None:
    op.drop_table("api_token")
    op.drop_table("audit_entry")  # its triggers go with it
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_entry_append_only()")
    op.drop_table("credential")
    op.drop_table("reissue_run")
    op.drop_table("observation")
    op.drop_table("person")
    op.drop_table("organisation")


def _triggers() -> list[str]:
    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        return _SQLITE_TRIGGERS
    if dialect == "postgresql":
        return _POSTGRESQL_TRIGGERS
    return []
