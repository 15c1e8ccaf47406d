"""PostgreSQL: the push path's temporary tables live as long as the connection, and every
transaction starts with them empty (``adapters.store.staging.session_tables_sql``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from adapters.store.staging import STAGE, TOUCHED
from tests.conftest import own_postgres_engine
from tests.indicators.indicator_testkit import FIRST_ARRIVAL, Rec, Submission, push, reset


@pytest.fixture
def one_connection(engine: Engine) -> Iterator[Engine]:
    with own_postgres_engine(
        engine, pool_size=1, why="SQLite makes its tables in each push"
    ) as own:
        yield own


def _held(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        stage = conn.execute(text(f"SELECT count(*) FROM {STAGE}")).scalar_one()
        touched = conn.execute(text(f"SELECT count(*) FROM {TOUCHED}")).scalar_one()
    return int(pid), int(stage), int(touched)


def test_pushes_on_one_connection_start_from_empty_tables(one_connection: Engine) -> None:
    reset(one_connection)
    pid, *_ = _held(one_connection)
    suspects = [Rec(f"c{i}", "19C", dt.date(2024, 5, 2), suspect_ref=f"s{i}") for i in range(30)]
    push(one_connection, Submission("kent", FIRST_ARRIVAL, tuple(suspects)))
    assert _held(one_connection) == (pid, 0, 0)  # the same connection, emptied at commit

    with one_connection.connect() as conn:  # a push's transaction that fails after staging
        conn.execute(text(f"INSERT INTO {STAGE} (row_number, crime_ref) VALUES (1, 'x')"))
        conn.execute(text(f"INSERT INTO {TOUCHED} (suspect_ref) VALUES ('s0')"))
        conn.rollback()
    assert _held(one_connection) == (pid, 0, 0)

    later = FIRST_ARRIVAL + dt.timedelta(days=1)
    push(one_connection, Submission("kent", later, (Rec("c1", "19C", dt.date(2024, 5, 3)),)))
    with one_connection.connect() as conn:
        stored = conn.execute(
            text("SELECT recorded_date FROM records WHERE force_code = 'kent' AND crime_ref = 'c1'")
        ).scalar_one()
    assert stored == dt.date(2024, 5, 3)
    assert _held(one_connection) == (pid, 0, 0)
