"""Indicator partials computed next to one force's records.

Each force's indicator source turns its records into mergeable partial results
(``schema.indicators.partials.Partial``); the gateway only merges them. Current figures come
from rollup tables that ingestion keeps exact in its own transaction (``rollup``); figures as
at a past moment are computed from the versions valid then (``asat``). ``source`` is the
interface the gateway calls; ``docs/indicators.md`` explains the design.
"""
