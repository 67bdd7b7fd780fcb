//! Helpers shared by the files tests: small batches with a unique `id` per row, and a store
//! opener on a mock clock.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use otlp_spool_storage::{
    FileReader, FileStore, MockClock, Signal, StoreOptions, StoreOptionsBuilder,
};

/// 2026-11-27T00:00:00Z.
pub(crate) const T0: u64 = 1_795_737_600;

pub(crate) fn test_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, true),
    ]))
}

/// A batch with ids `first..first + rows`.
pub(crate) fn batch(first: u64, rows: u64) -> RecordBatch {
    let ids: ArrayRef = Arc::new(UInt64Array::from_iter_values(first..first + rows));
    let names: ArrayRef = Arc::new(StringArray::from_iter_values(
        (first..first + rows).map(|i| format!("row-{i}-padding-padding")),
    ));
    RecordBatch::try_new(test_schema(), vec![ids, names]).unwrap()
}

pub(crate) fn clock() -> MockClock {
    MockClock::at_unix_secs(T0)
}

pub(crate) fn options(dir: &Path, clock: &MockClock) -> StoreOptionsBuilder {
    StoreOptions::builder(dir).clock(Arc::new(clock.clone()))
}

pub(crate) fn open(dir: &Path, clock: &MockClock) -> FileStore {
    FileStore::open(options(dir, clock).build().unwrap()).unwrap()
}

/// Every id in the finalized files of `signal`, with how many times it occurs.
pub(crate) fn ids(dir: &Path, signal: Signal) -> BTreeMap<u64, usize> {
    let mut seen = BTreeMap::new();
    for b in FileReader::new(dir, signal).batches().unwrap() {
        let b = b.unwrap();
        for id in b.column(0).as_primitive::<UInt64Type>().values() {
            *seen.entry(*id).or_insert(0) += 1;
        }
    }
    seen
}

/// Names of the entries of a folder (sorted); empty if it does not exist.
pub(crate) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
