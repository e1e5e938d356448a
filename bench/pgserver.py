"""PostgreSQL for the benchmarks: the server to use, and a schema of one's own in it.

The server: ``$HEALTHCODE_BENCH_POSTGRES_URL`` (or ``$HEALTHCODE_TEST_POSTGRES_URL``), else a
throwaway one started with ``scripts/postgres-test-server.sh`` (durability off) when PostgreSQL
is installed, else None (the caller says it skipped).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "postgres-test-server.sh"


@contextmanager
def postgres() -> Iterator[str | None]:
    """The URL of a PostgreSQL server for the run, or None when there is none."""
    url = os.environ.get("HEALTHCODE_BENCH_POSTGRES_URL") or os.environ.get(
        "HEALTHCODE_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    folder = Path(tempfile.mkdtemp(prefix="healthcode-bench-pg."))
    folder.chmod(0o755)  # as root the server runs as postgres, and must reach pg/ in here
    try:
        started = subprocess.run(["bash", str(PG_SCRIPT), "start", str(folder / "pg")],
                                 capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired):
        started = None
    if started is None or started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        yield None
        return
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(PG_SCRIPT), "stop", str(folder / "pg")],
                       capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def own_schema(url: str | None) -> Iterator[str | None]:
    """A URL whose tables live in a new schema of their own (dropped afterwards), so the
    bench starts from an empty store on a database that may hold other data; None for None."""
    if url is None:
        yield None
        return
    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield (make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
               .render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
