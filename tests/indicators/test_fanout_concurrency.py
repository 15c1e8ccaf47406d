"""The fan-out starts every source's call at once, however many forces are federated.

Each of 43 calls waits at a barrier for all the others: the barrier trips only if all 43
run at the same time, so a pool with fewer threads than sources (calls queued behind
others, spending their deadline in the queue) fails every call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gateway.indicators.federation import Failure, FanOut

SOURCES = 43


def _meeting(barrier: threading.Barrier, name: str) -> Callable[[], str]:
    def call() -> str:
        barrier.wait()
        return name

    return call


def test_every_source_of_all_43_forces_is_called_at_once() -> None:
    barrier = threading.Barrier(SOURCES, timeout=5.0)
    fanout = FanOut(timeout=10.0, retries=0)
    try:
        calls = {f"node:{n}": _meeting(barrier, f"node:{n}") for n in range(SOURCES)}
        results = fanout.run(calls)
    finally:
        fanout.close()
    assert not any(isinstance(result, Failure) for result in results.values())
    assert results == {name: name for name in calls}


def test_two_national_queries_at_once_do_not_queue_their_sources() -> None:
    barrier = threading.Barrier(2 * SOURCES, timeout=5.0)
    fanout = FanOut(timeout=10.0, retries=0)
    outcomes: list[dict[str, object]] = []
    try:
        queries = [
            threading.Thread(
                target=lambda q=q: outcomes.append(
                    fanout.run({f"{q}:{n}": _meeting(barrier, "ok") for n in range(SOURCES)})
                )
            )
            for q in ("first", "second")
        ]
        for query in queries:
            query.start()
        for query in queries:
            query.join()
    finally:
        fanout.close()
    assert [set(result.values()) for result in outcomes] == [{"ok"}, {"ok"}]
