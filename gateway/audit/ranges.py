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

import contextlib
import hashlib
import queue
import re
import threading
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Engine

from adapters.store.engine import make_engine
from gateway.audit.canonical import FIELDS
from gateway.audit.chain import Break, BreakKind, ChainChecker

_TIME_SQL = {
    # Both render exactly canonical.TIME_FORMAT from what UTCDateTime stored.
    "postgresql": "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "sqlite": "replace(occurred_at, ' ', 'T') || 'Z'",
}
_SEQ: Final = FIELDS.index("seq")
_PREV: Final = FIELDS.index("prev_hash")
_HASH: Final = len(FIELDS)
_SCOPES: Final = FIELDS.index("scopes")
_FORCES: Final = FIELDS.index("forces")
_PERIODS: Final = FIELDS.index("periods")
# FIELDS is sorted (canonical.py), so a dict built in its order is in canonical key order.
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
    """Check one range on ``conn`` (which must already be in the job's snapshot).

    The hot loop: each row becomes its canonical object (``canonical_row``), is hashed,
    and is accepted here when it is intact, next in sequence, linked to its predecessor,
    agrees with the signed checkpoints and the head, and the row after it is intact too
    (``ChainChecker.feed``'s fast rule, with the same one-row look-ahead). At the first
    row that is not, the rest goes through ``ChainChecker``, which names the break.
    """
    start = None if job.lo is None else job.lo - 1
    end = job.hi if job.final else job.hi + 1
    checker: ChainChecker | None = None
    last_seq, last_hash = 0, ""
    if job.anchor is not None:
        checker = _checker(job, job.anchor, anchor_is_event=False)
        last_seq, last_hash = job.anchor
    signed, head_seq = job.signed, job.head[0]
    sha256, dumps = hashlib.sha256, orjson.dumps
    pending: tuple[int, str, str, str, dict[str, Any]] | None = None
    slow = broken = False
    count, first_ok = 0, None
    with closing(stream_rows(conn, job.batch_size, start, end)) as batches:
        for batch in batches:
            for row in batch:
                if checker is None:  # the range's anchor: the stored event before it
                    if row[_SEQ] != start:
                        return RangeResult(0, None, 0, _missing(start))
                    last_seq, last_hash = int(start or 0), row[_HASH]
                    checker = _checker(job, (last_seq, last_hash), anchor_is_event=True)
                    continue
                fields = canonical_row(row)
                computed = sha256(dumps(fields)).hexdigest()
                event_hash = row[_HASH]
                if slow:
                    if not checker.feed(fields, event_hash, computed):
                        broken = True
                        break
                    continue
                if pending is not None:
                    p_seq, p_prev, p_hash, p_computed, p_fields = pending
                    if (
                        computed == event_hash
                        and p_computed == p_hash
                        and p_seq == last_seq + 1
                        and p_prev == last_hash
                        and signed.get(p_seq, p_hash) == p_hash
                        and p_seq <= head_seq
                    ):
                        count += 1
                        if first_ok is None:
                            first_ok = p_seq
                        last_seq, last_hash = p_seq, p_hash
                    else:  # something is off: the checker classifies from here on
                        slow = True
                        checker.advance(count, first_ok, last_seq, last_hash)
                        checker.feed(p_fields, p_hash, p_computed)
                        if not checker.feed(fields, event_hash, computed):
                            broken = True
                            break
                        continue
                pending = (row[_SEQ], row[_PREV], event_hash, computed, fields)
            if broken:
                break
    if checker is None:  # not even the anchor event was there
        return RangeResult(0, None, 0, _missing(start))
    if not slow:
        checker.advance(count, first_ok, last_seq, last_hash)
        if pending is not None:
            checker.feed(pending[4], pending[2], pending[3])
    result = checker.finish() if job.final else checker.finish_range(job.hi)
    return RangeResult(checker.events_checked, checker.first_seq, checker.last_seq, result)


def _checker(job: RangeJob, anchor: tuple[int, str], *, anchor_is_event: bool) -> ChainChecker:
    return ChainChecker(
        anchor_seq=anchor[0],
        anchor_hash=anchor[1],
        signed=job.signed,
        head=job.head,
        anchor_is_event=anchor_is_event,
    )


def _missing(start: int | None) -> Break:
    return Break(BreakKind.DELETED, int(start or 0), "event missing")


def canonical_row(row: Sequence[Any]) -> dict[str, Any]:
    """The canonical object of a row read by ``stream_rows`` (FIELDS order, then the hash).

    ``FIELDS`` is sorted, so the dict is built in canonical key order and orjson needs no
    sorting option; the list columns are split back into lists (``canonical.split_list``).
    """
    fields = dict(zip(FIELDS, row, strict=False))
    text = row[_SCOPES]
    fields["scopes"] = text.split(" ") if text else []
    text = row[_FORCES]
    fields["forces"] = text.split(" ") if text else []
    text = row[_PERIODS]
    fields["periods"] = text.split(" ") if text else []
    return fields


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


def stream_rows(
    conn: Connection, batch_size: int, start: int | None = None, end: int | None = None
) -> Generator[list[Sequence[Any]], None, None]:
    """Batches of rows of events ``start..end`` (inclusive), by ``seq``: the ``FIELDS``
    columns (lists as stored text, ``occurred_at`` in canonical text), then ``event_hash``.

    Uses the driver's cursor directly inside ``conn``'s transaction (SQLAlchemy's result
    layer costs more per row than hashing). On PostgreSQL it is a named, server-side
    cursor in binary mode, fetched by a helper thread one batch ahead: the server
    produces and sends the next batch while this thread hashes the current one.
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
    postgres = conn.dialect.name == "postgresql"
    cursor = (
        driver.cursor(name="soteria_audit_verify", binary=True) if postgres else driver.cursor()
    )
    try:
        cursor.execute(sql)
        if postgres:
            cursor.itersize = batch_size
            yield from prefetched(lambda: cursor.fetchmany(batch_size))
        else:
            while rows := cursor.fetchmany(batch_size):
                yield rows
    finally:
        cursor.close()


def prefetched(
    fetch: Callable[[], list[Sequence[Any]]], depth: int = 2
) -> Generator[list[Sequence[Any]], None, None]:
    """``fetch()`` until it returns an empty batch, called by a helper thread ``depth``
    batches ahead. The driver releases the GIL while it waits for the server, so fetching
    overlaps with the caller's work; an exception in ``fetch`` is raised here."""
    ready: queue.Queue[list[Sequence[Any]] | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            while not stop.is_set():
                rows = fetch()
                ready.put(rows)
                if not rows:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            ready.put(exc)

    helper = threading.Thread(target=produce, name="audit-verify-fetch", daemon=True)
    helper.start()
    try:
        while True:
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            if not item:
                return
            yield item
    finally:
        stop.set()
        while helper.is_alive():  # unblock a helper waiting on a full queue
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)
        helper.join()
