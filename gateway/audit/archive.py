"""Retention: moving old events out of the database into a verified, signed-for file.

Never a silent deletion. ``archive_events`` runs this procedure:

1. Choose the segment: the longest run of events after the last cut whose events all
   occurred before ``before``. It is a prefix of the remaining chain, so what stays in the
   database still starts at a known anchor (the cut's last hash).
2. Write it to a temporary file beside ``out`` (JSON lines, as ``export``), fsync it.
3. Read the file back and verify it: the chain from the previous anchor, the signed
   checkpoints that fall inside it (each must carry a valid signature), its length, and
   that the first event left behind links to its last hash. Any break refuses the
   archive; nothing is removed.
4. Move the file to ``out`` (never over an existing file).
5. In one transaction: append an ``audit:archive`` event, insert the cut (range, last
   hash, file SHA-256), sign an archive checkpoint recording the cut, and delete the rows.
   The delete trigger only lets rows inside a cut go, and on PostgreSQL only in the
   transaction that made the cut. If the transaction fails, the file is removed again.

``verify`` then anchors on the last cut, and ``verify_archive`` re-checks a file later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, select

from gateway.audit.canonical import FIELDS, GENESIS_HASH
from gateway.audit.chain import Break, BreakKind, ChainChecker
from gateway.audit.checkpoints import (
    ArchiveCut,
    Checkpoint,
    CheckpointKind,
    load_checkpoints,
    load_cuts,
    write_checkpoint,
)
from gateway.audit.errors import ArchiveChainBrokenError, ArchiveError
from gateway.audit.events import Actor, AuditEvent, Disclosure, Outcome
from gateway.audit.export import write_events
from gateway.audit.models import EVENTS
from gateway.audit.queries import EventFilter, iter_events
from gateway.audit.signing import PublicKey
from gateway.audit.trail import AuditTrail
from gateway.audit.verify import check_signatures

_FIELD_SET = frozenset(FIELDS)


@dataclass(frozen=True, slots=True)
class ArchiveReport:
    cut: ArchiveCut | None  # None: nothing was old enough; no file was written
    path: Path | None
    checkpoint: Checkpoint | None


def archive_events(
    engine: Engine,
    trail: AuditTrail,
    public_keys: Mapping[str, PublicKey],
    *,
    before: dt.datetime,
    out: Path,
    actor: Actor,
) -> ArchiveReport:
    """Archive the events that occurred before ``before`` to the new file ``out``."""
    if before.tzinfo is None:
        raise ArchiveError("the archive cut time must be timezone-aware")
    if out.exists():
        raise ArchiveError(f"{out} already exists; archives are never overwritten")
    temporary = out.with_name(f".{out.name}.partial")
    with engine.connect() as conn, conn.begin():
        cuts = load_cuts(conn)
        anchor = (cuts[-1].through_seq, cuts[-1].last_hash) if cuts else (0, GENESIS_HASH)
        newer = conn.execute(
            select(func.min(EVENTS.c.seq)).where(
                EVENTS.c.seq > anchor[0], EVENTS.c.occurred_at >= before
            )
        ).scalar()
        last = conn.execute(select(func.max(EVENTS.c.seq))).scalar()
        through = int(newer) - 1 if newer is not None else int(last or anchor[0])
        if through <= anchor[0]:
            return ArchiveReport(cut=None, path=None, checkpoint=None)
        valid, bad = check_signatures(load_checkpoints(conn, cuts), public_keys)
        bad = [b for b in bad if anchor[0] < b.seq <= through]
        if bad:
            raise ArchiveChainBrokenError(f"refusing to archive: {bad[0].detail}")
        signed = {cp.seq: cp.head_hash for cp in valid if anchor[0] < cp.seq <= through}
        with temporary.open("xb") as handle:
            events = iter_events(conn, EventFilter(), seq_range=(anchor[0] + 1, through))
            summary = write_events(events, handle)
            handle.flush()
            os.fsync(handle.fileno())
        follower = conn.execute(
            select(EVENTS.c.prev_hash).where(EVENTS.c.seq == through + 1)
        ).scalar()
    try:
        checker, problem = check_archive_file(temporary, *anchor, signed)
        if problem is None and checker.last_seq != through:
            problem = Break(BreakKind.DELETED, checker.last_seq + 1, "the segment is short")
        if problem is None and follower is not None and follower != checker.last_hash:
            problem = Break(BreakKind.EDITED, through, f"event {through + 1} does not link to it")
        if problem is not None:
            raise ArchiveChainBrokenError(
                f"refusing to archive: {problem.kind} at {problem.seq}: {problem.detail}"
            )
        os.link(temporary, out)  # fails if ``out`` appeared meanwhile: never overwrite
    finally:
        temporary.unlink(missing_ok=True)
    cut = ArchiveCut(
        first_seq=anchor[0] + 1,
        through_seq=through,
        last_hash=checker.last_hash,
        file_sha256=summary.sha256,
        event_count=summary.events,
        archived_at=trail.now(),
    )
    try:
        checkpoint = _commit_cut(engine, trail, cut, actor)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return ArchiveReport(cut=cut, path=out, checkpoint=checkpoint)


def _commit_cut(engine: Engine, trail: AuditTrail, cut: ArchiveCut, actor: Actor) -> Checkpoint:
    with engine.begin() as conn:
        trail.append(
            conn,
            AuditEvent(
                action="audit:archive",
                outcome=Outcome.ALLOWED,
                actor=actor,
                operation="archive",
                disclosure=Disclosure(rows=cut.event_count, response_sha256=cut.file_sha256),
            ),
        )
        checkpoint = write_checkpoint(
            conn,
            trail.signer,
            seq=cut.through_seq,
            head_hash=cut.last_hash,
            kind=CheckpointKind.ARCHIVE,
            now=cut.archived_at,
            archive=cut,
        )
        removed = conn.execute(
            delete(EVENTS).where(EVENTS.c.seq.between(cut.first_seq, cut.through_seq))
        ).rowcount
        if removed != cut.event_count:
            raise ArchiveError(f"expected to remove {cut.event_count} events, found {removed}")
    return checkpoint


def read_archive(path: Path) -> Iterator[tuple[dict[str, Any], str] | int]:
    """Each line's canonical fields and hash; a bare ``int`` is a line that is no event."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = orjson.loads(line)
                event_hash = record.pop("event_hash")
            except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError):
                yield number
                continue
            if (
                not isinstance(event_hash, str)
                or set(record) != _FIELD_SET
                or type(record["seq"]) is not int
                or not isinstance(record["prev_hash"], str)
            ):
                yield number  # not shaped like an event: reported, never trusted
                continue
            yield record, event_hash


