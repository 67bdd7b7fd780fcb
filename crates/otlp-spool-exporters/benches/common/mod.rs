//! Shared bench helpers: a counting global allocator, a sink that only counts, and a local
//! receiver in front of it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use otlp_spool_core::{Refusal, Sink, Telemetry};
use otlp_spool_receiver::{Receiver, RunningReceiver};

/// Counts every allocation (and reallocation) made through it: in the whole process, and on
/// the allocating thread.
pub(crate) struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // `const` and without a destructor: reading it never allocates.
    static THREAD_ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    let _ = THREAD_ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations so far (not every bench reads it).
#[allow(dead_code)]
pub(crate) fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// Allocations so far on the calling thread (not every bench reads it).
#[allow(dead_code)]
pub(crate) fn thread_allocations() -> u64 {
    THREAD_ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// A sink that counts items and drops the batch (the cost of the pipeline behind it is not
/// what these benches measure).
#[derive(Debug, Default)]
pub(crate) struct CountingSink(pub(crate) AtomicU64);

impl Sink for CountingSink {
    fn accept(&self, telemetry: Telemetry) -> Result<(), Refusal> {
        self.0
            .fetch_add(telemetry.item_count() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// A local otlp-spool receiver (gRPC only on 127.0.0.1:0) in front of a [`CountingSink`].
pub(crate) fn local_receiver(
    runtime: &tokio::runtime::Runtime,
) -> (RunningReceiver, Arc<CountingSink>) {
    let target = Arc::new(CountingSink::default());
    let running = runtime.block_on(async {
        Receiver::builder()
            .grpc_addr("127.0.0.1:0".parse().unwrap())
            .disable_http()
            .build()
            .unwrap()
            .serve(target.clone(), std::future::pending())
            .await
            .unwrap()
    });
    (running, target)
}
