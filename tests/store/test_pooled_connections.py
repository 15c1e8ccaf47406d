"""A pooled PostgreSQL connection whose server ended it is replaced before it is used.

The check is the socket's readability (``adapters.store.engine``), not a ping per
checkout: these tests end the pooled sessions' backends as a restart or a failover would,
then use the engine as a request would, and expect no error.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import POSTGRES_ADMIN_URL, own_postgres_engine


def _end_sessions(engine: Engine) -> int:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            ended = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": engine.url.database},
            ).scalar_one()
    finally:
        admin.dispose()
    time.sleep(0.2)  # the server's goodbye reaches the pooled sockets
    return int(ended)


@pytest.fixture
def pooled(engine: Engine) -> Iterator[Engine]:
    with own_postgres_engine(
        engine, pool_size=3, why="SQLite has no server to end a connection"
    ) as own:
        yield own


def test_connections_ended_by_the_server_are_replaced_at_checkout(pooled: Engine) -> None:
    held = [pooled.connect() for _ in range(3)]
    pids = {conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in held}
    for conn in held:
        conn.close()  # back to the pool, idle
    assert _end_sessions(pooled) >= 3

    held = [pooled.connect() for _ in range(3)]
    fresh = {conn.execute(text("SELECT pg_backend_pid()")).scalar_one() for conn in held}
    for conn in held:
        conn.close()
    assert not fresh & pids  # every one replaced, and no statement failed


def test_a_healthy_pooled_connection_is_reused(pooled: Engine) -> None:
    with pooled.connect() as conn:
        first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with pooled.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == first
