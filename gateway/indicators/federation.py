"""Fan-out to the forces' indicator sources: concurrent, time-limited, retried, broken.

Each source (the shared local store, a force's own database, a remote force node) is
called in its own worker thread with a deadline. A source that fails or times out yields
a ``Failure`` for its forces, never an exception for the whole query: the table is built
from the others and the failed forces are listed as missing. A circuit breaker per
source stops calling one that keeps failing, so a dead node costs nothing per query
until its cool-down has passed.

Each call is a ``source.call`` span (source name and kind, its forces, attempts and
outcome: ``ok`` or the failure's reason, ``circuit_open`` included), started and ended by
the fan-out itself so that a call it stops waiting for ends as ``timeout``; the source
runs inside it, so its SQL or its request to a node (which continues the trace) are its
children. Failures are counted per force in ``soteria.source.failures``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.trace import Status, StatusCode

T = TypeVar("T")
tracer = trace.get_tracer(__name__)
_failures = metrics.get_meter(__name__).create_counter(
    "soteria.source.failures",
    unit="{failure}",
    description="Forces an indicator source could not answer for, by force and reason.",
)


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
    span: trace.Span
    future: Future[T] | None = None
    attempts: int = 0


class FanOut:
    """Runs one call per source concurrently; owns the worker pool and the breakers."""

    def __init__(self, *, timeout: float, workers: int = 256, retries: int = 1) -> None:
        self.timeout = timeout
        self.retries = retries
        # Every call must start at once: one waiting in the pool's queue for a thread would
        # add its wait to the query and spend its deadline there (with 32 threads, 43
        # sources took 20 ms more than the slowest). Threads are made only when needed, so
        # room for several concurrent queries over all 43 forces costs nothing until used.
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def breaker(self, name: str) -> CircuitBreaker:
        with self._lock:
            return self._breakers.setdefault(name, CircuitBreaker())

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(
        self,
        calls: Mapping[str, Callable[[], T]],
        members: Mapping[str, Sequence[str]] | None = None,
        timeouts: Mapping[str, float] | None = None,
    ) -> dict[str, T | Failure]:
        """Each source's result, or why it has none; never raises for a source's fault.

        ``members`` names the forces each source answers for (span attributes, metrics);
        ``timeouts`` overrides the fan-out's timeout for the sources it names.
        """
        results: dict[str, T | Failure] = {}
        pending: list[_Call[T]] = []
        forces = members or {}
        for name, fn in calls.items():
            call = _Call(name, fn, _start_span(name, forces.get(name, ())))
            if not self.breaker(name).allow():
                results[name] = _finish(call, forces.get(name, ()), Failure("circuit_open"))
                continue
            call.future = self._pool.submit(self._attempt, call)
            pending.append(call)
        started = time.monotonic()
        limits = timeouts or {}
        for call in pending:
            assert call.future is not None
            deadline = started + limits.get(call.name, self.timeout)
            remaining = max(deadline - time.monotonic(), 0.0)
            outcome: T | Failure
            try:
                outcome = call.future.result(timeout=remaining)
                self.breaker(call.name).succeeded()
            except FutureTimeout:
                call.future.cancel()
                outcome = Failure("timeout")
                self.breaker(call.name).failed()
            except Exception as exc:  # noqa: BLE001 - one source's fault must not fail the query
                outcome = Failure(getattr(exc, "reason", "error"))
                self.breaker(call.name).failed()
            results[call.name] = _finish(call, forces.get(call.name, ()), outcome)
        return results

    def _attempt(self, call: _Call[T]) -> T:
        with trace.use_span(call.span, end_on_exit=False, record_exception=False):
            for attempt in range(self.retries + 1):
                call.attempts = attempt + 1
                try:
                    return call.fn()
                except Exception as exc:
                    # Only "could not connect" is worth another try within the deadline.
                    if not getattr(exc, "retryable", False) or attempt == self.retries:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


def _start_span(name: str, forces: Sequence[str]) -> trace.Span:
    return tracer.start_span(
        "source.call",
        attributes={
            "soteria.source": name,
            "soteria.source.kind": "remote" if name.startswith("node:") else "local",
            "soteria.forces": list(forces),
            "soteria.force_count": len(forces),
        },
        record_exception=False,
        set_status_on_exception=False,
    )


def _finish(call: _Call[Any], forces: Sequence[str], outcome: T | Failure) -> T | Failure:
    """Ends the call's span with its outcome; counts a failure once per force."""
    span = call.span
    if isinstance(outcome, Failure):
        for force in forces or (call.name,):
            _failures.add(
                1, {"soteria.force": force, "soteria.source": call.name, "reason": outcome.reason}
            )
        span.set_status(Status(StatusCode.ERROR))
    span.set_attributes(
        {
            "soteria.outcome": outcome.reason if isinstance(outcome, Failure) else "ok",
            "soteria.source.attempts": call.attempts,
        }
    )
    span.end()
    return outcome
