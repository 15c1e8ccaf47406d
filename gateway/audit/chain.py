"""Checking a run of events against the hash chain, and naming what broke (pure; no I/O).

``ChainChecker`` is fed events in ``seq`` order (from the database or from an archive
file) and stops at the first break. It keeps one event of look-ahead, because telling an
insertion or a reordering from an edit needs the neighbour: each event's hash covers its
own ``seq`` and its predecessor's hash, so a moved event still hashes correctly under the
``seq`` it was written with, and still points at the event it originally followed.

How a break is named (``docs/audit.md`` has the table):

* ``deleted``    a sequence number is missing (or events were renumbered down over one);
* ``inserted``   an event the chain skips: the next event links past it and was written
                 one number earlier; or an event beyond the chain head;
* ``reordered``  an event stored before the event it links to (written one number later);
* ``edited``     content that no longer matches its hash, a hash that no longer matches
                 what the successor (or the head, or a signed checkpoint) recorded;
* ``truncated``  the chain ends before the head row or a signed checkpoint says it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.audit.canonical import hash_fields


class BreakKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    TRUNCATED = "truncated"
    BAD_SIGNATURE = "bad_signature"
    BAD_CUT = "bad_cut"


@dataclass(frozen=True, slots=True)
class Break:
    """The first place the trail stops being trustworthy: its kind and sequence number."""

    kind: BreakKind
    seq: int
    detail: str


@dataclass(slots=True)
class _Row:
    seq: int
    fields: dict[str, Any]
    prev_hash: str
    event_hash: str
    computed: str


def _hash_as(row: _Row, seq: int) -> str:
    return hash_fields({**row.fields, "seq": seq})


@dataclass(slots=True)
class ChainChecker:
    """Feed events in order with ``feed``; ``finish`` returns the first break or None.

    ``signed`` maps sequence numbers to the head hashes of valid signed checkpoints;
    ``head`` is the chain-head row's ``(seq, head_hash)`` when checking the database.
    """

    anchor_seq: int
    anchor_hash: str
    signed: Mapping[int, str] = field(default_factory=dict)
    head: tuple[int, str] | None = None
    anchor_is_event: bool = False  # the anchor is a stored event (a range's predecessor)
    events_checked: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    last_hash: str = ""
    broken: Break | None = None
    _pending: _Row | None = None

    def __post_init__(self) -> None:
        self.last_seq, self.last_hash = self.anchor_seq, self.anchor_hash

    def feed(self, fields: dict[str, Any], event_hash: str, computed: str | None = None) -> bool:
        """Check the previous event with this one as look-ahead; False once broken.

        ``computed`` is the hash of ``fields`` if the caller has already taken it.
        """
        if computed is None:
            computed = hash_fields(fields)
        row = _Row(fields["seq"], fields, fields["prev_hash"], event_hash, computed)
        pending = self._pending
        self._pending = row
        if pending is None:
            return self.broken is None
        if (  # the common case, decided without the classification below
            row.computed == event_hash
            and pending.computed == pending.event_hash
            and pending.seq == self.last_seq + 1
            and pending.prev_hash == self.last_hash
            and self.signed.get(pending.seq, pending.event_hash) == pending.event_hash
            and (self.head is None or pending.seq <= self.head[0])
            and self.broken is None
        ):
            self._accept(pending)
            return True
        self._check(pending, row)
        return self.broken is None

    def advance(self, count: int, first_seq: int | None, last_seq: int, last_hash: str) -> None:
        """Record ``count`` events a caller accepted itself, by the rule ``feed`` applies
        on its fast path (intact, next in sequence, linked, agreeing with the signed
        checkpoints and the head, and followed by an intact event); nothing pending."""
        if count == 0:
            return
        if self._pending is not None or self.broken is not None:
            raise RuntimeError("advance only between runs of feed with nothing pending")
        self.events_checked += count
        if self.first_seq is None:
            self.first_seq = first_seq
        self.last_seq, self.last_hash = last_seq, last_hash

    def _accept(self, row: _Row) -> None:
        self.events_checked += 1
        if self.first_seq is None:
            self.first_seq = row.seq
        self.last_seq, self.last_hash = row.seq, row.event_hash

    def finish(self) -> Break | None:
        if self._pending is not None:
            self._check(self._pending, None)
            self._pending = None
        if self.broken is None:
            self._check_end()
        return self.broken

    def finish_range(self, through: int) -> Break | None:
        """Like ``finish`` for a range that ends at ``through`` with more chain after it.

        An event fed beyond ``through`` served as look-ahead only: the next range checks it.
        """
        pending, self._pending = self._pending, None
        if pending is not None and pending.seq <= through:
            self._check(pending, None)
        if self.broken is None and self.last_seq < through:
            missing = self.last_seq + 1
            self._break(BreakKind.DELETED, missing, f"event {missing} is missing")
        return self.broken

    def _break(self, kind: BreakKind, seq: int, detail: str) -> None:
        self.broken = Break(kind, seq, detail)

    def _check(self, row: _Row, after: _Row | None) -> None:
        if self.broken is not None:
            return
        expected = self.last_seq + 1
        if row.seq != expected:
            if row.seq > expected:
                missing = (
                    f"event {expected} is"
                    if row.seq == expected + 1
                    else f"events {expected}..{row.seq - 1} are"
                )
                self._break(BreakKind.DELETED, expected, f"{missing} missing")
            else:
                self._break(BreakKind.REORDERED, row.seq, f"event {row.seq} follows {expected - 1}")
            return
        if self.head is not None and row.seq > self.head[0]:
            self._break(
                BreakKind.INSERTED,
                row.seq,
                f"event {row.seq} lies beyond the chain head {self.head[0]}",
            )
            return
        intact = row.computed == row.event_hash
        moved_down = not intact and _hash_as(row, row.seq + 1) == row.event_hash
        moved_up = (
            after is not None
            and after.computed != after.event_hash
            and _hash_as(after, after.seq - 1) == after.event_hash
        )
        if moved_down and moved_up and after is not None and row.prev_hash == after.event_hash:
            self._break(
                BreakKind.REORDERED,
                row.seq,
                f"events {row.seq} and {row.seq + 1} were swapped",
            )
        elif (
            moved_up and not moved_down and after is not None and after.prev_hash == self.last_hash
        ):
            self._break(
                BreakKind.INSERTED,
                row.seq,
                f"event {row.seq} is not in the chain: the next event was written as "
                f"{row.seq} and follows event {row.seq - 1}",
            )
        elif moved_down:
            self._break(
                BreakKind.DELETED,
                row.seq,
                f"the event written as {row.seq} was removed and later events renumbered",
            )
        elif not intact:
            self._break(BreakKind.EDITED, row.seq, f"event {row.seq} does not match its hash")
        elif row.prev_hash != self.last_hash:
            if row.seq - 1 == self.anchor_seq and not self.anchor_is_event:
                self._break(
                    BreakKind.EDITED,
                    row.seq,
                    f"event {row.seq} does not link to the chain's anchor",
                )
            else:
                self._break(
                    BreakKind.EDITED,
                    row.seq - 1,
                    f"event {row.seq - 1} no longer has the hash event {row.seq} recorded",
                )
        elif row.seq in self.signed and self.signed[row.seq] != row.event_hash:
            self._break(
                BreakKind.EDITED,
                row.seq,
                f"event {row.seq} differs from the signed checkpoint: the chain was rewritten",
            )
        else:
            self._accept(row)

    def _check_end(self) -> None:
        end = self.last_seq
        if self.head is not None:
            head_seq, head_hash = self.head
            if head_seq > end:
                self._break(
                    BreakKind.TRUNCATED,
                    end + 1,
                    f"the chain head records event {head_seq} but the chain ends at {end}",
                )
                return
            if head_seq == end and head_hash != self.last_hash:
                self._break(
                    BreakKind.EDITED, end, f"the chain head records another hash for event {end}"
                )
                return
        beyond = [seq for seq in self.signed if seq > end]
        if beyond:
            self._break(
                BreakKind.TRUNCATED,
                end + 1,
                f"the chain ends at {end} before the signed checkpoint at {max(beyond)}",
            )
