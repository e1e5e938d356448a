"""What every table of the issuer's database is declared on: the declarative ``Base`` with its
constraint naming convention, and the column sizes and value sets the models share
(re-exported by :mod:`.db`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

PERSON_ID_LENGTH = 14  # "p-" + token_urlsafe(9): 72 random bits
SHA256_HEX = 64
COLOURS = ("green", "yellow", "red")  # verifier.labels.Colour values
RUN_STATUSES = ("running", "done", "failed")
APPEAL_STATES = ("open", "upheld", "rejected")
#: Ids of tables growing by millions a day: 64-bit on PostgreSQL (2^31 runs out in months);
#: SQLite's INTEGER PRIMARY KEY is 64-bit already (and must stay INTEGER: the rowid).
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


# Deterministic constraint names: the same on SQLite and PostgreSQL, so later migrations can
# name what they alter (SQLite's batch mode needs names to find constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
