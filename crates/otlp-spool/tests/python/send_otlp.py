"""Send traces, metrics and logs to an OTLP endpoint with the official OpenTelemetry Python SDK.

Used by the facade's end-to-end tests: the SDK and its OTLP exporters come from PyPI, so the
server is exercised by a client nobody here wrote. Prints one JSON object describing exactly what
was sent, for the test to compare with what ends up in the files.

    python send_otlp.py --protocol grpc --endpoint http://127.0.0.1:4317 --temporality delta
    python send_otlp.py --protocol http --endpoint http://127.0.0.1:4318 --temporality cumulative
"""

import argparse
import json
import logging
import sys

from opentelemetry import metrics, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableGauge,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind


def exporters(protocol, endpoint):
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        kw = dict(endpoint=endpoint, insecure=True, timeout=10)
        return OTLPSpanExporter(**kw), OTLPMetricExporter, kw, OTLPLogExporter(**kw)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    base = endpoint.rstrip("/")
    return (
        OTLPSpanExporter(endpoint=base + "/v1/traces", timeout=10),
        OTLPMetricExporter,
        dict(endpoint=base + "/v1/metrics", timeout=10),
        OTLPLogExporter(endpoint=base + "/v1/logs", timeout=10),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["grpc", "http"], required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--temporality", choices=["cumulative", "delta"], default="cumulative")
    ap.add_argument("--run-id", default="run")
    args = ap.parse_args()

    resource = Resource.create({"service.name": "py-e2e", "run.id": args.run_id})
    span_exporter, metric_exporter_cls, metric_kw, log_exporter = exporters(args.protocol, args.endpoint)
    sent = {"spans": [], "metrics": {}, "logs": []}

    # Traces: attributes of every scalar and array type, events and links.
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(SimpleSpanProcessor(span_exporter))
    tracer = tp.get_tracer("e2e.tracer", "1.2.3")
    with tracer.start_as_current_span("parent", kind=SpanKind.SERVER) as parent:
        parent.set_attribute("http.method", "GET")
        parent.set_attribute("http.status_code", 200)
        parent.set_attribute("ratio", 0.25)
        parent.set_attribute("cache.hit", True)
        parent.set_attribute("tags", ["a", "b"])
        parent.add_event("started", {"attempt": 1})
        pctx = parent.get_span_context()
        with tracer.start_as_current_span("child", links=[Link(pctx, {"link.kind": "self"})]) as child:
            child.set_attribute("db.rows", 42)
            cctx = child.get_span_context()
    for name, ctx in (("parent", pctx), ("child", cctx)):
        sent["spans"].append(
            {"name": name, "trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}
        )
    tp.shutdown()

    # Metrics: counter, up-down counter, histogram, gauge, in the chosen temporality.
    temporality = AggregationTemporality.DELTA if args.temporality == "delta" else AggregationTemporality.CUMULATIVE
    preferred = {Counter: temporality, UpDownCounter: temporality, Histogram: temporality, ObservableGauge: temporality}
    exporter = metric_exporter_cls(preferred_temporality=preferred, **metric_kw)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    mp = MeterProvider(resource=resource, metric_readers=[reader])
    meter = mp.get_meter("e2e.meter", "1.0")
    counter = meter.create_counter("requests", unit="1")
    updown = meter.create_up_down_counter("inflight")
    hist = meter.create_histogram("latency", unit="ms")
    meter.create_observable_gauge("temperature", callbacks=[lambda _o: [metrics.Observation(21.5, {"room": "a"})]])
    counter.add(5, {"route": "/a"})
    updown.add(3)
    updown.add(-1)
    hist.record(12.0)
    hist.record(30.0)
    reader.force_flush()
    counter.add(2, {"route": "/a"})
    reader.force_flush()
    mp.shutdown()
    sent["metrics"] = {
        "names": ["requests", "inflight", "latency", "temperature"],
        "temporality": args.temporality,
        # Two collections of `requests`: cumulative gives 5 then 7, delta gives 5 then 2 (the
        # provider's shutdown collects once more: cumulative repeats 7, delta has nothing new).
        "requests_values": [5, 7] if args.temporality == "cumulative" else [5, 2],
    }

    # Logs through the logging bridge.
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
    handler = LoggingHandler(level=logging.INFO, logger_provider=lp)
    log = logging.getLogger("e2e.logger")
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    log.warning("disk almost full", extra={"disk.free_mb": 12})
    log.info("hello from python")
    lp.shutdown()
    sent["logs"] = [
        {"body": "disk almost full", "severity_number": SeverityNumber.WARN.value},
        {"body": "hello from python", "severity_number": SeverityNumber.INFO.value},
    ]

    json.dump(sent, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
