"""The receipt a force gets back for a submission, and reading stored receipts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from adapters.store.models import Submission


@dataclass(frozen=True, slots=True)
class Receipt:
    submission_id: str | None  # None for a dry run: nothing was stored
    force: str
    status: str  # accepted | dry_run
    received_at: dt.datetime
    content_sha256: str
    format: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    stale: int
    warning_count: int
    warnings: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        return {
            "submission_id": self.submission_id,
            "force": self.force,
            "status": self.status,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
            "content_sha256": self.content_sha256,
            "format": self.format,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "stale": self.stale,
            "warning_count": self.warning_count,
            "warnings": list(self.warnings),
        }


def receipt_of(row: Submission) -> Receipt:
    return Receipt(
        submission_id=row.id,
        force=row.force_code,
        status=row.status,
        received_at=row.received_at,
        content_sha256=row.content_sha256,
        format=row.format,
        rows=row.rows,
        inserted=row.inserted,
        updated=row.updated,
        unchanged=row.unchanged,
        stale=row.stale,
        warning_count=row.warning_count,
        warnings=tuple(row.warnings),
    )


def _submission_from_row(values: Any) -> Submission:
    return Submission(**dict(values._mapping))


def find_by_key(conn: Connection, force: str, key: str) -> Receipt | None:
    found = conn.execute(
        select(Submission.__table__).where(
            Submission.force_code == force, Submission.idempotency_key == key
        )
    ).first()
    return None if found is None else receipt_of(_submission_from_row(found))


def get_receipt(conn: Connection, force: str, submission_id: str) -> Receipt | None:
    """The receipt, only if it belongs to ``force`` (isolation lives here, not in routes)."""
    found = conn.execute(
        select(Submission.__table__).where(
            Submission.force_code == force, Submission.id == submission_id
        )
    ).first()
    return None if found is None else receipt_of(_submission_from_row(found))


def list_receipts(
    conn: Connection, force: str, *, limit: int, before: tuple[dt.datetime, str] | None = None
) -> list[Receipt]:
    """Newest first; ``before`` is the (received_at, id) keyset cursor of the last page."""
    table = Submission.__table__
    query = select(table).where(table.c.force_code == force)
    if before is not None:
        at, sid = before
        query = query.where(
            (table.c.received_at < at) | ((table.c.received_at == at) & (table.c.id < sid))
        )
    query = query.order_by(table.c.received_at.desc(), table.c.id.desc()).limit(limit)
    return [receipt_of(_submission_from_row(r)) for r in conn.execute(query)]
