"""Fan-out to the forces' indicator sources: concurrent, time-limited, retried, broken.

Each source (the shared local store, a force's own database, a remote force node) is
called in its own worker thread with a deadline. A source that fails or times out yields
a ``Failure`` for its forces, never an exception for the whole query: the table is built
from the others and the failed forces are listed as missing. A circuit breaker per
source stops calling one that keeps failing, so a dead node costs nothing per query
until its cool-down has passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Generic, TypeVar

from opentelemetry import trace

T = TypeVar("T")
tracer = trace.get_tracer(__name__)


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # timeout, circuit_open, connection_failed, bad_response, error


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; half-opens after ``cooldown`` s."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            return self._clock() - self._opened_at >= self.cooldown  # half-open: one try

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()


@dataclass
class _Call(Generic[T]):
    name: str
    fn: Callable[[], T]
    future: Future[T] | None = None


class FanOut:
    """Runs one call per source concurrently; owns the worker pool and the breakers."""

    def __init__(self, *, timeout: float, workers: int = 32, retries: int = 1) -> None:
        self.timeout = timeout
        self.retries = retries
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, name: str) -> CircuitBreaker:
        with self._lock:
            return self._breakers.setdefault(name, CircuitBreaker())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self, calls: Mapping[str, Callable[[], T]]) -> dict[str, T | Failure]:
        """Each source's result, or why it has none; never raises for a source's fault."""
        results: dict[str, T | Failure] = {}
        pending: list[_Call[T]] = []
        for name, fn in calls.items():
            if not self.breaker(name).allow():
                results[name] = Failure("circuit_open")
                continue
            call = _Call(name, fn)
            call.future = self._pool.submit(self._attempt, name, fn)
            pending.append(call)
        deadline = time.monotonic() + self.timeout
        for call in pending:
            assert call.future is not None
            remaining = max(deadline - time.monotonic(), 0.0)
            try:
                results[call.name] = call.future.result(timeout=remaining)
                self.breaker(call.name).succeeded()
            except FutureTimeout:
                call.future.cancel()
                results[call.name] = Failure("timeout")
                self.breaker(call.name).failed()
            except Exception as exc:  # noqa: BLE001 - one source's fault must not fail the query
                results[call.name] = Failure(getattr(exc, "reason", "error"))
                self.breaker(call.name).failed()
        return results

    def _attempt(self, name: str, fn: Callable[[], T]) -> T:
        with tracer.start_as_current_span("source.call", attributes={"source": name}):
            for attempt in range(self.retries + 1):
                try:
                    return fn()
                except Exception as exc:
                    # Only "could not connect" is worth another try within the deadline.
                    if not getattr(exc, "retryable", False) or attempt == self.retries:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")
