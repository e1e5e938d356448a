"""The issuer's database: SQLAlchemy models (the storage exceptions: issuer/store/errors.py; the
engine, and how it runs SQLite: issuer/store/engine.py).

Personal data lives here, encrypted field by field (issuer/store/pii.py); a person is known
elsewhere only by a random pseudonymous id. Times are integer epoch seconds (BIGINT: no 2038
overflow). The schema is made only by the Alembic migrations in ``issuer/store/migrations``;
``tests/test_migrations.py`` checks that the two agree.

"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from .dbbase import APPEAL_STATES as APPEAL_STATES
from .dbbase import BIG_ID as BIG_ID
from .dbbase import COLOURS as COLOURS
from .dbbase import NAMING_CONVENTION as NAMING_CONVENTION
from .dbbase import PERSON_ID_LENGTH as PERSON_ID_LENGTH
from .dbbase import RUN_STATUSES as RUN_STATUSES
from .dbbase import SHA256_HEX as SHA256_HEX
from .dbbase import Base as Base

# The storage exceptions, from where they were always imported.
from .errors import Conflict as Conflict
from .errors import Erased as Erased
from .errors import NotFound as NotFound
from .errors import StoreError as StoreError


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class Person(Base):
    """A person. Name, id number and phone are AES-GCM ciphertexts bound to column and id,
    under the person's own key (``data_key``). An erased person keeps only the pseudonymous
    row: id, organisation, enrolment time and ``erased_at`` (migration 0012)."""

    __tablename__ = "person"
    __table_args__ = (
        #: Enrolment order, the order a re-issue run walks (keyset pages over this index).
        Index(None, "created_at", "id"),
        #: The few people still without a key of their own (from before 0012), found at once.
        Index("ix_person_keyless", "id",
              sqlite_where=sql_text("data_key IS NULL AND erased_at IS NULL"),
              postgresql_where=sql_text("data_key IS NULL AND erased_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Keyed HMAC-SHA256 of the normalised id number: find a person without decrypting anyone.
    id_number_mac: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: Keyed HMAC-SHA256 of the normalised phone number, for sign-in by one-time code. Not
    #: unique: a family may share one phone.
    phone_mac: Mapped[bytes | None] = mapped_column(LargeBinary, index=True)
    #: The colour last recorded (newest credential or logged colour change): what a re-issue
    #: compares with, not reading the person's history. NULL: not known yet (migration 0008).
    colour: Mapped[str | None] = mapped_column(String(8))
    #: The person's own data key, wrapped under the data key (:mod:`.pii`); NULL: erased, or
    #: enrolled before 0012 and not given one yet (``Store.open`` does).
    data_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: When the person was erased (:mod:`.erasure`); NULL: not erased.
    erased_at: Mapped[int | None] = mapped_column(BigInteger)


class Observation(Base):
    """One input to the scoring policy: a test result, contact, symptom, travel, …"""

    __tablename__ = "observation"
    __table_args__ = (Index(None, "person_id", "observed_at"),
                      Index(None, "kind", "observed_at"),  # the purge, kind by kind (0011)
                      # The few voided ones, for the audit check of voids since a checkpoint.
                      Index("ix_observation_voided", "voided_at",
                            sqlite_where=sql_text("voided_at IS NOT NULL"),
                            postgresql_where=sql_text("voided_at IS NOT NULL")))

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(32))
    value_json: Mapped[str] = mapped_column(Text)
    observed_at: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[int] = mapped_column(BigInteger)
    recorded_by: Mapped[str] = mapped_column(Text)
    #: Voided (a correction, an upheld appeal): kept and shown, no longer counted; when, by
    #: whom and why, as its ``observation.void`` entry says (migration 0009).
    voided_at: Mapped[int | None] = mapped_column(BigInteger)
    voided_by: Mapped[str | None] = mapped_column(Text)
    void_reason: Mapped[str | None] = mapped_column(Text)


class Appeal(Base):
    """A holder contesting one observation, or their colour as a whole (``observation_id``
    NULL), and the reviewer's decision (migration 0010). The holder's words, the attachment and
    the reviewer's written reason are personal: AES-GCM ciphertexts bound to column and appeal
    id, like a person's fields."""

    __tablename__ = "appeal"
    __table_args__ = (
        CheckConstraint(f"state IN {APPEAL_STATES!r}", name="state"),
        Index(None, "state", "created_at"),  # the queue, oldest first
    )

    id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH), primary_key=True)  # "a-" + 12
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    observation_id: Mapped[int | None] = mapped_column(BIG_ID, ForeignKey("observation.id"))
    reason_enc: Mapped[bytes] = mapped_column(LargeBinary)
    attachment_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    attachment_type: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: The review deadline the policy set (NULL: none).
    due_at: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(8))
    decided_at: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decision_enc: Mapped[bytes | None] = mapped_column(LargeBinary)


