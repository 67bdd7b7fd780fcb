//! The validating walker against prost on arbitrary bytes, with the property tests' oracle
//! (`crates/otlp-spool-core/tests/it/oracle.rs`): it never panics; walker accepts => prost
//! decodes, to exactly the walker's output once the receiver's id rules are applied, with the
//! same item and refused counts; prost refuses => walker refuses (or it refused a value nested
//! beyond its AnyValue limit).
//!
//! Input: one selector byte, then the request. `selector % 3` picks the signal (0 traces, 1
//! metrics, 2 logs); `selector / 3 + 1` is the AnyValue depth limit, so that limits from 1 to
//! 86 are exercised as well as the default's neighbourhood.

#![no_main]

use libfuzzer_sys::fuzz_target;
use otlp_spool_core::Signal;
use otlp_spool_core::wire::WalkLimits;

#[path = "../../crates/otlp-spool-core/tests/it/oracle.rs"]
mod oracle;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let signal = Signal::ALL[usize::from(selector % 3)];
    let limits = WalkLimits::default().with_max_depth(u32::from(selector / 3) + 1);
    if let Err(disagreement) = oracle::check(signal, body, &limits) {
        panic!("{signal}: {disagreement}");
    }
});
