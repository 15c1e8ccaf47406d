"""Retention: archiving old events to a verified file, recorded by a signed cut."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from gateway.audit import (
    Actor,
    ArchiveChainBrokenError,
    ArchiveError,
    ArchiveReport,
    AuditTrail,
    BreakKind,
    CheckpointKind,
    EventFilter,
    PublicKey,
    StoredEvent,
    iter_events,
    verify,
    verify_archive,
)
from gateway.audit.archive import archive_events, read_archive
from gateway.audit.models import CHECKPOINTS, CUTS, EVENTS
from tests.audit.audit_testkit import Suspend, fill, tamper

OPERATOR = Actor(subject="cli:dpo", issuer="soteria-cli")


def _archive(
    engine: Engine,
    trail: AuditTrail,
    keys: dict[str, PublicKey],
    before: dt.datetime,
    out: Path,
) -> ArchiveReport:
    return archive_events(engine, trail, keys, before=before, out=out, actor=OPERATOR)


def _remaining(engine: Engine) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(iter_events(conn, EventFilter()))


def test_archive_moves_old_events_to_a_file_and_the_chain_still_verifies(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 9)
    out = tmp_path / "archive-1.jsonl"

    report = archive_events(
        engine, trail, public_keys, before=events[6].occurred_at, out=out, actor=OPERATOR
    )

    assert report.cut is not None
    assert report.checkpoint is not None
    assert (report.cut.first_seq, report.cut.through_seq, report.cut.event_count) == (1, 6, 6)
    assert report.cut.last_hash == events[5].event_hash
    assert report.checkpoint.kind == CheckpointKind.ARCHIVE
    assert [line[0]["seq"] for line in read_archive(out)] == [1, 2, 3, 4, 5, 6]  # type: ignore[index]
    remaining = _remaining(engine)
    assert [e.seq for e in remaining] == [7, 8, 9, 10]
    assert remaining[-1].action == "audit:archive"
    assert remaining[-1].response_sha256 == report.cut.file_sha256
    verified = verify(engine, public_keys)
    assert verified.ok, verified.breaks
    assert (verified.anchor_seq, verified.first_seq, verified.events_checked) == (6, 7, 4)
    assert verify_archive(engine, out, public_keys) == (report.cut, None)


def test_archives_chain_on_from_the_previous_cut(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 6)  # 1..6
    first = _archive(engine, trail, public_keys, events[2].occurred_at, tmp_path / "a.jsonl")
    later = fill(engine, trail, 4, start=6)  # 8..11, after the audit:archive event at 7
    second = _archive(engine, trail, public_keys, later[0].occurred_at, tmp_path / "b.jsonl")

    assert [(r.cut.first_seq, r.cut.through_seq) for r in (first, second) if r.cut] == [
        (1, 2),
        (3, 7),
    ]
    assert [e.seq for e in _remaining(engine)] == [8, 9, 10, 11, 12]
    assert verify(engine, public_keys).ok
    assert verify_archive(engine, tmp_path / "a.jsonl", public_keys)[1] is None
    assert verify_archive(engine, tmp_path / "b.jsonl", public_keys)[1] is None


def test_tampering_after_an_archive_is_still_detected(
    engine: Engine,
    trail: AuditTrail,
    public_keys: dict[str, PublicKey],
    suspend_triggers: Suspend,
    tmp_path: Path,
) -> None:
    events = fill(engine, trail, 8)
    _archive(engine, trail, public_keys, events[4].occurred_at, tmp_path / "a.jsonl")

    tamper(
        engine, suspend_triggers, update(EVENTS).where(EVENTS.c.seq == 5).values(rows_returned=1)
    )
    report = verify(engine, public_keys)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.EDITED, 5)

    tamper(engine, suspend_triggers, delete(EVENTS).where(EVENTS.c.seq == 5))
    report = verify(engine, public_keys)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.DELETED, 5)


def test_an_edited_archive_file_is_reported(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 6)
    out = tmp_path / "a.jsonl"
    _archive(engine, trail, public_keys, events[4].occurred_at, out)
    lines = out.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"client-', b'"victim-')
    out.write_bytes(b"".join(lines))

    _cut, problem = verify_archive(engine, out, public_keys)

    assert problem is not None
    assert (problem.kind, problem.seq) == (BreakKind.EDITED, 3)


def test_a_line_that_is_not_an_event_is_reported(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 6)
    out = tmp_path / "a.jsonl"
    _archive(engine, trail, public_keys, events[4].occurred_at, out)
    lines = out.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"seq":2', b'"seq":"2"')
    out.write_bytes(b"".join(lines))

    _cut, problem = verify_archive(engine, out, public_keys)

    assert problem is not None
    assert (problem.kind, problem.seq) == (BreakKind.EDITED, 2)
    assert "line 2" in problem.detail


def test_an_unsigned_cut_used_to_delete_events_is_reported(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey]
) -> None:
    """The application role can record a cut and delete inside it, but cannot sign it."""
    events = fill(engine, trail, 6)
    with engine.begin() as conn:
        conn.execute(
            insert(CUTS).values(
                first_seq=1,
                through_seq=3,
                last_hash=events[2].event_hash,
                file_sha256="0" * 64,
                event_count=3,
                archived_at=trail.now(),
            )
        )
        conn.execute(delete(EVENTS).where(EVENTS.c.seq <= 3))

    report = verify(engine, public_keys)

    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.BAD_CUT, 3)


def test_nothing_old_enough_writes_nothing(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 3)
    out = tmp_path / "a.jsonl"

    report = _archive(engine, trail, public_keys, events[0].occurred_at, out)

    assert report.cut is None
    assert not out.exists()
    assert len(_remaining(engine)) == 3


def test_refuses_to_archive_a_broken_segment(
    engine: Engine,
    trail: AuditTrail,
    public_keys: dict[str, PublicKey],
    suspend_triggers: Suspend,
    tmp_path: Path,
) -> None:
    events = fill(engine, trail, 6)
    tamper(engine, suspend_triggers, update(EVENTS).where(EVENTS.c.seq == 2).values(action="x:y"))
    out = tmp_path / "a.jsonl"

    with pytest.raises(ArchiveChainBrokenError, match="edited at 2"):
        _archive(engine, trail, public_keys, events[4].occurred_at, out)

    assert not out.exists()
    assert not list(tmp_path.iterdir())
    assert len(_remaining(engine)) == 6
    with engine.connect() as conn:
        assert conn.execute(select(CUTS)).first() is None


def test_never_overwrites_an_archive(
    engine: Engine, trail: AuditTrail, public_keys: dict[str, PublicKey], tmp_path: Path
) -> None:
    events = fill(engine, trail, 3)
    out = tmp_path / "a.jsonl"
    out.write_text("keep me")

    with pytest.raises(ArchiveError, match="never overwritten"):
        _archive(engine, trail, public_keys, events[2].occurred_at, out)
    assert out.read_text() == "keep me"


def test_refuses_to_archive_past_a_badly_signed_checkpoint(
    engine: Engine,
    trail: AuditTrail,
    public_keys: dict[str, PublicKey],
    suspend_triggers: Suspend,
    tmp_path: Path,
) -> None:
    events = fill(engine, trail, 7)  # checkpoint at 5
    tamper(engine, suspend_triggers, update(CHECKPOINTS).values(signature="00" * 64))

    with pytest.raises(ArchiveChainBrokenError, match="bad signature"):
        _archive(engine, trail, public_keys, events[6].occurred_at, tmp_path / "a.jsonl")
    assert len(_remaining(engine)) == 7
