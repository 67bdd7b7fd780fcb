//! What the measuring examples share: a stopwatch of wall time and of this process's CPU time
//! (user + system, from `/proc/self/stat`; the machine is shared, so CPU time is the steadier
//! figure).

use std::time::Instant;

/// Wall and CPU time since [`Stopwatch::start`].
pub(crate) struct Stopwatch {
    wall: Instant,
    cpu: f64,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_seconds(),
        }
    }

    /// (wall, CPU) seconds since the start.
    pub(crate) fn seconds(&self) -> (f64, f64) {
        (self.wall.elapsed().as_secs_f64(), cpu_seconds() - self.cpu)
    }
}

/// User + system CPU seconds of this process (0 where `/proc` is not there).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
