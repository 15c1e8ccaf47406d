"""Benchmark 1b (issue 4): what keeping the indicator rollups costs a 1,000-row update.

On a copy of the national dataset (``benchmarks.national``: 2,000,000 records of all 43
forces with their history and rollups), 1,000-row updates of the largest force,
Metropolitan (about 300,000 records): its cases recorded in the last year, each moved on
as ``gateway.demo.synthetic`` progresses a case (suspects identified, CPS referrals,
outcomes, devices returned, ISVA referrals), the busiest kind of update a force sends: most
rows change a figure, where an update spread over ten years of mostly closed cases would
mostly change ``updated_at``. Each update is pushed once through the real push path, alternately
with ``RollupHook`` and without it, each slice of crime refs used once. The figure is the
time spent inside the hook (``before_apply`` + ``after_apply``), median of the hooked
pushes; the end-to-end push times with and without the hook are reported beside it.
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

from sqlalchemy import Connection, Engine, select

from adapters.indicators.rollup import RollupHook
from adapters.store.engine import make_engine
from adapters.store.models import records
from benchmarks import dataset, national
from benchmarks.ingest_postgres import push
from benchmarks.measure import Series, timed
from gateway.demo import synthetic
from schema.record import FIELD_NAMES

FORCE: Final = "metropolitan"
UPDATE_ROWS: Final = 1_000
TARGET_MS: Final = 200.0
UPDATE_END: Final = national.round_day(national.ROUNDS) + dt.timedelta(days=30)
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


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def stored_rows(engine: Engine, force: str, since: dt.date) -> list[synthetic.Row]:
    """The force's current records recorded since ``since``, as a force would send them."""
    columns = [records.c[name] for name in FIELD_NAMES]
    with engine.connect() as conn:
        result = conn.execute(
            select(*columns)
            .where(records.c.force_code == force, records.c.recorded_date >= since)
            .order_by(records.c.crime_ref)
        )
        return [tuple(_text(v) for v in row) for row in result.tuples()]


def update_bodies(
    engine: Engine,
    directory: Path,
    count: int,
    *,
    force: str = FORCE,
    seed: int = 4,
    prefix: str = "update",
    rows: int = UPDATE_ROWS,
) -> list[Path]:
    """``count`` CSV bodies of ``rows`` updates each, on distinct crime refs of
    ``force``'s cases recorded in the last year (see the module docstring)."""
    recent = stored_rows(engine, force, UPDATE_END - dt.timedelta(days=365))
    moved = synthetic.update_rows(recent, seed=seed, fraction=1.0, end=UPDATE_END)
    bodies = []
    for i in range(count):
        chunk = list(itertools.islice(moved, rows))
        bodies.append(dataset.write(directory / f"{prefix}{i}.csv", chunk, expect=rows))
    return bodies


def measure(engine: Engine, bodies: list[Path]) -> dict[str, Any]:
    """Push the bodies alternately with and without the hook; the figures."""
    hook_ms, with_hook, without_hook = Series(), Series(), Series()
    for i in range(0, len(bodies) - 1, 2):
        hook = TimedHook(RollupHook())
        seconds, result = timed(
            partial(push, engine, bodies[i], force=FORCE, today=TODAY, hooks=(hook,))
        )
        if result.receipt.updated != UPDATE_ROWS:
            raise RuntimeError(f"expected {UPDATE_ROWS} updates: {result.receipt}")
        hook_ms.add(hook.seconds * 1000)
        with_hook.add(seconds * 1000)
        seconds, result = timed(partial(push, engine, bodies[i + 1], force=FORCE, today=TODAY))
        if result.receipt.updated != UPDATE_ROWS:
            raise RuntimeError(f"expected {UPDATE_ROWS} updates: {result.receipt}")
        without_hook.add(seconds * 1000)
    return {
        "store_rows": national.TOTAL,
        "force": FORCE,
        "update_rows": UPDATE_ROWS,
        "hook_ms": round(hook_ms.median, 1),
        "hook_ms_all": hook_ms.rounded(1),
        "push_with_hook_ms": round(with_hook.median, 1),
        "push_without_hook_ms": round(without_hook.median, 1),
        "target_ms": TARGET_MS,
        "met": hook_ms.median < TARGET_MS,
    }


def run(repeats: int = 7) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp, national.copy() as url:
        engine = make_engine(url)
        try:
            bodies = update_bodies(engine, Path(tmp), 2 * repeats)
            return measure(engine, bodies)
        finally:
            engine.dispose()
