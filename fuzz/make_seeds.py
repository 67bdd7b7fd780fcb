"""Writes the walk target's seed corpus: real export requests as the OpenTelemetry Python SDK's
OTLP exporters encode them (opentelemetry-exporter-otlp-proto-common), each prefixed with the
target's selector byte (0 traces, 1 metrics, 2 logs).

Run with the project venv: /work/cache/venv/bin/python fuzz/make_seeds.py
"""

import pathlib
import time

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, StatusCode

OUT = pathlib.Path(__file__).parent / "corpus" / "walk"
RESOURCE = Resource.create({"service.name": "seed", "deployment.environment": "fuzz"})


def write(name, selector, message):
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(bytes([selector]) + message.SerializeToString())


def traces():
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("seed.tracer", "1.0")
    with tracer.start_as_current_span("GET /orders", attributes={"http.method": "GET"}) as root:
        root.add_event("cache miss", {"key": "order:7", "tries": 2})
        with tracer.start_as_current_span(
            "SELECT orders",
            links=[Link(root.get_span_context(), {"reason": "batch"})],
            attributes={"db.rows": 3, "db.ratio": 0.5, "tags": ["a", "b"], "ok": True},
        ) as child:
            child.set_status(StatusCode.ERROR, "timeout")
    write("traces-sdk", 0, encode_spans(exporter.get_finished_spans()))


def metrics():
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        resource=RESOURCE,
        metric_readers=[reader],
        views=[View(instrument_name="latency.exp", aggregation=ExponentialBucketHistogramAggregation())],
    )
    meter = provider.get_meter("seed.meter", "1.0")
    meter.create_counter("requests").add(3, {"route": "/orders"})
    meter.create_up_down_counter("inflight").add(-1)
    meter.create_histogram("latency", unit="ms").record(12.5, {"route": "/cart"})
    exp = meter.create_histogram("latency.exp")
    for v in (0.5, 3.0, 250.0):
        exp.record(v)
    meter.create_gauge("temperature").set(21.5, {"room": "a"})
    write("metrics-sdk", 1, encode_metrics(reader.get_metrics_data()))


def logs():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=RESOURCE)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("seed.logger")
    tracer = TracerProvider(resource=RESOURCE).get_tracer("seed")
    with tracer.start_as_current_span("work"):
        logger.emit(
            timestamp=time.time_ns(),
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body={"msg": "disk almost full", "free": [1, 2.5, "x"]},
            attributes={"disk": "/dev/sda", "pct": 93},
        )
    logger.emit(body="plain line", severity_number=SeverityNumber.INFO)
    write("logs-sdk", 2, encode_logs(exporter.get_finished_logs()))


traces()
metrics()
logs()
