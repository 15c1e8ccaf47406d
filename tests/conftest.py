"""Shared fixtures: one migrated database per test run, SQLite or PostgreSQL.

``make test`` runs the whole suite twice: ``SOTERIA_TEST_DATABASE=sqlite`` and
``SOTERIA_TEST_DATABASE=postgresql`` (a database of its own on 127.0.0.1:5432, created
and dropped here). Tables are built by the Alembic migrations, never by ``create_all``;
each test that asks for ``engine`` starts from empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from adapters.store.engine import make_engine
from gateway import database
from gateway.audit import GENESIS_HASH

DATABASE_KIND = os.environ.get("SOTERIA_TEST_DATABASE", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get(
    "SOTERIA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Reference tables the migrations seed; everything else is emptied between tests.
_KEEP = {"alembic_version", "forces"}
# The one row migration 0004 seeds into a table that is emptied: put back after emptying.
_RESEED_AUDIT_HEAD = "INSERT INTO audit_chain_head (id, seq, head_hash) VALUES (1, 0, :genesis)"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if DATABASE_KIND == "postgresql":
        with database.throwaway_postgres_database(POSTGRES_ADMIN_URL, "soteria_test") as url:
            yield url
    else:
        path: Path = tmp_path_factory.mktemp("db") / "soteria.db"
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    database.upgrade(engine)
    yield engine
    engine.dispose()


@contextmanager
def triggers_suspended(conn: Connection) -> Iterator[None]:
    """Test harness only: the database's triggers are off inside the current transaction.

    The audit tables are append-only through triggers (migration 0004). Emptying them
    between tests, and simulating tampering in ``tests/audit``, takes the powers of a
    database superuser, and nothing less; the application has no switch of its own:

    * PostgreSQL: ``SET LOCAL session_replication_role = replica`` (superuser only; the
      tests connect as ``postgres``), reset before the block ends;
    * SQLite: the triggers are dropped and re-created from sqlite_master's own text before
      the transaction commits (SQLite DDL is transactional, so no other connection ever
      sees the table unguarded).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield
        conn.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")
        return
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    ).all()
    for name, _sql in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in triggers:
        conn.exec_driver_sql(sql)


@pytest.fixture
def suspend_triggers() -> Callable[[Connection], AbstractContextManager[None]]:
    """``with suspend_triggers(conn): ...`` -- see ``triggers_suspended``."""
    return triggers_suspended


def empty_tables(engine: Engine) -> None:
    tables = [
        t.name
        for metadata in database.all_metadata()
        for t in reversed(metadata.sorted_tables)
        if t.name not in _KEEP
    ]
    with engine.begin() as conn, triggers_suspended(conn):
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
        conn.execute(text(_RESEED_AUDIT_HEAD), {"genesis": GENESIS_HASH})
        conn.execute(text("UPDATE forces SET data_version = 0, last_submission_at = NULL"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    empty_tables(migrated_engine)
    return migrated_engine


@contextmanager
def own_postgres_engine(engine: Engine, *, pool_size: int, why: str) -> Iterator[Engine]:
    """A second engine (and pool) on ``engine``'s PostgreSQL database; skips on SQLite."""
    if engine.dialect.name != "postgresql":
        pytest.skip(why)
    own = make_engine(engine.url.render_as_string(hide_password=False), pool_size=pool_size)
    try:
        yield own
    finally:
        own.dispose()
