"""Each source waits for its own deadline: force nodes the fan-out's, local stores longer.

A local store's first read after a start can take seconds on a large store; with the
nodes' 2 s deadline it would be reported missing (and, after three, its circuit opened)
although nothing is wrong with it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gateway.indicators.federation import Failure, FanOut


def _after(event: threading.Event, seconds: float, value: str) -> Callable[[], str]:
    def call() -> str:
        event.wait(seconds)
        return value

    return call


def test_a_source_with_its_own_timeout_is_waited_for_while_the_others_time_out() -> None:
    never, release = threading.Event(), threading.Event()
    fanout = FanOut(timeout=0.2, retries=0)
    try:
        results = fanout.run(
            # the node is still busy when the local store answers after 0.6 s
            {"local": _after(never, 0.6, "local"), "node:gwent": _after(release, 10, "gwent")},
            timeouts={"local": 5.0},
        )
    finally:
        release.set()
        fanout.close()
    assert results["local"] == "local"
    assert results["node:gwent"] == Failure("timeout")


def test_without_overrides_every_source_has_the_fan_out_timeout() -> None:
    never = threading.Event()
    fanout = FanOut(timeout=0.2, retries=0)
    try:
        results = fanout.run({"local": _after(never, 0.6, "local")})
    finally:
        fanout.close()
    assert results["local"] == Failure("timeout")
