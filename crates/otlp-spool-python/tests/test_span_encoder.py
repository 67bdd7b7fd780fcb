"""The native span encoder (``encoder="native"``, the default) against the official
``encode_spans``: byte for byte on spans carrying every field the SDK has, and through the
exporter into files, row for row. Batches it does not cover go to the official encoder."""

from __future__ import annotations

import itertools
import math

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from otlp_spool import _native
from oracle import assert_rows_equal, span_rows, stored_rows

T0 = 1_700_000_000_000_000_000

# Every kind of value the SDK keeps in attributes (it keeps None, bytes, big ints, nested
# sequences and mappings as they are; lists become tuples).
VALUES = {
    "str": "text",
    "str.empty": "",
    "str.unicode": "héllo wörld ✓ \U0001f600",
    "bool.t": True,
    "bool.f": False,
    "int.zero": 0,
    "int.neg": -1,
    "int.min": -(2**63),
    "int.max": 2**63 - 1,
    "float": 1.5,
    "float.zero": 0.0,
    "float.negzero": -0.0,
    "float.nan": math.nan,
    "float.inf": -math.inf,
    "bytes": b"\x00\xffbin",
    "bytes.empty": b"",
    "none": None,
    "arr.str": ["a", "", "c"],
    "arr.int": [1, -2, 2**40],
    "arr.float": [0.25, -1e300],
    "arr.bool": [True, False],
    "arr.bytes": [b"x", b""],
    "arr.empty": [],
    "arr.mixed": ["s", 1, 2.5, False, None, b"b"],
    "arr.nested": [[1, 2], ["x"], []],
    "map": {"k": "v", "n": 1, "inner": {"deep": [1, {"x": None}]}, "empty": {}},
    "map.empty": {},
}

# For comparing stored rows, where NaN != NaN would fail the comparison itself.
NO_NAN = {k: v for k, v in VALUES.items() if k != "float.nan"}


def _span_sets(nan=True):
    """Spans of two providers (equal resources, distinct objects, and another resource), many
    scopes, every span kind, parents, links, events, statuses, limits and dropped counts."""
    memory = InMemorySpanExporter()
    resource = Resource.create({"service.name": "enc", "r.list": [1, 2], "r.b": b"r"}, schema_url="https://r.test/1")
    providers = [
        TracerProvider(
            resource=resource,
            span_limits=SpanLimits(max_span_attributes=40, max_events=3, max_links=2, max_event_attributes=3, max_link_attributes=2),
            shutdown_on_exit=False,
        ),
        TracerProvider(
            resource=Resource.create({"service.name": "enc", "r.list": [1, 2], "r.b": b"r"}, schema_url="https://r.test/1"),
            shutdown_on_exit=False,
        ),
        TracerProvider(resource=Resource.create({"service.name": "other"}), shutdown_on_exit=False),
    ]
    for tp in providers:
        tp.add_span_processor(SimpleSpanProcessor(memory))
    remote = SpanContext(
        trace_id=0x5B8EFFF798038103D269B633813FC60C,
        span_id=0xEEE19B7EC3C1B174,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
        trace_state=TraceState([("vendor", "v1"), ("other", "x=y")]),
    )
    local = SpanContext(trace_id=1, span_id=2, is_remote=False, trace_flags=TraceFlags(0), trace_state=TraceState([("l", "1")]))
    maxed = SpanContext(trace_id=2**128 - 1, span_id=2**64 - 1, is_remote=True, trace_flags=TraceFlags(1))
    tracers = [
        providers[0].get_tracer("scope.a", "1.0", schema_url="https://s.test/a", attributes={"sa": 1, "sb": [b"x"]}),
        providers[0].get_tracer("scope.b"),
        # Equal to scope.a as the SDK compares scopes (attributes are not compared): grouped with it.
        providers[0].get_tracer("scope.a", "1.0", schema_url="https://s.test/a", attributes={"other": True}),
        providers[1].get_tracer("scope.a", "1.0", schema_url="https://s.test/a"),
        providers[2].get_tracer("", None),
    ]
    for i, (tracer, kind) in enumerate(itertools.product(tracers, list(SpanKind))):
        parent = [None, remote, local, maxed][i % 4]
        ctx = trace.set_span_in_context(NonRecordingSpan(parent)) if parent else None
        links = [] if i % 3 == 0 else [
            Link(local, {"la": 1, "lb": "x", "lc": [1.5]}),
            Link(remote),
            Link(maxed, {"dropped": 1}),
        ]
        span = tracer.start_span(
            f"span-{i}" if i % 7 else "",
            context=ctx,
            kind=kind,
            start_time=T0 + i,
            links=links,
            attributes=(VALUES if nan else NO_NAN) if i % 2 == 0 else {"only": i},
        )
        if i % 2:
            span.add_event("ev", {"a": 1, "b": [True], "c": None, "d": "over the limit"}, timestamp=T0 + i + 1)
            span.add_event("", timestamp=T0 + i + 2)
            span.add_event("late", timestamp=T0 + i + 3)
            span.add_event("dropped", timestamp=T0 + i + 4)
        status = [None, Status(StatusCode.OK), Status(StatusCode.ERROR, "broke"), Status(StatusCode.ERROR), Status(StatusCode.UNSET)][i % 5]
        if status is not None:
            span.set_status(status)
        span.end(end_time=T0 + 1_000 + i)
    with tracers[0].start_as_current_span("now-timed") as s:
        s.set_attribute("late", "x")
    spans = list(memory.get_finished_spans())
    # Spans built by hand: no scope, plain dicts and tuples instead of the bounded containers,
    # no status, zero timestamps.
    spans.append(
        ReadableSpan(
            name="manual",
            context=local,
            parent=None,
            resource=resource,
            attributes={"plain": "dict"},
            events=(Event("e", {"x": 1}, timestamp=5),),
            links=(Link(remote, {"y": 2}),),
            status=None,
            start_time=0,
            end_time=None,
            instrumentation_scope=None,
        )
    )
    spans.append(ReadableSpan(name="bare", context=remote, resource=resource, instrumentation_scope=InstrumentationScope("manual.scope")))
    return spans


