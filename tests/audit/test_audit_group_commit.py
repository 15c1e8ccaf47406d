"""Standalone appends made at the same moment share one transaction and one commit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import OperationalError

from gateway.audit import AuditTrail, PublicKey, StoredEvent, verify
from gateway.audit.models import CHECKPOINTS, EVENTS
from tests.audit.audit_testkit import sample_event

WRITERS = 12


def _hold_chain_lock(engine: Engine, release: threading.Event, held: threading.Event) -> None:
    """Another session holds the chain head (as a long transaction of another replica would)."""
    with engine.connect() as conn:
        conn.execute(text("UPDATE audit_chain_head SET seq = seq WHERE id = 1"))
        held.set()
        release.wait(30)
        conn.rollback()


def test_events_queued_behind_a_commit_are_written_together(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    commits: list[int] = []

    def count(conn: object) -> None:
        commits.append(1)

    event.listen(engine, "commit", count)
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_chain_lock, args=(engine, release, held))
    holder.start()
    held.wait(10)
    commits.clear()
    group = trail.group(engine)
    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            futures = [
                pool.submit(trail.append_standalone, engine, sample_event(i))
                for i in range(WRITERS)
            ]
            deadline = time.monotonic() + 20
            # The first writer leads and waits for the lock; the others queue behind it.
            while group.waiting < WRITERS - 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert group.waiting == WRITERS - 1
            release.set()
            stored: list[StoredEvent] = [f.result(timeout=30) for f in futures]
    finally:
        release.set()
        holder.join()
        event.remove(engine, "commit", count)

    assert sorted(e.seq for e in stored) == list(range(1, WRITERS + 1))
    assert len(commits) == 2  # the leader's own event, then everything queued behind it
    with engine.connect() as conn:
        assert conn.scalar(select(EVENTS.c.seq).order_by(EVENTS.c.seq.desc()).limit(1)) == WRITERS
    report = verify(engine, public_keys)
    assert report.ok, report.breaks


def test_a_batch_appends_the_chain_that_single_appends_would(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    """``append_many`` (pipelined on PostgreSQL): the same seqs, links and checkpoints
    (every 5 here, so two fall inside the batch) as ``append`` one at a time."""
    with engine.begin() as conn:
        single = [trail.append(conn, sample_event(i)) for i in range(3)]
    with engine.begin() as conn:
        batch = trail.append_many(conn, [sample_event(i) for i in range(3, 15)])
    with engine.begin() as conn:
        single += [trail.append(conn, sample_event(15))]
    stored = single[:3] + batch + single[3:]

    assert [e.seq for e in stored] == list(range(1, 17))
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS).order_by(EVENTS.c.seq)).mappings().all()
        checkpoints = conn.execute(
            select(CHECKPOINTS.c.seq, CHECKPOINTS.c.head_hash).order_by(CHECKPOINTS.c.seq)
        ).all()
        head = conn.execute(text("SELECT seq, head_hash FROM audit_chain_head")).one()
    assert [r["event_hash"] for r in rows] == [e.event_hash for e in stored]
    assert [r["prev_hash"] for r in rows[1:]] == [e.event_hash for e in stored[:-1]]
    assert [r["action"] for r in rows] == [e.action for e in stored]
    assert [(seq, h) for seq, h in checkpoints] == [
        (5, stored[4].event_hash),
        (10, stored[9].event_hash),
        (15, stored[14].event_hash),
    ]
    assert tuple(head) == (16, stored[-1].event_hash)
    report = verify(engine, public_keys)
    assert report.ok, report.breaks


def test_a_session_the_database_ends_mid_append_raises_sqlalchemys_error(
    engine: Engine, trail: AuditTrail
) -> None:
    """On PostgreSQL the append talks to the driver directly (pipelined); a session that
    dies under it still surfaces as SQLAlchemy's ``OperationalError`` (what the routes turn
    into 503), and the connection is not handed out again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("appends are pipelined on PostgreSQL only")
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.commit()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError):
            trail.append(conn, sample_event(1))
        assert conn.invalidated
    with engine.connect() as conn:  # the next session works, from a fresh connection
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
