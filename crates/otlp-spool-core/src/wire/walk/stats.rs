//! [`WireStats`]: what a walked request holds, in the figures a write-cost estimate needs.

/// Counts gathered while walking a request, over the items that go on (a refused span or log
/// record adds nothing).
///
/// Counted per occurrence on the wire: a singular field sent twice (which prost merges, the
/// last scalar winning) counts twice, and data points of a metric whose `data` is replaced by a
/// later variant still count here although they are not items. For an estimate, not a ledger:
/// the exact item count is [`Walked::items`](super::Walked::items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WireStats {
    /// `ResourceSpans` / `ResourceMetrics` / `ResourceLogs` entries.
    pub resources: u64,
    /// `ScopeSpans` / `ScopeMetrics` / `ScopeLogs` entries.
    pub scopes: u64,
    /// `Metric` messages.
    pub metrics: u64,
    /// `KeyValue` messages at any depth: attributes of every kind, entries of key-value lists,
    /// metric metadata.
    pub key_values: u64,
    /// `AnyValue`s inside array values (at any depth).
    pub array_values: u64,
    /// Span events.
    pub events: u64,
    /// Span links.
    pub links: u64,
    /// Exemplars of every data point type.
    pub exemplars: u64,
    /// Histogram bucket counts and explicit bounds, exponential histogram bucket counts and
    /// summary quantiles.
    pub buckets: u64,
    /// Payload bytes of string fields (keys, names, string values, ...).
    pub string_bytes: u64,
    /// Payload bytes of bytes fields (ids, bytes values).
    pub bytes_bytes: u64,
    /// The deepest AnyValue nesting seen (an attribute's value is level 1); 0 without values.
    pub max_value_depth: u32,
}