def check(spans):
    assert _native.encode_spans(spans) == encode_spans(spans).SerializeToString()


def test_native_bytes_equal_the_official_encoder_byte_for_byte():
    spans = _span_sets()
    assert len(spans) > 20
    check(spans)
    check(spans[::-1])  # another first appearance order of resources and scopes
    check(spans[::3])
    for span in spans:
        check([span])
    check([])


def test_what_the_native_encoder_does_not_cover_is_refused_with_the_reason():
    memory = InMemorySpanExporter()
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("t")
    with tracer.start_as_current_span("big", attributes={"huge": 2**64}):
        pass
    with tracer.start_as_current_span("fine"):
        pass
    big, fine = memory.get_finished_spans()
    with pytest.raises(TypeError, match="int64"):
        _native.encode_spans([fine, big])

    class MySpan(ReadableSpan):
        pass

    mine = MySpan(name="mine", context=fine.context, resource=fine.resource)
    with pytest.raises(TypeError, match="MySpan"):
        _native.encode_spans([mine])
    check([fine])
    tp.shutdown()


@pytest.mark.parametrize("encoder", ["native", "official"])
def test_spans_of_every_shape_are_stored_as_the_official_encoder_encodes_them(spool, encoder):
    spans = _span_sets(nan=False)
    exporter = spool.span_exporter(encoder=encoder)
    assert exporter.export(spans).name == "SUCCESS"
    spool.flush()
    assert_rows_equal(stored_rows(spool.read("traces")), span_rows(encode_spans(spans)))
    assert exporter.exported_items == len(spans)
    assert (exporter.native_batches, exporter.official_batches) == ((1, 0) if encoder == "native" else (0, 1))


def test_a_batch_the_native_encoder_does_not_cover_goes_through_the_official_one(spool):
    memory = InMemorySpanExporter()
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(memory))
    with tp.get_tracer("t").start_as_current_span("big", attributes={"huge": 2**64, "kept": 1}):
        pass
    spans = memory.get_finished_spans()
    exporter = spool.span_exporter()
    assert exporter.export(spans).name == "SUCCESS"
    spool.flush()
    # The official encoder logs and leaves out the attribute it cannot encode; so does the spool.
    rows = stored_rows(spool.read("traces"))
    assert_rows_equal(rows, span_rows(encode_spans(spans)))
    assert [a["key"] for a in rows[0]["attributes"]] == ["kept"]
    assert (exporter.native_batches, exporter.official_batches) == (0, 1)
    tp.shutdown()


def test_an_unknown_encoder_is_refused(spool):
    with pytest.raises(ValueError, match="encoder"):
        spool.span_exporter(encoder="fast")
