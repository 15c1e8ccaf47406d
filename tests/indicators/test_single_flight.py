"""``SingleFlight``: concurrent callers of one key share one computation; nothing else is
shared (other keys, later calls), and a failure reaches every caller that joined it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.indicators.single_flight import SingleFlight

CALLERS = 6


def _wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)


def test_concurrent_callers_of_one_key_share_one_computation() -> None:
    flight: SingleFlight[int] = SingleFlight()
    release, started = threading.Event(), threading.Event()
    runs: list[int] = []

    def compute() -> int:
        runs.append(1)
        started.set()
        release.wait(10)
        return 42

    with ThreadPoolExecutor(CALLERS) as pool:
        futures = [pool.submit(flight.run, "table", compute) for _ in range(CALLERS)]
        started.wait(10)
        _wait_until(lambda: flight.shared == CALLERS - 1)
        release.set()
        assert [f.result(10) for f in futures] == [42] * CALLERS
    assert len(runs) == 1
    assert flight.shared == CALLERS - 1
    assert flight.run("table", lambda: 7) == 7  # a later call computes afresh


def test_other_keys_are_not_shared() -> None:
    flight: SingleFlight[str] = SingleFlight()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda k: flight.run(k, k.upper), ["a", "b", "c", "d"]))
    assert results == ["A", "B", "C", "D"]


def test_a_failure_reaches_every_caller_that_joined_it() -> None:
    flight: SingleFlight[int] = SingleFlight()
    release, started = threading.Event(), threading.Event()

    def fail() -> int:
        started.set()
        release.wait(10)
        raise RuntimeError("source down")

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(flight.run, "table", fail) for _ in range(3)]
        started.wait(10)
        _wait_until(lambda: flight.shared == 2)
        release.set()
        for future in futures:
            with pytest.raises(RuntimeError, match="source down"):
                future.result(10)
    assert flight.run("table", lambda: 1) == 1
