"""``python -m benchmarks [PART ...]``: run the benchmarks, save and publish the figures.

Parts: ``ingest`` (PostgreSQL push path vs COPY), ``rollup`` (the rollup hook on a small
update), ``sqlite`` (SQLite push path vs executemany), ``http`` (1,000,000 rows streamed
through the real server), ``oauth`` (token validation per request), ``http_query``
(indicator queries through GraphQL over HTTP, fan-out overhead; needs ``wrk``), ``audit``
(audit trail verification speed, and the cost of the audit write on a GraphQL request),
``indicators`` (the indicator engine's national table against GROUP BY, and as-at). No part:
all of them. Results go to ``benchmarks/results/latest.json`` and the figures section of
``docs/performance.md``; a failing part is recorded as failed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import traceback
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import create_engine

from benchmarks import (
    audit,
    http_query,
    http_stream,
    indicators,
    ingest_postgres,
    ingest_sqlite,
    oauth,
    report,
    rollup_update,
)
from benchmarks.measure import load, machine
from benchmarks.scratch import ADMIN_URL

PARTS: Final[dict[str, Callable[[], dict[str, Any]]]] = {
    "oauth": oauth.run,
    "sqlite": ingest_sqlite.run,
    "ingest": ingest_postgres.run,
    "rollup": rollup_update.run,
    "http": http_stream.run,
    "http_query": http_query.run,
    "audit": audit.run,
    "indicators": indicators.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART", help=", ".join(PARTS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.parts if name not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    chosen = args.parts or list(PARTS)
    results = report.load_results()
    admin = create_engine(ADMIN_URL)
    try:
        results["machine"] = machine(admin)
    finally:
        admin.dispose()
    failed = False
    for name in chosen:
        print(f"benchmark {name} ...", flush=True)
        started, at_start = time.perf_counter(), load()
        entry: dict[str, Any] = {
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_at_start": at_start,
        }
        try:
            entry["figures"] = PARTS[name]()
        except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run goes on
            traceback.print_exc()
            entry["error"] = f"{type(exc).__name__}: {exc}"
            failed = True
        entry["seconds"] = round(time.perf_counter() - started, 1)
        results.setdefault("parts", {})[name] = entry
        print(f"benchmark {name}: {entry.get('figures', entry.get('error'))}", flush=True)
        report.save_results(results)
        report.update_doc(results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
