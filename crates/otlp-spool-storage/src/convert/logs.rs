//! Logs: one row per log record; the body keeps its AnyValue type (null body = no body).
//!
//! Invariants: `LogColumns` is the one set of log column builders; the prost converter here
//! and the bytes converter (`wire::logs`) both append into it, row by row.

use std::sync::Arc;

use arrow_array::types::{Int32Type, UInt32Type, UInt64Type};
use arrow_array::{
    ArrayRef, Int32Array, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::ConvertError;
use super::anyvalue::{AnyValueBuilder, AnyValueReader};
use super::attributes::{AttributesBuilder, AttributesReader};
use super::batch::{Batcher, Checkpoint, Columns, Context, Sink};
use super::columns::{ByteColumn, arrow, check_schema, column, finish_vec};
use super::ids::decode_hex;
use super::resource::{Leading, ResourceScopeBuilder, ResourceScopeReader, index};
use super::schema::schema;
use crate::Signal;

/// Converts a logs export request into one `RecordBatch` of [`schema`]`(Signal::Logs)`, one
/// row per log record (no batch limits: see [`Converter`](crate::Converter)).
pub fn logs_to_arrow(req: &ExportLogsServiceRequest) -> Result<RecordBatch, ConvertError> {
    super::converter::one_batch(Signal::Logs, |c, sink| c.push_logs(req, sink))
}

/// Appends the log records of `req` (prost form), row by row.
pub(crate) fn push_request(
    b: &mut Batcher<LogColumns>,
    req: &ExportLogsServiceRequest,
    sink: &mut Sink<'_>,
) -> Result<(), ConvertError> {
    for rl in &req.resource_logs {
        let resource_index = b.next_resource_index()?;
        b.clear_keys();
        for (si, sl) in rl.scope_logs.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rl.resource.as_ref(),
                resource_schema_url: &rl.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: sl.scope.as_ref(),
                scope_schema_url: &sl.schema_url,
            };
            b.scope = None;
            for record in &sl.log_records {
                let key = b.scope_entry(&cx);
                b.cols.lead.scope_key.push(key);
                b.cols.append(record);
                b.after_row(sink)?;
            }
        }
    }
    Ok(())
}

/// The log column builders of one batch.
#[derive(Debug)]
pub(crate) struct LogColumns {
    pub(crate) lead: Leading,
    pub(crate) time_unix_nano: Vec<u64>,
    pub(crate) observed_time_unix_nano: Vec<u64>,
    pub(crate) severity_number: Vec<i32>,
    pub(crate) severity_text: ByteColumn,
    pub(crate) body: AnyValueBuilder,
    pub(crate) attributes: AttributesBuilder,
    pub(crate) dropped_attributes_count: Vec<u32>,
    pub(crate) flags: Vec<u32>,
    pub(crate) trace_id: ByteColumn,
    pub(crate) span_id: ByteColumn,
    pub(crate) event_name: ByteColumn,
}

impl LogColumns {
    pub(crate) fn new() -> Self {
        Self {
            lead: Leading::new(),
            time_unix_nano: Vec::new(),
            observed_time_unix_nano: Vec::new(),
            severity_number: Vec::new(),
            severity_text: ByteColumn::new(),
            body: AnyValueBuilder::new(),
            attributes: AttributesBuilder::new(),
            dropped_attributes_count: Vec::new(),
            flags: Vec::new(),
            trace_id: ByteColumn::new(),
            span_id: ByteColumn::new(),
            event_name: ByteColumn::new(),
        }
    }

    #[inline]
    fn append(&mut self, r: &LogRecord) {
        self.time_unix_nano.push(r.time_unix_nano);
        self.observed_time_unix_nano.push(r.observed_time_unix_nano);
        self.severity_number.push(r.severity_number);
        self.severity_text.push_str(&r.severity_text);
        self.body.append(r.body.as_ref());
        self.attributes.append(&r.attributes);
        self.dropped_attributes_count
            .push(r.dropped_attributes_count);
        self.flags.push(r.flags);
        self.trace_id.push_hex(&r.trace_id);
        self.span_id.push_hex(&r.span_id);
        self.event_name.push_str(&r.event_name);
    }
}

impl Columns for LogColumns {
    fn rows(&self) -> usize {
        self.lead.rows()
    }

    fn checkpoint(&self) -> Checkpoint {
        self.lead.checkpoint()
    }

    fn truncate(&mut self, to: Checkpoint) {
        let n = to.rows;
        self.lead.truncate(to);
        self.time_unix_nano.truncate(n);
        self.observed_time_unix_nano.truncate(n);
        self.severity_number.truncate(n);
        self.severity_text.truncate(n);
        self.body.truncate(n);
        self.attributes.truncate(n);
        self.dropped_attributes_count.truncate(n);
        self.flags.truncate(n);
        self.trace_id.truncate(n);
        self.span_id.truncate(n);
        self.event_name.truncate(n);
    }

