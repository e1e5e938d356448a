"""Schema migrations (Alembic), run from Python: ``upgrade(engine_or_url)`` brings a database
to the newest revision. The service, ``healthcode-issuer init`` and the tests call it; no
``alembic.ini`` is needed.

A new revision, after changing the models in issuer/store/db.py::

    from alembic import command
    from issuer.store.migrations import alembic_config
    command.revision(alembic_config("sqlite:///scratch.db"), "what changed", autogenerate=True)

then review the generated file in ``issuer/store/migrations/versions/`` (autogenerate misses CHECK
constraints, triggers and renames) and run the tests, which compare models and migrated schema
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from ..engine import make_engine

SCRIPT_LOCATION = Path(__file__).resolve().parent
#: PostgreSQL advisory lock held while migrating, so two starting services do not race.
MIGRATION_LOCK_KEY = 0x6863_6D69_6772_0001  # "hcmigr" 1
# Alembic's ``context`` and ``op`` are process-wide proxies: one migration per process at a time.
_ALEMBIC = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic configuration for these migrations (``url`` for the command line)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest) in one transaction.

    Safe to call on every start: an up-to-date database is left as it is. Concurrent callers
    are serialised: threads by a lock, processes by the database (SQLite: the write lock;
    PostgreSQL: an advisory lock).
    """
    _run(engine_or_url, command.upgrade, revision)


def downgrade(engine_or_url: Engine | str, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"``: drop everything)."""
    _run(engine_or_url, command.downgrade, revision)


def current(engine_or_url: Engine | str) -> str | None:
    """Return the database's current revision id, or None for an empty database."""
    from alembic.migration import MigrationContext

    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()


def _run(engine_or_url: Engine | str, operation, revision: str) -> None:
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    try:
        with _ALEMBIC, engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            operation(config, revision)
    finally:
        if isinstance(engine_or_url, str):
            engine.dispose()
