"""otlp-spool for Python: OpenTelemetry data into local Arrow files, in process.

The five-line wiring::

    spool = otlp_spool.Spool("./telemetry")          # also config=..., context manager
    tp.add_span_processor(BatchSpanProcessor(spool.span_exporter()))
    reader = PeriodicExportingMetricReader(spool.metric_exporter(temporality="delta"))
    lp.add_log_record_processor(BatchLogRecordProcessor(spool.log_exporter()))
    spool.flush(); spool.shutdown()

The exporters subclass the SDK's ``SpanExporter``, ``MetricExporter`` and
``LogRecordExporter``, encode each batch with the official OTLP protobuf encoders
(``opentelemetry-exporter-otlp-proto-common``) and hand the bytes to the native spool in
one call: no network hop. ``Spool.read(signal)`` gives the finalized files back as a
pyarrow Table.
"""

from otlp_spool._exporters import (
    SpoolLogRecordExporter,
    SpoolMetricExporter,
    SpoolSpanExporter,
)
from otlp_spool._native import (
    ArrowStream,
    BatchTooLargeError,
    BufferFullError,
    ConfigError,
    FlushError,
    ForkedProcessError,
    InvalidDataError,
    ReadError,
    ServeError,
    SpoolClosedError,
    SpoolError,
    __version__,
)
from otlp_spool._spool import ServeAddrs, Spool, read, read_stream
from otlp_spool._temporality import preferred_aggregation, preferred_temporality

__all__ = [
    "ArrowStream",
    "BatchTooLargeError",
    "BufferFullError",
    "ConfigError",
    "FlushError",
    "ForkedProcessError",
    "InvalidDataError",
    "ReadError",
    "ServeAddrs",
    "ServeError",
    "Spool",
    "SpoolClosedError",
    "SpoolError",
    "SpoolLogRecordExporter",
    "SpoolMetricExporter",
    "SpoolSpanExporter",
    "__version__",
    "preferred_aggregation",
    "preferred_temporality",
    "read",
    "read_stream",
]
