"""The process around the spool: the GIL is released while a call blocks, a forked child gets a
clear error instead of a hang, and interpreter exit leaves only finalized files."""

from __future__ import annotations

import threading
import time

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otlp_spool
from conftest import files_under, run_python


class _Ticker:
    """A second Python thread counting as fast as it can, with the time of every tick."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.ticks.append(time.monotonic())
            time.sleep(0.001)

    def __enter__(self) -> _Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def between(self, start: float, end: float) -> int:
        return sum(1 for t in self.ticks if start < t < end)


def test_another_thread_runs_while_a_flush_blocks(spool):
    exporter = spool.span_exporter()
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    with tp.get_tracer("gil").start_as_current_span("waiting"):
        pass
    spool._native._pause_writers(True)  # the flush below now waits out its whole timeout
    with _Ticker() as ticker:
        start = time.monotonic()
        with pytest.raises(otlp_spool.FlushError):
            spool.flush(timeout=1.0)
        flushed_false = exporter.force_flush(timeout_millis=1_000)  # the SDK's path, blocking too
        end = time.monotonic()
    assert flushed_false is False
    assert end - start >= 1.9
    # With the GIL held for 2 s the ticker could not tick at all (at most once around each
    # switch); released, it ticks up to ~1 kHz, and far more than 50 times even on a loaded machine.
    assert ticker.between(start, end) > 50, f"{ticker.between(start, end)} ticks in {end - start:.2f}s"
    spool._native._pause_writers(False)
    spool.flush()
    assert spool.read("traces").num_rows == 1
    tp.shutdown()


def test_shutdown_drains_even_paused_writers(tmp_path):
    spool = otlp_spool.Spool(tmp_path / "d")
    spool._native._pause_writers(True)
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(spool.span_exporter()))
    with tp.get_tracer("drain").start_as_current_span("s"):
        pass
    spool.shutdown(timeout=10.0)  # closing the lanes overrides the pause: everything is written
    dropped = [line for line in spool.metrics().splitlines() if line.startswith('otlp_spool_dropped_items_total{signal="traces",')]
    assert dropped, "the drop counter is exposed, one series per reason"
    assert all(line.endswith("} 0") for line in dropped), dropped
    assert spool.read("traces").num_rows == 1
    tp.shutdown()


FORK_SCRIPT = r"""
import os, sys, json
import otlp_spool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult

spool = otlp_spool.Spool(sys.argv[1])
exporter = spool.span_exporter()
tp = TracerProvider(shutdown_on_exit=False)
processor = BatchSpanProcessor(exporter, schedule_delay_millis=50)
tp.add_span_processor(processor)
tracer = tp.get_tracer("fork")
with tracer.start_as_current_span("parent-before"):
    pass
tp.force_flush()
spool.flush()

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    report = {}
    try:
        spool.flush()
    except otlp_spool.ForkedProcessError as e:
        report["flush"] = str(e)
    try:
        spool.serve("127.0.0.1:0", "127.0.0.1:0")
    except otlp_spool.ForkedProcessError:
        report["serve"] = "refused"
    with TracerProvider(shutdown_on_exit=False).get_tracer("c").start_as_current_span("child") as s:
        pass
    report["export"] = exporter.export([s]).name  # never raises into the SDK
    report["refused"] = exporter.refused_batches
    report["read_rows"] = spool.read("traces").num_rows  # files need no threads
    os.write(w, json.dumps(report).encode())
    os.close(w)
    sys.exit(0)  # a normal exit: atexit hooks and garbage collection must not hang
os.close(w)
report = json.loads(os.read(r, 65536).decode())
_, status = os.waitpid(pid, 0)
report["child_status"] = status
with tracer.start_as_current_span("parent-after"):
    pass
tp.force_flush()
spool.flush()
report["parent_rows"] = spool.read("traces").num_rows
spool.shutdown()
print(json.dumps(report))
"""


def test_a_forked_child_gets_a_clear_error_and_neither_process_hangs(tmp_path):
    import json

    done = run_python(FORK_SCRIPT, str(tmp_path / "d"), timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["child_status"] == 0
    assert "fork" in report["flush"] and "create a new Spool" in report["flush"]
    assert report["serve"] == "refused"
    assert report["export"] == "FAILURE" and report["refused"] == 1
    assert report["read_rows"] == 1
    assert report["parent_rows"] == 2, "the parent's spool is untouched by the child"


EXIT_SCRIPT = r"""
import sys
import otlp_spool
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

spool = otlp_spool.Spool(sys.argv[1])
tp = TracerProvider()  # shutdown_on_exit: its exit hook flushes into the spool first
tp.add_span_processor(BatchSpanProcessor(spool.span_exporter(), schedule_delay_millis=60_000))
tracer = tp.get_tracer("exit")
for i in range(int(sys.argv[2])):
    with tracer.start_as_current_span(f"s{i}"):
        pass
print("leaving without flush or shutdown")
"""


def test_interpreter_exit_flushes_and_leaves_only_finalized_files(tmp_path):
    out = tmp_path / "d"
    done = run_python(EXIT_SCRIPT, str(out), "300", timeout=120)
    assert done.returncode == 0, done.stderr
    files = files_under(out)
    assert not [f for f in files if f.endswith(".tmp") or "/." in f], files
    assert any(f.startswith("traces/") and f.endswith(".arrow") for f in files), files
    assert otlp_spool.read(out, "traces").num_rows == 300


def test_a_context_manager_shuts_down_and_a_second_spool_can_reuse_the_directory(tmp_path):
    out = tmp_path / "d"
    with otlp_spool.Spool(out) as spool:
        with pytest.raises(otlp_spool.ConfigError, match="output_dir"):
            otlp_spool.Spool(out)  # one directory, one spool (lock file)
        assert not spool.closed
    assert spool.closed
    otlp_spool.Spool(out).shutdown()


def test_a_spool_dropped_without_shutdown_finalizes_its_files(tmp_path):
    out = tmp_path / "d"
    done = run_python(
        r"""
import sys, gc, otlp_spool
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
s = otlp_spool.Spool(sys.argv[1])
s._native.export("traces", b"")
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
tp = TracerProvider(shutdown_on_exit=False)
tp.add_span_processor(SimpleSpanProcessor(s.span_exporter()))
with tp.get_tracer("gc").start_as_current_span("x"):
    pass
del tp, s
gc.collect()
import os; os._exit(0)  # no atexit: only the drop of the native spool can finalize
""",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert not [f for f in files_under(out) if f.endswith(".tmp")]
    assert otlp_spool.read(out, "traces").num_rows == 1
