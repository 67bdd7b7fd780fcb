//! The batcher: one signal's column builders plus the bookkeeping that cuts them into record
//! batches bounded by [`BatchLimits`], keeps container entries per batch, and undoes a request
//! that failed half-way.
//!
//! Invariants:
//! - After every row, the batch is handed to the sink once it holds `max_batch_rows` rows, or
//!   once its Arrow bytes exceed those it had after its first row (the first row plus the
//!   container entries it needed, `carried`) by `max(max_batch_bytes, carried)`. Both the prost
//!   and the bytes converter run this same rule on the same column contents, so they cut at
//!   the same rows.
//! - The container keys (`resource`, `scope`, `metric`) name entries of the *current* batch;
//!   a hand-over clears them, so the next row adds its containers to the new batch again.
//! - `begin` records a checkpoint (rows and entries); `rollback` truncates every builder back
//!   to it. Each hand-over moves the checkpoint to the empty batch.

use arrow_array::RecordBatch;

use super::ConvertError;
use super::limits::BatchLimits;
use super::resource::{Entries, ResourceScopeBuilder};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;

/// Where a batch's builders stand: rows and container entries (a rollback point).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub(crate) rows: usize,
    pub(crate) entries: Entries,
    /// Metric entries (metrics only).
    pub(crate) metrics: usize,
}

/// One signal's column builders.
pub(crate) trait Columns {
    /// Rows so far.
    fn rows(&self) -> usize;
    /// Where the builders stand.
    fn checkpoint(&self) -> Checkpoint;
    /// Cuts every builder back to `to` (rows half-appended after it are dropped too).
    fn truncate(&mut self, to: Checkpoint);
    /// Arrow bytes the batch would have if finished now.
    fn bytes(&self) -> usize;
    /// The batch of every row so far; leaves the builders empty.
    fn finish(&mut self) -> Result<RecordBatch, ConvertError>;
    /// The resource and scope entries.
    fn containers(&mut self) -> &mut ResourceScopeBuilder;
    /// The scope key of the last row, if there is one.
    fn last_row_scope(&self) -> Option<i32>;
}

/// The containers of a row in prost form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'r> {
    pub(crate) resource_index: u32,
    pub(crate) resource: Option<&'r Resource>,
    pub(crate) resource_schema_url: &'r str,
    pub(crate) scope_index: u32,
    pub(crate) scope: Option<&'r InstrumentationScope>,
    pub(crate) scope_schema_url: &'r str,
}

/// Where finished batches go.
pub(crate) type Sink<'s> = dyn FnMut(RecordBatch) + 's;

/// One signal's builders with the batch-cutting rule.
#[derive(Debug)]
pub(crate) struct Batcher<C> {
    pub(crate) cols: C,
    limits: BatchLimits,
    /// Key of the current resource / scope / metric entry in this batch, if added.
    pub(crate) resource: Option<i32>,
    pub(crate) scope: Option<i32>,
    pub(crate) metric: Option<i32>,
    /// Bytes after the first row of the batch.
    carried: Option<usize>,
    /// Rollback point of the current push.
    start: Checkpoint,
    /// Rows appended by the current push.
    pushed: usize,
    /// Rows of the current push handed out in batches.
    emitted: usize,
    /// Position of the next resource container in the stream.
    pub(crate) next_resource: usize,
}

impl<C: Columns> Batcher<C> {
    pub(crate) fn new(cols: C, limits: BatchLimits) -> Self {
        Self {
            cols,
            limits,
            resource: None,
            scope: None,
            metric: None,
            carried: None,
            start: Checkpoint::default(),
            pushed: 0,
            emitted: 0,
            next_resource: 0,
        }
    }

    /// Starts a push: records the rollback point.
    pub(crate) fn begin(&mut self) {
        self.start = self.cols.checkpoint();
        self.pushed = 0;
        self.emitted = 0;
        self.clear_keys();
    }

    /// Ends a successful push; returns its rows.
    pub(crate) fn end(&mut self) -> usize {
        self.clear_keys();
        self.pushed
    }

    /// Undoes what the current push left pending; returns how many of its rows were already
    /// handed out.
    pub(crate) fn rollback(&mut self) -> usize {
        self.cols.truncate(self.start);
        self.clear_keys();
        if self.cols.rows() == 0 {
            self.carried = None;
        }
        self.emitted
    }

    pub(crate) fn clear_keys(&mut self) {
        self.resource = None;
        self.scope = None;
        self.metric = None;
    }

    /// Takes the position of the next resource container of the stream.
    pub(crate) fn next_resource_index(&mut self) -> Result<u32, ConvertError> {
        let index = super::resource::index(self.next_resource, "resource_index")?;
        self.next_resource += 1;
        Ok(index)
    }

    /// The scope key of the next row (prost form), adding the resource and scope entries to
    /// the batch if they are not in it yet.
    pub(crate) fn scope_entry(&mut self, cx: &Context<'_>) -> i32 {
        let resource = match self.resource {
            Some(k) => k,
            None => {
                let k = self.cols.containers().push_resource(
                    cx.resource_index,
                    cx.resource,
                    cx.resource_schema_url,
                );
                *self.resource.insert(k)
            }
        };
        match self.scope {
            Some(k) => k,
            None => {
                let k = self.cols.containers().push_scope(
                    resource,
                    cx.scope_index,
                    cx.scope,
                    cx.scope_schema_url,
                );
                *self.scope.insert(k)
            }
        }
    }

    /// Called after each complete row: hands the batch out when it is full.
    #[inline]
    pub(crate) fn after_row(&mut self, sink: &mut Sink<'_>) -> Result<(), ConvertError> {
        self.pushed += 1;
        let rows = self.cols.rows();
        let bytes = self.cols.bytes();
        if bytes > self.limits.hard_batch_bytes() {
            return Err(ConvertError::ItemTooLarge {
                bytes,
                limit: self.limits.hard_batch_bytes(),
            });
        }
        let carried = *self.carried.get_or_insert(bytes);
        let budget = self.limits.max_batch_bytes().max(carried);
        if rows >= self.limits.max_batch_rows() || bytes - carried >= budget {
            self.flush(sink)?;
        }
        Ok(())
    }

    /// Hands the pending rows out as one batch (nothing if there are none).
    ///
    /// If Arrow refuses to assemble the batch (which the limits are there to prevent), the
    /// pending rows are lost, those of earlier pushes included; the error says so.
    pub(crate) fn flush(&mut self, sink: &mut Sink<'_>) -> Result<(), ConvertError> {
        self.clear_keys();
        self.carried = None;
        let rows = self.cols.rows();
        let ours = rows - self.start.rows.min(rows);
        self.start = Checkpoint::default();
        if rows == 0 {
            self.cols.truncate(Checkpoint::default());
            return Ok(());
        }
        match self.cols.finish() {
            Ok(batch) => {
                self.emitted += ours;
                sink(batch);
                Ok(())
            }
            Err(e) => {
                self.cols.truncate(Checkpoint::default());
                Err(e)
            }
        }
    }

    /// Ends the stream: hands the pending rows out and restarts container positions at 0.
    pub(crate) fn finish(&mut self, sink: &mut Sink<'_>) -> Result<(), ConvertError> {
        self.next_resource = 0;
        self.flush(sink)
    }

    /// Rows pending in the current batch.
    pub(crate) fn pending_rows(&self) -> usize {
        self.cols.rows()
    }
}
