//! A bounded, concurrent, lossless batch buffer.
//!
//! Every item the service accepts passes through a [`BatchBuffer`]: many producers
//! (receiver tasks, SDK exporters) push, one consumer (the flusher) drains batches. The
//! buffer is generic over the item ([`Weighted`] reports its size in bytes), bounded by
//! total bytes and optionally by item count, and free of tokio, I/O and OpenTelemetry
//! types, so that loom can model it.
//!
//! ```
//! use otlp_spool_buffer::{BatchBuffer, Policy, PushError, Weighted};
//!
//! struct Req(Vec<u8>);
//! impl Weighted for Req {
//!     fn weight(&self) -> usize { self.0.len() }
//! }
//!
//! let buffer = BatchBuffer::<Req>::builder()
//!     .max_bytes(1024)
//!     .max_batch_items(2)
//!     .policy(Policy::Reject)
//!     .build()?;
//! let producer = buffer.producer(); // per-producer order, whatever thread it runs on
//! producer.push(Req(vec![0; 600])).unwrap();
//! // Full: the item comes back, the caller answers with backpressure.
//! let Err(PushError::Full(back)) = producer.push(Req(vec![1; 600])) else { panic!() };
//! assert_eq!(back.0.len(), 600);
//! producer.push(Req(vec![2; 100])).unwrap();
//! let batch = buffer.drain().expect("2 items: ready");
//! assert_eq!((batch.len(), batch.bytes()), (2, 700));
//! buffer.close();
//! assert!(matches!(producer.push(Req(vec![])), Err(PushError::Closed(_))));
//! # Ok::<(), otlp_spool_buffer::ConfigError>(())
//! ```
//!
//! # Design
//!
//! - **Reservation word.** One `AtomicU64` packs the buffered bytes (40 bits), items
//!   (23 bits) and a closed flag. A push reserves its weight with a CAS loop that checks
//!   the bound and adds in the same step, *before* it inserts; a drain releases after it
//!   removes. The bound is therefore never exceeded, not even transiently, and the
//!   counters (`len`, `bytes`, `stats`) are read lock-free.
//! - **Shards.** A few (default 4) shards, each a `VecDeque<T>` behind a small
//!   test-and-test-and-set lock (loom's `Mutex` under loom), on its own cache lines. A
//!   push locks one shard, reserves, appends, unlocks: one lock CAS, one reservation
//!   CAS and a release store, no allocation in the steady state. The lock is a spin lock
//!   rather than parking_lot because its critical sections are a few instructions and
//!   its unlock is a plain store (parking_lot's is a CAS): that measurably lowers the
//!   uncontended push cost (see README). With as many shards as cores, producers rarely
//!   meet on a lock; they meet only on the reservation word's cache line.
//! - **Swap on drain.** A drain locks each shard in turn and swaps its whole segment for
//!   an empty one (`mem::replace`), recycled from a small pool when the consumer hands
//!   processed batches back ([`BatchBuffer::recycle`]), else `VecDeque::new()` (no
//!   allocation). The [`Batch`] owns the taken segments. Cost: one lock per shard,
//!   independent of the batch length; items are never touched.
//! - **Signals, not polling.** Consumers wait on [`BatchBuffer::ready`] /
//!   [`BatchBuffer::wait_ready`] or a hook ([`BatchBuffer::set_ready_hook`]); the buffer
//!   signals on edges only (first item, a size threshold crossed, close), so the push
//!   fast path pays a couple of compares. Age deadlines come from the injected [`Clock`]
//!   ([`BatchBuffer::time_until_ready`]); the clock is read only when a shard receives its
//!   first item (and only if an age trigger or `DropOldest` is configured), never on
//!   every push. `Block` producers wait on a second signal, fired by
//!   drains and close.
//!
//! # Invariants (why it is right)
//!
//! 1. **The byte (and item) bound is never exceeded.** Room is reserved by a CAS that
//!    fails when the sum would pass the bound, before the item is inserted; it is
//!    released only after items are removed. At any instant the word is at least what
//!    the shards hold and at most the bound. An item heavier than the whole bound fails
//!    at once with [`PushError::TooLarge`] (it never waits). A buffer built with
//!    [`lease_drained(true)`](Builder::lease_drained) keeps a drained batch's bytes
//!    reserved until its [`Lease`] gives them back, so the bound covers them too.
//! 2. **No item is lost or duplicated between push and drain.** The reservation and the
//!    insert happen under the shard's lock; a segment leaves only whole (drain, under the
//!    same lock, by a swap that leaves an empty segment behind) or from its front
//!    (`DropOldest`, counted in [`Stats::dropped`]). A refused item always comes back to
//!    the caller inside the error and is counted in [`Stats::rejected`].
//! 3. **Close is final.** The closed bit lives in the reservation word: once set, no
//!    reservation can succeed. Because reservations happen under the shard lock, a push
//!    that won its reservation before the close has inserted its item before the lock is
//!    released; a [`BatchBuffer::drain_all`] that starts after `close()` returned takes
//!    every shard lock, so it returns every accepted item.
//! 4. **Order per producer.** A [`Producer`] is pinned to one shard, a shard is a FIFO and
//!    each drain takes a whole prefix of it, so a producer's items come out in push order,
//!    across batches too. [`BatchBuffer::push`] picks the shard of the calling OS thread:
//!    it preserves per-thread order, which is *not* per-task order when a tokio task
//!    migrates between threads; use a `Producer` per task or connection for that.
//!    Between different producers there is no order (a batch lists its shards' segments
//!    one after the other).
//!
//! # Semantics worth knowing
//!
//! - `max_batch_items`, `max_batch_bytes` and `max_batch_age` are *triggers*: a drain
//!   takes everything buffered (whole segments), which may be more than a trigger when
//!   producers outpace the consumer; a batch is never larger than the buffer's bound.
//! - `DropOldest` evicts from the shard whose current segment started filling earliest
//!   (exactly oldest-first for one producer; approximately oldest across shards).
//! - `push` never waits; `push_wait` waits only under `Policy::Block`. Dropping a
//!   `push_wait` future drops its item: pass the deadline to `push_wait` instead.
//! - Item weight must be stable while the item is buffered. Counts are bounded by
//!   [`MAX_ITEMS_LIMIT`] and bytes by [`MAX_BYTES_LIMIT`] (the packed word's fields).
//! - The shard lock spins briefly, then yields: a producer preempted while holding it
//!   (for a few instructions) makes others on that shard yield, not park.
//!
//! Loom models (`tests/loom.rs`, cfg `otlp_spool_loom`) check 1-3 under every
//! interleaving of up to three threads (two producers and a drainer; racing
//! reservations; close racing a push; `DropOldest` eviction racing a drain; leased bytes
//! against the bound) and the absence of lost wakeups (a blocked `push_wait` woken by a
//! drain or a lease release, `ready()` woken by a push). Shard locks, counters and waker lists all go through the crate's `sync` shim.
// Unsafe code only where a module allows it, each block with its SAFETY comment.
#![deny(unsafe_code)]

mod batch;
mod buffer;
mod clock;
mod config;
mod error;
mod lease;
mod reservation;
mod shard;
mod signal;
mod stats;
mod sync;
mod wait;
mod weight;

pub use batch::Batch;
pub use buffer::{BatchBuffer, Producer};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Builder, Policy};
pub use error::{ConfigError, PushError, PushWaitError};
pub use lease::Lease;
pub use reservation::{MAX_BYTES_LIMIT, MAX_ITEMS_LIMIT};
pub use stats::Stats;
pub use wait::Ready;
pub use weight::Weighted;
