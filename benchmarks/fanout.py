"""Parts (c) and (d) of ``benchmarks.http_query``, measured in process.

(c) Fan-out overhead over 43 sources of known latency, 20 ms for the first force up to
41 ms for the last (as if every force ran a node):

* the target figure: ``FanOut.run`` over 43 calls that take exactly their latency, minus
  the slowest latency: what the fan-out itself adds (dispatch to the pool, deadlines,
  breakers, spans, collecting the results);
* the national query with real payloads: each source sleeps its latency, then decodes its
  force's real partials for 8 quarters and every indicator from the node wire format
  (``answer_from_wire``, what ``RemoteIndicatorSource`` does once the bytes have arrived;
  read once from the national dataset). The fan-out is timed against the slowest source
  called alone; the 43 decodes share one interpreter lock, so their sum
  (``decode_all_ms``) is a floor of what the gateway adds here. ``table_ms`` is the whole
  ``IndicatorService.table`` (fan-out, merge, totals, disclosure control).

(d) Per-request costs: one audit event appended in a transaction of its own, as every
GraphQL operation does (``AuditTrail.append_standalone``), and a GraphQL document from the
parsed-document cache against parsing and validating it.
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from adapters.indicators.quality import DataQuality
from adapters.indicators.query import IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from adapters.indicators.wire import SourceAnswer, answer_from_wire, answer_to_wire
from adapters.store.engine import make_engine
from gateway.indicators.federation import FanOut
from gateway.indicators.service import IndicatorService, Viewer
from gateway.indicators.sources import SourceRegistry
from schema import codelists
from schema.indicators.catalogue import CATALOGUE, OffenceScope
from schema.periods import Granularity, Period, periods_starting_between
from schema.tables import TableQuery

FIRST_MS: Final = 20.0
STEP_MS: Final = 0.5
REPEATS: Final = 25
TARGET_MS: Final = 5.0
FROM: Final = dt.date(2024, 1, 1)
TO: Final = dt.date(2025, 12, 31)


class TimedSource:
    """A force's source with a known latency: sleep, then decode the node's answer."""

    def __init__(self, force: str, wire: bytes, latency: float) -> None:
        self.force = force
        self.wire = wire
        self.latency = latency

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer:
        time.sleep(self.latency)
        return answer_from_wire(orjson.loads(self.wire), forces)[0]

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]:
        raise NotImplementedError("the table benchmark asks for answers only")


def _median_ms(work: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _wires(url: str, query: IndicatorQuery) -> dict[str, bytes]:
    engine = make_engine(url)
    try:
        local = LocalIndicatorSource(engine)
        forces = [f.code for f in codelists.forces()]
        partials, versions = local.versioned_partials_many(forces, query)
        quality = local.quality_many(forces, query.periods)
    finally:
        engine.dispose()
    return {
        force: orjson.dumps(
            answer_to_wire(
                SourceAnswer({force: partials[force]}, {force: quality[force]}),
                {force: versions[force]},
            )
        )
        for force in forces
    }


def run(url: str) -> dict[str, Any]:
    periods = tuple(periods_starting_between(Granularity.QUARTER, FROM, TO))
    query = IndicatorQuery(
        indicators=tuple(i.id for i in CATALOGUE),
        granularity=Granularity.QUARTER,
        periods=periods,
        scope=OffenceScope.ALL_RASSO,
        breakdown=None,
        as_at=None,
    )
    wires = _wires(url, query)
    registry = SourceRegistry()
    latencies: dict[str, float] = {}
    sources: dict[str, TimedSource] = {}
    for n, force in enumerate(wires):
        latencies[force] = (FIRST_MS + STEP_MS * n) / 1000
        sources[force] = TimedSource(force, wires[force], latencies[force])
        registry.sources[f"node:{force}"] = sources[force]
        registry.by_force[force] = f"node:{force}"
        registry.kinds[force] = "remote"
    slowest = max(latencies, key=latencies.__getitem__)
    fanout = FanOut(timeout=2.0)
    service = IndicatorService(registry, fanout, k=10, custom_groups={})
    table_query = TableQuery(Granularity.QUARTER, FROM, TO)
    viewer = Viewer(own_force=None, exact_everything=False)
    sleeps = {force: functools.partial(time.sleep, latencies[force]) for force in wires}
    answers = {
        force: functools.partial(source.answer, [force], query) for force, source in sources.items()
    }
    try:
        cells = len(service.table(table_query, viewer).cells)  # warm the pool and caches
        mechanism = _median_ms(lambda: fanout.run(sleeps))
        alone = _median_ms(lambda: sources[slowest].answer([slowest], query))
        with_decode = _median_ms(lambda: fanout.run(answers))
        table = _median_ms(lambda: service.table(table_query, viewer))
    finally:
        fanout.close()
    decode_all = sum(
        _median_ms(lambda b=wire, f=force: answer_from_wire(orjson.loads(b), [f]), 5)  # type: ignore[misc]
        for force, wire in wires.items()
    )
    slowest_ms = latencies[slowest] * 1000
    overhead = mechanism - slowest_ms
    return {
        "sources": len(wires),
        "latency_ms": [FIRST_MS, round(slowest_ms, 1)],
        "fanout_ms": round(mechanism, 2),
        "overhead_ms": round(overhead, 2),
        "national": {
            "cells": cells,
            "wire_mb": round(sum(len(w) for w in wires.values()) / 2**20, 2),
            "slowest_source_alone_ms": round(alone, 2),
            "fanout_ms": round(with_decode, 2),
            "overhead_ms": round(with_decode - alone, 2),
            "decode_all_ms": round(decode_all, 1),
            "table_ms": round(table, 1),
        },
        "repeats": REPEATS,
        "target_ms": TARGET_MS,
        "met": overhead < TARGET_MS,
    }


def per_request_costs(url: str, query_text: str) -> dict[str, Any]:
    from gateway.audit import AuditEvent, AuditSettings, Outcome, open_trail
    from gateway.graphql.documents import DocumentCache
    from gateway.graphql.limits import Limits
    from gateway.settings import Settings
    from schema.graphql.build import build_schema

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp:
        settings = Settings(database_url=url, var_dir=Path(tmp))
        trail = open_trail(AuditSettings.from_settings(settings))
        engine = make_engine(url)
        try:
            event = AuditEvent(action="indicators:query", outcome=Outcome.ALLOWED)
            trail.append_standalone(engine, event)
            figures["audit_append_ms"] = round(
                _median_ms(lambda: trail.append_standalone(engine, event), 200), 3
            )
        finally:
            engine.dispose()
    schema = build_schema().graphql_schema
    limits = Limits(max_page_size=100, list_sizes={"IndicatorTable.cells": 817})
    cache = DocumentCache(schema, limits)
    cache.get(query_text)
    figures["document_cached_us"] = round(_median_ms(lambda: cache.get(query_text), 200) * 1000, 1)
    figures["document_parse_validate_us"] = round(
        _median_ms(lambda: DocumentCache(schema, limits).get(query_text), 50) * 1000, 1
    )
    return figures
