"""``AuditTrail``: appends events to the one hash chain and signs checkpoints.

Why the append runs in the caller's transaction: an event must commit exactly when what
it records commits (a submission and its ``submission:create`` event, a disclosure and its
``indicators:query`` event). ``append_standalone`` is for events with nothing else to
commit: refusals, denials, reads.

Why one chain-head row: sequence numbers must be gap-free and every event must hash its
predecessor, even with several gateway processes on one PostgreSQL. The first statement of
every append is ``UPDATE audit_chain_head SET seq = seq + 1 ... RETURNING``: on PostgreSQL
it takes the row lock (stronger than ``SELECT ... FOR UPDATE``; under READ COMMITTED it
re-reads the latest committed head after waiting), and on SQLite, being a write, it takes
the database's write lock before reading, so a transaction never tries to upgrade a stale
read snapshot. The lock is held to commit, and a rollback returns the number, so no gaps.

Consequence for callers: appending serialises writers until they commit, so append last,
just before committing. On SQLite a transaction that only *read* before appending may get
"database is locked" if another writer committed since; start such units of work with a
write. On PostgreSQL use READ COMMITTED (the default); stricter levels raise serialisation
failures that the caller must retry.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, update

from gateway.audit.canonical import hash_fields
from gateway.audit.checkpoints import Checkpoint, CheckpointKind, write_checkpoint
from gateway.audit.errors import ChainHeadMissingError
from gateway.audit.events import AuditEvent, StoredEvent, check_time
from gateway.audit.group_commit import GroupCommit
from gateway.audit.models import EVENTS, HEAD
from gateway.audit.pipelined import append_pipelined, commit_pipelined, event_row, pipelined
from gateway.audit.signing import Signer

# The two statements that take the chain lock: advance it, or (checkpoints) hold it still.
_ADVANCE = (
    update(HEAD)
    .where(HEAD.c.id == 1)
    .values(seq=HEAD.c.seq + 1)
    .returning(HEAD.c.seq, HEAD.c.head_hash)
)
_HOLD = (
    update(HEAD)
    .where(HEAD.c.id == 1)
    .values(seq=HEAD.c.seq)
    .returning(HEAD.c.seq, HEAD.c.head_hash)
)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuditTrail:
    """The service the gateway writes audit events through. Safe to share between threads."""

    def __init__(
        self,
        signer: Signer,
        *,
        checkpoint_every: int = 1000,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self._clock = clock
        self._groups: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()
        self._groups_lock = threading.Lock()

    def now(self) -> dt.datetime:
        """The trail's clock (injectable so tests can place events in time)."""
        return self._clock()

    def append(self, conn: Connection, event: AuditEvent) -> StoredEvent:
        """Append ``event`` in the caller's transaction; it commits or rolls back with it."""
        if pipelined(conn):
            return self.append_many(conn, [event])[0]
        head = conn.execute(_ADVANCE).first()
        if head is None:
            raise ChainHeadMissingError
        seq, prev_hash = int(head[0]), str(head[1])
        occurred_at = event.occurred_at or self.now()
        check_time(occurred_at)
        fields = event.canonical_fields(seq=seq, occurred_at=occurred_at, prev_hash=prev_hash)
        event_hash = hash_fields(fields)
        conn.execute(EVENTS.insert(), event_row(event, fields, occurred_at, event_hash))
        conn.execute(update(HEAD).where(HEAD.c.id == 1).values(head_hash=event_hash))
        if seq % self.checkpoint_every == 0:
            self._periodic_checkpoint(conn, seq, event_hash)
        return StoredEvent.from_canonical(fields, event_hash)

    def append_many(self, conn: Connection, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """Append ``events`` in order in the caller's transaction (a group-commit batch).

        The same statements as ``append`` for each; on PostgreSQL they go in one pipeline
        (``gateway.audit.pipelined``) instead of a round trip each.
        """
        if events and pipelined(conn):
            return append_pipelined(
                conn,
                events,
                now=self.now,
                checkpoint_every=self.checkpoint_every,
                checkpoint=self._periodic_checkpoint,
            )
        return [self.append(conn, event) for event in events]

    def commit_many(self, engine: Engine, events: Sequence[AuditEvent]) -> list[StoredEvent]:
        """Append ``events`` in a transaction of their own and commit (a group-commit batch).

        On PostgreSQL the transaction's BEGIN and COMMIT go in the pipeline too
        (``gateway.audit.pipelined.commit_pipelined``): two round trips in all.
        """
        if events and pipelined(engine):
            return commit_pipelined(
                engine,
                events,
                now=self.now,
                checkpoint_every=self.checkpoint_every,
                checkpoint=self._periodic_checkpoint,
            )
        with engine.begin() as conn:
            return self.append_many(conn, events)

    def _periodic_checkpoint(self, conn: Connection, seq: int, head_hash: str) -> None:
        write_checkpoint(
            conn,
            self.signer,
            seq=seq,
            head_hash=head_hash,
            kind=CheckpointKind.PERIODIC,
            now=self.now(),
        )

    def group(self, engine: Engine) -> GroupCommit:
        """The group-commit queue of standalone appends on ``engine``."""
        with self._groups_lock:
            group = self._groups.get(engine)
            if group is None:
                group = self._groups[engine] = GroupCommit(self.commit_many)
            return group

    def append_standalone(self, engine: Engine, event: AuditEvent) -> StoredEvent:
        """Append ``event`` with nothing else to commit (refusals, denials, reads).

        Events appended at the same moment by this process's threads share a transaction
        (``gateway.audit.group_commit``); this returns once ``event`` is committed.
        """
        return self.group(engine).append(engine, event)

    def checkpoint(self, engine: Engine) -> Checkpoint:
        """Sign the current head now, in a transaction of its own."""
        with engine.begin() as conn:
            return self.checkpoint_in(conn)

    def checkpoint_in(self, conn: Connection) -> Checkpoint:
        """Sign the current head in the caller's transaction (holding the chain lock)."""
        head = conn.execute(_HOLD).first()
        if head is None:
            raise ChainHeadMissingError
        return write_checkpoint(
            conn,
            self.signer,
            seq=int(head[0]),
            head_hash=str(head[1]),
            kind=CheckpointKind.ON_DEMAND,
            now=self.now(),
        )
