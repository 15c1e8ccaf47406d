"""Synthetic RASSO records for the demo, the tests and the benchmarks (no real case data).

``volumes`` holds each force's approximate annual volume; ``synthetic`` generates rows in
Record Standard v1 order and writes them as CSV. See ``docs/synthetic-data.md``.
"""
