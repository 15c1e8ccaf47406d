"""The push path below HTTP: validated rows streamed into the store in one transaction.

All-or-nothing: rows are validated as they stream and staged; the first error stops staging
but validation carries on so the force gets every error at once; any error rolls the whole
transaction back. Idempotency is enforced by the unique (force, idempotency_key) constraint
at commit time, so two concurrent pushes of one key store it once whatever the timing.

Speed: on PostgreSQL, when no other push of the force holds its lock as a push starts, the
push takes the lock at once and merges its rows in batches (``BATCH_ROWS``) on a worker
thread while the next batch is parsed and validated, so the database and our Python run
side by side instead of one after the other. Rows known to be new (the force held no
records as the push started, or ``existing_refs`` does not find them) are COPYed straight
into ``records``, as fast as a plain COPY; the others are staged, classified and merged.
Otherwise (SQLite, whose lock is the whole database's; or a busy force) everything is
staged first and merged once at the end. Either way the stored rows, the receipt and the
all-or-nothing rule are the same (``tests/store/test_ingest_batches.py``).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from typing import Final, Protocol, cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.checking import ParsedInput, checked_rows, header_issues
from adapters.store import merge
from adapters.store.errors import (
    MAX_REPORTED_ISSUES,
    IdempotencyConflictError,
    SubmissionRefusedError,
    UnknownForceError,
)
from adapters.store.models import ForceRow, Submission, records
from adapters.store.receipts import Receipt, find_by_key
from adapters.store.staging import (
    StageWriter,
    analyse_stage,
    clear_stage,
    copy_records,
    create_stage,
    drop_stage,
    existing_refs,
    open_stage,
    stage_direct,
    write_stage,
)
from adapters.store.telemetry import observed_ingest, stage, traced_stage, validated
from schema import codelists
from schema.record import Record
from schema.validation import Code, Issue, Severity

# Rows per batch when a push merges while it validates (see the module docstring): large
# enough that a batch's fixed costs (classification, change hooks) stay small, small enough
# that the buffered batch and the unmerged tail stay small.
BATCH_ROWS: Final = 25_000
_LOCK_NOT_AVAILABLE: Final = "55P03"  # PostgreSQL's SQLSTATE for a NOWAIT lock refused


class ChangeHook(Protocol):
    """Runs inside the ingestion transaction after staging is classified, before apply.

    The indicator rollups use it to subtract the replaced rows and add the new ones, so
    figures and records always commit together. A push may be merged in several batches;
    for each, the stage (``staging.STAGE``) holds every row of the batch with all its
    values and its ``action``: NULL (new: inserted, by the merge or, ``direct``, by COPY),
    ``update``, ``unchanged`` or ``stale``. ``before_apply`` runs before any row of the
    batch is written to ``records``, ``after_apply`` once all are.
    """

    def before_apply(self, conn: Connection, force: str) -> None: ...

    def after_apply(self, conn: Connection, force: str) -> None: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    receipt: Receipt
    replayed: bool  # True: the key was used before with the same content; nothing changed


@dataclass(frozen=True, slots=True)
class SubmissionRequest:
    force: str
    idempotency_key: str
    actor: str
    format: str
    dry_run: bool = False


Batch = list[tuple[int, Record]]  # (data row number, record)


class _Merger:
    """Merges into ``records`` (classify, hooks, apply), adding up the counts.

    ``merge_staged`` merges whatever is staged; ``merge_batch`` stages one batch first,
    with the rows known to be new COPYed straight into ``records`` instead.
    """

    def __init__(
        self,
        conn: Connection,
        force: str,
        submission_id: str,
        now: dt.datetime,
        hooks: Sequence[ChangeHook],
    ) -> None:
        self._conn = conn
        self._force = force
        self._submission_id = submission_id
        self._now = now
        self._hooks = hooks
        self.counts = merge.NO_COUNTS
        self._stage_used = False  # by an earlier batch of this push: empty it first

    @traced_stage("ingest.merge")
    def merge_staged(self, rows: int) -> None:
        """Merge the ``rows`` rows staged."""
        self._stage_used = True
        self._merge(staged=rows, direct=())

    @traced_stage("ingest.merge")
    def merge_batch(self, staged: Batch, direct: Batch) -> None:
        """Merge one batch: ``staged`` rows through the stage, ``direct`` ones (new) by COPY.

        The direct rows are staged too (``stage_direct``) when a change hook will read them.
        """
        conn = self._conn
        if self._stage_used:  # a push of one batch (most) finds it empty: no TRUNCATE
            clear_stage(conn)
        self._stage_used = True
        if staged:
            write_stage(conn, staged)
        if direct and self._hooks:
            stage_direct(conn, direct)
        self._merge(staged=len(staged), direct=direct)

    def _merge(self, *, staged: int, direct: Sequence[tuple[int, Record]]) -> None:
        conn, force = self._conn, self._force
        counts = merge.classify(conn, force) if staged else merge.NO_COUNTS
        if self._hooks:
            analyse_stage(conn, staged + len(direct))
        with stage("ingest.rollup"):
            for hook in self._hooks:
                hook.before_apply(conn, force)
        if direct:
            new = [record for _number, record in direct]
            new.sort(key=_CRIME_REF)  # the primary key then grows in order, page by page
            copy_records(conn, new, force=force, submission_id=self._submission_id, now=self._now)
        if staged:
            merge.apply(
                conn,
                force=force,
                submission_id=self._submission_id,
                now=self._now,
                classified=counts,
            )
        with stage("ingest.rollup"):
            for hook in self._hooks:
                hook.after_apply(conn, force)
        self.counts = self.counts.plus(counts).plus(merge.inserted_only(len(direct)))


_CRIME_REF: Final = itemgetter(0)


def _crime_ref(row: tuple[int, Record]) -> str:
    return row[1][0]  # type: ignore[return-value]


class _BatchingStage:
    """A stage writer that has every ``BATCH_ROWS`` rows merged on a worker thread.

    One thread uses the connection at a time: the worker stages and merges a batch while
    the caller validates the next rows into a buffer, and the next batch goes to the worker
    once the one before is merged. ``close`` waits for the merge in flight (raising its
    error, if any), so the connection is free again afterwards; ``finish`` merges the rows
    left.

    Rows whose crime_ref the force does not hold yet skip the stage: they are COPYed
    straight into ``records`` (``merge_batch``). The force is locked for the whole push
    and a submission never repeats a crime_ref, so a row is new when the force held no
    records as the push started (``all_new``), or when ``existing_refs`` does not find it.
    The probe is dropped for the rest of the push as soon as a batch is mostly stored rows
    (a re-push of a whole extract), whose probe would be wasted.
    """

    def __init__(self, conn: Connection, merger: _Merger, *, force: str, all_new: bool) -> None:
        create_stage(conn)
        self._conn = conn
        self._merger = merger
        self._force = force
        self._all_new = all_new
        self._probe = not all_new
        self._buffer: Batch = []
        # A small first batch, so the database starts on it soon after the body starts.
        self._limit = max(1, BATCH_ROWS // 10)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soteria-merge")
        self._pending: Future[None] | None = None

    def write(self, row_number: int, record: Record) -> None:
        self._buffer.append((row_number, record))
        if len(self._buffer) >= self._limit:
            self._limit = BATCH_ROWS
            self._wait()
            batch, self._buffer = self._buffer, []
            context = contextvars.copy_context()  # the request's trace context, for spans
            self._pending = self._pool.submit(context.run, self._merge, batch)

    def _merge(self, batch: Batch) -> None:
        staged, direct = self._split(batch)
        self._merger.merge_batch(staged, direct)

    def _split(self, batch: Batch) -> tuple[Batch, Batch]:
        """(rows to stage, rows known to be new)."""
        if self._all_new:
            return [], batch
        if not self._probe:
            return batch, []
        stored = existing_refs(self._conn, self._force, [_crime_ref(row) for row in batch])
        if not stored:
            return [], batch
        staged = [row for row in batch if row[1][0] in stored]
        direct = [row for row in batch if row[1][0] not in stored]
        if len(direct) < len(staged):
            self._probe = False
        return staged, direct

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._pool.shutdown(wait=True)

    def finish(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._merge(batch)


def _stage_and_validate(
    conn: Connection, parsed: ParsedInput, today: dt.date, batching: _BatchingStage | None
) -> tuple[int, list[Issue], int, list[Issue], int]:
    """Validate every row, staging valid ones until the first error.

    Returns (rows, errors[:1000], error_total, warnings[:1000], warning_total).
    """
    errors: list[Issue] = []
    warnings: list[Issue] = []
    error_total = warning_total = 0
    for issue in header_issues(parsed):
        errors.append(issue)
        error_total += 1
    writer: StageWriter = batching if batching is not None else open_stage(conn)
    write = writer.write
    rows = 0
    try:
        for number, record, issues in checked_rows(parsed, today):
            rows += 1
            if issues:
                for issue in issues:
                    if issue.severity is Severity.ERROR:
                        error_total += 1
                        if len(errors) < MAX_REPORTED_ISSUES:
                            errors.append(issue)
                    else:
                        warning_total += 1
                        if len(warnings) < MAX_REPORTED_ISSUES:
                            warnings.append(issue)
            if record is not None and not error_total:
                write(number, record)
    finally:
        writer.close()
    return rows, errors, error_total, warnings, warning_total


@observed_ingest
def ingest(
    engine: Engine,
    request: SubmissionRequest,
    parsed: ParsedInput,
    content_sha256: Callable[[], str],
    *,
    now: Callable[[], dt.datetime],
    hooks: Sequence[ChangeHook] = (),
    before_commit: Callable[[Connection, Receipt], None] | None = None,
) -> IngestResult:
    """Validate and store one submission; raise ``SubmissionRefusedError`` with every error.

    ``content_sha256`` is called once the body has been read to the end;
    ``before_commit`` runs in the transaction, after everything is written.
    """
    force = request.force
    if codelists.force(force) is None:
        raise UnknownForceError(force)
    received_at = now()
    today = received_at.date()
    with engine.connect() as conn:
        try:
            submission_id = str(uuid.uuid4())
            merger = _Merger(conn, force, submission_id, received_at, hooks)
            batching = None
            if _lock_force_if_free(conn, force):
                batching = _BatchingStage(
                    conn, merger, force=force, all_new=not _holds_records(conn, force)
                )
            with stage("ingest.parse_validate_stage") as span:
                rows, errors, error_total, warnings, warning_total = _stage_and_validate(
                    conn, parsed, today, batching
                )
                validated(span, rows, error_total, warning_total)
            digest = content_sha256()
            if error_total:
                conn.rollback()
                raise SubmissionRefusedError(errors, error_total, warnings)
            _lock_force(conn, force)
            if not request.dry_run:
                try:
                    with conn.begin_nested():
                        _claim_key(conn, request, submission_id, received_at, digest)
                except IntegrityError:
                    conn.rollback()
                    return _replay(conn, request, digest)
            if batching is not None:
                batching.finish()
            else:
                merger.merge_staged(rows)
            counts = merger.counts
            stale_warnings = [
                Issue(
                    n,
                    "updated_at",
                    Code.STALE,
                    f"crime_ref {ref} is older than the stored version; not applied.",
                    Severity.WARNING,
                ).as_dict()
                for n, ref in counts.stale_rows
            ]
            warning_dicts = ([w.as_dict() for w in warnings] + stale_warnings)[:MAX_REPORTED_ISSUES]
            receipt = Receipt(
                submission_id=None if request.dry_run else submission_id,
                force=force,
                status="dry_run" if request.dry_run else "accepted",
                received_at=received_at,
                content_sha256=digest,
                format=request.format,
                rows=rows,
                inserted=counts.inserted,
                updated=counts.updated,
                unchanged=counts.unchanged,
                stale=counts.stale,
                warning_count=warning_total + counts.stale,
                warnings=tuple(warning_dicts),
            )
            if request.dry_run:
                conn.rollback()
                return IngestResult(receipt, replayed=False)
            with stage("ingest.commit"):
                _record_counts(conn, receipt, changed=counts.changed)
                drop_stage(conn)
                if before_commit is not None:
                    # The audit event of an accepted submission commits with it, or not at all.
                    before_commit(conn, receipt)
                conn.commit()
            return IngestResult(receipt, replayed=False)
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise


def _lock_force_if_free(conn: Connection, force: str) -> bool:
    """On PostgreSQL, take the force's lock now if no other push holds it; else False.

    A push that holds the lock from its start merges while it validates (``BATCH_ROWS``).
    The lock is the one ``_lock_force`` takes (FOR NO KEY UPDATE of the force row); a push
    that finds it taken waits for it only once everything is staged, as on SQLite.
    """
    if conn.dialect.name != "postgresql":
        return False
    query = (
        select(ForceRow.code)
        .where(ForceRow.code == force)
        .with_for_update(nowait=True, key_share=True)
    )
    try:
        with conn.begin_nested():
            return conn.execute(query).first() is not None
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE:
            return False
        raise


def _holds_records(conn: Connection, force: str) -> bool:
    return (
        conn.execute(
            select(records.c.crime_ref).where(records.c.force_code == force).limit(1)
        ).first()
        is not None
    )


def _lock_force(conn: Connection, force: str) -> None:
    """Serialise merges per force: a row lock on PostgreSQL, the write lock on SQLite.

    Taken before anything reads ``records``, so a SQLite transaction never has to upgrade
    a stale read snapshot, and two pushes of one force never race on a new crime_ref.
    The force row is then known to exist and cannot go before the commit: every row this
    transaction writes for ``force`` refers to a real force.
    """
    locked = conn.execute(
        update(ForceRow).where(ForceRow.code == force).values(data_version=ForceRow.data_version)
    ).rowcount
    if locked != 1:
        raise UnknownForceError(force)


# Built once: a push is a handful of statements, and building and keying a statement per
# call cost more than running it for small submissions.
_SUBMISSIONS = cast(Table, Submission.__table__)
_CLAIM: Final = insert(_SUBMISSIONS)
_COUNTS: Final = (
    update(_SUBMISSIONS)
    .where(_SUBMISSIONS.c.id == bindparam("submission_id"))
    .values(
        rows=bindparam("rows"),
        inserted=bindparam("inserted"),
        updated=bindparam("updated"),
        unchanged=bindparam("unchanged"),
        stale=bindparam("stale"),
        warning_count=bindparam("warning_count"),
        warnings=bindparam("warnings"),
    )
)
_FORCES = cast(Table, ForceRow.__table__)
_SUBMITTED: Final = (
    update(_FORCES)
    .where(_FORCES.c.code == bindparam("force"))
    .values(last_submission_at=bindparam("at"))
)
_SUBMITTED_CHANGED: Final = _SUBMITTED.values(data_version=_FORCES.c.data_version + 1)


def _claim_key(
    conn: Connection,
    request: SubmissionRequest,
    submission_id: str,
    received_at: dt.datetime,
    digest: str,
) -> None:
    conn.execute(
        _CLAIM,
        {
            "id": submission_id,
            "force_code": request.force,
            "idempotency_key": request.idempotency_key,
            "received_at": received_at,
            "actor": request.actor,
            "format": request.format,
            "content_sha256": digest,
            "status": "accepted",
            "rows": 0,
            "inserted": 0,
            "updated": 0,
            "unchanged": 0,
            "stale": 0,
            "warning_count": 0,
            "warnings": [],
        },
    )


def _record_counts(conn: Connection, receipt: Receipt, *, changed: int) -> None:
    conn.execute(
        _COUNTS,
        {
            "submission_id": receipt.submission_id,
            "rows": receipt.rows,
            "inserted": receipt.inserted,
            "updated": receipt.updated,
            "unchanged": receipt.unchanged,
            "stale": receipt.stale,
            "warning_count": receipt.warning_count,
            "warnings": list(receipt.warnings),
        },
    )
    statement = _SUBMITTED_CHANGED if changed else _SUBMITTED
    conn.execute(statement, {"force": receipt.force, "at": receipt.received_at})


def _replay(conn: Connection, request: SubmissionRequest, digest: str) -> IngestResult:
    existing = find_by_key(conn, request.force, request.idempotency_key)
    conn.rollback()
    if existing is None:  # the other transaction rolled back after all: let the client retry
        raise IdempotencyConflictError(request.idempotency_key)
    if existing.content_sha256 != digest:
        raise IdempotencyConflictError(request.idempotency_key)
    return IngestResult(existing, replayed=True)


def check_replay(engine: Engine, force: str, key: str) -> Receipt | None:
    """The stored receipt for this key, if any (the route then only hashes the body)."""
    with engine.connect() as conn:
        return find_by_key(conn, force, key)
