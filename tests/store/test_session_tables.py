"""PostgreSQL: the push path's temporary tables live as long as the connection, and every
transaction starts with them empty (``adapters.store.staging.session_tables_sql``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from adapters.store.engine import make_engine
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


def test_a_connection_that_may_not_make_them_still_reads(engine: Engine) -> None:
    """A read-only session (a standby, say) cannot make temporary tables: it still connects
    and reads; only a push would fail there."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite makes its tables in each push")
    url = engine.url.update_query_dict({"options": "-c default_transaction_read_only=on"})
    read_only = make_engine(url.render_as_string(hide_password=False))
    try:
        with read_only.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM forces")).scalar_one() >= 0
            assert (
                conn.execute(text("SELECT to_regclass('pg_temp.soteria_stage')")).scalar() is None
            )
    finally:
        read_only.dispose()
