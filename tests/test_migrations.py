"""Migrations: they build exactly the schema the models describe, on SQLite and PostgreSQL."""

import os
import stat
import subprocess
import sys
import threading
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from issuer.keys.home import Home
from issuer.store.db import Base
from issuer.store.engine import DATABASE_URL_ENV, database_url, make_engine
from issuer.store.migrations import SCRIPT_LOCATION, alembic_config, current, downgrade, upgrade

ROOT = Path(__file__).resolve().parents[1]
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def schema_diff(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_migrated_schema_matches_the_models(engine):
    upgrade(engine)
    assert schema_diff(engine) == []
    assert current(engine) == HEAD


def test_upgrade_twice_changes_nothing(engine):
    upgrade(engine)
    upgrade(engine)
    assert current(engine) == HEAD
    assert schema_diff(engine) == []


def test_downgrade_to_base_then_upgrade_again(engine):
    upgrade(engine)
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    assert current(engine) is None
    upgrade(engine)
    assert schema_diff(engine) == []


def test_upgrade_accepts_a_url(db_url):
    upgrade(db_url)
    assert current(db_url) == HEAD


_UPGRADE_WHEN_TOLD = """
import sys, time
from pathlib import Path
from issuer.store.migrations import upgrade
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.005)
upgrade(sys.argv[1])
"""


def test_concurrent_upgrades_of_an_empty_database(engine, db_url, tmp_path):
    """Two services starting at once: one migrates, the other waits and finds it done."""
    go = tmp_path / "go"
    processes = [subprocess.Popen([sys.executable, "-c", _UPGRADE_WHEN_TOLD, db_url, str(go)],
                                  cwd=ROOT, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    time.sleep(0.5)  # both have imported and are polling
    go.touch()
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr
    assert current(engine) == HEAD
    assert schema_diff(engine) == []


def test_threads_may_upgrade_at_once(engine):
    """Alembic's proxies are process-wide; upgrade() serialises threads itself."""
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert current(engine) == HEAD


def test_sqlite_pragmas_and_file_mode(tmp_path):
    path = tmp_path / "issuer.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_database_url_default_and_environment(tmp_path, monkeypatch):
    home = Home(tmp_path)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    assert database_url(home) == f"sqlite:///{tmp_path / 'issuer.db'}"
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql+psycopg://u:p@127.0.0.1/x")
    assert database_url(home) == "postgresql+psycopg://u:p@127.0.0.1/x"
    assert database_url(home, "sqlite:///other.db") == "sqlite:///other.db"


def test_migration_files_are_package_data():
    """A wheel must carry every migration file that is not itself a module of a package."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["issuer"]
    issuer = ROOT / "issuer"
    data = [path for path in SCRIPT_LOCATION.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
            and not (path.suffix == ".py" and (path.parent / "__init__.py").exists())]
    assert {p.name for p in data} >= {"script.py.mako", "0001_initial.py"}
    for path in data:
        relative = path.relative_to(issuer).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in patterns), relative


def _connect_at_once(url: str, connections: int) -> list[BaseException]:
    engines = [make_engine(url) for _ in range(connections)]
    barrier = threading.Barrier(connections)
    errors: list[BaseException] = []

    def connect(engine) -> None:
        barrier.wait()
        try:
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        except BaseException as exc:  # noqa: BLE001 (returned to the test)
            errors.append(exc)

    threads = [threading.Thread(target=connect, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    return errors


def test_new_sqlite_file_opened_by_many_at_once(tmp_path):
    """Switching a new file to WAL races; SQLite then answers SQLITE_BUSY without waiting."""
    for trial in range(40):
        assert _connect_at_once(f"sqlite:///{tmp_path / f'{trial}.db'}", 6) == []


def test_0007_leaves_one_running_run_and_makes_room_for_a_city(engine):
    """Runs left running side by side by the old race (each operator opened one) are closed
    as failed but the newest, so the one-running-run index can be built; audit entries and
    observations then number past 2^31 (PostgreSQL's INTEGER would refuse, within months at
    12 million people a day)."""
    upgrade(engine, "0006")
    with engine.begin() as connection:
        for started in (1, 2, 3):
            connection.execute(text("INSERT INTO reissue_run (started_at, started_by, status) "
                                    "VALUES (:at, 'ops', 'running')"), {"at": started})
    upgrade(engine)
    with engine.begin() as connection:
        statuses = connection.execute(text("SELECT id, status FROM reissue_run ORDER BY id"))
        assert [status for _, status in statuses] == ["failed", "failed", "running"]
        big = 2**31 + 7
        connection.execute(text(
            "INSERT INTO audit_entry (seq, at, actor, action, reason, details_json, prev_hash, "
            "hash) VALUES (:seq, 0, 'a', 'x', 'r', '{}', 'p', 'h')"), {"seq": big})
        assert connection.scalar(text("SELECT max(seq) FROM audit_entry")) == big
