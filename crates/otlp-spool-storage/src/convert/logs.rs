//! Logs: one row per log record; the body keeps its AnyValue type (null body = no body).

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, Int32Array, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array,
};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::ConvertError;
use super::anyvalue::{AnyValueBuilder, AnyValueReader};
use super::attributes::{AttributesBuilder, AttributesReader};
use super::columns::{check_schema, column};
use super::ids::{append_hex, decode_hex};
use super::resource::{Context, ResourceScopeBuilder, ResourceScopeReader, index};
use super::schema::schema;
use crate::Signal;

/// Converts a logs export request into one `RecordBatch` of [`schema`]`(Signal::Logs)`, one
/// row per log record.
pub fn logs_to_arrow(req: &ExportLogsServiceRequest) -> Result<RecordBatch, ConvertError> {
    let rows: usize = req
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum();
    let mut b = LogColumns::with_capacity(rows);
    for (ri, rl) in req.resource_logs.iter().enumerate() {
        let resource_index = index(ri, "resource_index")?;
        for (si, sl) in rl.scope_logs.iter().enumerate() {
            let cx = Context {
                resource_index,
                resource: rl.resource.as_ref(),
                resource_schema_url: &rl.schema_url,
                scope_index: index(si, "scope_index")?,
                scope: sl.scope.as_ref(),
                scope_schema_url: &sl.schema_url,
            };
            for record in &sl.log_records {
                b.rs.append(&cx);
                b.append(record);
            }
        }
    }
    b.finish()
}

#[derive(Debug)]
struct LogColumns {
    rs: ResourceScopeBuilder,
    time_unix_nano: Vec<u64>,
    observed_time_unix_nano: Vec<u64>,
    severity_number: Vec<i32>,
    severity_text: StringBuilder,
    body: AnyValueBuilder,
    attributes: AttributesBuilder,
    dropped_attributes_count: Vec<u32>,
    flags: Vec<u32>,
    trace_id: StringBuilder,
    span_id: StringBuilder,
    event_name: StringBuilder,
}

impl LogColumns {
    fn with_capacity(rows: usize) -> Self {
        Self {
            rs: ResourceScopeBuilder::with_capacity(rows),
            time_unix_nano: Vec::with_capacity(rows),
            observed_time_unix_nano: Vec::with_capacity(rows),
            severity_number: Vec::with_capacity(rows),
            severity_text: StringBuilder::with_capacity(rows, rows * 5),
            body: AnyValueBuilder::with_capacity(rows),
            attributes: AttributesBuilder::with_capacity(rows, rows * 10),
            dropped_attributes_count: Vec::with_capacity(rows),
            flags: Vec::with_capacity(rows),
            trace_id: StringBuilder::with_capacity(rows, rows * 32),
            span_id: StringBuilder::with_capacity(rows, rows * 16),
            event_name: StringBuilder::with_capacity(rows, 0),
        }
    }

    #[inline]
    fn append(&mut self, r: &LogRecord) {
        self.time_unix_nano.push(r.time_unix_nano);
        self.observed_time_unix_nano.push(r.observed_time_unix_nano);
        self.severity_number.push(r.severity_number);
        self.severity_text.append_value(&r.severity_text);
        self.body.append(r.body.as_ref());
        self.attributes.append(&r.attributes);
        self.dropped_attributes_count
            .push(r.dropped_attributes_count);
        self.flags.push(r.flags);
        append_hex(&mut self.trace_id, &r.trace_id);
        append_hex(&mut self.span_id, &r.span_id);
        self.event_name.append_value(&r.event_name);
    }

    fn finish(mut self) -> Result<RecordBatch, ConvertError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(22);
        self.rs.finish(&mut columns)?;
        columns.push(Arc::new(UInt64Array::from(self.time_unix_nano)));
        columns.push(Arc::new(UInt64Array::from(self.observed_time_unix_nano)));
        columns.push(Arc::new(Int32Array::from(self.severity_number)));
        columns.push(Arc::new(self.severity_text.finish()));
        columns.push(Arc::new(self.body.finish("body")?));
        columns.push(Arc::new(self.attributes.finish("attributes")?));
        columns.push(Arc::new(UInt32Array::from(self.dropped_attributes_count)));
        columns.push(Arc::new(UInt32Array::from(self.flags)));
        columns.push(Arc::new(self.trace_id.finish()));
        columns.push(Arc::new(self.span_id.finish()));
        columns.push(Arc::new(self.event_name.finish()));
        RecordBatch::try_new(schema(Signal::Logs), columns).map_err(|source| ConvertError::Arrow {
            column: "logs batch".to_string(),
            source,
        })
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
                schema_url: rs.resource_schema_url(row),
            });
        }
        let Some(resource) = out.resource_logs.last_mut() else {
            continue;
        };
        if new_resource || prev.is_some_and(|(_, ps)| ps != si) {
            resource.scope_logs.push(ScopeLogs {
                scope: rs.scope(row)?,
                log_records: Vec::new(),
                schema_url: rs.scope_schema_url(row),
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
