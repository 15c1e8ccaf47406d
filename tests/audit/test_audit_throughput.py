"""Verification streams: a guard against per-row queries or ORM objects creeping back in.

The real measurement (docs/audit.md, "Verification speed") used 200,000 events; this keeps
the suite fast and only fails on an order-of-magnitude regression.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from gateway.audit import verify
from tests.audit.audit_testkit import Suspend, bulk_chain, reset_audit

EVENTS = 5_000


@pytest.mark.slow
def test_verifies_a_long_chain_quickly(engine: Engine, suspend_triggers: Suspend) -> None:
    reset_audit(engine, suspend_triggers)
    bulk_chain(engine, suspend_triggers, EVENTS)

    report = verify(engine, {})

    assert report.ok, report.breaks
    assert report.events_checked == EVENTS
    assert report.events_per_second > 5_000  # per-row queries or ORM objects: ~1,000/s


@pytest.mark.slow
def test_worker_processes_verify_ranges_of_one_snapshot(
    engine: Engine, suspend_triggers: Suspend
) -> None:
    reset_audit(engine, suspend_triggers)
    bulk_chain(engine, suspend_triggers, 2_000)

    report = verify(engine, {}, workers=2, min_range_events=500)

    assert report.ok, report.breaks
    assert (report.events_checked, report.first_seq, report.last_seq) == (2_000, 1, 2_000)