class ReissueRun(Base):
    """A re-issue of everyone, walked in slices (:class:`ReissueBatch`) by any workers."""

    __tablename__ = "reissue_run"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status"),
        # At most one running run: two operators starting at once get the same run.
        Index("uq_reissue_run_running", "status", unique=True,
              sqlite_where=sql_text("status = 'running'"),
              postgresql_where=sql_text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[int] = mapped_column(BigInteger)
    started_by: Mapped[str] = mapped_column(Text)
    finished_at: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    # Pinned when the run opens, so every worker issues alike (NULL: opened before 0007).
    policy_id: Mapped[str | None] = mapped_column(Text)
    policy_digest: Mapped[str | None] = mapped_column(String(SHA256_HEX))  # hex
    ttl: Mapped[int | None] = mapped_column(Integer)
    batch_size: Mapped[int | None] = mapped_column(Integer)


class ReissueBatch(Base):
    """One slice of a run: people from ``first`` (inclusive) to ``next`` (exclusive; NULL: to
    the end) in (created_at, id) order; locked, issued and marked done in one transaction."""

    __tablename__ = "reissue_batch"
    __table_args__ = (Index("ix_reissue_batch_open", "run_id", "seq",  # a run's open slices
                            sqlite_where=sql_text("done_at IS NULL"),
                            postgresql_where=sql_text("done_at IS NULL")),)

    run_id: Mapped[int] = mapped_column(ForeignKey("reissue_run.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first_created_at: Mapped[int] = mapped_column(BigInteger)
    first_person_id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH))
    next_created_at: Mapped[int | None] = mapped_column(BigInteger)
    next_person_id: Mapped[str | None] = mapped_column(String(PERSON_ID_LENGTH))
    size: Mapped[int] = mapped_column(Integer)  # people in it when planned
    done_at: Mapped[int | None] = mapped_column(BigInteger)
    done_by: Mapped[str | None] = mapped_column(Text)  # host:pid
    issued: Mapped[int | None] = mapped_column(Integer)


class CredentialRecord(Base):
    """An issued credential: what was signed, for whom, under which policy, by whom."""

    __tablename__ = "credential"
    __table_args__ = (
        # One credential per person per re-issue run (NULL run ids, manual issues, are distinct).
        UniqueConstraint("run_id", "person_id"),
        Index(None, "person_id", "iat"),
        Index(None, "revoked_at", "exp"),
        CheckConstraint(f"colour IN {COLOURS!r}", name="colour"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        CheckConstraint("exp > iat", name="lifetime"),
    )

    cti: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    colour: Mapped[str] = mapped_column(String(8))
    score: Mapped[int] = mapped_column(Integer)
    policy_id: Mapped[str] = mapped_column(Text)
    policy_digest: Mapped[str] = mapped_column(String(SHA256_HEX))  # hex
    iat: Mapped[int] = mapped_column(BigInteger)
    exp: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)  # the QR text: nothing personal in it
    issued_by: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("reissue_run.id"))
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    #: The phone whose key the credential's ``cnf`` names (a live code), if any.
    device_id: Mapped[str | None] = mapped_column(ForeignKey("device.id"))
    #: ``live`` (bound to a phone), ``card`` (printed), or NULL (issued through the API/CLI).
    purpose: Mapped[str | None] = mapped_column(String(8))


class Device(Base):
    """A holder's phone: the public half of its non-extractable key (SEC1, compressed)."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revocation_reason: Mapped[str | None] = mapped_column(Text)


class FamilyLink(Base):
    """A guardian's phone may show a dependant's live codes (migration 0013): made by staff
    or by the dependant's enrolment letter, ended by staff or the guardian (which revokes the
    dependant's codes bound to the guardian's phones). A person is never their own guardian,
    and a pair has at most one live link."""

    __tablename__ = "family_link"
    __table_args__ = (
        CheckConstraint("guardian_id <> dependant_id", name="not_self"),
        Index("uq_family_link_live", "guardian_id", "dependant_id", unique=True,
              sqlite_where=sql_text("revoked_at IS NULL"),
              postgresql_where=sql_text("revoked_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(PERSON_ID_LENGTH), primary_key=True)  # "f-" + 12
    guardian_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    dependant_id: Mapped[str] = mapped_column(ForeignKey("person.id"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    #: A staff token's id, or ``holder`` (the guardian redeemed the dependant's letter).
    created_by: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    revoked_by: Mapped[str | None] = mapped_column(Text)
    revocation_reason: Mapped[str | None] = mapped_column(Text)


class Enrolment(Base):
    """A one-time enrolment link; only a SHA-256 of its token is kept."""

    __tablename__ = "enrolment"

    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX), primary_key=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(Text)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class OneTimeCode(Base):
    """A sign-in code sent to a phone number; only keyed hashes of both are kept."""

    __tablename__ = "otp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_mac: Mapped[bytes] = mapped_column(LargeBinary, index=True)
    code_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(BigInteger)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit log (issuer/store/audit.py).

    ``person_id`` is deliberately not a foreign key: the log must outlive erasure of the data
    it speaks about. ``seq`` is assigned by :func:`issuer.store.audit.append` (gapless), not by a
    database sequence, which would leave gaps on rollback that look like deleted entries.
    """

    __tablename__ = "audit_entry"
    #: The purge entries (few), which the audit check reads first (migration 0011), and the
    #: erasures (fewer; 0012).
    __table_args__ = (Index("ix_audit_entry_purge", "seq",
                            sqlite_where=sql_text("action = 'retention.purge'"),
                            postgresql_where=sql_text("action = 'retention.purge'")),
                      Index("ix_audit_entry_erase", "seq",
                            sqlite_where=sql_text("action = 'person.erase'"),
                            postgresql_where=sql_text("action = 'person.erase'")))

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(Text)
    person_id: Mapped[str | None] = mapped_column(String(PERSON_ID_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    details_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    hash: Mapped[str] = mapped_column(String(SHA256_HEX))


class ApiToken(Base):
    """A bearer token for the authority API; only a SHA-256 of its secret is kept."""

    __tablename__ = "api_token"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(SHA256_HEX))
    scopes: Mapped[str] = mapped_column(Text)  # space-separated, as granted
    label: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger)
    #: Refused from this time on (None: never); migration 0005.
    expires_at: Mapped[int | None] = mapped_column(BigInteger)


from .log_models import LogCheckpoint as LogCheckpoint  # noqa: E402  (on Base, as the rest)
from .log_models import LogLeaf as LogLeaf  # noqa: E402
