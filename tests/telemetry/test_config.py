"""The SDK configuration read from the standard OTEL_* variables (no network is touched)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter
from opentelemetry.sdk.trace.export import (
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from gateway.telemetry import (
    DEFAULT_SERVICE_NAME,
    OtlpConfig,
    Telemetry,
    TelemetryConfig,
    TelemetryConfigError,
    configured_sampler,
    metric_exporters,
    span_exporters,
)


@pytest.fixture
def built() -> Iterator[list[SpanExporter | MetricExporter]]:
    """Exporters a test builds, shut down afterwards (a gRPC one holds a channel)."""
    made: list[SpanExporter | MetricExporter] = []
    yield made
    for exporter in made:
        exporter.shutdown()


def test_nothing_set_means_no_export_and_the_package_version() -> None:
    config = TelemetryConfig.from_env({"PATH": "/bin", "OTEL_TRACES_EXPORTER": " "})
    assert config.traces_exporters == ()
    assert config.metrics_exporters == ()
    assert config.service_name == DEFAULT_SERVICE_NAME
    assert config.service_version == metadata.version("soteria-exchange")
    assert config.sampler == "parentbased_always_on"
    assert not config.disabled


def test_an_endpoint_alone_exports_both_signals_over_otlp_http(
    built: list[SpanExporter | MetricExporter],
) -> None:
    config = TelemetryConfig.from_env(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/", "OTEL_SERVICE_NAME": "gw"}
    )
    assert config.traces_exporters == config.metrics_exporters == ("otlp",)
    assert config.traces_otlp == OtlpConfig("http/protobuf", "http://collector:4318/v1/traces")
    assert config.metrics_otlp == OtlpConfig("http/protobuf", "http://collector:4318/v1/metrics")
    spans, metrics = span_exporters(config), metric_exporters(config)
    built.extend([*spans, *metrics])
    assert [type(e) for e in spans] == [OTLPSpanExporter]
    assert [type(e) for e in metrics] == [OTLPMetricExporter]
    assert spans[0]._endpoint == "http://collector:4318/v1/traces"  # type: ignore[attr-defined]


def test_grpc_signal_endpoints_and_headers(built: list[SpanExporter | MetricExporter]) -> None:
    config = TelemetryConfig.from_env(
        {
            "OTEL_TRACES_EXPORTER": "otlp,console",
            "OTEL_METRICS_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://metrics.example:4317",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%3Dcret,tenant=a",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "tenant=b",
        }
    )
    assert config.traces_otlp == OtlpConfig(
        "grpc", "http://collector:4317", {"api-key": "s=cret", "tenant": "b"}
    )
    assert config.metrics_otlp == OtlpConfig(
        "grpc", "https://metrics.example:4317", {"api-key": "s=cret", "tenant": "a"}
    )
    assert "s=cret" not in repr(config)  # headers carry credentials
    spans, metrics = span_exporters(config), metric_exporters(config)
    built.extend([*spans, *metrics])
    assert [type(e) for e in spans] == [GrpcSpanExporter, ConsoleSpanExporter]
    assert [type(e) for e in metrics] == [GrpcMetricExporter]


def test_per_signal_protocol_and_console_or_none() -> None:
    config = TelemetryConfig.from_env(
        {
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_METRICS_EXPORTER": "console",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
        }
    )
    assert config.traces_exporters == ()
    assert span_exporters(config) == []
    assert [type(e) for e in metric_exporters(config)] == [ConsoleMetricExporter]


def test_samplers_from_the_environment() -> None:
    ratio = TelemetryConfig.from_env(
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    )
    sampler = configured_sampler(ratio)
    assert isinstance(sampler, ParentBased)
    assert "TraceIdRatioBased{0.25}" in sampler.get_description()  # type: ignore[no-untyped-call]
    plain = configured_sampler(
        TelemetryConfig.from_env(
            {"OTEL_TRACES_SAMPLER": "TraceIdRatio", "OTEL_TRACES_SAMPLER_ARG": "0.5"}
        )
    )
    assert isinstance(plain, TraceIdRatioBased)
    assert plain.rate == 0.5


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "zipkin is not supported"),
        ({"OTEL_METRICS_EXPORTER": "prometheus,otlp"}, "prometheus is not supported"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
            "must be http/protobuf or grpc",
        ),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318"}, "http:// or https:// URL"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER must be one of"),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
            "from 0 to 1",
        ),
        ({"OTEL_RESOURCE_ATTRIBUTES": "team"}, "key=value pairs"),
        ({"OTEL_SDK_DISABLED": "maybe"}, "true or false"),
        ({"OTEL_METRIC_EXPORT_INTERVAL": "-5"}, "positive whole number"),
    ],
)
def test_unusable_values_are_refused_with_the_variable_named(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(TelemetryConfigError, match=message):
        TelemetryConfig.from_env(variables)


@given(
    st.dictionaries(
        st.text(st.characters(codec="utf-8", exclude_characters=",="), min_size=1).filter(
            lambda key: key.strip() == key
        ),
        st.text(st.characters(codec="utf-8")).filter(lambda value: value.strip() == value),
        max_size=5,
    )
)
def test_resource_attributes_round_trip_percent_encoding(values: dict[str, str]) -> None:
    raw = ",".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in values.items())
    config = TelemetryConfig.from_env({"OTEL_RESOURCE_ATTRIBUTES": raw})
    assert dict(config.resource_attributes) == values


def test_resource_and_ids_without_an_exporter() -> None:
    config = TelemetryConfig.from_env(
        {"OTEL_SERVICE_NAME": "soteria-node-kent", "OTEL_RESOURCE_ATTRIBUTES": "team=ops"}
    )
    telemetry = Telemetry(config)
    assert telemetry.tracer_provider is not None
    assert telemetry.meter_provider is None  # no metrics exporter: the API's no-op meter
    resource = telemetry.tracer_provider.resource.attributes
    assert resource["service.name"] == "soteria-node-kent"
    assert resource["service.version"] == metadata.version("soteria-exchange")
    assert resource["team"] == "ops"
    tracer = telemetry.tracer("tests")
    unexported = tracer.start_span("x")
    assert unexported.get_span_context().is_valid  # ids for headers and the audit trail
    assert not unexported.is_recording()
    exporter = InMemorySpanExporter()
    telemetry.tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    recorded = tracer.start_span("y")
    assert recorded.is_recording()
    recorded.end()
    assert [span.name for span in exporter.get_finished_spans()] == ["y"]
    telemetry.tracer_provider.shutdown()


def test_the_sdk_can_be_disabled() -> None:
    telemetry = Telemetry(TelemetryConfig.from_env({"OTEL_SDK_DISABLED": "true"}))
    assert telemetry.tracer_provider is None
    assert not telemetry.tracer("tests").start_span("x").get_span_context().is_valid
