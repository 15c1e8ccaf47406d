"""Re-checking the whole trail: every event's hash and link, every checkpoint and cut.

``verify`` reads one consistent snapshot (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite), so events appended while it runs are simply not seen. Events are
streamed in ``seq`` order with a server-side cursor and hashed from plain tuples: no ORM
objects, no per-row type conversion (the database renders ``occurred_at`` in the canonical
text form itself). With ``workers`` > 1 a long chain is split into ranges checked by
worker processes in the same snapshot (ranges.py).

What it reports: the first break in the chain (chain.py names the kinds), every checkpoint
whose signature does not verify against ``public_keys`` (or whose key is unknown), and
every archive cut that is out of sequence or not covered by a signed archive checkpoint.
``VerifyReport.first_break`` is the earliest of these by sequence number.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace

from sqlalchemy import Connection, Engine, func, select

from gateway.audit.canonical import GENESIS_HASH
from gateway.audit.chain import Break, BreakKind
from gateway.audit.checkpoints import (
    ArchiveCut,
    Checkpoint,
    CheckpointKind,
    load_checkpoints,
    load_cuts,
)
from gateway.audit.errors import ChainHeadMissingError
from gateway.audit.models import EVENTS, HEAD
from gateway.audit.ranges import RangeJob, RangeResult, check_range, run_range, snapshot
from gateway.audit.signing import PublicKey

# Below this many events per worker, starting processes costs more than it saves.
MIN_RANGE_EVENTS = 50_000


@dataclass(frozen=True, slots=True)
class VerifyReport:
    events_checked: int
    first_seq: int | None
    last_seq: int
    head_seq: int
    anchor_seq: int  # 0, or the last archived seq: the chain is checked from here
    checkpoints_checked: int
    cuts_checked: int
    breaks: tuple[Break, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.breaks

    @property
    def first_break(self) -> Break | None:
        return min(self.breaks, key=lambda b: b.seq) if self.breaks else None

    @property
    def events_per_second(self) -> float:
        return self.events_checked / self.seconds if self.seconds > 0 else 0.0


def verify(
    engine: Engine,
    public_keys: Mapping[str, PublicKey],
    *,
    workers: int = 1,
    batch_size: int = 10_000,
    min_range_events: int = MIN_RANGE_EVENTS,
    executor: Executor | None = None,
) -> VerifyReport:
    """Verify the whole trail in the database against trusted ``public_keys``.

    ``workers`` > 1 checks ranges of at least ``min_range_events`` in parallel, in worker
    processes (or in ``executor``, if given; the caller then owns it).
    """
    started = time.perf_counter()
    with snapshot(engine) as conn:
        head = conn.execute(select(HEAD.c.seq, HEAD.c.head_hash).where(HEAD.c.id == 1)).first()
        if head is None:
            raise ChainHeadMissingError
        cuts = load_cuts(conn)
        checkpoints = load_checkpoints(conn, cuts)
        valid, breaks = check_signatures(checkpoints, public_keys)
        anchor_seq, anchor_hash, cut_breaks = check_cuts(cuts, valid)
        breaks += cut_breaks
        breaks += [
            Break(
                BreakKind.BAD_CUT,
                cp.seq,
                f"the last archived hash differs from checkpoint {cp.seq}",
            )
            for cp in valid
            if cp.seq == anchor_seq and cp.head_hash != anchor_hash
        ]
        last = int(conn.execute(select(func.max(EVENTS.c.seq))).scalar() or anchor_seq)
        job = RangeJob(
            url=engine.url.render_as_string(hide_password=False),
            snapshot=None,
            lo=None,
            hi=max(last, anchor_seq),
            final=True,
            anchor=(anchor_seq, anchor_hash),
            signed={cp.seq: cp.head_hash for cp in valid if cp.seq > anchor_seq},
            head=(int(head[0]), str(head[1])),
            batch_size=batch_size,
        )
        count = min(workers, (last - anchor_seq) // max(min_range_events, 1))
        if count > 1 and engine.url.database not in (None, "", ":memory:"):
            results = _in_parallel(conn, job, anchor_seq, count, executor)
        else:
            results = [check_range(conn, job)]
    if count > 1 and engine.dialect.name == "sqlite" and _archived_meanwhile(engine, cuts):
        return verify(engine, public_keys, batch_size=batch_size)
    breaks += [r.broken for r in results if r.broken is not None]
    return VerifyReport(
        events_checked=sum(r.events_checked for r in results),
        first_seq=results[0].first_seq,
        last_seq=results[-1].last_seq,
        head_seq=int(head[0]),
        anchor_seq=anchor_seq,
        checkpoints_checked=len(checkpoints),
        cuts_checked=len(cuts),
        breaks=tuple(breaks),
        seconds=time.perf_counter() - started,
    )


def _in_parallel(
    conn: Connection, job: RangeJob, anchor_seq: int, count: int, executor: Executor | None
) -> list[RangeResult]:
    exported = None
    if conn.dialect.name == "postgresql":
        exported = str(conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar())
    total = job.hi - anchor_seq
    bounds = [
        (anchor_seq + 1 + total * i // count, anchor_seq + total * (i + 1) // count)
        for i in range(count)
    ]
    jobs = [
        replace(
            job,
            snapshot=exported,
            lo=None if i == 0 else lo,
            hi=hi,
            final=i == count - 1,
            anchor=job.anchor if i == 0 else None,
        )
        for i, (lo, hi) in enumerate(bounds)
    ]
    pool = executor or ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"))
    with nullcontext(pool) if executor else pool:
        return list(pool.map(run_range, jobs))


def _archived_meanwhile(engine: Engine, cuts: list[ArchiveCut]) -> bool:
    """SQLite workers cannot share the snapshot: did an archive remove rows meanwhile?"""
    with engine.connect() as conn:
        return len(load_cuts(conn)) != len(cuts)


def check_signatures(
    checkpoints: list[Checkpoint], public_keys: Mapping[str, PublicKey]
) -> tuple[list[Checkpoint], list[Break]]:
    """Split checkpoints into those whose signatures verify and breaks for the rest."""
    valid: list[Checkpoint] = []
    breaks: list[Break] = []
    for checkpoint in checkpoints:
        problem = checkpoint.signature_problem(public_keys)
        if problem is None:
            valid.append(checkpoint)
        else:
            breaks.append(Break(BreakKind.BAD_SIGNATURE, checkpoint.seq, problem))
    return valid, breaks


def check_cuts(cuts: list[ArchiveCut], valid: list[Checkpoint]) -> tuple[int, str, list[Break]]:
    """The anchor the remaining chain starts from, and breaks for cuts that are not sound."""
    signed_cuts = {cp.archive for cp in valid if cp.kind == CheckpointKind.ARCHIVE}
    breaks: list[Break] = []
    anchor_seq, anchor_hash = 0, GENESIS_HASH
    for cut in cuts:
        if cut.first_seq != anchor_seq + 1 or cut.through_seq < cut.first_seq:
            breaks.append(
                Break(
                    BreakKind.BAD_CUT,
                    cut.first_seq,
                    f"archive cut {cut.first_seq}.."
                    f"{cut.through_seq} does not follow the previous cut at {anchor_seq}",
                )
            )
        elif cut not in signed_cuts:
            breaks.append(
                Break(
                    BreakKind.BAD_CUT,
                    cut.through_seq,
                    f"archive cut {cut.first_seq}.."
                    f"{cut.through_seq} is not covered by a signed archive checkpoint",
                )
            )
        anchor_seq, anchor_hash = cut.through_seq, cut.last_hash
    return anchor_seq, anchor_hash, breaks
