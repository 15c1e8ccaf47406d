"""The push path below HTTP: validated rows streamed into the store in one transaction.

All-or-nothing: rows are validated as they stream and staged; the first error stops staging
but validation carries on so the force gets every error at once; any error rolls the whole
transaction back. Idempotency is enforced by the unique (force, idempotency_key) constraint
at commit time, so two concurrent pushes of one key store it once whatever the timing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, update
from sqlalchemy.exc import IntegrityError

from adapters.checking import ParsedInput, checked_rows, header_issues
from adapters.store import merge
from adapters.store.errors import (
    MAX_REPORTED_ISSUES,
    IdempotencyConflictError,
    SubmissionRefusedError,
    UnknownForceError,
)
from adapters.store.models import ForceRow, Submission
from adapters.store.receipts import Receipt, find_by_key
from adapters.store.staging import drop_stage, open_stage
from schema import codelists
from schema.validation import Code, Issue, Severity


class ChangeHook(Protocol):
    """Runs inside the ingestion transaction after staging is classified, before apply.

    The indicator rollups use it to subtract the replaced rows and add the new ones, so
    figures and records always commit together.
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


def _stage_and_validate(
    conn: Connection, parsed: ParsedInput, today: dt.date
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
    writer = open_stage(conn)
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
                writer.write(number, record)
    finally:
        writer.close()
    return rows, errors, error_total, warnings, warning_total


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
            rows, errors, error_total, warnings, warning_total = _stage_and_validate(
                conn, parsed, today
            )
            digest = content_sha256()
            if error_total:
                conn.rollback()
                raise SubmissionRefusedError(errors, error_total, warnings)
            submission_id = str(uuid.uuid4())
            _lock_force(conn, force)
            if not request.dry_run:
                try:
                    with conn.begin_nested():
                        _claim_key(conn, request, submission_id, received_at, digest)
                except IntegrityError:
                    conn.rollback()
                    return _replay(conn, request, digest)
            merge.classify(conn, force)
            for hook in hooks:
                hook.before_apply(conn, force)
            merge.apply(conn, force=force, submission_id=submission_id, now=received_at)
            for hook in hooks:
                hook.after_apply(conn, force)
            counts = merge.counts(conn)
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


def _lock_force(conn: Connection, force: str) -> None:
    """Serialise merges per force: a row lock on PostgreSQL, the write lock on SQLite.

    Taken before anything reads ``records``, so a SQLite transaction never has to upgrade
    a stale read snapshot, and two pushes of one force never race on a new crime_ref.
    """
    conn.execute(
        update(ForceRow).where(ForceRow.code == force).values(data_version=ForceRow.data_version)
    )


def _claim_key(
    conn: Connection,
    request: SubmissionRequest,
    submission_id: str,
    received_at: dt.datetime,
    digest: str,
) -> None:
    conn.execute(
        insert(Submission).values(
            id=submission_id,
            force_code=request.force,
            idempotency_key=request.idempotency_key,
            received_at=received_at,
            actor=request.actor,
            format=request.format,
            content_sha256=digest,
            status="accepted",
            rows=0,
            inserted=0,
            updated=0,
            unchanged=0,
            stale=0,
            warning_count=0,
            warnings=[],
        )
    )


def _record_counts(conn: Connection, receipt: Receipt, *, changed: int) -> None:
    conn.execute(
        update(Submission)
        .where(Submission.id == receipt.submission_id)
        .values(
            rows=receipt.rows,
            inserted=receipt.inserted,
            updated=receipt.updated,
            unchanged=receipt.unchanged,
            stale=receipt.stale,
            warning_count=receipt.warning_count,
            warnings=list(receipt.warnings),
        )
    )
    values: dict[str, object] = {"last_submission_at": receipt.received_at}
    if changed:
        values["data_version"] = ForceRow.data_version + 1
    conn.execute(update(ForceRow).where(ForceRow.code == receipt.force).values(**values))


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
