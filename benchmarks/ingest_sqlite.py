"""Benchmark 2: the push path below HTTP into SQLite, against a raw ``executemany``.

The same 200,000-row body as benchmark 1, pushed into an empty migrated SQLite store (WAL,
``synchronous=NORMAL``: ``adapters.store.engine``), divided by a raw ``sqlite3`` executemany
of the same validated rows, already converted to what the store writes, into a table with
the records table's columns and indexes, in the same database file (``benchmarks.reference``).
Target: 0.5.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Final

from benchmarks import dataset, reference
from benchmarks.ingest_postgres import FORCE, ROWS, TODAY, push
from benchmarks.measure import Series, load, timed
from benchmarks.scratch import migrated, sqlite_url

TARGET: Final = 0.5


def run(repeats: int = 3) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp:
        directory = Path(tmp)
        body = dataset.write(directory / "new.csv", dataset.rows(FORCE, ROWS), expect=ROWS)
        url = sqlite_url(directory)
        db_path = directory / "soteria.db"
        engine = migrated(url)
        try:
            reference.create_sqlite(db_path)
            rows = reference.sqlite_rows(body, force=FORCE, today=TODAY)
            ours, raw, ratios = Series(), Series(), Series()
            loads = []
            for _ in range(repeats):
                loads.append(load())
                with engine.begin() as conn:
                    for table in ("records", "record_versions", "submissions"):
                        conn.exec_driver_sql(f"DELETE FROM {table}")
                seconds, result = timed(lambda: push(engine, body, force=FORCE, today=TODAY))
                if result.receipt.inserted != ROWS:
                    raise RuntimeError(f"expected {ROWS} inserts: {result.receipt}")
                ours.add(seconds)
                raw.add(reference.executemany_sqlite(db_path, rows))
                ratios.add(raw.values[-1] / seconds)
            del rows
        finally:
            engine.dispose()
    return {
        "rows": ROWS,
        "load_averages": loads,
        "reference": {
            "what": "sqlite3 executemany of the same validated rows into copy_ref "
            "(records' columns and indexes), committed",
            "seconds": raw.rounded(),
            "rows_per_second": round(ROWS / raw.median),
        },
        "new": {
            "seconds": ours.rounded(),
            "rows_per_second": round(ROWS / ours.median),
            "ratio": round(ratios.median, 3),
            "ratios": ratios.rounded(3),
            "target": TARGET,
            "met": ratios.median >= TARGET,
        },
    }
