"""Benchmark 1b (issue 4): what keeping the indicator rollups costs a small update.

A store of 300,000 records (200,000 of one force, 100,000 of another) with its rollups
built; then 1,000-row updates of the first force (about 5% of its cases moving on, spread
over the whole file), each pushed once: half with ``RollupHook`` and half without. The
figure is the time spent inside the hook (``before_apply`` + ``after_apply``), median of the
hooked pushes; the end-to-end push times with and without the hook are reported beside it.
Target: under 200 ms.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection

from adapters.indicators import rollup
from adapters.indicators.rollup import RollupHook
from benchmarks import dataset
from benchmarks.ingest_postgres import push
from benchmarks.measure import Series, timed
from benchmarks.scratch import migrated, postgres_database

FORCE: Final = "metropolitan"
OTHER: Final = "west-yorkshire"
ROWS: Final = 200_000
OTHER_ROWS: Final = 100_000
UPDATE_ROWS: Final = 1_000
TARGET_MS: Final = 200.0
UPDATE_END: Final = dataset.END + dt.timedelta(days=30)
TODAY: Final = UPDATE_END + dt.timedelta(days=1)


class TimedHook:
    """A change hook that times the hook it wraps."""

    def __init__(self, inner: RollupHook) -> None:
        self.inner = inner
        self.seconds = 0.0

    def before_apply(self, conn: Connection, force: str) -> None:
        start = time.perf_counter()
        self.inner.before_apply(conn, force)
        self.seconds += time.perf_counter() - start

    def after_apply(self, conn: Connection, force: str) -> None:
        start = time.perf_counter()
        self.inner.after_apply(conn, force)
        self.seconds += time.perf_counter() - start


def run(repeats: int = 5) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("rollup") as url,
    ):
        directory = Path(tmp)
        base = dataset.write(directory / "base.csv", dataset.rows(FORCE, ROWS), expect=ROWS)
        other = dataset.write(
            directory / "other.csv", dataset.rows(OTHER, OTHER_ROWS), expect=OTHER_ROWS
        )
        moved = dataset.updates(dataset.rows(FORCE, ROWS), seed=4, fraction=0.06, end=UPDATE_END)
        slices = []
        for i in range(2 * repeats):
            chunk = list(itertools.islice(moved, UPDATE_ROWS))
            slices.append(dataset.write(directory / f"update{i}.csv", chunk, expect=UPDATE_ROWS))
        engine = migrated(url)
        try:
            push(engine, base, force=FORCE, today=TODAY)
            push(engine, other, force=OTHER, today=TODAY)
            for force in (FORCE, OTHER):
                with engine.begin() as conn:
                    rollup.rebuild(conn, force)
            hook_ms, with_hook, without_hook = Series(), Series(), Series()
            for i in range(repeats):
                hook = TimedHook(RollupHook())
                seconds, result = timed(
                    partial(push, engine, slices[2 * i], force=FORCE, today=TODAY, hooks=(hook,))
                )
                if result.receipt.updated != UPDATE_ROWS:
                    raise RuntimeError(f"expected {UPDATE_ROWS} updates: {result.receipt}")
                hook_ms.add(hook.seconds * 1000)
                with_hook.add(seconds * 1000)
                seconds, result = timed(
                    partial(push, engine, slices[2 * i + 1], force=FORCE, today=TODAY)
                )
                without_hook.add(seconds * 1000)
        finally:
            engine.dispose()
    return {
        "store_rows": ROWS + OTHER_ROWS,
        "update_rows": UPDATE_ROWS,
        "hook_ms": round(hook_ms.median, 1),
        "hook_ms_all": hook_ms.rounded(1),
        "push_with_hook_ms": round(with_hook.median, 1),
        "push_without_hook_ms": round(without_hook.median, 1),
        "target_ms": TARGET_MS,
        "met": hook_ms.median < TARGET_MS,
    }
