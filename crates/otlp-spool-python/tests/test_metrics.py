"""Metrics through the real SDK (``PeriodicExportingMetricReader``) into files: field by field
against ``encode_metrics`` of the very data the reader exported, the temporality column for
each choice and for the environment variable, histograms and exponential histograms."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import OTLPMetricExporterMixin
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import otlp_spool
from oracle import assert_rows_equal, metric_rows, stored_rows

C = AggregationTemporality.CUMULATIVE.value
D = AggregationTemporality.DELTA.value
TEMPORALITY_ENV = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"
HISTOGRAM_ENV = "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION"


def _tee(exporter):
    """Records the protobuf request of every batch the reader hands ``exporter``."""
    sent = []
    export = exporter.export

    def tee(metrics_data, timeout_millis=10_000, **kwargs):
        sent.append(encode_metrics(metrics_data))
        return export(metrics_data, timeout_millis=timeout_millis, **kwargs)

    exporter.export = tee
    return sent


def _record_all(provider, rounds=2):
    """One instrument of each kind, recorded in ``rounds`` collection rounds."""
    meter = provider.get_meter("test.meter", "0.1", schema_url="https://example.test/m", attributes={"m": 1})
    counter = meter.create_counter("c", unit="1", description="a counter")
    updown = meter.create_up_down_counter("ud")
    histogram = meter.create_histogram("h", unit="ms")
    gauge = meter.create_gauge("g")
    meter.create_observable_counter("oc", [lambda _o: [Observation(10, {"o": "x"})]])
    meter.create_observable_up_down_counter("oud", [lambda _o: [Observation(-3)]])
    meter.create_observable_gauge("og", [lambda _o: [Observation(0.5, {"unit": "cpu"})]])
    for r in range(rounds):
        counter.add(5, {"k": "v", "n": r})
        counter.add(2, {"k": "v", "n": r})
        updown.add(-2)
        for v in (0.1, 3, 40, 250, 9_000):
            histogram.record(v, {"route": "/a"})
        gauge.set(21.5)
        provider.force_flush()


def _provider(spool, exporter, views=()):
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create({"service.name": "metrics-test"})
    return MeterProvider(metric_readers=[reader], resource=resource, views=list(views), shutdown_on_exit=False)


def _temporalities(table):
    rows = table.to_pylist()
    return {r["metric_name"]: r["aggregation_temporality"] for r in rows}


def test_metrics_are_stored_field_by_field_as_encode_metrics_encodes_them(spool):
    exporter = spool.metric_exporter()
    sent = _tee(exporter)
    views = [View(instrument_name="h", aggregation=ExplicitBucketHistogramAggregation([0, 1, 10, 100, 1000]))]
    provider = _provider(spool, exporter, views)
    # Exemplars: measurements inside a sampled span carry its ids.
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    with tracer.start_as_current_span("around"):
        _record_all(provider)
    spool.flush()
    expected = [row for request in sent for row in metric_rows(request)]
    assert {r["metric_type"] for r in expected} == {"sum", "histogram", "gauge"}
    assert any(r["exemplars"] for r in expected), "the SDK attached exemplars"
    stored = stored_rows(spool.read("metrics"))
    assert_rows_equal(stored, expected)
    h = next(r for r in stored if r["metric_name"] == "h")
    assert h["explicit_bounds"] == [0, 1, 10, 100, 1000]
    assert h["bucket_counts"] == [0, 1, 1, 1, 1, 1] and h["count"] == 5
    assert h["min"] == 0.1 and h["max"] == 9_000
    assert exporter.exported_items == len(expected) and exporter.refused_items == 0
    provider.shutdown()


def test_exponential_histograms_are_stored_field_by_field(spool):
    exporter = spool.metric_exporter(aggregation="base2_exponential_bucket_histogram")
    sent = _tee(exporter)
    provider = _provider(spool, exporter)
    histogram = provider.get_meter("x").create_histogram("latency")
    # (The SDK refuses negative values for histograms, so `negative` stays empty.)
    for v in (0.0, 0.001, 1, 2, 3, 1e6):
        histogram.record(v, {"a": "b"})
    provider.force_flush()
    spool.flush()
    expected = [row for request in sent for row in metric_rows(request)]
    stored = stored_rows(spool.read("metrics"))
    assert_rows_equal(stored, expected)
    (row,) = stored
    assert row["metric_type"] == "exponential_histogram"
    assert row["count"] == 6 and row["zero_count"] == 1
    assert sum(row["positive"]["bucket_counts"]) == 5 and row["scale"] <= 20
    assert row["aggregation_temporality"] == C
    provider.shutdown()


_EXPECTED = {
    # per instrument name; the gauges (g, og) carry no temporality
    "cumulative": {"c": C, "ud": C, "h": C, "oc": C, "oud": C},
    "delta": {"c": D, "ud": C, "h": D, "oc": D, "oud": C},
    "lowmemory": {"c": D, "ud": C, "h": D, "oc": C, "oud": C},
}


def _stored_temporalities(spool, exporter):
    provider = _provider(spool, exporter)
    _record_all(provider, rounds=1)
    spool.flush()
    got = _temporalities(spool.read("metrics"))
    provider.shutdown()
    assert got.pop("g") is None and got.pop("og") is None, "gauges carry no temporality"
    return got


@pytest.mark.parametrize("choice", ["cumulative", "delta", "lowmemory", "DELTA"])
def test_temporality_column_for_each_choice(spool, choice):
    assert _stored_temporalities(spool, spool.metric_exporter(temporality=choice)) == _EXPECTED[choice.lower()]


def test_temporality_defaults_to_cumulative(spool, monkeypatch):
    monkeypatch.delenv(TEMPORALITY_ENV, raising=False)
    assert _stored_temporalities(spool, spool.metric_exporter()) == _EXPECTED["cumulative"]


@pytest.mark.parametrize("env", ["delta", "LowMemory", "cumulative"])
def test_temporality_from_the_environment_variable(spool, monkeypatch, env):
    monkeypatch.setenv(TEMPORALITY_ENV, env)
    assert _stored_temporalities(spool, spool.metric_exporter()) == _EXPECTED[env.lower()]


def test_an_explicit_choice_wins_over_the_environment(spool, monkeypatch):
    monkeypatch.setenv(TEMPORALITY_ENV, "delta")
    assert _stored_temporalities(spool, spool.metric_exporter(temporality="cumulative")) == _EXPECTED["cumulative"]


def test_a_mapping_is_merged_over_the_environment_and_reaches_the_reader(spool, monkeypatch):
    monkeypatch.setenv(TEMPORALITY_ENV, "delta")
    exporter = spool.metric_exporter(temporality={Histogram: AggregationTemporality.CUMULATIVE})
    # What PeriodicExportingMetricReader reads:
    assert exporter._preferred_temporality[Histogram] == AggregationTemporality.CUMULATIVE
    assert exporter._preferred_temporality[Counter] == AggregationTemporality.DELTA
    assert _stored_temporalities(spool, exporter) == {**_EXPECTED["delta"], "h": C}


@pytest.mark.parametrize("env", [None, "cumulative", "delta", "lowmemory", "Delta ", "bogus"])
def test_presets_equal_the_official_exporters_for_every_environment_value(monkeypatch, env):
    if env is None:
        monkeypatch.delenv(TEMPORALITY_ENV, raising=False)
    else:
        monkeypatch.setenv(TEMPORALITY_ENV, env)
    official = OTLPMetricExporterMixin()._get_temporality({UpDownCounter: AggregationTemporality.DELTA})
    ours = otlp_spool.preferred_temporality({UpDownCounter: AggregationTemporality.DELTA})
    assert ours == official


@pytest.mark.parametrize("env", [None, "explicit_bucket_histogram", "base2_exponential_bucket_histogram", "bogus"])
def test_histogram_aggregation_follows_the_environment_like_the_official_exporters(spool, monkeypatch, env):
    if env is None:
        monkeypatch.delenv(HISTOGRAM_ENV, raising=False)
    else:
        monkeypatch.setenv(HISTOGRAM_ENV, env)
    official = OTLPMetricExporterMixin()._get_aggregation({})
    ours = otlp_spool.preferred_aggregation()
    assert {k: type(v) for k, v in ours.items()} == {k: type(v) for k, v in official.items()}
    provider = _provider(spool, spool.metric_exporter())
    provider.get_meter("x").create_histogram("h").record(3)
    provider.force_flush()
    spool.flush()
    (row,) = spool.read("metrics").to_pylist()
    want = "exponential_histogram" if env == "base2_exponential_bucket_histogram" else "histogram"
    assert row["metric_type"] == want
    provider.shutdown()


def test_an_aggregation_mapping_is_passed_through(spool):
    exporter = spool.metric_exporter(aggregation={Histogram: ExponentialBucketHistogramAggregation(max_size=20)})
    assert isinstance(exporter._preferred_aggregation[Histogram], ExponentialBucketHistogramAggregation)


@pytest.mark.parametrize(
    "bad, error",
    [
        ("sometimes", ValueError),
        (AggregationTemporality.UNSPECIFIED, ValueError),
        ({"Counter": AggregationTemporality.DELTA}, TypeError),
        ({Counter: "delta"}, TypeError),
        (3, TypeError),
    ],
)
def test_bad_temporality_choices_are_refused_clearly(spool, bad, error):
    with pytest.raises(error, match="temporality"):
        spool.metric_exporter(temporality=bad)


def test_every_instrument_class_is_covered():
    for name in ("cumulative", "delta", "lowmemory"):
        assert set(otlp_spool.preferred_temporality(name)) == {
            Counter, UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge,
        }
