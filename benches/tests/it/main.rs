//! Integration tests of otlp-spool-benches: measurements that need several crates at once.

mod write_cost;
