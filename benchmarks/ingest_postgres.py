"""Benchmark 1: the push path below HTTP into PostgreSQL, against a binary COPY.

Parse + validation + staging + merge + versions, through ``adapters.store.ingest`` exactly as
the route calls it (the body hashed chunk by chunk as ``gateway.bodies.MeteredBody`` does),
for 200,000 synthetic rows of one force:

* ``new``: into an empty store (the force's first load);
* ``unchanged``: the same body again (every row classified unchanged);
* ``updates``: a later version of every row (every row updated, its old version kept);
* ``new_among_held``: 200,000 other new rows over the same years into the force that now
  holds the first 200,000, their crime_refs interleaved with the stored ones (each one
  probed for in the primary key);
* ``new_into_held``: 200,000 more new rows from older years, whose crime_refs all sort
  before the stored ones (so none needs a probe).

Each is divided by the reference measured in the same repetition, between the pushes: a
binary ``COPY`` of the same validated rows into ``copy_ref`` (``benchmarks.reference``).
Ratios are throughput ratios (reference seconds / our seconds), medians of the repetitions;
the machine is shared, so each repetition records the load average.

These pushes run the store's own work only: no change hook, no audit event (one row). The
first three again with the indicator rollups' ``RollupHook`` (as the server runs them)
follow in each repetition as ``hooked_*``, divided by the same reference; the 1,000,000-row
push through the real server (``http_stream``) has the hook and the audit event too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, text

from adapters.checking import checked_rows
from adapters.formats.registry import get_format
from adapters.indicators.rollup import RollupHook
from adapters.store.ingest import ChangeHook, IngestResult, SubmissionRequest, ingest
from benchmarks import dataset, reference
from benchmarks.measure import Series, load, timed
from benchmarks.scratch import migrated, postgres_database

FORCE: Final = "metropolitan"
ROWS: Final = 200_000
TARGET_NEW: Final = 0.6
UPDATE_END: Final = dataset.END + dt.timedelta(days=30)
TODAY: Final = UPDATE_END + dt.timedelta(days=1)
OLDER_END: Final = dataset.END - dt.timedelta(days=8 * 366)  # years no first-load row has
_STORE_TABLES: Final = (
    "records, record_versions, submissions, "
    "indicator_rollup, indicator_rollup_days, indicator_quality"
)


def push(
    engine: Engine,
    body: Path,
    *,
    force: str,
    today: dt.date,
    hooks: Sequence[ChangeHook] = (),
) -> IngestResult:
    """One submission of ``body`` for ``force``, as the push route makes it."""
    digest = hashlib.sha256()

    def hashed() -> Iterator[bytes]:
        for chunk in dataset.chunks(body):
            digest.update(chunk)
            yield chunk

    parsed = get_format("standard-csv").parse(hashed())
    request = SubmissionRequest(force, str(uuid.uuid4()), "benchmark", "standard-csv")
    return ingest(
        engine, request, parsed, digest.hexdigest, now=lambda: dataset.at(today), hooks=hooks
    )


def empty_store(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {_STORE_TABLES}"))


def _expect(result: IngestResult, **counts: int) -> None:
    receipt = result.receipt
    got = {name: getattr(receipt, name) for name in counts}
    if got != counts:
        raise RuntimeError(f"unexpected receipt counts {got}, wanted {counts}")


def python_only(body: Path, today: dt.date) -> float:
    """Seconds to parse and validate ``body`` with no database (a diagnostic)."""

    def work() -> int:
        rows = 0
        for _number, record, _issues in checked_rows(
            get_format("standard-csv").parse(dataset.chunks(body)), today
        ):
            rows += record is not None
        return rows

    seconds, _rows = timed(work)
    return seconds


def _pushes(
    engine: Engine,
    bodies: dict[str, Path],
    cases: Sequence[str],
    series: dict[str, Series],
    *,
    hooks: Sequence[ChangeHook] = (),
    prefix: str = "",
    reference_copy: Callable[[], float] | None = None,
) -> None:
    """One repetition's pushes, in the order of ``CASES`` (the reference after ``new``)."""
    empty_store(engine)
    for case in cases:
        body, counts = _CASE_BODIES[case]
        seconds, result = timed(
            partial(push, engine, bodies[body], force=FORCE, today=TODAY, hooks=hooks)
        )
        _expect(result, **{counts: ROWS})
        series[prefix + case].add(seconds)
        if case == "new" and reference_copy is not None:
            series["copy"].add(reference_copy())


