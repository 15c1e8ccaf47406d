"""Benchmark 5 (issue 4): the indicator engine on the national dataset, against GROUP BY.

On a copy of the national dataset (``benchmarks.national``: 2,000,000 records of all 43
forces, ten years, with their history and rollups) in PostgreSQL:

* **Agreement first.** The engine's exact table (every cell unrounded) is compared with the
  GROUP BY baseline (``benchmarks.groupby``) on every cell: 43 forces, 10 regions and the
  nation x 8 financial quarters x 19 indicators. Nothing is timed unless they agree, and
  an as-at figure for a moment after the last submission must equal the current one.
* **The national table**, as a Joint Unit analyst asks for it (controlled output: disclosure
  applied to the whole table, totals and parts together), through ``IndicatorService`` as
  the gateway builds it: *warm* (repeated: stamp check and cached table), median of
  ``WARM_CALLS``; *cold* (the first call after a real submission through the push path with
  the rollup hook, which changes that force's stamp: 500 cases moving on), median over
  several submissions by the largest force and by a force of median size; *first after
  start* (empty caches).
* **The baseline**, measured in the same run: the same cells by direct GROUP BY over the
  records, SQL only (the engine's figure includes disclosure control, the baseline's does
  not), median of ``BASELINE_RUNS``. Target: engine warm p50 under 20 ms and at least 50
  times faster than the baseline.
* **As-at**: the largest force, 8 quarters, every indicator, as at a moment between two of
  its submissions (the figures a quarter's publication would have shown), through the
  source as a gateway asks it. Target: under 2 s.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine

from adapters.indicators.query import IndicatorQuery
from adapters.indicators.rollup import RollupHook
from adapters.indicators.source import LocalIndicatorSource
from adapters.store.engine import make_engine
from benchmarks import groupby, national, rollup_update
from benchmarks.ingest_postgres import push
from benchmarks.measure import Series, load, timed
from gateway.forces_config import load_forces_config
from gateway.indicators.federation import FanOut
from gateway.indicators.service import IndicatorService, Viewer
from gateway.indicators.sources import build_sources
from schema.indicators.catalogue import CATALOGUE
from schema.periods import Granularity, Period, periods_starting_between
from schema.tables import IndicatorTable, TableQuery

FROM: Final = dt.date(2024, 1, 1)  # 2023/24 Q4 .. 2025/26 Q3: the last 8 quarters held
TO: Final = dt.date(2025, 10, 1)
GROUPS: Final = ("NATIONAL", "REGION")
LARGEST: Final = "metropolitan"
MEDIAN_FORCE: Final = "south-wales"  # 22nd of 43 by volume
WARM_CALLS: Final = 200
COLD_PUSHES: Final = 3  # per force
BASELINE_RUNS: Final = 3
AS_AT_RUNS: Final = 3
TARGET_MS: Final = 20.0
TARGET_RATIO: Final = 50.0
TARGET_AS_AT_MS: Final = 2000.0
ANALYST: Final = Viewer(own_force=None, exact_everything=False)
EXACT: Final = Viewer(own_force=None, exact_everything=True)


def table_query() -> TableQuery:
    return TableQuery(Granularity.QUARTER, FROM, TO, groups=GROUPS)


def periods() -> list[Period]:
    return periods_starting_between(Granularity.QUARTER, FROM, TO)


def service(engine: Engine) -> IndicatorService:
    """The indicator service as ``gateway.app`` builds it, every force held locally."""
    return IndicatorService(
        build_sources(engine, load_forces_config(None)),
        FanOut(timeout=60.0),
        k=10,
        custom_groups={},
    )


def _figure(cell: Any) -> tuple[Any, Any, Any]:
    return (cell.numerator, cell.denominator, cell.value)


def disagreements(table: IndicatorTable, reference: groupby.Figures) -> list[str]:
    """Cells of the engine's exact table that differ from the GROUP BY figures."""
    units = {i.id.value: i.unit.value for i in CATALOGUE}
    zero = {"count": (0, None, 0), "ratio": (0, 0, None), "days": (0, None, None)}
    wrong = []
    cells = 0
    for cell in table.cells:
        if cell.breakdown is not None:
            continue
        cells += 1
        entity: groupby.Entity
        if cell.force is not None:
            entity = ("force", cell.force)
        elif cell.group == "national":
            entity = ("national",)
        else:
            entity = ("region", str(cell.group).split(":", 1)[1])
        unit = units[cell.indicator]
        want = reference.get((cell.indicator, cell.period.label, entity), zero[unit])
        got = _figure(cell)
        if unit == "count":
            got = (cell.value, None, cell.value)
        elif unit == "days":
            got = (cell.numerator, None, cell.value)
        if got != want:
            wrong.append(f"{cell.indicator} {cell.period.label} {entity}: {got} != {want}")
    if cells != len(table.cells):
        wrong.append(f"{len(table.cells) - cells} unexpected breakdown cells")
    return wrong


