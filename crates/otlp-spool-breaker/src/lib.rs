//! A lock-free circuit breaker with an injected clock: no tokio, no I/O, no OpenTelemetry.
//!
//! The forwarder of otlp-spool calls a remote that may be down; the breaker stops it from
//! hammering a dead remote and lets a few probes find out when it is back.
//!
//! ```text
//!            failure_threshold consecutive failures,         open duration (with back-off)
//!            or failure rate over the window                 has passed: first try_acquire
//!  Closed ─────────────────────────────────────────▶ Open ─────────────────────────────────▶ HalfOpen
//!    ▲                                                ▲                                         │
//!    │                                                └──────── any probe failure ──────────────┤
//!    └───────────────────── successes_to_close probe successes ─────────────────────────────────┘
//! ```
//!
//! ```
//! use std::time::Duration;
//! use otlp_spool_breaker::{CircuitBreaker, MockClock, State};
//!
//! let clock = MockClock::new();
//! let breaker = CircuitBreaker::builder()
//!     .failure_threshold(5)
//!     .open_duration(Duration::from_secs(30))
//!     .half_open_probes(1)
//!     .clock(clock.clone())
//!     .build()?;
//!
//! for _ in 0..5 {
//!     breaker.try_acquire().expect("closed").failure();
//! }
//! let rejected = breaker.try_acquire().unwrap_err();
//! assert_eq!(rejected.retry_after(), Duration::from_secs(30));
//!
//! clock.advance(Duration::from_secs(30));
//! let probe = breaker.try_acquire().expect("the wait is over: a probe");
//! assert_eq!(breaker.state(), State::HalfOpen);
//! probe.success();
//! assert_eq!(breaker.state(), State::Closed);
//! # Ok::<(), otlp_spool_breaker::ConfigError>(())
//! ```
//! (`MockClock` needs the `test-util` feature.)
//!
//! # Design
//!
//! * The whole state (state tag, back-off level, epoch, failure or probe counters) is one
//!   `AtomicU64`, the *state word* (`src/state.rs` lists its layout and
//!   invariants). Every transition is one CAS on it, so racing threads make each transition
//!   exactly once and only the winner reports it.
//! * Closed `try_acquire` + `success` take no lock, allocate nothing and make no atomic
//!   read-modify-write: loads of the word and one single-writer bump of the calling thread's
//!   counter shard (`src/counters.rs`). The word is written only when something changes.
//! * A permit carries the epoch it was issued in. Outcomes from an older epoch are counted
//!   (`stale`) and otherwise ignored. A permit dropped without an outcome frees its HalfOpen
//!   probe slot.
//! * The policy lives in an arc-swap cell, replaceable at run time; the failure-rate window
//!   is a ring of epoch-tagged slots, so it never needs resetting.
//! * Time comes from a [`Clock`] as nanoseconds since the clock's origin.
//! * Loom models (`tests/loom.rs`, `--cfg otlp_spool_loom`) check probe admission, single
//!   transitions, dropped permits and the publication of the open deadline; every shared
//!   atomic goes through a private `sync` shim.
#![forbid(unsafe_code)]

mod breaker;
mod builder;
mod clock;
mod core;
mod counters;
mod error;
mod listener;
mod permit;
mod policy;
mod state;
mod sync;
mod window;

pub use breaker::CircuitBreaker;
pub use builder::Builder;
#[cfg(feature = "test-util")]
pub use clock::MockClock;
pub use clock::{Clock, SystemClock};
pub use counters::Counters;
pub use error::{CallError, ConfigError, Rejected};
pub use listener::Transition;
pub use permit::{Outcome, OwnedPermit, Permit};
pub use policy::{FailureRate, MAX_WINDOW, Policy, PolicyBuilder};
pub use state::State;
