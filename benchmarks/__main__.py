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

from collections.abc import Callable
from typing import Any, Final

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
from benchmarks.harness import Harness, main

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


HARNESS: Final = Harness(
    prog="python -m benchmarks",
    label="benchmark",
    description=__doc__ or "",
    parts=PARTS,
    results=report.RESULTS,
    publish=report.update_doc,
)


if __name__ == "__main__":
    raise SystemExit(main(HARNESS))
