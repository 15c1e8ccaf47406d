"""Telemetry under test: the process's own SDK, spans caught in memory per test.

The OpenTelemetry globals are set once per process, by whoever comes first: this conftest
installs the telemetry when pytest loads it (before any test builds an app), with no
exporter but an in-memory metric reader, so apps built later by any test share it. The
``spans`` fixture attaches an in-memory span exporter for one test: only then are spans
recorded (``gateway.telemetry.RecordWhenExported``), exactly as with a real exporter.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine
from starlette.testclient import TestClient

from gateway import telemetry
from gateway.app import create_app
from gateway.forces_config import load_forces_config
from gateway.services import Services
from tests.api.conftest import EXAMPLES, PUBLIC_URL, Api, make_settings
from tests.api.test_federation import federated, node  # noqa: F401 - fixtures, for the spans there

METRICS = InMemoryMetricReader()


def pytest_configure(config: pytest.Config) -> None:
    telemetry.install(telemetry.TelemetryConfig.from_env({}), metric_readers=[METRICS])


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    installed = telemetry.installed()
    assert installed is not None
    assert installed.tracer_provider is not None
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    installed.processors.add_span_processor(processor)
    yield exporter
    installed.processors.remove_span_processor(processor)


@pytest.fixture
def api(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = make_settings(database_url, tmp_path)
    forces = load_forces_config(EXAMPLES / "forces.toml")
    app = create_app(settings, services=Services(settings=settings, engine=engine, forces=forces))
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as http:
        yield Api(http, engine)


def metric_points(name: str) -> dict[frozenset[tuple[str, Any]], float]:
    """Each data point of the metric ``name`` so far: its attributes -> sum (or count)."""
    installed = telemetry.installed()
    assert installed is not None
    assert installed.meter_provider is not None, (
        "the telemetry was installed before tests/telemetry/conftest.py could add its reader"
    )
    found: dict[frozenset[tuple[str, Any]], float] = {}
    data = METRICS.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    key = frozenset(dict(point.attributes or {}).items())
                    if isinstance(point, HistogramDataPoint):
                        found[key] = found.get(key, 0) + point.count
                    elif isinstance(point, NumberDataPoint):
                        found[key] = found.get(key, 0) + point.value
    return found


def by_name(exported: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in exported if span.name == name]


def one(exported: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = by_name(exported, name)
    assert len(found) == 1, (name, [span.name for span in exported])
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.trace_id)
