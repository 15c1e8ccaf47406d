"""Group commit for standalone audit events: many requests' events, one transaction.

Every append takes the one chain-head row lock and holds it to commit, and a commit waits
for the WAL flush; so one event per transaction caps a deployment at about one event per
flush (measured by ``make reliability``: the head lock was where nearly every busy
database session waited). Here the threads of one process that append at the same moment
share a transaction: the first becomes the *leader*, takes every event queued so far (its
own included, at most ``MAX_BATCH``), appends them in arrival order in one transaction (on
PostgreSQL in one pipelined round trip: ``gateway.audit.pipelined``) and commits once;
the others wait for that commit. Then leadership passes to the first thread still queued,
so a leader writes one batch and no request waits for more than the batch in progress
and its own.

What callers see is unchanged: ``append`` returns only once the event is committed, with
its own ``StoredEvent``, or raises. If a batch fails, each of its events is tried again in a
transaction of its own, so one bad event (a clock outside the allowed range) fails only its
own request; when the database is down, every one fails, as it would have alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Engine

from gateway.audit.events import AuditEvent, StoredEvent

MAX_BATCH: Final = 256

# Appends the events in order in one transaction of their own, commits, returns them stored.
CommitMany = Callable[[Engine, Sequence[AuditEvent]], list[StoredEvent]]


@dataclass
class _Pending:
    event: AuditEvent
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    stored: StoredEvent | None = None
    error: BaseException | None = None

    def outcome(self) -> StoredEvent:
        if self.error is not None:
            raise self.error
        assert self.stored is not None
        return self.stored


class GroupCommit:
    """The queue of one engine (a transaction never spans two engines)."""

    def __init__(self, commit_many: CommitMany) -> None:
        self._commit_many = commit_many
        self.commits = 0  # transactions committed (for tests and metrics)
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False

    @property
    def waiting(self) -> int:
        """Events queued behind the transaction in progress (for tests and metrics)."""
        with self._lock:
            return len(self._queue)

    def append(self, engine: Engine, event: AuditEvent) -> StoredEvent:
        me = _Pending(event)
        with self._lock:
            self._queue.append(me)
            follow = self._leading
            self._leading = True
        if follow:
            me.woken.wait()
            if not me.lead:
                return me.outcome()
        try:
            with self._lock:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            self._write(engine, batch)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].lead = True
                    self._queue[0].woken.set()
                else:
                    self._leading = False
        return me.outcome()

    def _write(self, engine: Engine, batch: list[_Pending]) -> None:
        try:
            stored = self._commit_many(engine, [pending.event for pending in batch])
        except Exception as exc:  # noqa: BLE001 - handed to the callers, who raise it
            if len(batch) > 1:
                for pending in batch:
                    self._write(engine, [pending])
                return
            batch[0].error = exc
            batch[0].woken.set()
            return
        with self._lock:
            self.commits += 1
        for pending, event in zip(batch, stored, strict=True):
            pending.stored = event
            pending.woken.set()
