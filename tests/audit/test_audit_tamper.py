"""Every kind of tampering is found by ``verify``, at the right first sequence number.

hypothesis picks the tamper (kind, chain length, position, column); the tamper itself is
done as an attacker with superuser powers would, past the append-only triggers. Each
chain has checkpoints every 5 events and one at its end, as a deployment signs on a timer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Executable, delete, insert, update

from gateway.audit import GENESIS_HASH, AuditTrail, BreakKind, PublicKey, StoredEvent, verify
from gateway.audit.models import CHECKPOINTS, EVENTS, HEAD
from tests.audit.audit_testkit import Suspend, fill, forged_row, rehash, reset_audit, tamper


@pytest.fixture
def range_workers() -> Iterator[Executor]:
    """Threads stand in for worker processes: the same ranges, without process start-up."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        yield pool


EDITS = {
    "action": "indicators:export",
    "client_id": "intruder",
    "rows_returned": 999_999,
    "purpose_text": "nothing to see here",
}
EXPECTED = {
    "edit": BreakKind.EDITED,
    "edit_rehash": BreakKind.EDITED,
    "delete": BreakKind.DELETED,
    "truncate": BreakKind.TRUNCATED,
    "truncate_fix_head": BreakKind.TRUNCATED,
    "insert": BreakKind.INSERTED,
    "beyond_head": BreakKind.INSERTED,
    "reorder": BreakKind.REORDERED,
    "bad_signature": BreakKind.BAD_SIGNATURE,
}


@dataclass(frozen=True)
class Tamper:
    kind: str
    length: int
    position: int  # the sequence number verify must report
    column: str = "action"


@st.composite
def tampers(draw: st.DrawFn) -> Tamper:
    kind = draw(st.sampled_from(sorted(EXPECTED)))
    length = draw(st.integers(6, 14))
    if kind in ("delete", "reorder"):
        position = draw(st.integers(1, length - 1))
    elif kind == "beyond_head":
        position = length + 1
    elif kind == "bad_signature":
        position = draw(st.sampled_from(sorted({5, length} | ({10} if length >= 10 else set()))))
    else:
        position = draw(st.integers(1, length))
    return Tamper(kind, length, position, draw(st.sampled_from(sorted(EDITS))))


def apply(engine: Engine, suspend: Suspend, t: Tamper, chain: list[StoredEvent]) -> None:
    pos, by_seq = t.position, {e.seq: e for e in chain}
    at = EVENTS.c.seq == pos
    if t.kind == "edit":
        tamper(engine, suspend, update(EVENTS).where(at).values({t.column: EDITS[t.column]}))
    elif t.kind == "edit_rehash":
        new_hash = rehash(by_seq[pos], **{t.column: EDITS[t.column]})
        tamper(
            engine,
            suspend,
            update(EVENTS).where(at).values({t.column: EDITS[t.column], "event_hash": new_hash}),
        )
    elif t.kind == "delete":
        tamper(engine, suspend, delete(EVENTS).where(at))
    elif t.kind in ("truncate", "truncate_fix_head"):
        statements: list[Executable] = [delete(EVENTS).where(EVENTS.c.seq >= pos)]
        if t.kind == "truncate_fix_head":
            last = by_seq[pos - 1].event_hash if pos > 1 else GENESIS_HASH
            statements.append(update(HEAD).values(seq=pos - 1, head_hash=last))
        tamper(engine, suspend, *statements)
    elif t.kind == "insert":
        shifts = [
            update(EVENTS).where(EVENTS.c.seq == seq).values(seq=seq + 1)
            for seq in range(t.length, pos - 1, -1)
        ]
        prev = by_seq[pos - 1].event_hash if pos > 1 else GENESIS_HASH
        row = forged_row(pos, prev, by_seq[pos].occurred_at)
        tamper(engine, suspend, *shifts, insert(EVENTS).values(row))
    elif t.kind == "beyond_head":
        row = forged_row(pos, chain[-1].event_hash, chain[-1].occurred_at + dt.timedelta(1))
        tamper(engine, suspend, insert(EVENTS).values(row))
    elif t.kind == "reorder":
        tamper(
            engine,
            suspend,
            update(EVENTS).where(at).values(seq=-1),
            update(EVENTS).where(EVENTS.c.seq == pos + 1).values(seq=pos),
            update(EVENTS).where(EVENTS.c.seq == -1).values(seq=pos + 1),
        )
    else:
        forged = "00" * 64
        tamper(
            engine,
            suspend,
            update(CHECKPOINTS).where(CHECKPOINTS.c.seq == pos).values(signature=forged),
        )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(t=tampers())
@example(t=Tamper("edit", 7, 3, "rows_returned"))
@example(t=Tamper("edit_rehash", 7, 5, "client_id"))  # at a checkpoint
@example(t=Tamper("edit_rehash", 7, 7, "action"))  # the last event
@example(t=Tamper("edit_rehash", 7, 2, "purpose_text"))
@example(t=Tamper("delete", 7, 1))
@example(t=Tamper("truncate", 7, 4))
@example(t=Tamper("truncate_fix_head", 7, 6))
@example(t=Tamper("truncate_fix_head", 7, 1))
@example(t=Tamper("insert", 7, 1))
@example(t=Tamper("insert", 7, 7))
@example(t=Tamper("beyond_head", 7, 8))
@example(t=Tamper("reorder", 7, 6))
@example(t=Tamper("bad_signature", 11, 10))
def test_verify_reports_the_first_broken_event(
    engine: Engine,
    trail: AuditTrail,
    public_keys: dict[str, PublicKey],
    suspend_triggers: Suspend,
    range_workers: Executor,
    t: Tamper,
) -> None:
    reset_audit(engine, suspend_triggers)
    chain = fill(engine, trail, t.length)
    trail.checkpoint(engine)
    assert verify(engine, public_keys).ok
    assert verify(engine, public_keys, workers=3, min_range_events=2, executor=range_workers).ok

    apply(engine, suspend_triggers, t, chain)
    report = verify(engine, public_keys)
    in_ranges = verify(engine, public_keys, workers=3, min_range_events=2, executor=range_workers)

    assert report.first_break is not None, t
    assert (report.first_break.kind, report.first_break.seq) == (EXPECTED[t.kind], t.position)
    assert in_ranges.first_break is not None  # ranges agree with one pass:
    assert (in_ranges.first_break.kind, in_ranges.first_break.seq) == (EXPECTED[t.kind], t.position)


def test_a_rewritten_chain_is_caught_by_the_next_signed_checkpoint(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], suspend_triggers: Suspend
) -> None:
    """Rewriting an event and re-hashing everything after it leaves only the signatures."""
    chain = fill(engine, trail, 8)  # checkpoint at 5 only
    statements = []
    prev = chain[1].event_hash
    for event in chain[2:]:
        changes = {"prev_hash": prev}
        if event.seq == 3:
            changes["client_id"] = "intruder"
        prev = rehash(event, **changes)
        statements.append(
            update(EVENTS).where(EVENTS.c.seq == event.seq).values(**changes, event_hash=prev)
        )
    statements.append(update(HEAD).values(head_hash=prev))
    tamper(engine, suspend_triggers, *statements)

    report = verify(engine, public_keys)

    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.EDITED, 5)


def test_a_checkpoint_signed_by_an_unknown_key_is_reported(
    engine: Engine, trail: AuditTrail
) -> None:
    fill(engine, trail, 5)

    report = verify(engine, {})

    assert report.first_break is not None
    assert report.first_break.kind is BreakKind.BAD_SIGNATURE
    assert "unknown key" in report.first_break.detail