def _median_ms(series: Series) -> float:
    return round(series.median * 1000, 2)


def _cold(engine: Engine, indicators: IndicatorService, bodies: list[Path], force: str) -> Series:
    """The first national table after each of ``bodies`` is pushed for ``force``."""
    seconds = Series()
    for body in bodies:
        result = push(engine, body, force=force, today=rollup_update.TODAY, hooks=[RollupHook()])
        if not result.receipt.updated:
            raise RuntimeError(f"{force}: the update changed nothing: {result.receipt}")
        spent, _ = timed(lambda: indicators.table(table_query(), ANALYST))
        seconds.add(spent)
    return seconds


def _repeat(runs: int, work: Callable[[], object]) -> Series:
    series = Series()
    for _ in range(runs):
        spent, _ = timed(work)
        series.add(spent)
    return series


def measure(engine: Engine, directory: Path) -> dict[str, Any]:
    loads = [load()]
    indicators = service(engine)
    try:
        first, exact = timed(lambda: indicators.table(table_query(), EXACT))
        with engine.connect() as conn:
            reference = groupby.figures(conn, periods())
        wrong = disagreements(exact, reference)
        if wrong:
            raise RuntimeError(f"{len(wrong)} cells disagree with GROUP BY: {wrong[:5]}")
        source = LocalIndicatorSource(engine)
        query = IndicatorQuery(
            tuple(i.id for i in CATALOGUE), Granularity.QUARTER, tuple(periods())
        )
        later = dt.datetime.now(dt.UTC)
        at_now = IndicatorQuery(query.indicators, query.granularity, query.periods, as_at=later)
        if source.partials(LARGEST, at_now) != source.partials(LARGEST, query):
            raise RuntimeError("as-at figures after the last submission differ from current")

        start, table = timed(lambda: indicators.table(table_query(), ANALYST))
        warm = _repeat(WARM_CALLS, lambda: indicators.table(table_query(), ANALYST))
        loads.append(load())

        def baseline() -> object:
            with engine.connect() as conn:
                return groupby.figures(conn, periods())

        sql = _repeat(BASELINE_RUNS, baseline)
        loads.append(load())

        as_at_moment = national.received_at(national.round_day(1)) + dt.timedelta(days=15)
        as_at = IndicatorQuery(
            query.indicators, query.granularity, query.periods, as_at=as_at_moment
        )
        as_at_series = _repeat(AS_AT_RUNS, lambda: source.partials(LARGEST, as_at))
        loads.append(load())

        cold: dict[str, Series] = {}
        for force in (LARGEST, MEDIAN_FORCE):
            bodies = rollup_update.update_bodies(
                engine, directory, COLD_PUSHES, force=force, prefix=f"cold-{force}", rows=500
            )
            cold[force] = _cold(engine, indicators, bodies, force)
        loads.append(load())
    finally:
        indicators.fanout.close()
        indicators.sources.close()
    warm_ms = warm.median * 1000
    sql_ms = sql.median * 1000
    return {
        "records": national.TOTAL,
        "cells": len(table.cells),
        "suppressed_cells": table.suppressed_cells,
        "cells_checked_against_group_by": len(exact.cells),
        "first_exact_table_after_start_ms": round(first * 1000, 1),
        "first_controlled_table_ms": round(start * 1000, 1),
        "warm_p50_ms": round(warm_ms, 2),
        "warm_min_ms": round(min(warm.values) * 1000, 2),
        "cold_p50_ms": {force: _median_ms(s) for force, s in cold.items()},
        "cold_ms": {force: [round(v * 1000, 1) for v in s.values] for force, s in cold.items()},
        "group_by_ms": round(sql_ms, 1),
        "group_by_runs_ms": [round(v * 1000, 1) for v in sql.values],
        "ratio_warm": round(sql_ms / warm_ms, 1),
        "ratio_cold": {f: round(sql_ms / (s.median * 1000), 1) for f, s in cold.items()},
        "as_at_ms": round(as_at_series.median * 1000, 1),
        "as_at_runs_ms": [round(v * 1000, 1) for v in as_at_series.values],
        "as_at_force": LARGEST,
        "as_at": as_at_moment.isoformat(),
        "load_averages": loads,
        "target_ms": TARGET_MS,
        "target_ratio": TARGET_RATIO,
        "target_as_at_ms": TARGET_AS_AT_MS,
        "met": warm_ms < TARGET_MS and sql_ms / warm_ms >= TARGET_RATIO,
        "as_at_met": as_at_series.median * 1000 < TARGET_AS_AT_MS,
    }


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp, national.copy() as url:
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            figures = measure(engine, Path(tmp))
            figures["measured_s"] = round(time.perf_counter() - started, 1)
            return figures
        finally:
            engine.dispose()
