"""The SDK exporters: each batch is handed to the native spool in one call (no network hop).
Spans go as the SDK's objects, encoded natively into the bytes the official ``encode_spans``
produces (``encoder="native"``, the default; a batch the native encoder does not cover, such as
spans of another class or attribute values the SDK does not make, is encoded with the official
encoder instead), or encoded with the official encoder (``encoder="official"``). Metrics and
logs are encoded with the official encoders and handed over as bytes.

Invariants: ``export`` never raises into the SDK. It answers ``SUCCESS`` only once the spool
holds the batch, and ``FAILURE`` otherwise (full lane, closed spool, batch too large, forked
process, exporter shut down, encoding error). Each refusal is counted (``refused_batches``,
``refused_items``) and each kind of refusal is logged once per exporter, on the
``otlp_spool`` logger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otlp_spool import _native
from otlp_spool._temporality import (
    AggregationChoice,
    TemporalityChoice,
    preferred_aggregation,
    preferred_temporality,
)

_logger = logging.getLogger("otlp_spool")


class _Feed:
    """What the three exporters share: the native spool, counters, log-once, shutdown."""

    def __init__(self, native: _native.NativeSpool, signal: str) -> None:
        self._native = native
        self._signal = signal
        self._lock = threading.Lock()
        self._logged: set[str] = set()
        self._is_shut_down = False
        self.native_batches = 0
        self.official_batches = 0
        self.exported_batches = 0
        self.exported_items = 0
        self.refused_batches = 0
        self.refused_items = 0

    def send(self, encode: Any, data: Any, items: int, native: Any = None) -> bool:
        """Encodes ``data`` and hands it over; True when the spool holds it. ``native``: a
        native ``export_*`` method of the spool, tried first; it answers the items taken, or
        why the batch needs the official encoder ``encode``."""
        if self._is_shut_down:
            return self._refuse("shutdown", items, f"the {self._signal} exporter is shut down")
        if items == 0:
            return True  # nothing to hold: no call, whatever the spool's state
        try:
            taken = native(data) if native is not None else None
            if isinstance(taken, int):
                self.native_batches += 1
            else:
                if taken is not None:
                    self._note_once("official", f"batch encoded with the official encoder: {taken}")
                payload = encode(data).SerializeToString()
                taken = self._native.export(self._signal, payload)
                self.official_batches += 1
        except _native.SpoolError as err:
            return self._refuse(type(err).__name__, items, str(err))
        except Exception as err:  # noqa: BLE001 - the SDK must never see an exception
            return self._refuse(type(err).__name__, items, f"{type(err).__name__}: {err}")
        with self._lock:
            self.exported_batches += 1
            self.exported_items += taken
        if taken < items:
            # The spool holds the rest; these items had ids the OTLP rules refuse.
            self._count(
                "invalid_ids",
                items - taken,
                0,
                f"{items - taken} of {items} items refused for invalid trace or span ids",
            )
        return True

    def _note_once(self, kind: str, message: str) -> None:
        with self._lock:
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            _logger.info("otlp_spool %s exporter: %s (logged once)", self._signal, message)

    def _refuse(self, kind: str, items: int, message: str) -> bool:
        self._count(kind, items, 1, message)
        return False

    def _count(self, kind: str, items: int, batches: int, message: str) -> None:
        with self._lock:
            self.refused_batches += batches
            self.refused_items += items
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            _logger.warning(
                "otlp_spool %s export failed, batch of %d refused (logged once per kind; "
                "refusals are counted on the exporter): %s",
                self._signal,
                items,
                message,
            )

    def flush(self, timeout_millis: float) -> bool:
        try:
            self._native.flush(max(timeout_millis, 0) / 1000.0)
            return True
        except Exception as err:  # noqa: BLE001
            self._refuse_flush(err)
            return False

    def _refuse_flush(self, err: Exception) -> None:
        kind = "flush:" + type(err).__name__
        with self._lock:
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            _logger.warning("otlp_spool %s flush failed (logged once): %s", self._signal, err)

    def shutdown(self, timeout_millis: float) -> None:
        if self._is_shut_down:
            return
        if not self._native.closed:
            self.flush(timeout_millis)
        self._is_shut_down = True


class _SpoolExporter:
    """What the three exporter classes share: flush, shutdown and the feed's counters (the
    SDK base classes come after this one, so these methods are the implementations)."""

    _feed: _Feed

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        """Returns once everything exported so far is in finalized files (True), or False."""
        return self._feed.flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Flushes, then refuses every later export. The spool itself keeps running."""
        self._feed.shutdown(timeout_millis)

    @property
    def exported_batches(self) -> int:
        """Batches the spool took."""
        return self._feed.exported_batches

    @property
    def exported_items(self) -> int:
        """Spans, metric data points or log records the spool took."""
        return self._feed.exported_items

    @property
    def native_batches(self) -> int:
        """Batches encoded by the native span encoder (spans only)."""
        return self._feed.native_batches

    @property
    def official_batches(self) -> int:
        """Batches encoded by the official OTLP encoder."""
        return self._feed.official_batches

    @property
    def refused_batches(self) -> int:
        """Batches answered with FAILURE."""
        return self._feed.refused_batches

    @property
    def refused_items(self) -> int:
        """Items in the batches answered with FAILURE."""
        return self._feed.refused_items


ENCODERS = ("native", "official")


class SpoolSpanExporter(_SpoolExporter, SpanExporter):
    """A ``SpanExporter`` writing into a :class:`otlp_spool.Spool`; get one from
    ``Spool.span_exporter(encoder=...)``.

    ``encoder="native"`` (default): spans are encoded in Rust into the bytes the official
    ``encode_spans`` produces (batches it does not cover go to the official encoder);
    ``"official"``: every batch through ``encode_spans``.
    """

    def __init__(self, native: _native.NativeSpool, encoder: str = "native") -> None:
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        self._feed = _Feed(native, "traces")
        self._native_export = native.export_spans if encoder == "native" else None
        self.encoder = encoder

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self._feed.send(encode_spans, spans, len(spans), self._native_export)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE


def _data_points(metrics_data: MetricsData) -> int:
    return sum(
        len(metric.data.data_points)
        for resource_metrics in metrics_data.resource_metrics
        for scope_metrics in resource_metrics.scope_metrics
        for metric in scope_metrics.metrics
    )


class SpoolMetricExporter(_SpoolExporter, MetricExporter):
    """A ``MetricExporter`` writing into a :class:`otlp_spool.Spool`; get one from
    ``Spool.metric_exporter(temporality=..., aggregation=...)``.

    Temporality defaults to cumulative (or what
    ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` says); see
    :func:`otlp_spool.preferred_temporality` and :func:`otlp_spool.preferred_aggregation`.
    """

    def __init__(
        self,
        native: _native.NativeSpool,
        temporality: TemporalityChoice = None,
        aggregation: AggregationChoice = None,
    ) -> None:
        super().__init__(
            preferred_temporality=preferred_temporality(temporality),
            preferred_aggregation=preferred_aggregation(aggregation),
        )
        self._feed = _Feed(native, "metrics")

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        ok = self._feed.send(encode_metrics, metrics_data, _data_points(metrics_data))
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE


class SpoolLogRecordExporter(_SpoolExporter, LogRecordExporter):
    """A ``LogRecordExporter`` writing into a :class:`otlp_spool.Spool`; get one from
    ``Spool.log_exporter()``."""

    def __init__(self, native: _native.NativeSpool) -> None:
        self._feed = _Feed(native, "logs")

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        ok = self._feed.send(encode_logs, batch, len(batch))
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE
