"""What one audit event records: the typed input (``AuditEvent``) and the stored row.

An event answers the s.62 questions for one consultation, disclosure or refusal: who
(``Actor``), when (``occurred_at``), what they did (``action``, ``operation``, the query
digest), for what declared purpose, over which forces and periods, what they received
(``Disclosure``: sizes and the response digest, never the data) and how to find the
request again (``RequestContext``: request id, trace and span ids, client address).

Fields are validated when the event is built, so a bad value fails in the code that made
it rather than half-way through a write, and every stored string is safe to put in CSV,
logs and the canonical JSON: no control characters, no lone surrogates, bounded length.
List fields are sorted and de-duplicated here, which is what makes them canonical.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from gateway.audit.canonical import FIELDS, FORMAT_VERSION, format_time, parse_time
from gateway.audit.errors import AuditEventError
from gateway.audit.purpose import MAX_TEXT_LENGTH, Purpose

_ACTION = re.compile(r"[a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)+")
_REASON = re.compile(r"[a-z][a-z0-9_.:-]*")
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")
_LIST_ITEM = re.compile(r"[!-~]+")  # printable ASCII without spaces: lists are stored joined
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
_CALLER_VALUE = re.compile(r"[!-~]{1,64}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
MAX_LIST_ITEMS: Final = 1000
MAX_INT: Final = 2**63 - 1


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: the OAuth client, the token's subject and issuer, and the client's force."""

    client_id: str | None = None
    subject: str | None = None
    issuer: str | None = None
    force: str | None = None


@dataclass(frozen=True, slots=True)
class Disclosure:
    """What was returned: sizes and the SHA-256 of the body, never the values."""

    rows: int | None = None
    cells: int | None = None
    suppressed_cells: int | None = None
    response_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class RequestContext:
    """How to find the request again in logs and traces. Build it once per request."""

    request_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    client_address: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One event to append. ``occurred_at`` defaults to the time of the append."""

    action: str
    outcome: Outcome
    actor: Actor = field(default_factory=Actor)
    scopes: tuple[str, ...] = ()
    purpose: Purpose | None = None
    forces: tuple[str, ...] = ()
    periods: tuple[str, ...] = ()
    operation: str | None = None
    query_sha256: str | None = None
    disclosure: Disclosure = field(default_factory=Disclosure)
    request: RequestContext = field(default_factory=RequestContext)
    reason: str | None = None
    occurred_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        _pattern("action", self.action, _ACTION, 64)
        object.__setattr__(self, "outcome", _outcome(self.outcome))
        _pattern("reason", self.reason, _REASON, 64)
        _text("actor.client_id", self.actor.client_id, 200)
        _text("actor.subject", self.actor.subject, 300)
        _text("actor.issuer", self.actor.issuer, 300)
        _text("actor.force", self.actor.force, 40)
        for name in ("scopes", "forces", "periods"):
            object.__setattr__(self, name, _items(name, getattr(self, name)))
        if self.purpose is not None:
            _pattern("purpose.code", self.purpose.code, _CODE, 64)
            _text("purpose.text", self.purpose.text, MAX_TEXT_LENGTH)
        _text("operation", self.operation, 200)
        _pattern("query_sha256", self.query_sha256, _SHA256, 64)
        _count("disclosure.rows", self.disclosure.rows)
        _count("disclosure.cells", self.disclosure.cells)
        _count("disclosure.suppressed_cells", self.disclosure.suppressed_cells)
        _pattern("disclosure.response_sha256", self.disclosure.response_sha256, _SHA256, 64)
        _text("request.request_id", self.request.request_id, 200)
        _pattern("request.trace_id", self.request.trace_id, _TRACE_ID, 32)
        _pattern("request.span_id", self.request.span_id, _SPAN_ID, 16)
        _text("request.client_address", self.request.client_address, 100)
        if self.occurred_at is not None:
            check_time(self.occurred_at)

    def canonical_fields(
        self, *, seq: int, occurred_at: dt.datetime, prev_hash: str
    ) -> dict[str, Any]:
        """The canonical object of this event once placed at ``seq`` after ``prev_hash``."""
        purpose = self.purpose
        return {
            "action": self.action,
            "actor_force": self.actor.force,
            "cells_returned": self.disclosure.cells,
            "cells_suppressed": self.disclosure.suppressed_cells,
            "client_address": self.request.client_address,
            "client_id": self.actor.client_id,
            "forces": list(self.forces),
            "issuer": self.actor.issuer,
            "occurred_at": format_time(occurred_at),
            "operation": self.operation,
            "outcome": str(self.outcome),
            "periods": list(self.periods),
            "prev_hash": prev_hash,
            "purpose_code": purpose.code if purpose else None,
            "purpose_text": purpose.text if purpose else None,
            "query_sha256": self.query_sha256,
            "reason": self.reason,
            "request_id": self.request.request_id,
            "response_sha256": self.disclosure.response_sha256,
            "rows_returned": self.disclosure.rows,
            "scopes": list(self.scopes),
            "seq": seq,
            "span_id": self.request.span_id,
            "subject": self.actor.subject,
            "trace_id": self.request.trace_id,
            "version": FORMAT_VERSION,
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored: flat scalars (one per column), ready for auditors and exports."""

    seq: int
    occurred_at: dt.datetime
    action: str
    outcome: str
    reason: str | None
    client_id: str | None
    subject: str | None
    issuer: str | None
    actor_force: str | None
    scopes: tuple[str, ...]
    purpose_code: str | None
    purpose_text: str | None
    forces: tuple[str, ...]
    periods: tuple[str, ...]
    operation: str | None
    query_sha256: str | None
    rows_returned: int | None
    cells_returned: int | None
    cells_suppressed: int | None
    response_sha256: str | None
    request_id: str | None
    trace_id: str | None
    span_id: str | None
    client_address: str | None
    prev_hash: str
    event_hash: str
    version: int = FORMAT_VERSION

    @classmethod
    def from_canonical(
        cls, fields: dict[str, Any], event_hash: str, occurred_at: dt.datetime | None = None
    ) -> StoredEvent:
        """The stored event; ``occurred_at``, the aware time ``fields`` spell, saves parsing it."""
        values = {name: fields[name] for name in FIELDS}
        values["occurred_at"] = (
            parse_time(fields["occurred_at"])
            if occurred_at is None
            else occurred_at.astimezone(dt.UTC)
        )
        for name in ("scopes", "forces", "periods"):
            values[name] = tuple(fields[name])
        return cls(**values, event_hash=event_hash)

    def canonical_fields(self) -> dict[str, Any]:
        """The canonical object whose SHA-256 ``event_hash`` must be."""
        values = {name: getattr(self, name) for name in FIELDS}
        values["occurred_at"] = format_time(self.occurred_at)
        for name in ("scopes", "forces", "periods"):
            values[name] = list(values[name])
        return values

    def export_record(self) -> dict[str, Any]:
        """The canonical object plus ``event_hash``: one line of a JSONL export or archive."""
        return {**self.canonical_fields(), "event_hash": self.event_hash}


