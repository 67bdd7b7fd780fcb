//! Property tests: OTLP -> Arrow -> OTLP gives back an equal request, for all three signals and
//! every metric type. Equality is checked on the protobuf encoding (which compares NaN by bits,
//! where `PartialEq` would call NaN unequal to itself), plus `PartialEq` when no NaN is involved.

use std::fmt::Debug;

use otlp_spool_storage::{
    Signal, arrow_to_logs, arrow_to_metrics, arrow_to_traces, logs_to_arrow, metrics_to_arrow,
    schema, traces_to_arrow,
};
use proptest::prelude::*;
use prost::Message;

use crate::convert_gen::{logs_request, metrics_request, traces_request};

/// Asserts `back` equals `original`: same protobuf bytes (NaN-safe), and a readable diff if not.
pub(crate) fn assert_same<M: Message + PartialEq + Debug>(original: &M, back: &M) {
    if original.encode_to_vec() != back.encode_to_vec() {
        assert_eq!(original, back, "round trip changed the message");
        panic!("round trip changed the encoding (NaN payload?): {original:?} vs {back:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn traces_round_trip(req in traces_request()) {
        let batch = traces_to_arrow(&req).unwrap();
        prop_assert_eq!(batch.schema(), schema(Signal::Traces));
        let rows: usize = req.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
        prop_assert_eq!(batch.num_rows(), rows);
        assert_same(&req, &arrow_to_traces(&batch).unwrap());
    }

    #[test]
    fn metrics_round_trip(req in metrics_request()) {
        let batch = metrics_to_arrow(&req).unwrap();
        prop_assert_eq!(batch.schema(), schema(Signal::Metrics));
        assert_same(&req, &arrow_to_metrics(&batch).unwrap());
    }

    #[test]
    fn logs_round_trip(req in logs_request()) {
        let batch = logs_to_arrow(&req).unwrap();
        prop_assert_eq!(batch.schema(), schema(Signal::Logs));
        assert_same(&req, &arrow_to_logs(&batch).unwrap());
    }

    /// The round trip also survives the Arrow IPC stream format the files are written in.
    #[test]
    fn traces_round_trip_through_ipc(req in traces_request()) {
        let batch = traces_to_arrow(&req).unwrap();
        let read = crate::convert_edge::through_ipc(&batch);
        assert_same(&req, &arrow_to_traces(&read).unwrap());
    }

    #[test]
    fn metrics_round_trip_through_ipc(req in metrics_request()) {
        let batch = metrics_to_arrow(&req).unwrap();
        let read = crate::convert_edge::through_ipc(&batch);
        assert_same(&req, &arrow_to_metrics(&read).unwrap());
    }
}

/// Writes `batch` as Parquet in memory and reads it back (the files' second format).
fn through_parquet(batch: &arrow_array::RecordBatch) -> arrow_array::RecordBatch {
    let mut bytes = Vec::new();
    {
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
    }
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        prost::bytes::Bytes::from(bytes),
    )
    .unwrap()
    .with_batch_size(1 << 20)
    .build()
    .unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    assert!(batches.len() <= 1);
    if let Some(read) = batches.first() {
        // parquet-rs keeps string dictionaries and expands dictionaries of lists (README).
        for (w, r) in batch.schema().fields().iter().zip(read.schema().fields()) {
            match w.data_type() {
                arrow_schema::DataType::Dictionary(_, value) if value.is_nested() => {
                    assert!(r.data_type().equals_datatype(value), "{}", w.name())
                }
                written => assert!(r.data_type().equals_datatype(written), "{}", w.name()),
            }
        }
    }
    batches
        .into_iter()
        .next()
        .unwrap_or_else(|| arrow_array::RecordBatch::new_empty(batch.schema()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The schemas survive Parquet too (types, nullability and metadata come back).
    #[test]
    fn all_signals_round_trip_through_parquet(
        t in traces_request(), m in metrics_request(), l in logs_request()
    ) {
        let read = through_parquet(&traces_to_arrow(&t).unwrap());
        assert_same(&t, &arrow_to_traces(&read).unwrap());
        let read = through_parquet(&metrics_to_arrow(&m).unwrap());
        assert_same(&m, &arrow_to_metrics(&read).unwrap());
        let read = through_parquet(&logs_to_arrow(&l).unwrap());
        assert_same(&l, &arrow_to_logs(&read).unwrap());
    }
}
