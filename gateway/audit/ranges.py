"""Checking one range of the chain, in the verifying process or in a worker process.

Why ranges: verification is CPU-bound Python (fetching and hashing each event), so a
long trail verifies faster when split by ``seq`` across processes. A range is anchored on
the *stored* hash of the event just before it (which the previous range checks), reads
one event past its end as look-ahead, and reports its first break. The earliest break
over all ranges is the chain's first break: the same answer as one pass over the whole
chain, which a property test holds.

Every range reads the same snapshot. On PostgreSQL the coordinator exports its snapshot
(``pg_export_snapshot``) and each worker imports it; SQLite has no shared snapshots, so
ranges are bounded by the coordinator's last ``seq`` (appends made meanwhile are not
read) and verify.py re-runs in one pass if an archive happened meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from adapters.store.engine import make_engine
from gateway.audit.canonical import FIELDS, LIST_FIELDS
from gateway.audit.chain import Break, BreakKind, ChainChecker

_TIME_SQL = {
    # Both render exactly canonical.TIME_FORMAT from what UTCDateTime stored.
    "postgresql": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "sqlite": "replace(occurred_at, ' ', 'T') || 'Z'",
}
_LISTS = tuple(name for name in FIELDS if name in LIST_FIELDS)
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


@dataclass(frozen=True, slots=True)
class RangeJob:
    """Events ``lo..hi`` (``lo`` None: from the first stored event) of one snapshot."""

    url: str
    snapshot: str | None  # an exported PostgreSQL snapshot, for worker processes
    lo: int | None
    hi: int
    final: bool  # the last range: also compare the end with the head and checkpoints
    anchor: tuple[int, str] | None  # the first range's anchor (cut or genesis)
    signed: Mapping[int, str]
    head: tuple[int, str]
    batch_size: int


@dataclass(frozen=True, slots=True)
class RangeResult:
    events_checked: int
    first_seq: int | None
    last_seq: int
    broken: Break | None


def check_range(conn: Connection, job: RangeJob) -> RangeResult:
    """Check one range on ``conn`` (which must already be in the job's snapshot)."""
    start = None if job.lo is None else job.lo - 1
    end = job.hi if job.final else job.hi + 1
    with closing(stream_fields(conn, job.batch_size, start, end)) as rows:
        if job.anchor is not None:
            anchor, anchor_is_event = job.anchor, False
        else:
            first = next(rows, None)
            if first is None or first[0]["seq"] != start:
                return RangeResult(
                    0, None, 0, Break(BreakKind.DELETED, int(start or 0), "event missing")
                )
            anchor, anchor_is_event = (int(start or 0), first[1]), True
        checker = ChainChecker(
            anchor_seq=anchor[0],
            anchor_hash=anchor[1],
            signed=job.signed,
            head=job.head,
            anchor_is_event=anchor_is_event,
        )
        for fields, event_hash in rows:
            if not checker.feed(fields, event_hash):
                break
    broken = checker.finish() if job.final else checker.finish_range(job.hi)
    return RangeResult(checker.events_checked, checker.first_seq, checker.last_seq, broken)


def run_range(job: RangeJob) -> RangeResult:
    """Worker entry point: open the database, join the snapshot, check the range."""
    engine = make_engine(job.url)
    try:
        with snapshot(engine, job.snapshot) as conn:
            return check_range(conn, job)
    finally:
        engine.dispose()


@contextmanager
def snapshot(engine: Engine, imported: str | None = None) -> Iterator[Connection]:
    """A read-only transaction: REPEATABLE READ (joining ``imported``) on PostgreSQL."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn, conn.begin():
            yield conn
        return
    with engine.connect() as plain:
        conn = plain.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if imported is not None:
                if not _SNAPSHOT_ID.fullmatch(imported):
                    raise ValueError("not a PostgreSQL snapshot id")
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{imported}'")
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


def stream_fields(
    conn: Connection, batch_size: int, start: int | None = None, end: int | None = None
) -> Generator[tuple[dict[str, Any], str], None, None]:
    """Canonical fields and stored hash of events ``start..end`` (inclusive), by ``seq``.

    Uses the driver's cursor directly (a named, server-side cursor on PostgreSQL) inside
    ``conn``'s transaction: SQLAlchemy's result layer costs more per row than hashing.
    """
    columns = ", ".join(
        _TIME_SQL[conn.dialect.name] if name == "occurred_at" else name for name in FIELDS
    )
    bounds = []
    if start is not None:
        bounds.append(f"seq >= {int(start)}")
    if end is not None:
        bounds.append(f"seq <= {int(end)}")
    where = f"WHERE {' AND '.join(bounds)} " if bounds else ""
    sql = f"SELECT {columns}, event_hash FROM audit_events {where}ORDER BY seq"  # noqa: S608
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name="soteria_audit_verify")
        cursor.itersize = batch_size
    else:
        cursor = driver.cursor()
    fields = FIELDS
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch_size):
            for row in rows:
                values = dict(zip(fields, row, strict=False))
                for name in _LISTS:
                    stored = values[name]
                    values[name] = stored.split(" ") if stored else []  # canonical.split_list
                yield values, row[-1]
    finally:
        cursor.close()
