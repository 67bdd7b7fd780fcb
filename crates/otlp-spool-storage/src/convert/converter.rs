//! [`Converter`]: the streaming OTLP -> Arrow converter of one signal.
//!
//! Invariants:
//! - Requests pushed one after another form one stream, converted as their concatenation
//!   (which protobuf defines as one merged request): `resource_index` counts the resource
//!   containers of the whole stream, until [`Converter::finish`] restarts it.
//! - Batches are cut by the batcher's one rule (`batch.rs`), whatever the input form: pushing
//!   the bytes of a request or its prost decode yields equal batches.
//! - A failed push leaves the converter as it was before the push, except for batches it
//!   already handed out ([`PushError::emitted`]).

use arrow_array::RecordBatch;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

use super::batch::{Batcher, Columns, Sink};
use super::limits::BatchLimits;
use super::logs::LogColumns;
use super::metrics::MetricColumns;
use super::traces::SpanColumns;
use super::{ConvertError, PushError, logs, metrics, traces, wire};
use crate::Signal;

/// Converts the requests of one signal into record batches of [`schema`](crate::schema)`(signal)`
/// bounded by [`BatchLimits`], handing each batch to a sink as it fills.
///
/// ```
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// use otlp_spool_storage::{BatchLimits, Converter, Signal};
/// use prost::Message;
///
/// let spans = (0..10).map(|i| Span { name: format!("s{i}"), ..Default::default() }).collect();
/// let scope_spans = vec![ScopeSpans { spans, ..Default::default() }];
/// let request = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans { scope_spans, ..Default::default() }],
/// }
/// .encode_to_vec();
///
/// let limits = BatchLimits::builder().max_batch_rows(4).build()?;
/// let mut converter = Converter::new(Signal::Traces, limits);
/// let mut batches = Vec::new();
/// let rows = converter.push(&request, |b| batches.push(b))?;   // the bytes, as received
/// converter.finish(|b| batches.push(b))?;                     // the last, partial batch
/// assert_eq!(rows, 10);
/// assert_eq!(batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(), [4, 4, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Converter {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Traces(Box<Batcher<SpanColumns>>),
    Metrics(Box<Batcher<MetricColumns>>),
    Logs(Box<Batcher<LogColumns>>),
}

impl Converter {
    /// A converter of `signal` requests.
    pub fn new(signal: Signal, limits: BatchLimits) -> Converter {
        let inner = match signal {
            Signal::Traces => Inner::Traces(Box::new(Batcher::new(SpanColumns::new(), limits))),
            Signal::Metrics => Inner::Metrics(Box::new(Batcher::new(MetricColumns::new(), limits))),
            Signal::Logs => Inner::Logs(Box::new(Batcher::new(LogColumns::new(), limits))),
        };
        Converter { inner }
    }

    /// The signal this converter takes.
    pub fn signal(&self) -> Signal {
        match self.inner {
            Inner::Traces(_) => Signal::Traces,
            Inner::Metrics(_) => Signal::Metrics,
            Inner::Logs(_) => Signal::Logs,
        }
    }

    /// Rows converted but not handed out yet (they go out with a later batch or `finish`).
    pub fn pending_rows(&self) -> usize {
        match &self.inner {
            Inner::Traces(b) => b.pending_rows(),
            Inner::Metrics(b) => b.pending_rows(),
            Inner::Logs(b) => b.pending_rows(),
        }
    }

    /// Converts one serialized `Export{Trace,Metrics,Logs}ServiceRequest` of the converter's
    /// signal, walking its bytes straight into the column builders. Batches that fill up are
    /// handed to `sink`; returns the number of rows (spans, data points, log records) the
    /// request contributed.
    ///
    /// The bytes are read as prost reads them (fields in any order, last occurrence of a
    /// scalar wins, occurrences of a message merge, unknown fields skipped, packed or not):
    /// the batches equal those of [`push_traces`](Self::push_traces) (or its siblings) on the
    /// prost decode of `request`, and the push fails exactly when that decode fails.
    pub fn push(
        &mut self,
        request: &[u8],
        mut sink: impl FnMut(RecordBatch),
    ) -> Result<usize, PushError> {
        let sink: &mut Sink<'_> = &mut sink;
        match &mut self.inner {
            Inner::Traces(b) => run(b, |b| wire::traces::push(b, request, sink)),
            Inner::Metrics(b) => run(b, |b| wire::metrics::push(b, request, sink)),
            Inner::Logs(b) => run(b, |b| wire::logs::push(b, request, sink)),
        }
    }

