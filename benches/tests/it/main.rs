//! Integration tests of otlp-spool-benches: measurements that need several crates at once.

mod alloc_count;
mod write_cost;

#[global_allocator]
static ALLOCATOR: alloc_count::Counting = alloc_count::Counting;
