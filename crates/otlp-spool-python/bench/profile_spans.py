"""Where a span's CPU goes, stage by stage, for the in-process exporter (native and official
encoders) and the official OTLP gRPC exporter, in one process and one run.

The spans are those of ``export_bench.py`` (same attributes, same tracer). Each stage runs on
the calling thread alone and is timed with ``time.thread_time()`` (this thread's CPU), so other
load on the machine does not count; batches of 512 as the bench's ``BatchSpanProcessor`` sends.

    python bench/profile_spans.py --server target/release/otlp-spool --spans 20480 --repeat 3

Stages:
- ``sdk``: start, set an attribute on and end each span (``SimpleSpanProcessor`` into an
  ``InMemorySpanExporter``: the SDK's work, without a batch processor's thread);
- ``official encode_spans`` and ``SerializeToString``: the official encoder;
- ``native export(bytes)``: the spool taking the official bytes (validate, accept), GIL released;
- ``native encode_spans``: the native encoder alone; ``native export_spans``: it plus the
  hand-over, what the default in-process exporter does per batch;
- ``grpc export``: the official ``OTLPSpanExporter.export`` to a local ``otlp-spool serve``
  (encode, serialize, gRPC call; this thread's CPU only, not grpcio's threads or the server's).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from statistics import median

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otlp_spool
from otlp_spool import _native

sys.path.insert(0, os.path.dirname(__file__))
from export_bench import ATTRIBUTES  # noqa: E402

BATCH = 512


def _spans(n):
    memory = InMemorySpanExporter()
    tp = TracerProvider(resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(memory))
    tracer = tp.get_tracer("bench", "1.0")
    t0 = time.thread_time()
    for i in range(n):
        with tracer.start_as_current_span("GET /api/v1/items/{id}", attributes=ATTRIBUTES) as span:
            span.set_attribute("item.id", i)
    sdk = time.thread_time() - t0
    spans = list(memory.get_finished_spans())
    return sdk, [spans[i : i + BATCH] for i in range(0, n, BATCH)]


def _timed(batches, f):
    t0 = time.thread_time()
    out = [f(b) for b in batches]
    return time.thread_time() - t0, out


def _server(server, d):
    proc = subprocess.Popen(
        [server, "serve", "--output-dir", os.path.join(d, "out"), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = re.search(r"grpc=([0-9.:]+) http=([0-9.:]+)", proc.stderr.readline())
        if m:
            return proc, m.group(1)
    proc.terminate()
    raise AssertionError("server did not start")


def profile(n, server):
    stages = {}
    sdk, batches = _spans(n)
    stages["sdk (create + end)"] = sdk
    stages["official encode_spans"], requests = _timed(batches, encode_spans)
    stages["official SerializeToString"], payloads = _timed(requests, lambda r: r.SerializeToString())
    with tempfile.TemporaryDirectory() as d:
        spool = otlp_spool.Spool(os.path.join(d, "a"))
        stages["native export(bytes)"], _ = _timed(payloads, lambda p: spool._native.export("traces", p))
        stages["native encode_spans"], native = _timed(batches, _native.encode_spans)
        assert native == payloads, "the native bytes differ from the official ones"
        stages["native export_spans"], taken = _timed(batches, spool._native.export_spans)
        assert taken == [len(b) for b in batches]
        spool.shutdown()
        if server:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            proc, grpc = _server(server, d)
            try:
                exporter = OTLPSpanExporter(endpoint=grpc, insecure=True, timeout=60)
                stages["grpc export"], results = _timed(batches, exporter.export)
                assert all(r.name == "SUCCESS" for r in results)
                exporter.shutdown()
            finally:
                proc.terminate()
                proc.wait(60)
    return {k: v / n * 1e6 for k, v in stages.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", help="a release otlp-spool binary, for the gRPC stage")
    ap.add_argument("--spans", type=int, default=20_480)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = [profile(args.spans, args.server) for _ in range(args.repeat)]
    print(f"us of this thread's CPU per span, median of {args.repeat} runs of {args.spans} spans (load {os.getloadavg()[0]:.1f}):")
    for stage in runs[0]:
        print(f"  {stage:28} {median(r[stage] for r in runs):8.2f}")
    m = {k: median(r[k] for r in runs) for k in runs[0]}
    official = m["sdk (create + end)"] + m["official encode_spans"] + m["official SerializeToString"] + m["native export(bytes)"]
    native = m["sdk (create + end)"] + m["native export_spans"]
    print(f"  in process, official encoder: {official:8.2f}  native encoder: {native:8.2f}")
    if "grpc export" in m:
        print(f"  official gRPC exporter:       {m['sdk (create + end)'] + m['grpc export']:8.2f}")


if __name__ == "__main__":
    sys.exit(main())
