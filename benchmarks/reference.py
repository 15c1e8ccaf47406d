"""The physical limits the ingestion figures are divided by.

PostgreSQL: a binary ``COPY`` of the same, already-validated rows into ``copy_ref``, a table
made ``LIKE records INCLUDING ALL`` (the same columns, primary key and indexes; ``LIKE`` does
not copy foreign keys). The COPY stream is prepared once, untimed (validated by the real
validator, loaded and dumped by PostgreSQL itself), so the timed run is the database taking
the rows and committing them, with nothing of ours in the way.

SQLite: a raw ``sqlite3`` ``executemany`` of the same rows, already converted to the values
the store writes, into a table with the records table's columns and indexes, committed.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine

from adapters.checking import checked_rows
from adapters.formats.registry import get_format
from adapters.store.types import sqlite_datetime_text
from benchmarks import dataset
from schema.record import FIELD_NAMES, FIELDS, Kind, Record

TABLE: Final = "copy_ref"
COLUMNS: Final = ("force_code", *FIELD_NAMES, "version", "submission_id", "valid_from")
_PG_TYPES: Final = {Kind.DATE: "date", Kind.DATETIME: "timestamptz", Kind.BOOLEAN: "bool"}
_COPY_CHUNK: Final = 1024 * 1024


def validated(path: Path, today: dt.date) -> Iterator[Record]:
    """The records of a CSV body, through the real parser and validator; no issue allowed."""
    for number, record, issues in checked_rows(
        get_format("standard-csv").parse(dataset.chunks(path)), today
    ):
        if record is None or issues:
            raise RuntimeError(f"row {number} of {path.name} is not clean: {issues[:3]}")
        yield record


def _raw(engine: Engine) -> Any:
    return engine.raw_connection()


def _index_count(cursor: Any, table: str) -> int:
    cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", (table,))
    return int(cursor.fetchone()[0])


def create_postgres(engine: Engine) -> None:
    """``copy_ref``, checked to carry as many indexes as ``records``."""
    conn = _raw(engine)
    try:
        cursor = conn.cursor()
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cursor.execute(f"CREATE TABLE {TABLE} (LIKE records INCLUDING ALL)")
        if _index_count(cursor, TABLE) != _index_count(cursor, "records"):
            raise RuntimeError("copy_ref does not have the indexes of records")
        conn.commit()
    finally:
        conn.close()


def prepare_postgres(
    engine: Engine, csv_path: Path, out: Path, *, force: str, today: dt.date
) -> Path:
    """Validate ``csv_path`` and write the binary COPY stream of its rows to ``out``."""
    types = ["text", *(_PG_TYPES.get(f.kind, "text") for f in FIELDS), "int4", "text"]
    types.append("timestamptz")
    tail = (1, str(uuid.uuid4()), dataset.at(today))
    names = ", ".join(COLUMNS)
    conn = _raw(engine)
    try:
        driver = conn.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")
            with cursor.copy(f"COPY {TABLE} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for record in validated(csv_path, today):
                    copy.write_row((force, *record, *tail))
            with (
                out.open("wb") as sink,
                cursor.copy(f"COPY {TABLE} ({names}) TO STDOUT (FORMAT BINARY)") as copy,
            ):
                for block in copy:
                    sink.write(block)
            cursor.execute(f"TRUNCATE {TABLE}")
        driver.commit()
    finally:
        conn.close()
    return out


def copy_postgres(engine: Engine, stream: Path) -> float:
    """Seconds to COPY the prepared stream into the emptied ``copy_ref`` and commit."""
    names = ", ".join(COLUMNS)
    conn = _raw(engine)
    try:
        driver = conn.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLE}")
            driver.commit()
            start = time.perf_counter()
            with (
                stream.open("rb") as source,
                cursor.copy(f"COPY {TABLE} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
            ):
                while block := source.read(_COPY_CHUNK):
                    copy.write(block)
            driver.commit()
            return time.perf_counter() - start
    finally:
        conn.close()


def _sqlite_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return sqlite_datetime_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def sqlite_rows(csv_path: Path, *, force: str, today: dt.date) -> list[tuple[object, ...]]:
    """The rows as the store writes them on SQLite (dates as ISO text, UTC text stamps)."""
    tail = (1, str(uuid.uuid4()), sqlite_datetime_text(dataset.at(today)))
    return [
        (force, *(_sqlite_value(v) for v in record), *tail) for record in validated(csv_path, today)
    ]


def create_sqlite(db_path: Path) -> None:
    """``copy_ref`` from the records table's own DDL, renamed, without the foreign key."""
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        statements = conn.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'records' AND sql IS NOT NULL "
            "ORDER BY type DESC"
        ).fetchall()
        for kind, sql in statements:
            renamed = re.sub(r"\brecords\b", TABLE, sql)
            renamed = re.sub(r"\b(ix|pk)_records_", r"\1_copy_ref_", renamed)
            if kind == "table":
                renamed = re.sub(r",\s*CONSTRAINT \w+ FOREIGN KEY[^)]*\)[^,)]*\)", "", renamed)
            conn.execute(renamed)
        wanted = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'records' AND type = 'index'"
        ).fetchone()[0]
        got = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE tbl_name = ? AND type = 'index'", (TABLE,)
        ).fetchone()[0]
        if wanted != got:
            raise RuntimeError("copy_ref does not have the indexes of records")


def executemany_sqlite(db_path: Path, rows: list[tuple[object, ...]]) -> float:
    """Seconds to insert ``rows`` into the emptied ``copy_ref`` in one transaction."""
    marks = ", ".join("?" * len(COLUMNS))
    sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})"
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        # The store's settings (adapters.store.engine): WAL, synchronous=NORMAL.
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"DELETE FROM {TABLE}")
        start = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        conn.close()
