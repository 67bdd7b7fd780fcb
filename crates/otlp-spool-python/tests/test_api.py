"""The ``Spool`` constructor's configuration, ``read()`` and its Arrow C stream."""

from __future__ import annotations

import pyarrow as pa
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import otlp_spool


def _one_span(spool, name="s"):
    tp = TracerProvider(shutdown_on_exit=False)
    tp.add_span_processor(SimpleSpanProcessor(spool.span_exporter()))
    with tp.get_tracer("api").start_as_current_span(name):
        pass
    tp.shutdown()


def test_config_from_a_yaml_file_a_mapping_and_overrides(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("storage: { compression: lz4, format: parquet }\n")
    with otlp_spool.Spool(tmp_path / "a", config) as spool:
        _one_span(spool)
        spool.flush()
        assert [p.suffix for p in (tmp_path / "a" / "traces").iterdir()] == [".parquet"]
        assert spool.read("traces").num_rows == 1
    with otlp_spool.Spool(tmp_path / "b", {"storage": {"format": "parquet"}}, storage={"format": "arrow"}) as spool:
        _one_span(spool)
        spool.flush()
        assert [p.suffix for p in (tmp_path / "b" / "traces").iterdir()] == [".arrow"], "overrides win"


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"bufer": {}}, "bufer"),
        ({"storage": {"rotate_size": "12 parsecs"}}, "storage.rotate_size"),
        ({"buffer": {"max_bytes": "1KiB"}}, "buffer.max_batch_bytes"),
        ({"storage": {"compression": object()}}, "overrides"),
    ],
)
def test_bad_configuration_names_the_key_and_creates_nothing(tmp_path, kwargs, key):
    out = tmp_path / "never"
    with pytest.raises(otlp_spool.ConfigError, match=key):
        otlp_spool.Spool(out, **kwargs)
    assert not out.exists()


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(otlp_spool.ConfigError, match="nope.yaml"):
        otlp_spool.Spool(tmp_path / "d", tmp_path / "nope.yaml")


def test_read_gives_pyarrow_tables_and_streams_with_the_files_schema(spool, tmp_path):
    empty = spool.read("logs")
    assert isinstance(empty, pa.Table) and empty.num_rows == 0
    assert "severity_number" in empty.column_names
    _one_span(spool, "first")
    spool.flush()
    _one_span(spool, "second")
    spool.flush()
    table = spool.read("traces")
    assert sorted(table.column("name").to_pylist()) == ["first", "second"]
    stream = spool.read_stream("traces")
    assert stream.num_rows == 2 and stream.num_batches >= 2
    reader = pa.RecordBatchReader.from_stream(stream)  # the Arrow PyCapsule interface
    assert reader.read_all().num_rows == 2
    assert pa.table(stream).num_rows == 2, "each call exports a fresh stream"
    assert table.schema.metadata[b"otlp_spool.signal"] == b"traces"
    # The module-level reader takes any output directory (a server's too), even while running.
    assert otlp_spool.read(spool.output_dir, "traces").num_rows == 2
    spool.shutdown()
    assert spool.read("traces").num_rows == 2, "reading needs no running spool"


def test_read_refuses_an_unknown_signal(spool):
    with pytest.raises(ValueError, match="unknown signal `spans`"):
        spool.read("spans")


def test_the_exporters_are_the_sdk_classes():
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricExporter
    from opentelemetry.sdk.trace.export import SpanExporter

    assert issubclass(otlp_spool.SpoolSpanExporter, SpanExporter)
    assert issubclass(otlp_spool.SpoolMetricExporter, MetricExporter)
    assert issubclass(otlp_spool.SpoolLogRecordExporter, LogRecordExporter)
    assert issubclass(otlp_spool.BufferFullError, otlp_spool.SpoolError)
