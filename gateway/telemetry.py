"""OpenTelemetry set-up: the SDK configured once per process from the standard ``OTEL_*``.

Everything else uses the API only (``trace.get_tracer(__name__)``, ``metrics.get_meter``);
this module builds the providers, exporters and readers and installs them as the global
ones, once: ``create_app`` calls ``install()`` and gets the same ``Telemetry`` however many
apps a process builds (tests build hundreds). See docs/telemetry.md for every variable.

* ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER``: ``otlp``, ``console``, ``none``
  (comma-separated for several). Unset: ``otlp`` when an OTLP endpoint is set, otherwise
  ``none``: nothing leaves the process unless asked for.
* ``OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]PROTOCOL``: ``http/protobuf`` (default) or ``grpc``;
  ``..._ENDPOINT`` and ``..._HEADERS`` likewise, per signal or for both.
* ``OTEL_TRACES_SAMPLER`` (+ ``_ARG``), ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
  ``OTEL_METRIC_EXPORT_INTERVAL``, ``OTEL_SDK_DISABLED``.

Without any exporter, spans still get real trace and span ids (the ``traceparent``
response header and the audit trail's trace link need them) but are not recorded: the
sampler drops every span while no span processor is attached, so a request costs an id,
not a recorded span, and SQL statements are not traced at all.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Final
from urllib.parse import unquote

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import (
    SpanLimits,
    SpanProcessor,
    SynchronousMultiSpanProcessor,
    TracerProvider,
)
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes
from sqlalchemy import Engine

from gateway.sql_tracing import StatementTracer

DEFAULT_SERVICE_NAME: Final = "soteria-exchange"
EXPORTERS: Final = frozenset({"otlp", "console", "none"})
PROTOCOLS: Final = ("http/protobuf", "grpc")
SAMPLERS: Final = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_DEFAULT_ENDPOINTS: Final = {
    "http/protobuf": "http://localhost:4318",
    "grpc": "http://localhost:4317",
}
_HTTP_PATHS: Final = {"traces": "/v1/traces", "metrics": "/v1/metrics"}
# Long attribute values (a multi-row INSERT's placeholders) are cut to this many characters
# unless OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT says otherwise.
DEFAULT_ATTRIBUTE_LENGTH: Final = 2048


class TelemetryConfigError(ValueError):
    """An ``OTEL_*`` variable has a value this service cannot use."""


@dataclass(frozen=True, slots=True)
class OtlpConfig:
    """Where one signal goes over OTLP: protocol, full endpoint, extra headers."""

    protocol: str
    endpoint: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # may hold API keys


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    disabled: bool = False
    service_name: str = DEFAULT_SERVICE_NAME
    service_version: str = "unknown"
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    traces_exporters: tuple[str, ...] = ()
    metrics_exporters: tuple[str, ...] = ()
    traces_otlp: OtlpConfig | None = None
    metrics_otlp: OtlpConfig | None = None
    sampler: str = "parentbased_always_on"
    sampler_arg: float = 1.0
    metric_export_interval_ms: int = 60_000
    attribute_length: int = DEFAULT_ATTRIBUTE_LENGTH

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TelemetryConfig:
        env = {k: v.strip() for k, v in environ.items() if k.startswith("OTEL_") and v.strip()}
        traces = _exporters(env, "traces")
        metric_names = _exporters(env, "metrics")
        sampler = env.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").lower()
        if sampler not in SAMPLERS:
            raise TelemetryConfigError(
                f"OTEL_TRACES_SAMPLER must be one of {', '.join(SAMPLERS)}, not {sampler!r}."
            )
        return cls(
            disabled=_flag(env, "OTEL_SDK_DISABLED"),
            service_name=env.get("OTEL_SERVICE_NAME", DEFAULT_SERVICE_NAME),
            service_version=_package_version(),
            resource_attributes=_pairs(env, "OTEL_RESOURCE_ATTRIBUTES"),
            traces_exporters=traces,
            metrics_exporters=metric_names,
            traces_otlp=_otlp(env, "traces") if "otlp" in traces else None,
            metrics_otlp=_otlp(env, "metrics") if "otlp" in metric_names else None,
            sampler=sampler,
            sampler_arg=_sampler_arg(env, sampler),
            metric_export_interval_ms=_positive_int(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
            attribute_length=_positive_int(
                env,
                "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
                _positive_int(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", DEFAULT_ATTRIBUTE_LENGTH),
            ),
        )


def _exporters(env: Mapping[str, str], signal: str) -> tuple[str, ...]:
    name = f"OTEL_{signal.upper()}_EXPORTER"
    raw = env.get(name)
    if raw is None:
        endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        return ("otlp",) if any(key in env for key in endpoints) else ()
    chosen = tuple(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    unknown = [part for part in chosen if part not in EXPORTERS]
    if unknown:
        raise TelemetryConfigError(
            f"{name} may list otlp, console or none; {', '.join(unknown)} is not supported."
        )
    return tuple(part for part in chosen if part != "none")


def _otlp(env: Mapping[str, str], signal: str) -> OtlpConfig:
    prefix = f"OTEL_EXPORTER_OTLP_{signal.upper()}_"
    protocol = env.get(prefix + "PROTOCOL", env.get("OTEL_EXPORTER_OTLP_PROTOCOL", PROTOCOLS[0]))
    if protocol not in PROTOCOLS:
        raise TelemetryConfigError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc, not {protocol!r}."
        )
    endpoint = env.get(prefix + "ENDPOINT")
    if endpoint is None:  # the generic endpoint is a base URL; HTTP appends the signal's path
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", _DEFAULT_ENDPOINTS[protocol])
        endpoint = base.rstrip("/") + _HTTP_PATHS[signal] if protocol != "grpc" else base
    if not endpoint.startswith(("http://", "https://")):
        raise TelemetryConfigError(
            f"The OTLP {signal} endpoint must be an http:// or https:// URL, not {endpoint!r}."
        )
    headers = {**_pairs(env, "OTEL_EXPORTER_OTLP_HEADERS"), **_pairs(env, prefix + "HEADERS")}
    return OtlpConfig(protocol, endpoint, headers)


def _pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``key=value,key2=value2`` with percent-encoded values (W3C Baggage's format)."""
    result: dict[str, str] = {}
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TelemetryConfigError(f"{name} must be key=value pairs separated by commas.")
        result[unquote(key.strip())] = unquote(value.strip())
    return result


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "false").lower()
    if raw not in {"true", "false"}:
        raise TelemetryConfigError(f"{name} must be true or false, not {raw!r}.")
    return raw == "true"


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise TelemetryConfigError(f"{name} must be a positive whole number, not {raw!r}.")
    return int(raw)


