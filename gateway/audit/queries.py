"""Reading the trail for auditors and data protection officers: filters and keyset pages.

Pages are keyed by ``seq`` (``after`` is the last ``seq`` of the previous page), never by
offset: a page is then one index range scan however deep the auditor reads, and events
appended meanwhile cannot shift rows between pages. Filters cover the questions a DPO
asks: who (client id), which force (the actor's or one touched), what (action, or a whole
namespace with ``prefix:*``), with what outcome, for which declared purpose, and when
(``since`` inclusive, ``until`` exclusive).

Reading the trail is itself a consultation: callers record an ``audit:read`` event.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, literal, or_, select

from gateway.audit.canonical import split_list
from gateway.audit.errors import AuditQueryError
from gateway.audit.events import Outcome, StoredEvent
from gateway.audit.models import EVENTS

MAX_PAGE_SIZE: Final = 1000
_TOKEN = re.compile(r"[!-~]{1,200}")
_ACTION_FILTER = re.compile(r"[a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)*(?::\*)?")


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Every field narrows the result; None means "any"."""

    client_id: str | None = None
    force: str | None = None
    action: str | None = None
    outcome: Outcome | None = None
    purpose: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class EventPage:
    events: tuple[StoredEvent, ...]
    end_cursor: int | None
    has_next_page: bool


def query_events(
    conn: Connection, filters: EventFilter, first: int = 100, after: int | None = None
) -> EventPage:
    """Up to ``first`` events matching ``filters`` with ``seq > after``, oldest first."""
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise AuditQueryError(f"first must be between 1 and {MAX_PAGE_SIZE}")
    if after is not None and after < 0:
        raise AuditQueryError("after must be a sequence number (0 or more)")
    statement = select(EVENTS).where(*conditions(filters)).order_by(EVENTS.c.seq)
    if after is not None:
        statement = statement.where(EVENTS.c.seq > after)
    rows = conn.execute(statement.limit(first + 1)).mappings().all()
    events = tuple(stored_event(row) for row in rows[:first])
    return EventPage(
        events=events,
        end_cursor=events[-1].seq if events else after,
        has_next_page=len(rows) > first,
    )


def iter_events(
    conn: Connection,
    filters: EventFilter,
    *,
    seq_range: tuple[int, int] | None = None,
    batch_size: int = 2000,
) -> Iterator[StoredEvent]:
    """Every event matching ``filters`` (and ``seq_range``, inclusive), oldest first.

    Streamed with a server-side cursor, so an export of millions of events holds a batch
    in memory, not the result.
    """
    statement = select(EVENTS).where(*conditions(filters)).order_by(EVENTS.c.seq)
    if seq_range is not None:
        statement = statement.where(EVENTS.c.seq.between(*seq_range))
    result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(statement)
    try:
        for row in result.mappings():
            yield stored_event(row)
    finally:
        result.close()


def conditions(filters: EventFilter) -> list[ColumnElement[bool]]:
    """The WHERE clauses for ``filters``, each argument checked first."""
    clauses: list[ColumnElement[bool]] = []
    if filters.client_id is not None:
        clauses.append(EVENTS.c.client_id == _token("client_id", filters.client_id))
    if filters.force is not None:
        force = _token("force", filters.force)
        touched = (literal(" ") + EVENTS.c.forces + literal(" ")).like(
            f"% {_escape_like(force)} %", escape="\\"
        )
        clauses.append(or_(EVENTS.c.actor_force == force, touched))
    if filters.action is not None:
        if not _ACTION_FILTER.fullmatch(filters.action):
            raise AuditQueryError("action must be an action name or a namespace like 'auth:*'")
        if filters.action.endswith(":*"):
            prefix = _escape_like(filters.action[:-1])
            clauses.append(EVENTS.c.action.like(f"{prefix}%", escape="\\"))
        else:
            clauses.append(EVENTS.c.action == filters.action)
    if filters.outcome is not None:
        try:
            clauses.append(EVENTS.c.outcome == str(Outcome(filters.outcome)))
        except ValueError:
            raise AuditQueryError("outcome must be allowed, denied or error") from None
    if filters.purpose is not None:
        clauses.append(EVENTS.c.purpose_code == _token("purpose", filters.purpose))
    if filters.since is not None:
        clauses.append(EVENTS.c.occurred_at >= _aware("since", filters.since))
    if filters.until is not None:
        clauses.append(EVENTS.c.occurred_at < _aware("until", filters.until))
    return [and_(*clauses)] if clauses else []


def stored_event(row: RowMapping) -> StoredEvent:
    values = dict(row)
    for name in ("scopes", "forces", "periods"):
        values[name] = tuple(split_list(values[name]))
    return StoredEvent(**values)


def _token(name: str, value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise AuditQueryError(f"{name} must be 1 to 200 printable characters without spaces")
    return value


def _aware(name: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise AuditQueryError(f"{name} must be timezone-aware")
    return value


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
