//! Crash points for the crash tests (feature `test-util`).
//!
//! The log calls [`hit`] between the steps whose order durability depends on (a batch written
//! / synced, a cursor file written / synced / renamed / its directory synced, a segment created,
//! a segment unlinked, a torn tail truncated). Without the feature, `hit` is an empty inline
//! function. With it, a process started with `OTLP_SPOOL_WAL_CRASH_AT=<point>:<n>` aborts
//! (`std::process::abort`, no unwinding, no destructors, like a `kill -9`) the `n`-th time it
//! reaches `<point>`. Tests use the same hook for the steps of their own fake consumers.

/// The environment variable naming the crash point: `<point>:<n>` (`n` counts from 1).
pub const CRASH_AT_ENV: &str = "OTLP_SPOOL_WAL_CRASH_AT";

/// Reaching crash point `point`: aborts the process if it is the configured one and this is
/// its configured occurrence.
#[cfg(feature = "test-util")]
pub fn hit(point: &str) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static TARGET: OnceLock<Option<(String, u64)>> = OnceLock::new();
    static HITS: AtomicU64 = AtomicU64::new(0);
    let target = TARGET.get_or_init(|| {
        let spec = std::env::var(CRASH_AT_ENV).ok()?;
        let (name, n) = spec.rsplit_once(':')?;
        Some((name.to_owned(), n.parse().ok()?))
    });
    if let Some((name, n)) = target
        && name == point
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n
    {
        eprintln!("crash point {point}:{n} reached: aborting");
        std::process::abort();
    }
}

/// Reaching crash point `point` (no-op without feature `test-util`).
#[cfg(not(feature = "test-util"))]
#[inline(always)]
pub(crate) fn hit(_point: &str) {}