def check_archive_file(
    path: Path, anchor_seq: int, anchor_hash: str, signed: Mapping[int, str] | None = None
) -> tuple[ChainChecker, Break | None]:
    """Run the chain checks over an archive file, starting from its anchor."""
    checker = ChainChecker(anchor_seq=anchor_seq, anchor_hash=anchor_hash, signed=signed or {})
    fed = anchor_seq
    for item in read_archive(path):
        if isinstance(item, int):
            earlier = checker.finish_range(fed)  # a break before the bad line comes first
            return checker, earlier or Break(
                BreakKind.EDITED, fed + 1, f"line {item} is not an event record"
            )
        if not checker.feed(*item):
            break
        fed = int(item[0]["seq"])
    return checker, checker.finish()


def verify_archive(
    engine: Engine, path: Path, public_keys: Mapping[str, PublicKey]
) -> tuple[ArchiveCut, Break | None]:
    """Re-check an archive file against the signed cut that records it.

    Returns the cut and the first break (None if the file is exactly what was archived).
    Raises ``ArchiveError`` if no cut starts where the file starts.
    """
    first = next((item for item in read_archive(path) if not isinstance(item, int)), None)
    if first is None:
        raise ArchiveError(f"{path} holds no audit events")
    with engine.connect() as conn, conn.begin():
        cuts = load_cuts(conn)
        valid, _ = check_signatures(load_checkpoints(conn, cuts), public_keys)
    signed_cuts = {cp.archive for cp in valid if cp.kind == CheckpointKind.ARCHIVE}
    previous = (0, GENESIS_HASH)
    for cut in cuts:
        if cut.first_seq == first[0]["seq"]:
            break
        previous = (cut.through_seq, cut.last_hash)
    else:
        raise ArchiveError(f"no archive cut starts at event {first[0]['seq']}")
    checker, problem = check_archive_file(path, *previous)
    if problem is None and (checker.last_seq, checker.last_hash) != (
        cut.through_seq,
        cut.last_hash,
    ):
        problem = Break(BreakKind.TRUNCATED, checker.last_seq + 1, "the file ends early")
    if problem is None and _file_sha256(path) != cut.file_sha256:
        problem = Break(BreakKind.EDITED, cut.first_seq, "the file's SHA-256 differs from the cut")
    if problem is None and cut not in signed_cuts:
        problem = Break(BreakKind.BAD_CUT, cut.through_seq, "no valid signed checkpoint records it")
    return cut, problem


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
