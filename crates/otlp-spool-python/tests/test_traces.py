"""Spans through the real SDK (``BatchSpanProcessor``) into files, compared field by field with
what the official ``encode_spans`` produces for the same spans."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from oracle import assert_rows_equal, span_rows, stored_rows

T0 = 1_700_000_000_123_456_789  # explicit nanosecond timestamps must survive as given


def _provider(spool, memory):
    resource = Resource.create(
        {"service.name": "py-test", "host.cores": 2, "ratio": 0.5, "on": True, "tags": ["a", "b"]},
        schema_url="https://opentelemetry.io/schemas/1.26.0",
    )
    tp = TracerProvider(
        resource=resource,
        span_limits=SpanLimits(max_span_attributes=9, max_events=2, max_links=1, max_event_attributes=2),
        shutdown_on_exit=False,
    )
    tp.add_span_processor(BatchSpanProcessor(spool.span_exporter(), schedule_delay_millis=60_000))
    tp.add_span_processor(SimpleSpanProcessor(memory))
    return tp


def _emit(tp):
    tracer = tp.get_tracer(
        "test.scope", "1.2.3", schema_url="https://example.test/scope", attributes={"scope.attr": "s"}
    )
    remote = SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
    )
    parent_ctx = trace.set_span_in_context(NonRecordingSpan(remote))
    link_ctx = SpanContext(
        trace_id=0x11111111111111111111111111111111,
        span_id=0x2222222222222222,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("l", "1")]),
    )
    other_link = SpanContext(trace_id=3, span_id=4, is_remote=True, trace_flags=TraceFlags(0))
    root = tracer.start_span(
        "root",
        context=parent_ctx,
        kind=SpanKind.SERVER,
        start_time=T0,
        links=[Link(link_ctx, {"link.attr": 7, "link.s": "x"}), Link(other_link)],  # one dropped
        attributes={
            # The SDK drops the oldest attributes beyond the limit: these three, counted.
            "drop.1": 1,
            "drop.2": 2,
            "drop.3": 3,
            "s": "text",
            "empty": "",
            "b": False,
            "i": -(2**63),
            "f": 1.5,
            "ss": ["x", "", "z"],
            "ii": [1, 2, 3],
            "ff": [0.25],
            "bb": [True, False],
        },
    )
    root.add_event("e1", {"k": 1, "k2": "v", "k3": 2.5}, timestamp=T0 + 10)
    root.add_event("e2", timestamp=T0 + 20)
    root.add_event("e3", timestamp=T0 + 30)  # beyond max_events
    root.set_status(Status(StatusCode.ERROR, "it broke"))
    with trace.use_span(root, end_on_exit=False):
        for i, kind in enumerate((SpanKind.INTERNAL, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER)):
            child = tracer.start_span(f"child-{i}", kind=kind, start_time=T0 + 100 + i)
            child.set_attribute("n", i)
            if i == 1:
                child.set_status(Status(StatusCode.OK))
            child.end(end_time=T0 + 200 + i)
    root.end(end_time=T0 + 1_000)
    # A span of another scope, a new root of its own trace.
    with tp.get_tracer("second").start_as_current_span("plain"):
        pass


def test_spans_are_stored_field_by_field_as_encode_spans_encodes_them(spool):
    memory = InMemorySpanExporter()
    tp = _provider(spool, memory)
    _emit(tp)
    assert tp.force_flush(10_000)
    spool.flush()
    expected = span_rows(encode_spans(memory.get_finished_spans()))
    assert len(expected) == 6
    stored = stored_rows(spool.read("traces"))
    assert_rows_equal(stored, expected)

    # The comparison has teeth: one changed value anywhere fails it.
    for column in ("trace_state", "events", "flags", "resource_attributes"):
        tampered = [dict(r) for r in expected]
        tampered[0][column] = "tampered"
        with pytest.raises(AssertionError, match=column):
            assert_rows_equal(stored, tampered)

    root = next(r for r in stored if r["name"] == "root")
    # What the replaced system lost: given timestamps, trace state, remote parent, status.
    assert root["start_time_unix_nano"] == T0
    assert root["end_time_unix_nano"] == T0 + 1_000
    assert root["trace_id"] == "5b8efff798038103d269b633813fc60c"
    assert root["parent_span_id"] == "eee19b7ec3c1b174"
    assert root["trace_state"] == "vendor=v1,other=x"
    assert root["status_code"] == 2 and root["status_message"] == "it broke"
    assert root["dropped_attributes_count"] == 3
    assert root["dropped_events_count"] == 1 and root["dropped_links_count"] == 1
    assert {a["key"]: a["value"]["type"] for a in root["attributes"]} == {
        "s": 1, "empty": 1, "b": 2, "i": 3, "f": 4, "ss": 5, "ii": 5, "ff": 5, "bb": 5,
    }
    tp.shutdown()


def test_many_batches_arrive_whole(spool):
    memory = InMemorySpanExporter()
    tp = TracerProvider(shutdown_on_exit=False)
    exporter = spool.span_exporter()
    tp.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=64))
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("bulk")
    for i in range(1_000):
        with tracer.start_as_current_span("s") as s:
            s.set_attribute("i", i)
    assert tp.force_flush(30_000)
    spool.flush()
    table = spool.read("traces")
    assert table.num_rows == 1_000
    assert exporter.exported_items == 1_000 and exporter.refused_items == 0
    assert exporter.exported_batches >= 1_000 // 64
    # The default encoder is the native one, and it covered every batch the SDK made.
    assert exporter.native_batches == exporter.exported_batches and exporter.official_batches == 0
    assert_rows_equal(stored_rows(table), span_rows(encode_spans(memory.get_finished_spans())))
    tp.shutdown()
