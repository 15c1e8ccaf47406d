"""Fixtures for the auth tests: real databases (SQLite and PostgreSQL), clock, harness.

Storage-touching tests take the ``session_factory`` (or ``auth_engine``) fixture, which is
parametrised over both databases. It is independent of the root conftest's migrated
``engine``: these tests build the auth tables with ``create_all`` on their own.
``SOTERIA_TEST_DATABASE=sqlite|postgresql`` (as the Makefile sets it) restricts the run
to one. PostgreSQL tests run in a schema created for this session and
dropped at the end, so they never meet other packages' tables on the shared database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from auth.models import metadata
from tests.auth.auth_testkit import FakeClock, Harness, TokenForge, make_harness

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _backends() -> list[Any]:
    chosen = os.environ.get("SOTERIA_TEST_DATABASE")
    backends = []
    if chosen in (None, "", "sqlite"):
        backends.append(pytest.param("sqlite", id="sqlite"))
    if chosen in (None, "", "postgresql"):
        backends.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return backends


def _sqlite_engine(path: Path) -> Engine:
    engine = create_engine(
        f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@pytest.fixture(scope="session", params=_backends())
def auth_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = _sqlite_engine(tmp_path_factory.mktemp("auth-db") / "auth.sqlite")
        metadata.create_all(engine)
        yield engine
        engine.dispose()
        return
    url = os.environ.get("SOTERIA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    schema = f"auth_test_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("SOTERIA_TEST_DATABASE") == "postgresql":
            raise
        pytest.skip(f"PostgreSQL is not reachable at {url}: {type(exc).__name__}")
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def session_factory(auth_engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker on empty auth tables; every row is deleted after the test."""
    yield sessionmaker(auth_engine, expire_on_commit=False)
    with auth_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def harness(session_factory: sessionmaker[Session], clock: FakeClock) -> Iterator[Harness]:
    built = make_harness(session_factory, clock=clock)
    yield built
    built.http.close()


@pytest.fixture
def forge(harness: Harness) -> TokenForge:
    return TokenForge(harness)
