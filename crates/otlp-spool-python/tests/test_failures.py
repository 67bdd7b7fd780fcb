"""Refusals: a full lane, a batch larger than the lane, a shut-down spool or exporter, bad
bytes. ``export`` answers FAILURE (never raises into the SDK), counts the refusal, logs each
kind once, and nothing the spool acknowledged is lost."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk._logs.export import LogRecordExportResult

import otlp_spool

SMALL_LANES = {"max_bytes": "256KiB", "max_batch_bytes": "64KiB"}


def _spans(n, attributes=3):
    """``n`` finished SDK spans (ReadableSpan), as a BatchSpanProcessor would hand them over."""
    memory = InMemorySpanExporter()
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("failures")
    for i in range(n):
        with tracer.start_as_current_span(f"span-{i}") as s:
            for a in range(attributes):
                s.set_attribute(f"attr.{a}", "x" * 20)
    return list(memory.get_finished_spans())


def _warnings(caplog):
    return [r for r in caplog.records if r.name == "otlp_spool" and r.levelno == logging.WARNING]


def test_a_full_lane_answers_failure_logged_once_and_loses_nothing_acknowledged(tmp_path, caplog):
    spool = otlp_spool.Spool(tmp_path / "d", buffer=SMALL_LANES)
    exporter = spool.span_exporter()
    batch = _spans(50)
    spool._native._pause_writers(True)  # a stalled disk: the lane fills up
    results = [exporter.export(batch) for _ in range(200)]
    assert SpanExportResult.FAILURE in results, "a 256 KiB lane cannot hold 200 batches"
    accepted = results.count(SpanExportResult.SUCCESS)
    assert accepted >= 1
    assert exporter.refused_batches == results.count(SpanExportResult.FAILURE)
    assert exporter.refused_items == 50 * exporter.refused_batches
    assert exporter.exported_items == 50 * accepted
    full = [r for r in _warnings(caplog) if "full" in r.getMessage()]
    assert len(full) == 1, "logged once, however many refusals"
    rejected = [line for line in spool.metrics().splitlines() if 'signal="traces"' in line and "full" in line]
    assert rejected and rejected[0].endswith(f" {exporter.refused_batches}"), rejected

    spool._native._pause_writers(False)
    spool.flush()
    assert spool.read("traces").num_rows == 50 * accepted, "every acknowledged span is in the files"
    assert exporter.export(batch) == SpanExportResult.SUCCESS, "room again once the writers caught up"
    spool.shutdown()


def test_a_batch_larger_than_the_lane_waits_for_an_empty_lane(tmp_path):
    # The facade's rule: a request larger than the whole lane is admitted only into an empty
    # lane (it weighs exactly the lane), so it is refused while anything else is buffered.
    spool = otlp_spool.Spool(tmp_path / "d", buffer=SMALL_LANES)
    exporter = spool.span_exporter()
    big = _spans(2_000, attributes=10)
    spool._native._pause_writers(True)
    assert exporter.export(_spans(1)) == SpanExportResult.SUCCESS
    assert exporter.export(big) == SpanExportResult.FAILURE
    spool._native._pause_writers(False)
    spool.flush()
    assert exporter.export(big) == SpanExportResult.SUCCESS
    spool.flush()
    assert spool.read("traces").num_rows == 2_001
    spool.shutdown()


def test_after_shutdown_every_exporter_answers_failure_and_flush_raises(spool, caplog):
    spans = spool.span_exporter()
    metrics = spool.metric_exporter()
    logs = spool.log_exporter()
    assert spans.export(_spans(3)) == SpanExportResult.SUCCESS
    spool.shutdown()
    spool.shutdown()  # idempotent
    assert spool.closed
    assert spans.export(_spans(3)) == SpanExportResult.FAILURE
    assert spans.refused_batches == 1
    assert "shut down" in _warnings(caplog)[0].getMessage()
    # Empty batches need no spool; real ones are refused.
    from opentelemetry.sdk.metrics.export import MetricsData

    assert metrics.export(MetricsData(resource_metrics=[])) == MetricExportResult.SUCCESS
    assert logs.export([]) == LogRecordExportResult.SUCCESS
    with pytest.raises(otlp_spool.SpoolClosedError):
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        spool._native.export("traces", encode_spans(_spans(1)).SerializeToString())
    with pytest.raises(otlp_spool.FlushError, match="shut"):
        spool.flush()
    assert spans.force_flush(1_000) is False
    spans.shutdown()  # no flush to do, no error
    assert spool.read("traces").num_rows == 3, "what was accepted before is in finalized files"


def test_a_shut_down_exporter_refuses_while_the_spool_runs(spool):
    exporter = spool.span_exporter()
    other = spool.span_exporter()
    exporter.shutdown()
    assert exporter.export(_spans(1)) == SpanExportResult.FAILURE
    assert other.export(_spans(1)) == SpanExportResult.SUCCESS
    assert not spool.closed


def test_bad_bytes_are_refused_and_change_nothing(spool):
    with pytest.raises(otlp_spool.InvalidDataError, match="traces"):
        spool._native.export("traces", b"\x0a\xff\x01garbage")
    with pytest.raises(ValueError, match="unknown signal"):
        spool._native.export("spans", b"")
    spool.flush()
    assert spool.read("traces").num_rows == 0


def test_an_encoding_error_answers_failure_instead_of_raising(spool, caplog):
    exporter = spool.span_exporter()
    assert exporter.export([object()]) == SpanExportResult.FAILURE
    assert exporter.refused_batches == 1 and len(_warnings(caplog)) == 1
