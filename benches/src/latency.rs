//! [`Latencies`]: every request's latency, kept exactly (a load run sends at most a few hundred
//! thousand requests), and its percentiles.

use std::time::Duration;

/// Request latencies in microseconds.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    micros: Vec<u32>,
    sorted: bool,
}

impl Latencies {
    /// Records one latency (saturating at about 71 minutes).
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
        self.sorted = false;
    }

    /// Adds every latency of `other`.
    pub fn merge(&mut self, other: &Latencies) {
        self.micros.extend_from_slice(&other.micros);
        self.sorted = false;
    }

    /// Number of latencies recorded.
    pub fn len(&self) -> usize {
        self.micros.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.micros.is_empty()
    }

    /// The `q` quantile (0.0..=1.0, nearest rank), or `None` when empty.
    pub fn quantile(&mut self, q: f64) -> Option<Duration> {
        if self.micros.is_empty() {
            return None;
        }
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
        let rank = (q.clamp(0.0, 1.0) * self.micros.len() as f64).ceil() as usize;
        let i = rank.saturating_sub(1).min(self.micros.len() - 1);
        Some(Duration::from_micros(u64::from(self.micros[i])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut l = Latencies::default();
        assert_eq!(l.quantile(0.5), None);
        for ms in (1..=100).rev() {
            l.record(Duration::from_millis(ms));
        }
        assert_eq!(l.quantile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(l.quantile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(l.quantile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(l.quantile(0.0), Some(Duration::from_millis(1)));
    }
}
