"""Process-wide settings of a long-running server (``soteria serve``, ``soteria node``,
the demo): set once, after the application is built and before it serves.

The cycle collector. A full collection walks every tracked object, and a server process
holds several hundred thousand that live as long as it does (modules, the GraphQL schema,
SQLAlchemy's tables and compiled statements, code lists): measured under load here, each
full collection took about 70 ms (a latency spike for the requests it interrupted) and
collections cost about 6% of the CPU. ``gc.freeze`` moves what exists at start out of the
collector's sight, and a larger first threshold collects less often; together they brought
the collector to about 1.5% (one force, one quarter, ``make bench``). Not done in
``create_app``: tests build many applications in one process, and freezing there would
keep every earlier test's objects.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000  # CPython's default is 700 allocations


def settle_heap() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
