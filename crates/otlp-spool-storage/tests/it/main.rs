//! The one integration-test binary of otlp-spool-storage.

mod convert_bytes;
mod convert_edge;
mod convert_gen;
mod convert_limits;
mod convert_python;
mod convert_roundtrip;
mod convert_wire;
mod files_concurrency;
mod files_damaged;
mod files_disk_full;
mod files_finalize;
mod files_python;
mod files_recovery;
mod files_rotation;
mod files_util;
mod files_writer;