    /// Converts one trace request in prost form (the oracle of [`push`](Self::push)).
    pub fn push_traces(
        &mut self,
        request: &ExportTraceServiceRequest,
        mut sink: impl FnMut(RecordBatch),
    ) -> Result<usize, PushError> {
        let sink: &mut Sink<'_> = &mut sink;
        match &mut self.inner {
            Inner::Traces(b) => run(b, |b| traces::push_request(b, request, sink)),
            _ => Err(self.mismatch(Signal::Traces)),
        }
    }

    /// Converts one metrics request in prost form.
    pub fn push_metrics(
        &mut self,
        request: &ExportMetricsServiceRequest,
        mut sink: impl FnMut(RecordBatch),
    ) -> Result<usize, PushError> {
        let sink: &mut Sink<'_> = &mut sink;
        match &mut self.inner {
            Inner::Metrics(b) => run(b, |b| metrics::push_request(b, request, sink)),
            _ => Err(self.mismatch(Signal::Metrics)),
        }
    }

    /// Converts one logs request in prost form.
    pub fn push_logs(
        &mut self,
        request: &ExportLogsServiceRequest,
        mut sink: impl FnMut(RecordBatch),
    ) -> Result<usize, PushError> {
        let sink: &mut Sink<'_> = &mut sink;
        match &mut self.inner {
            Inner::Logs(b) => run(b, |b| logs::push_request(b, request, sink)),
            _ => Err(self.mismatch(Signal::Logs)),
        }
    }

    /// Ends the stream: hands the pending rows to `sink` as a last batch (if there are any)
    /// and restarts `resource_index` at 0 for the next stream.
    pub fn finish(&mut self, mut sink: impl FnMut(RecordBatch)) -> Result<(), ConvertError> {
        let sink: &mut Sink<'_> = &mut sink;
        match &mut self.inner {
            Inner::Traces(b) => b.finish(sink),
            Inner::Metrics(b) => b.finish(sink),
            Inner::Logs(b) => b.finish(sink),
        }
    }

    fn mismatch(&self, given: Signal) -> PushError {
        PushError {
            source: ConvertError::SignalMismatch {
                converter: self.signal(),
                given,
            },
            emitted: 0,
        }
    }
}

/// Runs one push with its rollback on failure.
fn run<C: Columns>(
    b: &mut Batcher<C>,
    push: impl FnOnce(&mut Batcher<C>) -> Result<(), ConvertError>,
) -> Result<usize, PushError> {
    b.begin();
    match push(b) {
        Ok(()) => Ok(b.end()),
        Err(source) => Err(PushError {
            source,
            emitted: b.rollback(),
        }),
    }
}

/// One unbounded batch of one request (`*_to_arrow`): an empty batch when it has no rows.
pub(crate) fn one_batch(
    signal: Signal,
    push: impl FnOnce(&mut Converter, &mut dyn FnMut(RecordBatch)) -> Result<usize, PushError>,
) -> Result<RecordBatch, ConvertError> {
    let mut converter = Converter::new(signal, BatchLimits::unbounded());
    let mut out: Option<RecordBatch> = None;
    let mut extra = false;
    let mut sink = |b: RecordBatch| {
        if out.is_some() {
            extra = true;
        }
        out = Some(b);
    };
    push(&mut converter, &mut sink).map_err(|e| e.source)?;
    converter.finish(&mut sink)?;
    if extra {
        return Err(ConvertError::ItemTooLarge {
            bytes: BatchLimits::unbounded().hard_batch_bytes(),
            limit: BatchLimits::unbounded().hard_batch_bytes(),
        });
    }
    Ok(out.unwrap_or_else(|| RecordBatch::new_empty(crate::schema(signal))))
}
