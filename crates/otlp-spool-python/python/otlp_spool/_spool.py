"""``Spool``: the Python face of the native spool (configuration, exporters, flush, shutdown,
serving OTLP, reading the files back).

Invariants: a spool is shut down at interpreter exit (``atexit``) if it was not before, so only
finalized files remain; in a forked child every call that needs the spool's threads raises
``ForkedProcessError`` and the exit hook leaves the parent's spool alone.
"""

from __future__ import annotations

import atexit
import json
import os
import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple, Union

from otlp_spool import _native
from otlp_spool._exporters import (
    SpoolLogRecordExporter,
    SpoolMetricExporter,
    SpoolSpanExporter,
)
from otlp_spool._temporality import AggregationChoice, TemporalityChoice

PathLike = Union[str, "os.PathLike[str]"]

_SIGNALS = ("traces", "metrics", "logs")
_live: weakref.WeakSet[Spool] = weakref.WeakSet()
# How long the exit hook lets each spool drain.
_EXIT_TIMEOUT = 30.0


class ServeAddrs(NamedTuple):
    """The addresses ``Spool.serve`` bound, as ``host:port``."""

    grpc: str
    http: str


def _json_default(value: Any) -> Any:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"config value {value!r} ({type(value).__name__}) is not a configuration value")


def _layer(name: str, keys: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(keys), default=_json_default)
    except TypeError as err:
        raise _native.ConfigError(f"{name}: {err}") from None


class Spool:
    """A running otlp-spool pipeline writing to ``output_dir``.

    ``config`` is a YAML file path (as ``otlp-spool serve --config`` takes) or a mapping with
    the same keys; ``**overrides`` are top-level keys of the same model merged over it
    (mappings merge key by key; ``None`` removes a key, back to its default). For example
    ``Spool("./t", buffer={"max_bytes": "8MiB", "max_batch_bytes": "1MiB"},
    storage={"compression": "zstd"})``. Unknown keys and bad values raise ``ConfigError``
    naming the key; an output directory held by another spool or server raises ``ConfigError``
    too. The environment (``OTLP_SPOOL_*``) is not read.

    Also a context manager: leaving the ``with`` block shuts the spool down.
    """

    def __init__(
        self,
        output_dir: PathLike,
        config: PathLike | Mapping[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        config_file = None
        layers = []
        if isinstance(config, Mapping):
            layers.append(_layer("config", config))
        elif config is not None:
            config_file = os.fspath(config)
        if overrides:
            layers.append(_layer("overrides", overrides))
        self._native = _native.NativeSpool(
            os.path.abspath(os.fspath(output_dir)), config_file, layers
        )
        self._pid = os.getpid()
        _live.add(self)

    # -- exporters ---------------------------------------------------------------------------

    def span_exporter(self, encoder: str = "native") -> SpoolSpanExporter:
        """A new ``SpanExporter`` feeding this spool (for ``BatchSpanProcessor``).

        ``encoder``: ``"native"`` (default) encodes spans in Rust into the same bytes as the
        official ``encode_spans``; ``"official"`` uses ``encode_spans`` itself.
        """
        return SpoolSpanExporter(self._native, encoder)

    def metric_exporter(
        self,
        temporality: TemporalityChoice = None,
        aggregation: AggregationChoice = None,
    ) -> SpoolMetricExporter:
        """A new ``MetricExporter`` feeding this spool (for ``PeriodicExportingMetricReader``).

        ``temporality``: ``None`` (the environment's
        ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``, default cumulative),
        ``"cumulative"``, ``"delta"``, ``"lowmemory"``, an ``AggregationTemporality``, or a
        mapping ``{instrument class: AggregationTemporality}``. ``aggregation``: ``None`` (the
        environment's ``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION``),
        ``"explicit_bucket_histogram"``, ``"base2_exponential_bucket_histogram"``, or a mapping
        ``{instrument class: Aggregation}``.
        """
        return SpoolMetricExporter(self._native, temporality, aggregation)

    def log_exporter(self) -> SpoolLogRecordExporter:
        """A new ``LogRecordExporter`` feeding this spool (for ``BatchLogRecordProcessor``)."""
        return SpoolLogRecordExporter(self._native)

    # -- lifecycle -----------------------------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> None:
        """Returns once everything the spool accepted so far is in finalized files; raises
        ``FlushError`` after ``timeout`` seconds or once the spool is shut down."""
        self._native.flush(timeout)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stops serving, drains the buffers (up to ``timeout`` seconds; what is left then is
        counted as dropped) and finalizes every file. Idempotent. Exporters answer FAILURE
        afterwards."""
        self._native.shutdown(timeout)

    @property
    def closed(self) -> bool:
        """Whether the spool is shut down."""
        return self._native.closed

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if os.getpid() == self._pid:
            self.shutdown()

    # -- serving and reading -------------------------------------------------------------------

    def serve(self, grpc_addr: str | None = None, http_addr: str | None = None) -> ServeAddrs:
        """Serves OTLP/gRPC and OTLP/HTTP (plus ``/health``, ``/ready``, ``/metrics``) from this
        process, feeding this spool, on the given addresses (default: the configured ones,
        127.0.0.1:4317 and :4318; port 0 picks a free port). Returns the bound addresses;
        serving stops at ``shutdown``."""
        return ServeAddrs(*self._native.serve(grpc_addr, http_addr))

    def read(self, signal: str) -> Any:
        """The finalized files of ``signal`` (``"traces"``, ``"metrics"`` or ``"logs"``) as a
        ``pyarrow.Table``, oldest file first. Needs pyarrow."""
        return _to_table(self._native.read(signal))

    def read_stream(self, signal: str) -> _native.ArrowStream:
        """Like :meth:`read`, as an object with ``__arrow_c_stream__`` (for polars, DuckDB or
        any Arrow PyCapsule consumer) instead of a pyarrow Table."""
        return self._native.read(signal)

    @property
    def output_dir(self) -> str:
        """The output directory (absolute)."""
        return os.fspath(self._native.output_dir)

    def metrics(self) -> str:
        """The pipeline's self-metrics (received, accepted, rejected, written and dropped per
        signal, lane memory) in Prometheus text format."""
        return self._native.metrics_text()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "running"
        return f"Spool({self.output_dir!r}, {state})"


def read_stream(output_dir: PathLike, signal: str) -> _native.ArrowStream:
    """The finalized ``signal`` files under ``output_dir`` (a spool's or an ``otlp-spool serve``
    output directory) as an ``ArrowStream``."""
    return _native.read_dir(os.fspath(output_dir), signal)


def read(output_dir: PathLike, signal: str) -> Any:
    """The finalized ``signal`` files under ``output_dir`` as a ``pyarrow.Table``."""
    return _to_table(read_stream(output_dir, signal))


def _to_table(stream: _native.ArrowStream) -> Any:
    try:
        import pyarrow
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "otlp_spool read() returns a pyarrow Table: pip install pyarrow "
            "(or use read_stream() with another Arrow consumer)"
        ) from err
    return pyarrow.table(stream)


@atexit.register
def _shutdown_at_exit() -> None:
    """Shuts down every spool still running in this process, so only finalized files remain.

    Registered when the package is first imported, so it runs after the exit hooks of SDK
    providers created later (atexit runs last-registered first): the providers flush into the
    spool, then the spool finalizes its files."""
    pid = os.getpid()
    for spool in list(_live):
        if spool._pid == pid and not spool.closed:
            try:
                spool.shutdown(_EXIT_TIMEOUT)
            except Exception:  # noqa: BLE001 - nothing can be done at exit; files are recovered at the next start
                pass