def _sampler_arg(env: Mapping[str, str], sampler: str) -> float:
    raw = env.get("OTEL_TRACES_SAMPLER_ARG")
    if raw is None or not sampler.endswith("traceidratio"):
        return 1.0
    try:
        rate = float(raw)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise TelemetryConfigError(f"OTEL_TRACES_SAMPLER_ARG must be from 0 to 1, not {raw!r}.")
    return rate


def _package_version() -> str:
    try:
        return metadata.version("soteria-exchange")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- building the SDK objects (no global state) ---------------------------------------


def configured_sampler(config: TelemetryConfig) -> Sampler:
    ratio = TraceIdRatioBased(config.sampler_arg)
    return {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(ratio),
    }[config.sampler]


def span_exporters(config: TelemetryConfig) -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` asks for (none opens a connection yet)."""
    found: list[SpanExporter] = []
    for name in config.traces_exporters:
        if name == "console":
            found.append(ConsoleSpanExporter(service_name=config.service_name))
        elif config.traces_otlp is not None and config.traces_otlp.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcSpanExporter,
            )

            otlp = config.traces_otlp
            found.append(GrpcSpanExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers)))
        elif config.traces_otlp is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = config.traces_otlp
            found.append(OTLPSpanExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers)))
    return found


def metric_exporters(config: TelemetryConfig) -> list[MetricExporter]:
    """The exporters ``OTEL_METRICS_EXPORTER`` asks for (none opens a connection yet)."""
    found: list[MetricExporter] = []
    for name in config.metrics_exporters:
        if name == "console":
            found.append(ConsoleMetricExporter())
        elif config.metrics_otlp is not None and config.metrics_otlp.protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter as GrpcMetricExporter,
            )

            otlp = config.metrics_otlp
            found.append(GrpcMetricExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers)))
        elif config.metrics_otlp is not None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )

            otlp = config.metrics_otlp
            found.append(OTLPMetricExporter(endpoint=otlp.endpoint, headers=dict(otlp.headers)))
    return found


def resource_of(config: TelemetryConfig) -> Resource:
    return Resource.create(
        {
            **config.resource_attributes,
            "service.name": config.service_name,
            "service.version": config.service_version,
        }
    )


class SpanProcessors(SynchronousMultiSpanProcessor):
    """The provider's span processors; ``active`` while at least one is attached."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def remove_span_processor(self, span_processor: SpanProcessor) -> None:
        with self._lock:
            self._span_processors = tuple(
                p for p in self._span_processors if p is not span_processor
            )

    @property
    def active(self) -> bool:
        return bool(self._span_processors)


class RecordWhenExported(Sampler):
    """The configured sampler while spans go somewhere; otherwise drop (ids still made)."""

    def __init__(self, inner: Sampler, processors: SpanProcessors) -> None:
        self._inner = inner
        self._processors = processors

    def should_sample(  # noqa: PLR0917 - the SDK's signature
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if not self._processors.active:
            parent = trace.get_current_span(parent_context).get_span_context()
            return SamplingResult(Decision.DROP, None, parent.trace_state)
        return self._inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"RecordWhenExported{{{self._inner.get_description()}}}"


class Telemetry:
    """The process's providers: what ``install`` built, or no-ops when the SDK is disabled."""

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        metric_readers: Iterable[MetricReader] = (),
    ) -> None:
        self.config = config
        self.processors = SpanProcessors()
        self.tracer_provider: TracerProvider | None = None
        self.meter_provider: MeterProvider | None = None
        self._engines: weakref.WeakSet[Engine] = weakref.WeakSet()
        self._lock = threading.Lock()
        if config.disabled:
            return
        resource = resource_of(config)
        self.tracer_provider = TracerProvider(
            sampler=RecordWhenExported(configured_sampler(config), self.processors),
            resource=resource,
            active_span_processor=self.processors,
            span_limits=SpanLimits(max_span_attribute_length=config.attribute_length),
        )
        for exporter in span_exporters(config):
            if isinstance(exporter, ConsoleSpanExporter):
                self.processors.add_span_processor(SimpleSpanProcessor(exporter))
            else:
                self.processors.add_span_processor(BatchSpanProcessor(exporter))
        readers: list[MetricReader] = [
            PeriodicExportingMetricReader(
                exporter, export_interval_millis=config.metric_export_interval_ms
            )
            for exporter in metric_exporters(config)
        ]
        readers.extend(metric_readers)
        if readers:
            self.meter_provider = MeterProvider(metric_readers=readers, resource=resource)

    def tracer(self, name: str) -> trace.Tracer:
        return (self.tracer_provider or trace.NoOpTracerProvider()).get_tracer(name)

    def meter(self, name: str) -> metrics.Meter:
        return (self.meter_provider or metrics.NoOpMeterProvider()).get_meter(name)

    def instrument_engine(self, engine: Engine) -> None:
        """A span per SQL statement on ``engine`` (once per engine, however often asked)."""
        if self.tracer_provider is None:
            return
        with self._lock:
            if engine in self._engines:
                return
            self._engines.add(engine)
        tracer = self.tracer("opentelemetry.instrumentation.sqlalchemy")
        usage = self.meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
            "db.client.connections.usage",
            unit="connections",
            description="Connections of the pool in each state (idle, used).",
        )
        StatementTracer(
            tracer, engine, usage, self.config.attribute_length, lambda: self.processors.active
        )

    def force_flush(self, timeout_millis: int = 5000) -> None:
        """Send what is buffered now (the providers also flush when the process exits)."""
        if self.tracer_provider is not None:
            self.tracer_provider.force_flush(timeout_millis)
        if self.meter_provider is not None:
            self.meter_provider.force_flush(timeout_millis)


# --- the process-wide installation ------------------------------------------------------

_installed: Telemetry | None = None
_install_lock = threading.Lock()


def install(
    config: TelemetryConfig | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    metric_readers: Iterable[MetricReader] = (),
) -> Telemetry:
    """The process's telemetry, built and made global on the first call only.

    Later calls return the first one unchanged, whatever they pass: the global providers
    of OpenTelemetry can be set once per process. ``config`` defaults to the one read from
    ``environ`` (default ``os.environ``).
    """
    global _installed  # noqa: PLW0603 - the OpenTelemetry globals are per process too
    with _install_lock:
        if _installed is not None:
            return _installed
        if config is None:
            config = TelemetryConfig.from_env(os.environ if environ is None else environ)
        telemetry = Telemetry(config, metric_readers=metric_readers)
        if telemetry.tracer_provider is not None:
            trace.set_tracer_provider(telemetry.tracer_provider)
        if telemetry.meter_provider is not None:
            metrics.set_meter_provider(telemetry.meter_provider)
        _installed = telemetry
        return telemetry


def installed() -> Telemetry | None:
    return _installed
