"""Token buckets in the database, so a rate limit holds across replicas.

One row per key (``auth_rate_buckets``). A take is two statements in its own short
transaction: an ``INSERT ... ON CONFLICT DO NOTHING`` that creates a full bucket the first
time a key is seen, then one ``UPDATE ... RETURNING`` that refills, decides and takes in a
single atomic step. Under concurrency PostgreSQL serialises the UPDATEs on the row lock and
re-evaluates the expressions against the committed row, so two replicas can never both
take the last token. SQLite serialises writers outright.

The decision is written to the row's ``allowed`` column by the same UPDATE because
RETURNING only sees the new row, not the value the refill was computed from.

The take commits on its own connection, independent of any request transaction: a
refused request must still have consumed its attempt.

Reserving in small batches
--------------------------
A round trip per request is most of what a small API request costs, so a process takes
tokens from the shared bucket ``batch`` at a time and hands them out locally:
``batch = min(MAX_BATCH, floor(rate x reserve_seconds))`` (``reserve_seconds`` defaults
to 0.05 s), so a limit of 50 requests a second takes 2 at a time, 1,000 a second 50 at a
time, and a slow limit (under 40 a second) one at a time, exactly as without batching.
A batch is all or nothing: when the bucket holds fewer than ``batch`` tokens the process
takes a single one, so near the limit every request is decided by the shared bucket.
Only one batch per key is fetched at a time in a process.

What that does to the limit, across ``R`` replicas sharing one bucket:

* **never more**: every request let through spent a token taken from the shared bucket,
  so over any long run the total is the bucket's. Over a short window a replica may spend
  tokens it reserved just before the window: at most ``batch - 1`` requests per replica
  above ``burst + rate x window``, i.e. at most ``reserve_seconds`` of the rate;
* **possibly fewer**: tokens one replica holds are not available to another, so a client
  may be refused while ``R x (batch - 1)`` tokens sit reserved elsewhere; reserved tokens
  not used within ``hold_seconds`` (1 s) are dropped, never handed back.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Connection, Engine, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite

from auth.models import RateBucket
from auth.ratelimit import Take

MAX_BATCH: Final = 64
DEFAULT_RESERVE_SECONDS: Final = 0.05
DEFAULT_HOLD_SECONDS: Final = 1.0


@dataclass
class _Reserve:
    """Tokens of one key taken from the shared bucket and not yet handed out."""

    tokens: int = 0
    taken_at: float = 0.0
    fetching: threading.Lock = field(default_factory=threading.Lock)


class SqlBucketStore:
    """A ``BucketStore`` on SQLite or PostgreSQL, reserving tokens in small batches."""

    def __init__(
        self,
        engine: Engine,
        *,
        reserve_seconds: float = DEFAULT_RESERVE_SECONDS,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
        max_keys: int = 100_000,
    ) -> None:
        if engine.dialect.name not in ("postgresql", "sqlite"):
            raise ValueError(f"SqlBucketStore does not support {engine.dialect.name}")
        if reserve_seconds < 0 or hold_seconds <= 0:
            raise ValueError("reserve_seconds must not be negative, hold_seconds positive")
        self._engine = engine
        self._reserve_seconds = reserve_seconds
        self._hold_seconds = hold_seconds
        self._max_keys = max_keys
        self._reserves: dict[str, _Reserve] = {}
        self._lock = threading.Lock()
        self.round_trips = 0  # transactions against the bucket table (tests, benchmarks)

    def batch(self, rate: float, burst: int) -> int:
        """How many tokens one round trip takes for a limit of ``rate`` and ``burst``."""
        return max(1, min(MAX_BATCH, burst, math.floor(rate * self._reserve_seconds)))

    def take(self, key: str, *, rate: float, burst: int, now: float) -> Take:
        batch = self.batch(rate, burst)
        if batch == 1:
            return self._take(key, rate=rate, burst=burst, now=now, count=1)[0]
        reserve = self._reserve(key)
        with reserve.fetching:  # one fetch per key at a time; the others use its batch
            with self._lock:
                if self._usable(reserve, now):
                    reserve.tokens -= 1
                    return Take(allowed=True, tokens=float(reserve.tokens))
            take, granted = self._take(key, rate=rate, burst=burst, now=now, count=batch)
            if granted > 1:
                with self._lock:
                    reserve.tokens, reserve.taken_at = granted - 1, now
            return take

    def take_now(self, key: str, *, rate: float, burst: int, now: float) -> Take | None:
        """A token from this process's reserve for ``key``, if it holds one and no other
        thread is fetching for it; None otherwise (``take`` then goes to the database)."""
        if self.batch(rate, burst) == 1:
            return None
        reserve = self._reserve(key)
        if not reserve.fetching.acquire(blocking=False):
            return None
        try:
            with self._lock:
                if self._usable(reserve, now):
                    reserve.tokens -= 1
                    return Take(allowed=True, tokens=float(reserve.tokens))
            return None
        finally:
            reserve.fetching.release()

    def _usable(self, reserve: _Reserve, now: float) -> bool:
        fresh = reserve.taken_at <= now < reserve.taken_at + self._hold_seconds
        if not fresh:
            reserve.tokens = 0  # too old (or the clock stepped back): dropped
        return reserve.tokens > 0

    def _reserve(self, key: str) -> _Reserve:
        with self._lock:
            reserve = self._reserves.get(key)
            if reserve is None:
                if len(self._reserves) >= self._max_keys:
                    idle = [k for k, r in self._reserves.items() if r.tokens == 0]
                    for stale in idle or list(self._reserves):
                        del self._reserves[stale]
                reserve = self._reserves[key] = _Reserve()
            return reserve

    def _take(
        self, key: str, *, rate: float, burst: int, now: float, count: int
    ) -> tuple[Take, int]:
        """Take ``count`` tokens, or failing that one; returns the take and how many."""
        self.round_trips += 1
        with self._engine.begin() as connection:
            if self._engine.dialect.name == "postgresql":
                # A bucket is throttling state, not a record: after a crash a few
                # milliseconds of refills may be lost, which only errs towards allowing.
                # Not waiting for the WAL flush takes the commit off every request's path.
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.execute(self._create(key, burst, now))
            allowed, tokens = self._take_statement(
                connection, key, rate=rate, burst=burst, now=now, count=count
            )
            if allowed or count == 1:
                return Take(allowed=allowed, tokens=tokens), count if allowed else 0
            allowed, tokens = self._take_statement(
                connection, key, rate=rate, burst=burst, now=now, count=1
            )
            return Take(allowed=allowed, tokens=tokens), 1 if allowed else 0

    def _create(self, key: str, burst: int, now: float) -> postgresql.Insert | sqlite.Insert:
        row_values = {"key": key, "tokens": float(burst), "refilled_at": now, "allowed": True}
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(RateBucket).values(row_values).on_conflict_do_nothing()
        return sqlite.insert(RateBucket).values(row_values).on_conflict_do_nothing()

    @staticmethod
    def _take_statement(
        connection: Connection, key: str, *, rate: float, burst: int, now: float, count: int
    ) -> tuple[bool, float]:
        """Refill to ``now`` and take ``count`` tokens if there are that many, atomically."""
        burst_value = literal(float(burst))
        elapsed = literal(now) - RateBucket.refilled_at
        refilled = RateBucket.tokens + case((elapsed > 0, elapsed), else_=0.0) * literal(rate)
        capped = case((refilled > burst_value, burst_value), else_=refilled)
        wanted = literal(float(count))
        allowed = capped >= wanted
        take = (
            update(RateBucket)
            .where(RateBucket.key == key)
            .values(
                tokens=case((allowed, capped - wanted), else_=capped),
                refilled_at=case((elapsed > 0, literal(now)), else_=RateBucket.refilled_at),
                allowed=allowed,
            )
            .returning(RateBucket.allowed, RateBucket.tokens)
        )
        row = connection.execute(take).one()
        return bool(row.allowed), float(row.tokens)

    def clear(self) -> None:
        """Drop every bucket (tests, or after changing limits), and this process's reserves."""
        with self._lock:
            self._reserves.clear()
        with self._engine.begin() as connection:
            connection.execute(delete(RateBucket))