    fn bytes(&self) -> usize {
        let rows = self.rows();
        // Two times (8 bytes each), severity, dropped count, flags (4 each).
        28 * rows
            + self.lead.bytes()
            + self.severity_text.bytes()
            + self.body.bytes()
            + self.attributes.bytes()
            + self.trace_id.bytes()
            + self.span_id.bytes()
            + self.event_name.bytes()
    }

    fn containers(&mut self) -> &mut ResourceScopeBuilder {
        &mut self.lead.rs
    }

    fn last_row_scope(&self) -> Option<i32> {
        self.lead.last_row_scope()
    }

    fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(22);
        self.lead.finish(&mut columns)?;
        columns.push(finish_vec::<UInt64Type>(&mut self.time_unix_nano));
        columns.push(finish_vec::<UInt64Type>(&mut self.observed_time_unix_nano));
        columns.push(finish_vec::<Int32Type>(&mut self.severity_number));
        columns.push(Arc::new(
            self.severity_text.finish_utf8(None, "severity_text")?,
        ));
        columns.push(Arc::new(self.body.finish("body")?));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(finish_vec::<UInt32Type>(&mut self.dropped_attributes_count));
        columns.push(finish_vec::<UInt32Type>(&mut self.flags));
        columns.push(Arc::new(self.trace_id.finish_utf8(None, "trace_id")?));
        columns.push(Arc::new(self.span_id.finish_utf8(None, "span_id")?));
        columns.push(Arc::new(self.event_name.finish_utf8(None, "event_name")?));
        RecordBatch::try_new(schema(Signal::Logs), columns)
            .map_err(|source| arrow("logs batch", source))
    }
}

/// Converts a batch of [`schema`]`(Signal::Logs)` back into a logs export request.
///
/// Rows are regrouped by `resource_index` / `scope_index` runs, so a batch produced by
/// [`logs_to_arrow`] gives back an equal request (see the crate README for the limits).
pub fn arrow_to_logs(batch: &RecordBatch) -> Result<ExportLogsServiceRequest, ConvertError> {
    check_schema(batch, Signal::Logs)?;
    let rs = ResourceScopeReader::new(batch)?;
    let body: &StructArray = column(batch, "body")?;
    let r = LogReader {
        time_unix_nano: column(batch, "time_unix_nano")?,
        observed_time_unix_nano: column(batch, "observed_time_unix_nano")?,
        severity_number: column(batch, "severity_number")?,
        severity_text: column(batch, "severity_text")?,
        body: AnyValueReader::new(body, "body")?,
        attributes: AttributesReader::new(column(batch, "attributes")?, "attributes")?,
        dropped_attributes_count: column(batch, "dropped_attributes_count")?,
        flags: column(batch, "flags")?,
        trace_id: column(batch, "trace_id")?,
        span_id: column(batch, "span_id")?,
        event_name: column(batch, "event_name")?,
    };
    let mut out = ExportLogsServiceRequest::default();
    let mut prev: Option<(u32, u32)> = None;
    for row in 0..batch.num_rows() {
        let (ri, si) = rs.indices(row);
        let new_resource = prev.is_none_or(|(pr, _)| pr != ri);
        if new_resource {
            out.resource_logs.push(ResourceLogs {
                resource: rs.resource(row)?,
                scope_logs: Vec::new(),
                schema_url: rs.resource_schema_url(row)?,
            });
        }
        let Some(resource) = out.resource_logs.last_mut() else {
            continue;
        };
        if new_resource || prev.is_some_and(|(_, ps)| ps != si) {
            resource.scope_logs.push(ScopeLogs {
                scope: rs.scope(row)?,
                log_records: Vec::new(),
                schema_url: rs.scope_schema_url(row)?,
            });
        }
        prev = Some((ri, si));
        if let Some(scope) = resource.scope_logs.last_mut() {
            scope.log_records.push(r.record(row)?);
        }
    }
    Ok(out)
}

#[derive(Debug)]
struct LogReader<'a> {
    time_unix_nano: &'a UInt64Array,
    observed_time_unix_nano: &'a UInt64Array,
    severity_number: &'a Int32Array,
    severity_text: &'a StringArray,
    body: AnyValueReader<'a>,
    attributes: AttributesReader<'a>,
    dropped_attributes_count: &'a UInt32Array,
    flags: &'a UInt32Array,
    trace_id: &'a StringArray,
    span_id: &'a StringArray,
    event_name: &'a StringArray,
}

impl LogReader<'_> {
    fn record(&self, row: usize) -> Result<LogRecord, ConvertError> {
        Ok(LogRecord {
            time_unix_nano: self.time_unix_nano.value(row),
            observed_time_unix_nano: self.observed_time_unix_nano.value(row),
            severity_number: self.severity_number.value(row),
            severity_text: self.severity_text.value(row).to_string(),
            body: self.body.get(row)?,
            attributes: self.attributes.get(row)?,
            dropped_attributes_count: self.dropped_attributes_count.value(row),
            flags: self.flags.value(row),
            trace_id: decode_hex(self.trace_id.value(row), "trace_id", row)?,
            span_id: decode_hex(self.span_id.value(row), "span_id", row)?,
            event_name: self.event_name.value(row).to_string(),
        })
    }
}
