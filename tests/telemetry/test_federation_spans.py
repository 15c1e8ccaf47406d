"""A federated query is one trace across the gateway and a force node; failures are counted.

The node is the real node app behind an httpx transport (tests/api/test_federation.py);
both apps run in this process, so their spans land in the same in-memory exporter.
"""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.testclient import TestClient

from tests.api.conftest import Api
from tests.api.test_federation import NODE_FORCE, SwitchableTransport, _seed, _table
from tests.telemetry.conftest import metric_points, parent_of, span_id, trace_id


def test_a_node_call_is_a_source_span_and_the_node_continues_the_trace(
    federated: tuple[Api, SwitchableTransport, TestClient], spans: InMemorySpanExporter
) -> None:
    api, _transport, node = federated
    token = _seed(api, node)
    spans.clear()
    _rows, missing = _table(api, token)
    assert missing == ""
    exported = spans.get_finished_spans()
    calls = {s.attributes["soteria.source"]: s for s in exported if s.name == "source.call"}  # type: ignore[index]
    assert set(calls) == {"local", f"node:{NODE_FORCE}"}
    remote = calls[f"node:{NODE_FORCE}"]
    assert remote.attributes is not None
    assert remote.attributes["soteria.forces"] == (NODE_FORCE,)
    assert remote.attributes["soteria.source.kind"] == "remote"
    assert remote.attributes["soteria.outcome"] == "ok"
    assert calls["local"].attributes["soteria.forces"] == ("essex",)  # type: ignore[index]
    at_node = [
        s for s in exported if s.kind is SpanKind.SERVER and s.name == "POST /federation/v1/answer"
    ]
    assert len(at_node) == 1
    assert trace_id(at_node[0]) == trace_id(remote)
    assert parent_of(at_node[0]) == span_id(remote)


def test_a_failing_node_ends_its_span_as_failed_and_is_counted_for_its_force(
    federated: tuple[Api, SwitchableTransport, TestClient], spans: InMemorySpanExporter
) -> None:
    api, transport, node = federated
    token = _seed(api, node)
    failed = frozenset(
        {
            ("soteria.force", NODE_FORCE),
            ("soteria.source", f"node:{NODE_FORCE}"),
            ("reason", "connection_failed"),
        }
    )
    before = metric_points("soteria.source.failures").get(failed, 0)
    transport.mode = "down"
    spans.clear()
    _rows, missing = _table(api, token)
    assert missing.startswith(f"{NODE_FORCE}=source_unavailable")
    [call] = [
        s
        for s in spans.get_finished_spans()
        if s.name == "source.call" and s.attributes["soteria.source"] == f"node:{NODE_FORCE}"  # type: ignore[index]
    ]
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes is not None
    assert call.attributes["soteria.outcome"] == "connection_failed"
    assert call.attributes["soteria.source.attempts"] == 2  # retried once
    assert metric_points("soteria.source.failures").get(failed, 0) - before == 1
