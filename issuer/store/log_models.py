"""The public transparency log's table (:mod:`.public_log`; migration 0014)."""

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