# Each case: (the body pushed, the receipt count that must be ROWS); in this order, each on
# the store the cases before it left.
_CASE_BODIES: Final = {
    "new": ("new", "inserted"),
    "unchanged": ("new", "unchanged"),
    "updates": ("updates", "updated"),
    "new_among_held": ("among", "inserted"),
    "new_into_held": ("older", "inserted"),
}
CASES: Final = tuple(_CASE_BODIES)
HOOKED_CASES: Final = ("new", "unchanged", "updates")


def _interleaved(taken: Path) -> Iterator[dataset.Row]:
    """ROWS new rows over the same years as ``taken``, none with one of its crime_refs."""
    with taken.open(encoding="utf-8") as body:
        refs = {line.split(",", 1)[0] for line in body}
    fresh = (
        row
        for row in dataset.rows(FORCE, ROWS + ROWS // 10, seed=dataset.SEED + 2)
        if row[0] not in refs
    )
    return itertools.islice(fresh, ROWS)


def run(repeats: int = 3, *, hooked: bool = True) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("ingest") as url,
    ):
        directory = Path(tmp)
        bodies = {
            "new": dataset.write(directory / "new.csv", dataset.rows(FORCE, ROWS), expect=ROWS),
            "updates": dataset.write(
                directory / "updates.csv",
                dataset.updates(dataset.rows(FORCE, ROWS), seed=1, fraction=1.0, end=UPDATE_END),
                expect=ROWS,
            ),
            "older": dataset.write(
                directory / "older.csv",
                dataset.rows(FORCE, ROWS, seed=dataset.SEED + 1, end=OLDER_END),
                expect=ROWS,
            ),
        }
        bodies["among"] = dataset.write(
            directory / "among.csv", _interleaved(bodies["new"]), expect=ROWS
        )
        engine = migrated(url)
        try:
            reference.create_postgres(engine)
            stream = reference.prepare_postgres(
                engine, bodies["new"], directory / "new.copy", force=FORCE, today=TODAY
            )
            names = ["copy", *CASES, *(f"hooked_{case}" for case in HOOKED_CASES)]
            series = {name: Series() for name in names}
            ratios = {name: Series() for name in names if name != "copy"}
            loads = []
            for _ in range(repeats):
                loads.append(load())
                _pushes(
                    engine,
                    bodies,
                    CASES,
                    series,
                    reference_copy=lambda: reference.copy_postgres(engine, stream),
                )
                if hooked:
                    hooks = (RollupHook(),)
                    _pushes(engine, bodies, HOOKED_CASES, series, hooks=hooks, prefix="hooked_")
                copy_seconds = series["copy"].values[-1]
                for name, ratio in ratios.items():
                    if series[name].values:
                        ratio.add(copy_seconds / series[name].values[-1])
            python = Series()
            for _ in range(repeats):
                python.add(python_only(bodies["new"], TODAY))
        finally:
            engine.dispose()
    return _figures(series, ratios, python, loads)


def _figures(
    series: dict[str, Series],
    ratios: dict[str, Series],
    python: Series,
    loads: list[tuple[float, float, float]],
) -> dict[str, Any]:
    copy = series["copy"].median
    figures: dict[str, Any] = {
        "rows": ROWS,
        "force": FORCE,
        "load_averages": loads,
        "reference": {
            "what": "binary COPY of the same validated rows into copy_ref "
            "(LIKE records INCLUDING ALL), committed",
            "seconds": series["copy"].rounded(),
            "rows_per_second": round(ROWS / copy),
        },
        "python_us_per_row": round(python.median / ROWS * 1e6, 2),
    }
    for name, ratio in ratios.items():
        if not series[name].values:
            continue
        figures[name] = {
            "seconds": series[name].rounded(),
            "rows_per_second": round(ROWS / series[name].median),
            "ratio": round(ratio.median, 3),
            "ratios": ratio.rounded(3),
        }
    figures["new"]["target"] = TARGET_NEW
    figures["new"]["met"] = ratios["new"].median >= TARGET_NEW
    return figures
