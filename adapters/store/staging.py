"""Loading validated records into a per-transaction staging table, as fast as the driver allows.

PostgreSQL gets binary ``COPY`` (the physical limit the ingestion benchmark compares with);
SQLite gets batched ``executemany``. The merge into ``records`` is then a few set-based
statements (``adapters.store.merge``) instead of one round trip per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final, Protocol

from sqlalchemy import Connection, text

from adapters.store.types import sqlite_datetime_text
from schema.record import FIELD_NAMES, FIELDS, Kind, Record

STAGE: Final = "soteria_stage"
_BATCH: Final = 5_000

_PG_TYPES: Final = {
    Kind.DATE: "date",
    Kind.DATETIME: "timestamptz",
    Kind.BOOLEAN: "bool",
}


def _pg_type(kind: Kind) -> str:
    return _PG_TYPES.get(kind, "text")


class StageWriter(Protocol):
    def write(self, row_number: int, record: Record) -> None: ...
    def close(self) -> None: ...


def create_stage(conn: Connection) -> None:
    """A temporary table with one column per field, the data row number and the action."""
    if conn.dialect.name == "postgresql":
        columns = ", ".join(f"{f.name} {_pg_type(f.kind)}" for f in FIELDS)
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE {STAGE} (row_number integer, {columns}, "
            "action text) ON COMMIT DROP"
        )
        # No index: PostgreSQL joins the stage to records by hashing (or by probing the
        # records primary key for a small stage), and every COPYed row would pay for one.
        return
    columns = ", ".join(f.name for f in FIELDS)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{STAGE}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {STAGE} (row_number, {columns}, action)")
    # The merge looks staged rows up by crime_ref; SQLite only joins by nested loops, so
    # without an index a large update is quadratic.
    conn.exec_driver_sql(f"CREATE INDEX {STAGE}_ref ON {STAGE} (crime_ref)")


class _PostgresStage:
    def __init__(self, conn: Connection) -> None:
        raw: Any = conn.connection.driver_connection
        self._cursor = raw.cursor()
        names = ", ".join(("row_number", *FIELD_NAMES))
        self._copy_cm = self._cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN (FORMAT BINARY)")
        self._copy = self._copy_cm.__enter__()
        self._copy.set_types(["int4", *(_pg_type(f.kind) for f in FIELDS)])

    def write(self, row_number: int, record: Record) -> None:
        self._copy.write_row((row_number, *record))

    def close(self) -> None:
        self._copy_cm.__exit__(None, None, None)
        self._cursor.close()


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return sqlite_datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_DATETIME_POSITIONS: Final = tuple(
    i for i, f in enumerate(FIELDS) if f.kind in (Kind.DATE, Kind.DATETIME)
)


class _SqliteStage:
    def __init__(self, conn: Connection) -> None:
        self._raw: Any = conn.connection.driver_connection
        marks = ", ".join("?" * (len(FIELD_NAMES) + 1))
        names = ", ".join(("row_number", *FIELD_NAMES))
        self._sql = f"INSERT INTO temp.{STAGE} ({names}) VALUES ({marks})"
        self._batch: list[tuple[object, ...]] = []

    def write(self, row_number: int, record: Record) -> None:
        row: list[object] = [row_number, *record]
        for i in _DATETIME_POSITIONS:
            value = row[i + 1]
            if value is not None:
                row[i + 1] = _sqlite_value(value)
        self._batch.append(tuple(row))
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._raw.executemany(self._sql, self._batch)
            self._batch.clear()

    def close(self) -> None:
        self._flush()


def open_stage(conn: Connection) -> StageWriter:
    create_stage(conn)
    return _writer(conn)


def _writer(conn: Connection) -> StageWriter:
    if conn.dialect.name == "postgresql":
        return _PostgresStage(conn)
    return _SqliteStage(conn)


def restage(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Replace what the stage (already created) holds with ``rows``: the next batch."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"TRUNCATE {STAGE}")
    else:
        conn.exec_driver_sql(f"DELETE FROM temp.{STAGE}")
    writer = _writer(conn)
    try:
        for number, record in rows:
            writer.write(number, record)
    finally:
        writer.close()


def stage_records(conn: Connection, rows: Iterable[tuple[int, Record]]) -> None:
    """Stage an in-memory batch (tests, small pushes)."""
    writer = open_stage(conn)
    try:
        for number, record in rows:
            writer.write(number, record)
    finally:
        writer.close()


def drop_stage(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DROP TABLE IF EXISTS temp.{STAGE}"))
