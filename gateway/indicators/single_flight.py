"""One computation per key at a time: callers asking for a key already being computed
wait for that computation and share its result.

After a submission every cached table holding the force is stale, and the requests that
arrive next for the same table (dashboards refresh together) would each refresh the force
and rebuild the table, disclosure control included: the same work, several times at once.
Keys carry the data versions the caller has read, so a caller only ever joins a
computation of figures at least as fresh as those it was promised; a failure is raised to
every caller that joined it, and the next caller starts afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    __slots__ = ("done", "error", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


class SingleFlight(Generic[T]):
    """Thread-safe; one instance per kind of computation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[Hashable, _Call[T]] = {}
        self.shared = 0  # callers that joined another's computation (for tests and metrics)

    def run(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
            else:
                self.shared += 1
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value  # type: ignore[return-value]
        try:
            call.value = compute()
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
        return call.value
