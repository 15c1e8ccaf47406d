"""Appending events and verifying the chain: the round trip, checkpoints, validation."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import Engine, select

from gateway.audit import (
    GENESIS_HASH,
    AuditEvent,
    AuditEventError,
    AuditTrail,
    CheckpointKind,
    EventFilter,
    Outcome,
    PublicKey,
    digest_query,
    query_events,
    verify,
)
from gateway.audit.canonical import hash_fields
from gateway.audit.checkpoints import load_checkpoints, load_cuts
from gateway.audit.models import HEAD
from tests.audit.audit_testkit import fill, sample_event


def test_empty_trail_verifies(engine: Engine, public_keys: dict[str, PublicKey]) -> None:
    report = verify(engine, public_keys)
    assert report.ok
    assert (report.events_checked, report.last_seq, report.head_seq) == (0, 0, 0)


def test_appended_events_form_one_verified_chain(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    stored = fill(engine, trail, 12)

    assert [e.seq for e in stored] == list(range(1, 13))
    assert stored[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.event_hash for a, b in itertools.pairwise(stored))
    assert all(hash_fields(e.canonical_fields()) == e.event_hash for e in stored)
    report = verify(engine, public_keys)
    assert report.ok, report.breaks
    assert (report.events_checked, report.first_seq, report.last_seq) == (12, 1, 12)
    assert report.checkpoints_checked == 2  # every 5 events: at 5 and 10


def test_stored_event_reads_back_exactly(engine: Engine, trail: AuditTrail) -> None:
    written = fill(engine, trail, 6)

    with engine.connect() as conn:
        page = query_events(conn, EventFilter(), first=10)

    assert page.events == tuple(written)
    assert page.events[1].forces == ("avon-and-somerset",)
    assert page.events[1].purpose_code == "performance-monitoring"
    assert page.events[0].occurred_at.tzinfo is not None


def test_event_rolls_back_with_the_callers_transaction(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    fill(engine, trail, 2)

    def record_then_fail() -> None:
        with engine.begin() as conn:
            trail.append(conn, sample_event(9))
            raise RuntimeError("the recorded work failed")

    with pytest.raises(RuntimeError):
        record_then_fail()
    fill(engine, trail, 1, start=3)

    with engine.connect() as conn:
        seqs = [e.seq for e in query_events(conn, EventFilter()).events]
        head = conn.execute(select(HEAD.c.seq)).scalar()
    assert seqs == [1, 2, 3]  # no gap where the rolled-back event was
    assert head == 3
    assert verify(engine, public_keys).ok


def test_checkpoint_every_n_events_and_on_demand(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    fill(engine, trail, 11)
    on_demand = trail.checkpoint(engine)

    with engine.connect() as conn:
        checkpoints = load_checkpoints(conn, load_cuts(conn))
    assert [(c.seq, c.kind) for c in checkpoints] == [
        (5, CheckpointKind.PERIODIC),
        (10, CheckpointKind.PERIODIC),
        (11, CheckpointKind.ON_DEMAND),
    ]
    assert checkpoints[-1] == on_demand
    assert all(c.signature_problem(public_keys) is None for c in checkpoints)


def test_standalone_append_uses_its_own_transaction(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    event = trail.append_standalone(
        engine,
        AuditEvent(
            action="auth:token:denied",
            outcome=Outcome.DENIED,
            reason="invalid_client",
            occurred_at=dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC),
        ),
    )
    assert event.seq == 1
    assert event.occurred_at == dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    assert verify(engine, public_keys).ok


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action": "Indicators Query"}, "action"),
        ({"outcome": "maybe"}, "outcome"),
        ({"forces": "kent"}, "forces"),
        ({"forces": ("two words",)}, "forces"),
        ({"query_sha256": "ABC"}, "query_sha256"),
        ({"operation": "bad\x00name"}, "operation"),
        ({"operation": "x" * 201}, "operation"),
        ({"occurred_at": dt.datetime(2026, 1, 1)}, "occurred_at"),
    ],
)
def test_refuses_malformed_events(changes: dict[str, object], field: str) -> None:
    with pytest.raises(AuditEventError) as caught:
        sample_event(1, **changes)
    assert caught.value.field == field


def test_lists_are_sorted_and_deduplicated() -> None:
    event = sample_event(1, forces=["kent", "avon-and-somerset", "kent"])
    assert event.forces == ("avon-and-somerset", "kent")


def test_query_digest_is_stable_and_ignores_variable_order() -> None:
    assert digest_query("q", {"a": 1, "b": [1, 2]}) == digest_query("q", {"b": [1, 2], "a": 1})
    assert digest_query("q", {"a": 1}) != digest_query("q", {"a": 2})
