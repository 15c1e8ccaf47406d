"""Standalone appends made at the same moment share one transaction and one commit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, event, select, text

from gateway.audit import AuditTrail, PublicKey, StoredEvent, verify
from gateway.audit.models import EVENTS
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
