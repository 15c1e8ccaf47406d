"""Per-client token-bucket rate limiting, with the bucket state behind a small protocol.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each
request takes one. ``RateLimiter`` does the policy (keys, Retry-After); a ``BucketStore``
does the atomic take. ``InMemoryBucketStore`` serves a single process;
``auth.ratelimit_sql.SqlBucketStore`` keeps buckets in the database so the limit holds
across replicas.

The in-memory store bounds its size: a bucket that has refilled to ``burst`` is the same
as no bucket, so those are dropped first when the store grows past ``max_keys``. That keeps
requests naming random client ids from growing memory without bound.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

from auth.clock import Clock, utc_now
from auth.errors import RateLimitedError
from auth.settings import RateLimit


@dataclass(frozen=True, slots=True)
class Take:
    """What a store answers: whether a token was taken, and how many are left."""

    allowed: bool
    tokens: float


class BucketStore(Protocol):
    """Atomically refill the bucket ``key`` to ``now`` and take one token if there is one."""

    def take(self, key: str, *, rate: float, burst: int, now: float) -> Take: ...

    def take_now(self, key: str, *, rate: float, burst: int, now: float) -> Take | None:
        """``take`` if it needs no I/O and no wait for another thread; else None."""


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after: int


def refill(tokens: float, elapsed: float, *, rate: float, burst: int) -> float:
    """Tokens after ``elapsed`` seconds; clock steps backwards never add tokens."""
    return min(float(burst), tokens + max(elapsed, 0.0) * rate)


class InMemoryBucketStore:
    """Buckets in a dict, guarded by a lock; correct for one process only."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        # key -> (tokens, refilled_at, rate, burst): each bucket keeps its own limit so
        # pruning can tell whether it has refilled even when limiters share the store.
        self._buckets: dict[str, tuple[float, float, float, int]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def take(self, key: str, *, rate: float, burst: int, now: float) -> Take:
        with self._lock:
            tokens, refilled_at, _, _ = self._buckets.get(key, (float(burst), now, rate, burst))
            tokens = refill(tokens, now - refilled_at, rate=rate, burst=burst)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, max(now, refilled_at), rate, burst)
            if len(self._buckets) > self._max_keys:
                self._prune(now)
            return Take(allowed=allowed, tokens=tokens)

    def take_now(self, key: str, *, rate: float, burst: int, now: float) -> Take | None:
        return self.take(key, rate=rate, burst=burst, now=now)  # memory only: always at once

    def __len__(self) -> int:
        return len(self._buckets)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at, rate, burst) in self._buckets.items()
            if refill(tokens, now - at, rate=rate, burst=burst) >= burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:
            oldest = sorted(self._buckets, key=lambda key: self._buckets[key][1])
            for key in oldest[: len(self._buckets) - self._max_keys]:
                del self._buckets[key]


class RateLimiter:
    """A rate limit applied to keys such as ``"oauth:<client_id>"``."""

    def __init__(self, store: BucketStore, limit: RateLimit, *, clock: Clock = utc_now) -> None:
        self._store = store
        self._limit = limit
        self._clock = clock

    def hit(self, key: str) -> RateDecision:
        """Take one token for ``key``; when refused, say how long until the next one."""
        take = self._store.take(
            key, rate=self._limit.rate, burst=self._limit.burst, now=self._clock().timestamp()
        )
        if take.allowed:
            return RateDecision(allowed=True, retry_after=0)
        wait = (1.0 - take.tokens) / self._limit.rate
        return RateDecision(allowed=False, retry_after=max(1, math.ceil(wait)))

    def check_now(self, key: str) -> bool:
        """``check`` if the store can decide without I/O: True when it took a token, raises
        ``RateLimitedError`` when refused, False when only ``check`` can say."""
        take = self._store.take_now(
            key, rate=self._limit.rate, burst=self._limit.burst, now=self._clock().timestamp()
        )
        if take is None:
            return False
        if not take.allowed:
            wait = (1.0 - take.tokens) / self._limit.rate
            raise RateLimitedError(max(1, math.ceil(wait)))
        return True

    def check(self, key: str) -> None:
        """``hit`` that raises ``RateLimitedError`` (HTTP 429) when refused."""
        decision = self.hit(key)
        if not decision.allowed:
            raise RateLimitedError(decision.retry_after)
