"""Logs through the real SDK (``LoggingHandler`` + ``BatchLogRecordProcessor``) into files,
field by field against ``encode_logs`` of the same records: severity, body, attributes,
trace context."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from oracle import assert_rows_equal, log_rows, stored_rows


# The SDK 1.45 LoggingHandler is deprecated in favour of opentelemetry-instrumentation-logging,
# but it is what the SDK ships and what the issue names.
@pytest.mark.filterwarnings("ignore:.*LoggingHandler.*:DeprecationWarning")
def test_log_records_are_stored_field_by_field_as_encode_logs_encodes_them(spool):
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "logs-test"}), shutdown_on_exit=False)
    exporter = spool.log_exporter()
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, schedule_delay_millis=60_000))
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = logging.getLogger("otlp_spool.tests.app")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = LoggingHandler(level=logging.DEBUG, logger_provider=provider)
    logger.addHandler(handler)
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    try:
        logger.debug("debug %s", "formatted")
        logger.info("plain info", extra={"user.id": 42, "ratio": 0.25, "ok": True, "tags": ["a", "b"]})
        with tracer.start_as_current_span("work") as span:
            logger.warning("inside a span")
            ctx = span.get_span_context()
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("it failed")
        logger.critical("last")
    finally:
        logger.removeHandler(handler)
    assert provider.force_flush(10_000)
    spool.flush()
    expected = log_rows(encode_logs(memory.get_finished_logs()))
    assert len(expected) == 5
    stored = stored_rows(spool.read("logs"))
    assert_rows_equal(stored, expected)

    by_body = {r["body"]["string_value"]: r for r in stored}
    assert by_body["debug formatted"]["severity_number"] == 5 and by_body["debug formatted"]["severity_text"] == "DEBUG"
    assert by_body["last"]["severity_number"] == 21
    inside = by_body["inside a span"]
    assert inside["trace_id"] == format(ctx.trace_id, "032x")
    assert inside["span_id"] == format(ctx.span_id, "016x")
    assert inside["flags"] & 0x01 == 0x01, "the sampled bit of the span's trace flags"
    assert inside["severity_text"] == "WARN"
    assert by_body["plain info"]["trace_id"] == "", "no span, no trace context"
    failed = {a["key"] for a in by_body["it failed"]["attributes"]}
    assert {"exception.type", "exception.message", "exception.stacktrace"} <= failed
    assert exporter.exported_items == 5
    provider.shutdown()
