//! Self-metrics exposition: every crate describes its metrics as a prometheus-client
//! [`Collector`] that reads its own counters at scrape time, the service registers them all in
//! one [`Registry`], and [`render`] writes the page in the Prometheus text format (0.0.4,
//! [`CONTENT_TYPE`]). No crate formats exposition text by hand.
//!
//! ```
//! use otlp_spool_core::metrics::{self, Collector, DescriptorEncoder, Registry};
//!
//! #[derive(Debug)]
//! struct Queue;
//!
//! impl Collector for Queue {
//!     fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
//!         metrics::counter(&mut encoder, "queue_pushed_total", "Items pushed.")?
//!             .sample([("signal", "traces")], 3)?;
//!         metrics::gauge(&mut encoder, "queue_bytes", "Bytes held.")?.value(42)
//!     }
//! }
//!
//! let mut registry = Registry::default();
//! registry.register_collector(Box::new(Queue));
//! let page = metrics::render(&registry);
//! assert_eq!(
//!     page.lines().collect::<Vec<_>>(),
//!     [
//!         "# HELP queue_pushed_total Items pushed.",
//!         "# TYPE queue_pushed_total counter",
//!         "queue_pushed_total{signal=\"traces\"} 3",
//!         "# HELP queue_bytes Bytes held.",
//!         "# TYPE queue_bytes gauge",
//!         "queue_bytes 42",
//!     ]
//! );
//! ```
//!
//! Invariant: a metric's name in the code is the name scraped (counters end in `_total`), so a
//! grep for a name on the page finds where it is written.

use std::fmt;

use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

pub use prometheus_client::collector::Collector;
pub use prometheus_client::encoding::DescriptorEncoder;
pub use prometheus_client::registry::Registry;

/// The `Content-Type` of [`render`]'s page.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The page of every collector in `registry`, in registration order.
pub fn render(registry: &Registry) -> String {
    let mut out = String::with_capacity(4096);
    // Writing into a String cannot fail; a collector's own error would only cut the page short.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, registry);
    out
}

/// One metric family being written: its samples follow with [`Family::sample`] (labelled) or
/// [`Family::value`] (the one unlabelled sample).
#[derive(Debug)]
pub struct Family<'a> {
    metric: MetricEncoder<'a>,
    kind: MetricType,
}

/// Starts the counter `name` (ending in `_total`, as scraped).
pub fn counter<'a>(
    encoder: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
) -> Result<Family<'a>, fmt::Error> {
    // prometheus-client appends `_total` to counters itself.
    let base = name.strip_suffix("_total").ok_or(fmt::Error)?;
    family(encoder, base, help, MetricType::Counter)
}

/// Starts the gauge `name`.
pub fn gauge<'a>(
    encoder: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
) -> Result<Family<'a>, fmt::Error> {
    family(encoder, name, help, MetricType::Gauge)
}

fn family<'a>(
    encoder: &'a mut DescriptorEncoder<'_>,
    name: &'a str,
    help: &str,
    kind: MetricType,
) -> Result<Family<'a>, fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, kind)?;
    Ok(Family { metric, kind })
}

impl Family<'_> {
    /// Writes one sample with `labels` (in the order given).
    pub fn sample(&mut self, labels: impl EncodeLabelSet, value: u64) -> fmt::Result {
        let kind = self.kind;
        encode(self.metric.encode_family(&labels)?, kind, value)
    }

    /// Writes the family's one sample, without labels.
    pub fn value(self, value: u64) -> fmt::Result {
        encode(self.metric, self.kind, value)
    }
}

fn encode(metric: MetricEncoder<'_>, kind: MetricType, value: u64) -> fmt::Result {
    match kind {
        MetricType::Counter => ConstCounter::new(value).encode(metric),
        _ => ConstGauge::new(value).encode(metric),
    }
}

/// An unlabelled metric read from a snapshot `S`: its name, help text and how to read it.
pub type Stat<S> = (&'static str, &'static str, fn(&S) -> u64);

/// Writes one unlabelled sample per counter and per gauge, read from `snapshot`.
pub fn encode_snapshot<S>(
    encoder: &mut DescriptorEncoder<'_>,
    snapshot: &S,
    counters: &[Stat<S>],
    gauges: &[Stat<S>],
) -> fmt::Result {
    for (name, help, get) in counters {
        counter(encoder, name, help)?.value(get(snapshot))?;
    }
    for (name, help, get) in gauges {
        gauge(encoder, name, help)?.value(get(snapshot))?;
    }
    Ok(())
}
