"""Standalone appends made at the same moment share one transaction and one commit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

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
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_chain_lock, args=(engine, release, held))
    holder.start()
    held.wait(10)
    group = trail.group(engine)
    commits_before = group.commits
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

    assert sorted(e.seq for e in stored) == list(range(1, WRITERS + 1))
    # the leader's own event, then everything queued behind it
    assert group.commits - commits_before == 2
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
    # Batches committing on their own (the group commit's, BEGIN and COMMIT pipelined on
    # PostgreSQL): a checkpoint as the last event (20), then one inside the batch (25).
    committed = trail.commit_many(engine, [sample_event(i) for i in range(16, 20)])
    committed += trail.commit_many(engine, [sample_event(i) for i in range(20, 27)])
    stored = single[:3] + batch + single[3:] + committed

    assert [e.seq for e in stored] == list(range(1, 28))
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
        (20, stored[19].event_hash),
        (25, stored[24].event_hash),
    ]
    assert tuple(head) == (27, stored[-1].event_hash)
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


def test_a_batch_the_database_refuses_leaves_nothing_and_a_clean_connection(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    """A statement refused mid-batch (here a trigger refusing one event's action) fails the
    whole batch: no event and no head change stored, the error raised as SQLAlchemy's,
    and the connection goes back to the pool out of its transaction and out of the
    autocommit mode the pipelined commit used."""
    trail.commit_many(engine, [sample_event(0)])
    refused = sample_event(1, action="test:refused")
    returned: list[tuple[object, object]] = []

    def on_checkin(dbapi_connection: object, _record: object) -> None:
        if engine.dialect.name == "postgresql":
            status = dbapi_connection.pgconn.transaction_status  # type: ignore[attr-defined]
            returned.append((dbapi_connection.autocommit, status))  # type: ignore[attr-defined]

    with engine.begin() as conn:
        conn.execute(text(_REFUSE_TRIGGER[engine.dialect.name]))
    event.listen(engine, "checkin", on_checkin)
    try:
        with pytest.raises(DBAPIError, match="refused by the test"):
            trail.commit_many(engine, [sample_event(2), refused, sample_event(3)])
    finally:
        event.remove(engine, "checkin", on_checkin)
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER test_refuse_action" + _ON[engine.dialect.name]))

    assert returned in ([], [(False, 0)])  # psycopg: TransactionStatus.IDLE
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EVENTS)) == 1
        assert conn.execute(text("SELECT seq FROM audit_chain_head")).scalar_one() == 1
    after = trail.commit_many(engine, [sample_event(4)])  # the chain goes on from seq 1
    assert [e.seq for e in after] == [2]
    report = verify(engine, public_keys)
    assert report.ok, report.breaks


_ON = {"postgresql": " ON audit_events", "sqlite": ""}
_REFUSE_TRIGGER = {
    "postgresql": """
        CREATE OR REPLACE FUNCTION test_refuse_action() RETURNS trigger AS $$
        BEGIN
            IF NEW.action = 'test:refused' THEN
                RAISE EXCEPTION 'refused by the test';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER test_refuse_action BEFORE INSERT ON audit_events
            FOR EACH ROW EXECUTE FUNCTION test_refuse_action();
    """,
    "sqlite": """
        CREATE TRIGGER test_refuse_action BEFORE INSERT ON audit_events
        WHEN NEW.action = 'test:refused'
        BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
    """,
}


def test_a_committing_batch_whose_session_dies_raises_sqlalchemys_error(
    engine: Engine, trail: AuditTrail
) -> None:
    """The pipelined commit on a connection whose backend the database ends just after it
    was checked out: SQLAlchemy's ``OperationalError`` (a 503 for the routes), nothing
    stored, and the next batch works on a fresh connection."""
    if engine.dialect.name != "postgresql":
        pytest.skip("commits are pipelined on PostgreSQL only")
    killer = engine.raw_connection()  # held apart from the pool while the listener runs
    ended: list[int] = []

    def end_backend(dbapi_connection: object, _record: object, _proxy: object) -> None:
        pid = dbapi_connection.info.backend_pid  # type: ignore[attr-defined]
        killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        killer.commit()
        ended.append(pid)

    event.listen(engine, "checkout", end_backend)
    try:
        with pytest.raises(OperationalError):
            trail.commit_many(engine, [sample_event(1)])
    finally:
        event.remove(engine, "checkout", end_backend)
        killer.close()
    assert ended
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(EVENTS)) == 0
    stored = trail.commit_many(engine, [sample_event(2)])
    assert [e.seq for e in stored] == [1]
