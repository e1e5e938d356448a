"""The public transparency log's tables: leaves (:mod:`.public_log`; migration 0014) and published
checkpoints (:mod:`issuer.service.publiclog`; 0015)."""

from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column

from .dbbase import BIG_ID, Base


class LogLeaf(Base):
    """One leaf of the public log: its index, the audit entry it publishes, the leaf itself
    (canonical JSON, no personal data) and its RFC 9162 leaf hash."""

    __tablename__ = "log_leaf"

    idx: Mapped[int] = mapped_column(BIG_ID, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    data: Mapped[str] = mapped_column(Text)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogCheckpoint(Base):
    """A checkpoint the log published: its size, the signed note (with the witnesses'
    cosignatures collected since) and when (migration 0015)."""

    __tablename__ = "log_checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[int] = mapped_column(BigInteger)
