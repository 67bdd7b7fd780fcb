"""OTLP servers from inside Python: ``Spool.serve()`` fed by the official OTLP exporters, and
``python -m otlp_spool serve`` mirroring the binary (flags, logs, signals, exit codes)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otlp_spool
from oracle import assert_rows_equal, span_rows, stored_rows


def _spans(tp, name, n):
    tracer = tp.get_tracer(name)
    for i in range(n):
        with tracer.start_as_current_span(f"{name}-{i}") as s:
            s.set_attribute("i", i)


def test_serve_takes_the_official_grpc_and_http_exporters(spool):
    addrs = spool.serve(grpc_addr="127.0.0.1:0", http_addr="127.0.0.1:0")
    assert not addrs.grpc.endswith(":0") and not addrs.http.endswith(":0")
    memory = InMemorySpanExporter()
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(BatchSpanProcessor(GrpcSpanExporter(endpoint=addrs.grpc, insecure=True, timeout=10)))
    tp.add_span_processor(BatchSpanProcessor(HttpSpanExporter(endpoint=f"http://{addrs.http}/v1/traces", timeout=10)))
    tp.add_span_processor(SimpleSpanProcessor(memory))
    _spans(tp, "served", 20)
    assert tp.force_flush(30_000)
    spool.flush()
    expected = span_rows(encode_spans(memory.get_finished_spans()))
    assert_rows_equal(stored_rows(spool.read("traces")), expected + expected)  # once per exporter
    with urllib.request.urlopen(f"http://{addrs.http}/health", timeout=10) as health:
        assert health.status == 200
    with pytest.raises(otlp_spool.ServeError, match="already serving"):
        spool.serve(grpc_addr="127.0.0.1:0", http_addr="127.0.0.1:0")
    tp.shutdown()
    spool.shutdown()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://{addrs.http}/health", timeout=2)  # serving stopped


def test_serve_refuses_bad_addresses(spool):
    with pytest.raises(ValueError, match="grpc_addr"):
        spool.serve(grpc_addr="localhost", http_addr="127.0.0.1:0")
    with pytest.raises(otlp_spool.ServeError, match="different ports"):
        spool.serve(grpc_addr="127.0.0.1:45123", http_addr="127.0.0.1:45123")


def _cli(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "otlp_spool", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait_for_http_addr(process, deadline_s=60):
    deadline = time.monotonic() + deadline_s
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"otlp-spool listening.*http=([0-9.:]+)", line)
        if found:
            return found.group(1)
    process.kill()
    raise AssertionError("no 'otlp-spool listening' line: " + "".join(seen))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_python_m_otlp_spool_serve_mirrors_the_binary(tmp_path, signum):
    out = tmp_path / "d"
    server = _cli("serve", "--output-dir", str(out), "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
    try:
        http = _wait_for_http_addr(server)
        memory = InMemorySpanExporter()
        tp = TracerProvider(shutdown_on_exit=False)
        tp.add_span_processor(SimpleSpanProcessor(memory))
        _spans(tp, "cli", 7)
        body = encode_spans(memory.get_finished_spans()).SerializeToString()
        request = urllib.request.Request(
            f"http://{http}/v1/traces", data=body, headers={"Content-Type": "application/x-protobuf"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        server.send_signal(signum)
        assert server.wait(timeout=60) == 0, server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert_rows_equal(stored_rows(otlp_spool.read(out, "traces")), span_rows(encode_spans(memory.get_finished_spans())))


def test_python_m_otlp_spool_exit_codes_and_errors(tmp_path):
    shown = _cli("serve", "--help")
    out, _ = shown.communicate(timeout=60)
    assert shown.returncode == 0 and "--output-dir" in out
    bad_flag = _cli("serve", "--no-such-flag")
    _, err = bad_flag.communicate(timeout=60)
    # a usage error is a start-up error: exit 1, as the binary (2 means "data lost")
    assert bad_flag.returncode == 1 and "--no-such-flag" in err
    config = tmp_path / "c.yaml"
    config.write_text("storage: { rotate_size: 12 parsecs }\n")
    bad_config = _cli("serve", "--config", str(config), "--output-dir", str(tmp_path / "d"))
    _, err = bad_config.communicate(timeout=60)
    assert bad_config.returncode != 0 and "storage.rotate_size" in err
    printed = _cli("serve", "--print-config", "--output-dir", str(tmp_path / "p"))
    out, _ = printed.communicate(timeout=60)
    assert printed.returncode == 0 and "output_dir" in out
