"""Counting refused requests, and telling the gateway about each one.

Every denial (bad token, missing scope, wrong force, rate limit) passes through one
``DenialRecorder``: it bumps an in-process counter the gateway exports as a metric, then
calls the optional ``on_denied(request, reason)`` hook, which is where auditing will plug
in. The hook must never turn a 401 into a 500, so its exceptions are logged and swallowed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping

from starlette.requests import HTTPConnection

logger = logging.getLogger(__name__)

DenialHook = Callable[[HTTPConnection, str], None]


class DenialCounter:
    """Thread-safe counts of denials by reason code (``invalid_token``, ``wrong_force``...)."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def increment(self, reason: str) -> None:
        with self._lock:
            self._counts[reason] += 1

    def snapshot(self) -> Mapping[str, int]:
        """A copy of the counts, safe to read while requests keep coming."""
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())


class DenialRecorder:
    """The counter and the hook together; the backend hands it to every request."""

    def __init__(self, counter: DenialCounter, hook: DenialHook | None = None) -> None:
        self.counter = counter
        self._hook = hook

    def record(self, request: HTTPConnection, reason: str) -> None:
        self.counter.increment(reason)
        if self._hook is None:
            return
        try:
            self._hook(request, reason)
        except Exception:
            logger.exception("the on_denied hook failed for reason %s", reason)
