"""Reading the trail: filters, keyset pages, and JSONL/CSV exports."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import orjson
import pytest
from sqlalchemy import Engine

from gateway.audit import (
    Actor,
    AuditQueryError,
    AuditTrail,
    EventFilter,
    ExportFormat,
    Outcome,
    Purpose,
    StoredEvent,
    iter_events,
    query_events,
    write_events,
)
from gateway.audit.canonical import FIELDS, hash_fields
from gateway.audit.export import COLUMNS
from tests.audit.audit_testkit import fill, sample_event


def _seqs(engine: Engine, filters: EventFilter) -> list[int]:
    with engine.connect() as conn:
        return [e.seq for e in iter_events(conn, filters)]


def _all(engine: Engine) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(iter_events(conn, EventFilter()))


def test_filters_match_what_they_name(engine: Engine, trail: AuditTrail) -> None:
    events = fill(engine, trail, 12)
    middle = events[5].occurred_at

    def expect(predicate: object) -> list[int]:
        return [e.seq for e in events if predicate(e)]  # type: ignore[operator]

    assert _seqs(engine, EventFilter(client_id="client-1")) == expect(
        lambda e: e.client_id == "client-1"
    )
    assert _seqs(engine, EventFilter(force="kent")) == expect(
        lambda e: e.actor_force == "kent" or "kent" in e.forces
    )
    assert _seqs(engine, EventFilter(action="auth:*")) == expect(
        lambda e: e.action.startswith("auth:")
    )
    assert _seqs(engine, EventFilter(action="audit:read")) == expect(
        lambda e: e.action == "audit:read"
    )
    assert _seqs(engine, EventFilter(outcome=Outcome.DENIED)) == expect(
        lambda e: e.outcome == "denied"
    )
    assert _seqs(engine, EventFilter(purpose="performance-monitoring")) == expect(
        lambda e: e.purpose_code == "performance-monitoring"
    )
    assert _seqs(engine, EventFilter(since=middle)) == expect(lambda e: e.occurred_at >= middle)
    assert _seqs(engine, EventFilter(until=middle)) == expect(lambda e: e.occurred_at < middle)
    assert _seqs(engine, EventFilter(client_id="client-1", force="kent", until=middle)) == (
        expect(
            lambda e: (
                e.client_id == "client-1"
                and (e.actor_force == "kent" or "kent" in e.forces)
                and e.occurred_at < middle
            )
        )
    )


def test_like_wildcards_in_a_force_match_only_themselves(engine: Engine, trail: AuditTrail) -> None:
    with engine.begin() as conn:
        trail.append(conn, sample_event(0, forces=("north_yorkshire",), actor=Actor()))
        trail.append(conn, sample_event(0, forces=("northxyorkshire",), actor=Actor()))

    assert _seqs(engine, EventFilter(force="north_yorkshire")) == [1]
    assert _seqs(engine, EventFilter(force="north%")) == []


def test_keyset_pages_cover_every_event_once(engine: Engine, trail: AuditTrail) -> None:
    fill(engine, trail, 11)
    seen: list[int] = []
    after = None
    with engine.connect() as conn:
        while True:
            page = query_events(conn, EventFilter(), first=4, after=after)
            seen += [e.seq for e in page.events]
            after = page.end_cursor
            if not page.has_next_page:
                break

    assert seen == list(range(1, 12))
    assert after == 11


@pytest.mark.parametrize(
    ("kwargs", "filters"),
    [
        ({"first": 0}, EventFilter()),
        ({"first": 1001}, EventFilter()),
        ({"after": -1}, EventFilter()),
        ({}, EventFilter(action="bad action")),
        ({}, EventFilter(force="two words")),
        ({}, EventFilter(since=dt.datetime(2026, 1, 1))),
    ],
)
def test_refuses_bad_query_arguments(
    engine: Engine, kwargs: dict[str, int], filters: EventFilter
) -> None:
    with engine.connect() as conn, pytest.raises(AuditQueryError):
        query_events(conn, filters, **kwargs)


def test_jsonl_export_lines_verify_on_their_own(engine: Engine, trail: AuditTrail) -> None:
    events = fill(engine, trail, 7)
    out = io.BytesIO()

    summary = write_events(_all(engine), out, ExportFormat.JSONL)

    lines = out.getvalue().splitlines()
    assert len(lines) == summary.events == 7
    assert summary.sha256 == hashlib.sha256(out.getvalue()).hexdigest()
    for line, event in zip(lines, events, strict=True):
        record = orjson.loads(line)
        assert record == event.export_record()
        assert list(record) == sorted(record)
        stored_hash = record.pop("event_hash")
        assert hash_fields(record) == stored_hash


def test_csv_export_has_one_row_per_event_and_defuses_formulas(
    engine: Engine, trail: AuditTrail
) -> None:
    with engine.begin() as conn:
        trail.append(conn, sample_event(1, purpose=Purpose("research", "=HYPERLINK(1)")))
        trail.append(conn, sample_event(2))
    out = io.BytesIO()

    summary = write_events(_all(engine), out, ExportFormat.CSV)

    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
    assert rows[0] == list(COLUMNS) == [*FIELDS, "event_hash"]
    assert len(rows) == 1 + summary.events == 3
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["purpose_text"] == "'=HYPERLINK(1)"
    assert first["scopes"] == "audit:read indicators:read"
    assert first["seq"] == "1"
    assert dict(zip(rows[0], rows[2], strict=True))["purpose_code"] == ""
