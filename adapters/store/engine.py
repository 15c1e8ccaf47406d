"""Creating database engines that behave the same way on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import select
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from adapters.store.staging import session_tables_sql

log = logging.getLogger(__name__)


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, a busy timeout and real BEGINs.

    pysqlite's own transaction handling does not emit BEGIN before reads and breaks
    SAVEPOINT, so it is switched off and SQLAlchemy's ``begin`` event issues BEGIN itself
    (the documented SQLAlchemy recipe).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 60})
        _configure_sqlite(engine)
        return engine
    psycopg3 = parsed.get_driver_name() == "psycopg"
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=not psycopg3,  # another driver: a SELECT 1 round trip per checkout
    )
    if psycopg3:
        event.listen(engine, "checkout", _refuse_dead_connection)
        event.listen(engine, "connect", _create_session_tables)
    return engine


def _create_session_tables(dbapi_connection: Any, _record: Any) -> None:
    """The push path's temporary tables, once per connection (``staging.session_tables_sql``).

    A connection that may not make them (a read-only standby, a role without TEMP) is
    still usable for everything but pushes, which then fail on the missing table.
    """
    cursor = dbapi_connection.cursor()
    try:
        for statement in session_tables_sql():
            cursor.execute(statement)
        dbapi_connection.commit()
    except psycopg.Error as exc:
        dbapi_connection.rollback()
        log.warning("no push staging tables on this connection: %s", exc)
    finally:
        cursor.close()


def _refuse_dead_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server has gone is replaced before anyone uses it.

    An idle connection has nothing to read: when its server ends it (a restart, a
    failover, ``pg_terminate_backend``) the server's last message or the end of the stream
    makes the socket readable. Checking that is one non-blocking ``select`` instead of
    SQLAlchemy's ``pool_pre_ping``, a ``SELECT 1`` round trip on every checkout, which cost
    8% of a busy replica's CPU (two checkouts per GraphQL request). Raising
    ``DisconnectionError`` here makes the pool discard the connection and check out or
    open another (SQLAlchemy's documented checkout-event recipe). A server that vanishes
    without a word (a dead host) is found by the first statement instead, and SQLAlchemy
    then invalidates the whole pool.
    """
    pgconn = dbapi_connection.pgconn
    try:
        alive = not dbapi_connection.closed and pgconn.status == 0  # CONNECTION_OK
        readable = alive and bool(select.select([pgconn.socket], [], [], 0)[0])
    except (OSError, ValueError, psycopg.Error):
        alive, readable = False, False
    if not alive or readable:
        raise DisconnectionError("the database closed this pooled connection")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # ``immediate_writes(engine)`` marks connections whose transactions read then write:
        # they take the write lock at BEGIN, so SQLite never has to upgrade a read snapshot
        # that another writer has made stale (which fails at once, whatever the timeout).
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def single_statement_reads(engine: Engine) -> Engine:
    """The same engine (and pool), for units of work that are one read-only statement.

    On PostgreSQL their connections run in autocommit: a single statement is its own
    consistent snapshot, and psycopg then sends no BEGIN before it nor ROLLBACK when the
    connection goes back to the pool, two round trips of three (the freshness check of
    every indicator query is such a statement). SQLite's transactions are in-process, so
    it is unchanged there.
    """
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def immediate_writes(engine: Engine) -> Engine:
    """The same engine (and pool), with SQLite transactions that lock for writing at BEGIN.

    For short read-then-write transactions (token issuance, client administration). On
    PostgreSQL it changes nothing.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(sqlite_begin="IMMEDIATE")