def caller_value(value: str | None) -> str | None:
    """A value the caller chose (a claimed client id, a grant type), if it is safe to keep.

    Only short printable ASCII without spaces is kept: the trail must never refuse an
    event, nor store control characters, because of what an unauthenticated caller sent.
    """
    return value if value is not None and _CALLER_VALUE.fullmatch(value) else None


def caller_values(values: Iterable[str], limit: int = 20) -> tuple[str, ...]:
    """The safe ones of several caller-chosen values (requested scopes), at most ``limit``."""
    kept = [value for value in values if _CALLER_VALUE.fullmatch(value)]
    return tuple(dict.fromkeys(kept))[:limit]


def check_time(value: dt.datetime) -> None:
    if value.tzinfo is None:
        raise AuditEventError("occurred_at", "must be timezone-aware")
    if not 1970 <= value.astimezone(dt.UTC).year <= 9999:
        raise AuditEventError("occurred_at", "must fall between 1970 and 9999")


def _outcome(value: str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        raise AuditEventError("outcome", "must be one of allowed, denied, error") from None


def _text(name: str, value: str | None, limit: int) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise AuditEventError(name, "must be a string")
    if len(value) > limit:
        raise AuditEventError(name, f"is longer than {limit} characters")
    if _UNSAFE.search(value):
        raise AuditEventError(name, "holds a control character or a lone surrogate")


def _pattern(name: str, value: str | None, pattern: re.Pattern[str], limit: int) -> None:
    _text(name, value, limit)
    if value is not None and not pattern.fullmatch(value):
        raise AuditEventError(name, f"must match {pattern.pattern}")


def _count(name: str, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise AuditEventError(name, "must be a non-negative integer")


def _items(name: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise AuditEventError(name, "must be a sequence of strings, not one string")
    for item in values:
        _pattern(name, item, _LIST_ITEM, 100)
    items = tuple(sorted(set(values)))
    if len(items) > MAX_LIST_ITEMS:
        raise AuditEventError(name, f"has more than {MAX_LIST_ITEMS} items")
    return items
