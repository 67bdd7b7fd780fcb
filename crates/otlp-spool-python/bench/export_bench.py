"""Spans/s through a BatchSpanProcessor into Arrow files: otlp_spool's in-process exporter
(native span encoder, and with ``encoder="official"``) beside the official OTLP gRPC exporter
sending to a local ``otlp-spool serve``.

Every side runs the same application code (the SDK's tracer, spans of 11 attributes) and the
same ``BatchSpanProcessor`` settings (``_processor``). The gRPC exporter and the in-process
``official`` side encode with the official ``encode_spans``; the ``native`` side encodes in
Rust into the same bytes. A run ends when every span is written to files: in process once
``Spool.flush()`` returned (files finalized), for gRPC once the server's ``/metrics`` counts
every span written.

    python bench/export_bench.py --server target/release/otlp-spool --spans 50000 --rounds 3

Each round runs both sides (alternating which goes first) and prints wall time, spans/s and
the CPU seconds of this process (all its threads, CLOCK_PROCESS_CPUTIME_ID); the server's CPU
for the gRPC side is read from /proc. Use a release build of both the wheel and the server.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from statistics import median

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

import otlp_spool

ATTRIBUTES = {
    "http.request.method": "GET",
    "http.route": "/api/v1/items/{id}",
    "http.response.status_code": 200,
    "url.scheme": "https",
    "server.address": "api.example.test",
    "server.port": 443,
    "user_agent.original": "bench/1.0",
    "network.protocol.version": "1.1",
    "cache.hit": False,
    "item.ratio": 0.75,
}


def _processor(exporter):
    # Queue large enough that no span is dropped by the processor itself.
    return BatchSpanProcessor(exporter, max_queue_size=1 << 20, max_export_batch_size=512, schedule_delay_millis=200)


def _emit(tp, n):
    tracer = tp.get_tracer("bench", "1.0")
    for i in range(n):
        with tracer.start_as_current_span("GET /api/v1/items/{id}", attributes=ATTRIBUTES) as span:
            span.set_attribute("item.id", i)


def _provider(exporter):
    tp = TracerProvider(resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False)
    tp.add_span_processor(_processor(exporter))
    return tp


def run_spool(n, batch_age, encoder):
    with tempfile.TemporaryDirectory() as d:
        spool = otlp_spool.Spool(d, buffer={"max_batch_age": batch_age})
        exporter = spool.span_exporter(encoder=encoder)
        tp = _provider(exporter)
        cpu0, t0 = time.process_time(), time.perf_counter()
        _emit(tp, n)
        tp.force_flush(600_000)
        spool.flush(600)
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        rows = spool.read("traces").num_rows
        tp.shutdown()
        spool.shutdown()
        assert rows == n, f"{rows} rows in files, {n} spans emitted"
        assert exporter.refused_items == 0
        assert (exporter.official_batches == 0) == (encoder == "native")
        return wall, cpu, 0.0


def _metric(http, name):
    with urllib.request.urlopen(f"http://{http}/metrics", timeout=10) as r:
        text = r.read().decode()
    found = re.search(rf'^{name}{{signal="traces"}} (\d+)', text, re.M)
    return int(found.group(1)) if found else 0


def _server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_grpc(n, server, batch_age):
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    with tempfile.TemporaryDirectory() as d:
        config = os.path.join(d, "bench.yaml")
        with open(config, "w") as f:
            f.write(f"buffer: {{ max_batch_age: {batch_age} }}\n")
        proc = subprocess.Popen(
            [server, "serve", "--config", config, "--output-dir", os.path.join(d, "out"),
             "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            grpc = http = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and http is None:
                line = proc.stderr.readline()
                m = re.search(r"grpc=([0-9.:]+) http=([0-9.:]+)", line)
                if m:
                    grpc, http = m.group(1), m.group(2)
            assert http, "server did not start"
            exporter = OTLPSpanExporter(endpoint=grpc, insecure=True, timeout=60)
            tp = _provider(exporter)
            server_cpu0 = _server_cpu(proc.pid)
            cpu0, t0 = time.process_time(), time.perf_counter()
            _emit(tp, n)
            tp.force_flush(600_000)
            while _metric(http, "otlp_spool_written_items_total") < n:
                if time.perf_counter() - t0 > 600:
                    raise AssertionError("server did not write every span")
                time.sleep(0.002)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            server_cpu = _server_cpu(proc.pid) - server_cpu0
            tp.shutdown()
            return wall, cpu, server_cpu
        finally:
            proc.terminate()
            proc.wait(60)


SIDES = ("native", "official", "grpc")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, help="path of a release otlp-spool binary")
    ap.add_argument("--spans", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-age", default="100ms", help="buffer.max_batch_age on every side")
    ap.add_argument("--sides", default=",".join(SIDES), help=f"comma-separated, of {SIDES}")
    args = ap.parse_args()
    sides = args.sides.split(",")
    results = {side: [] for side in sides}
    for r in range(args.rounds):
        # Rotate the order, so no side always runs first (or last) in a round.
        order = sides[r % len(sides):] + sides[: r % len(sides)]
        for side in order:
            wall, cpu, server_cpu = (
                run_grpc(args.spans, args.server, args.batch_age)
                if side == "grpc"
                else run_spool(args.spans, args.batch_age, side)
            )
            results[side].append((wall, cpu, server_cpu))
            print(
                f"round {r} {side:8} wall {wall:7.2f}s  {args.spans / wall:9.0f} spans/s  "
                f"client cpu {cpu:6.2f}s  server cpu {server_cpu:5.2f}s  load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    rate = {side: median(args.spans / w for w, _, _ in res) for side, res in results.items()}
    cpu = {side: median((c + s) / args.spans * 1e6 for _, c, s in res) for side, res in results.items()}
    for side in sides:
        line = f"median {side:8} {rate[side]:9.0f} spans/s  {cpu[side]:6.1f} us CPU/span (client+server)"
        if "grpc" in rate and side != "grpc":
            line += f"  ratio to grpc: {rate[side] / rate['grpc']:.2f}x spans/s, {cpu['grpc'] / cpu[side]:.2f}x CPU"
        print(line)


if __name__ == "__main__":
    sys.exit(main())
