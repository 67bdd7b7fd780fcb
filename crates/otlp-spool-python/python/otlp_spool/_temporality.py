"""Temporality and aggregation preferences of the metric exporter.

They follow the official OTLP metric exporters: with no argument,
``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (``cumulative``, the default,
``delta`` or ``lowmemory``) and ``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION``
(``explicit_bucket_histogram``, the default, or ``base2_exponential_bucket_histogram``) decide;
a mapping ``{instrument class: AggregationTemporality | Aggregation}`` is merged over what the
environment gives. The result is what ``MetricExporter(preferred_temporality=...,
preferred_aggregation=...)`` takes, and what ``PeriodicExportingMetricReader`` reads.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Union

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality
from opentelemetry.sdk.metrics.view import (
    Aggregation,
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
)

_logger = logging.getLogger("otlp_spool")

TEMPORALITY_ENV = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
HISTOGRAM_AGGREGATION_ENV = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"

_C = AggregationTemporality.CUMULATIVE
_D = AggregationTemporality.DELTA
_INSTRUMENTS = (
    Counter,
    UpDownCounter,
    Histogram,
    ObservableCounter,
    ObservableUpDownCounter,
    ObservableGauge,
)
# Per instrument, in the order of _INSTRUMENTS (the OTLP exporter specification's table).
_PRESETS = {
    "cumulative": (_C, _C, _C, _C, _C, _C),
    "delta": (_D, _C, _D, _D, _C, _C),
    "lowmemory": (_D, _C, _D, _C, _C, _C),
}

TemporalityChoice = Union[str, AggregationTemporality, Mapping[type, AggregationTemporality], None]
AggregationChoice = Union[str, Mapping[type, Aggregation], None]


def _preset(name: str) -> dict[type, AggregationTemporality]:
    return dict(zip(_INSTRUMENTS, _PRESETS[name]))


def _from_env() -> dict[type, AggregationTemporality]:
    raw = os.environ.get(TEMPORALITY_ENV, "cumulative")
    name = raw.strip().lower()
    if name not in _PRESETS:
        _logger.warning("unrecognized %s=%r, using cumulative", TEMPORALITY_ENV, raw)
        name = "cumulative"
    return _preset(name)


def preferred_temporality(temporality: TemporalityChoice = None) -> dict[type, AggregationTemporality]:
    """The ``preferred_temporality`` mapping for ``temporality``.

    ``None``: from ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` (default cumulative).
    ``"cumulative"``, ``"delta"``, ``"lowmemory"`` (any case): that preset, whatever the
    environment says. An ``AggregationTemporality``: that temporality for every instrument.
    A mapping: merged over the environment's preset.
    """
    if temporality is None:
        return _from_env()
    if isinstance(temporality, AggregationTemporality):
        if temporality == AggregationTemporality.UNSPECIFIED:
            raise ValueError("temporality: UNSPECIFIED is not a temporality an exporter can ask for")
        return {instrument: temporality for instrument in _INSTRUMENTS}
    if isinstance(temporality, str):
        name = temporality.strip().lower()
        if name not in _PRESETS:
            raise ValueError(
                f"temporality {temporality!r}: expected 'cumulative', 'delta' or 'lowmemory'"
                " (or a mapping {instrument class: AggregationTemporality})"
            )
        return _preset(name)
    if isinstance(temporality, Mapping):
        merged = _from_env()
        for instrument, value in temporality.items():
            if not isinstance(instrument, type):
                raise TypeError(f"temporality: key {instrument!r} is not an instrument class")
            if not isinstance(value, AggregationTemporality):
                raise TypeError(
                    f"temporality[{instrument.__name__}]: {value!r} is not an AggregationTemporality"
                )
            merged[instrument] = value
        return merged
    raise TypeError(f"temporality: unsupported value {temporality!r}")


_HISTOGRAMS = {
    "explicit_bucket_histogram": ExplicitBucketHistogramAggregation,
    "base2_exponential_bucket_histogram": ExponentialBucketHistogramAggregation,
}


def preferred_aggregation(aggregation: AggregationChoice = None) -> dict[type, Aggregation]:
    """The ``preferred_aggregation`` mapping for ``aggregation``.

    ``None``: histograms as ``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION`` says
    (default explicit buckets). ``"explicit_bucket_histogram"`` or
    ``"base2_exponential_bucket_histogram"``: that histogram aggregation. A mapping
    ``{instrument class: Aggregation}``: merged over the environment's choice.
    """
    if aggregation is None or isinstance(aggregation, Mapping):
        raw = os.environ.get(HISTOGRAM_AGGREGATION_ENV, "explicit_bucket_histogram")
        if raw not in _HISTOGRAMS:
            _logger.warning(
                "invalid %s=%r, using explicit bucket histogram aggregation",
                HISTOGRAM_AGGREGATION_ENV,
                raw,
            )
            raw = "explicit_bucket_histogram"
        merged: dict[type, Aggregation] = {Histogram: _HISTOGRAMS[raw]()}
        for instrument, value in (aggregation or {}).items():
            if not isinstance(instrument, type):
                raise TypeError(f"aggregation: key {instrument!r} is not an instrument class")
            if not isinstance(value, Aggregation):
                raise TypeError(f"aggregation[{instrument.__name__}]: {value!r} is not an Aggregation")
            merged[instrument] = value
        return merged
    if isinstance(aggregation, str):
        if aggregation not in _HISTOGRAMS:
            raise ValueError(
                f"aggregation {aggregation!r}: expected 'explicit_bucket_histogram' or"
                " 'base2_exponential_bucket_histogram' (or a mapping {instrument class: Aggregation})"
            )
        return {Histogram: _HISTOGRAMS[aggregation]()}
    raise TypeError(f"aggregation: unsupported value {aggregation!r}")
