"""Benchmark 1: the push path below HTTP into PostgreSQL, against a binary COPY.

Parse + validation + staging + merge + versions, through ``adapters.store.ingest`` exactly as
the route calls it (the body hashed chunk by chunk as ``gateway.bodies.MeteredBody`` does),
for 200,000 synthetic rows of one force:

* ``new``: into an empty store;
* ``unchanged``: the same body again (every row classified unchanged);
* ``updates``: a later version of every row (every row updated, its old version kept).

Each is divided by the reference measured in the same repetition: a binary ``COPY`` of the
same validated rows into ``copy_ref`` (``benchmarks.reference``). Ratios are throughput
ratios (reference seconds / our seconds), medians of the repetitions. No change hook runs
here; the indicator rollups' own cost (issue 4) is measured by ``rollup_update``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, text

from adapters.checking import checked_rows
from adapters.formats.registry import get_format
from adapters.store.ingest import ChangeHook, IngestResult, SubmissionRequest, ingest
from benchmarks import dataset, reference
from benchmarks.measure import Series, load, timed
from benchmarks.scratch import migrated, postgres_database

FORCE: Final = "metropolitan"
ROWS: Final = 200_000
TARGET_NEW: Final = 0.6
UPDATE_END: Final = dataset.END + dt.timedelta(days=30)
TODAY: Final = UPDATE_END + dt.timedelta(days=1)
_STORE_TABLES: Final = "records, record_versions, submissions"


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


def _has_records_fk(engine: Engine) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT count(*) FROM pg_constraint WHERE conrelid = 'records'::regclass "
                "AND contype = 'f'"
            )
        ).scalar_one()
    return bool(found)


def _without_records_fk(engine: Engine, body: Path) -> float | None:
    """Seconds for the ``new`` push with the records foreign key dropped (scratch only)."""
    if not _has_records_fk(engine):
        return None
    with engine.begin() as conn:
        name = conn.execute(
            text(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'records'::regclass "
                "AND contype = 'f'"
            )
        ).scalar_one()
        conn.execute(text(f'ALTER TABLE records DROP CONSTRAINT "{name}"'))
    empty_store(engine)
    seconds, result = timed(lambda: push(engine, body, force=FORCE, today=TODAY))
    _expect(result, inserted=ROWS)
    return seconds


def run(repeats: int = 3) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("ingest") as url,
    ):
        directory = Path(tmp)
        new_body = dataset.write(directory / "new.csv", dataset.rows(FORCE, ROWS), expect=ROWS)
        update_body = dataset.write(
            directory / "updates.csv",
            dataset.updates(dataset.rows(FORCE, ROWS), seed=1, fraction=1.0, end=UPDATE_END),
            expect=ROWS,
        )
        engine = migrated(url)
        try:
            reference.create_postgres(engine)
            stream = reference.prepare_postgres(
                engine, new_body, directory / "new.copy", force=FORCE, today=TODAY
            )
            series = {name: Series() for name in ("copy", "new", "unchanged", "updates")}
            ratios = {name: Series() for name in ("new", "unchanged", "updates")}
            loads = []
            for _ in range(repeats):
                loads.append(load())
                empty_store(engine)
                seconds, result = timed(lambda: push(engine, new_body, force=FORCE, today=TODAY))
                _expect(result, inserted=ROWS)
                series["new"].add(seconds)
                series["copy"].add(reference.copy_postgres(engine, stream))
                seconds, result = timed(lambda: push(engine, new_body, force=FORCE, today=TODAY))
                _expect(result, unchanged=ROWS)
                series["unchanged"].add(seconds)
                seconds, result = timed(lambda: push(engine, update_body, force=FORCE, today=TODAY))
                _expect(result, updated=ROWS)
                series["updates"].add(seconds)
                copy_seconds = series["copy"].values[-1]
                for name, ratio in ratios.items():
                    ratio.add(copy_seconds / series[name].values[-1])
            python = Series()
            for _ in range(repeats):
                python.add(python_only(new_body, TODAY))
            without_fk = _without_records_fk(engine, new_body)
        finally:
            engine.dispose()
    return _figures(series, ratios, python, without_fk, loads)


def _figures(
    series: dict[str, Series],
    ratios: dict[str, Series],
    python: Series,
    without_fk: float | None,
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
    for name in ("new", "unchanged", "updates"):
        figures[name] = {
            "seconds": series[name].rounded(),
            "rows_per_second": round(ROWS / series[name].median),
            "ratio": round(ratios[name].median, 3),
            "ratios": ratios[name].rounded(3),
        }
    figures["new"]["target"] = TARGET_NEW
    figures["new"]["met"] = ratios["new"].median >= TARGET_NEW
    if without_fk is not None:
        figures["new_without_records_fk"] = {
            "seconds": round(without_fk, 4),
            "rows_per_second": round(ROWS / without_fk),
            "ratio": round(copy / without_fk, 3),
        }
    return figures
