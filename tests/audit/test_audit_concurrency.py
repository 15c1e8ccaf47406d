"""Concurrent writers leave one valid, gap-free chain (threads; on PostgreSQL two engines,
which share nothing but the database, as two gateway processes would)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, select

from adapters.store.engine import make_engine
from gateway.audit import AuditTrail, PublicKey, verify
from gateway.audit.models import EVENTS
from tests.audit.audit_testkit import sample_event

PER_WRITER = 12


def _run_writers(writers: list[Callable[[], None]]) -> None:
    """Start every writer at the same moment; re-raise the first failure, if any."""
    start = threading.Barrier(len(writers))

    def run(write: Callable[[], None]) -> None:
        start.wait()
        write()

    with ThreadPoolExecutor(max_workers=len(writers)) as pool:
        for future in [pool.submit(run, write) for write in writers]:
            future.result()


def _writer(engine: Engine, trail: AuditTrail, offset: int) -> Callable[[], None]:
    def write() -> None:
        for i in range(PER_WRITER):
            trail.append_standalone(engine, sample_event(offset + i))

    return write


def _assert_one_chain(engine: Engine, public_keys: dict[str, PublicKey], total: int) -> None:
    with engine.connect() as conn:
        seqs = conn.execute(select(EVENTS.c.seq).order_by(EVENTS.c.seq)).scalars().all()
    assert seqs == list(range(1, total + 1))
    report = verify(engine, public_keys)
    assert report.ok, report.breaks
    assert report.events_checked == total


def test_threads_appending_at_once_make_one_chain(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    writers = [_writer(engine, trail, 100 * n) for n in range(4)]

    _run_writers(writers)

    _assert_one_chain(engine, public_keys, 4 * PER_WRITER)


def test_two_engines_appending_at_once_make_one_chain(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    """Each engine has its own pool: the chain head row is all they share."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        writers = [_writer(e, trail, 100 * n) for n, e in enumerate((engine, other, engine, other))]
        _run_writers(writers)
    finally:
        other.dispose()

    _assert_one_chain(engine, public_keys, 4 * PER_WRITER)
