"""``make bench``: throughput and latency of the service against the physical limit.

Every speed figure is a ratio to a reference measured in the same run on the same machine
(PostgreSQL's own binary ``COPY``, a raw ``sqlite3`` ``executemany``, the same request
without authentication), so a figure means the same on a fast laptop and a loaded CI box.
Targets are checked here and written to ``docs/performance.md``, never asserted in tests.

``python -m benchmarks`` runs everything; ``python -m benchmarks ingest`` one part (see
``benchmarks.__main__``). Each part measures on its own scratch database and drops it.
"""
