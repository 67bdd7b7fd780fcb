//! [`ProcSample`]: CPU time and memory of a process, read from `/proc/<pid>/stat` and
//! `/proc/<pid>/status` (Linux only). Reading never changes the process.

use std::io;
use std::time::Duration;

/// One reading of a process's CPU time and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcSample {
    /// User plus system CPU time, in clock ticks (see [`clock_ticks_per_second`]).
    pub cpu_ticks: u64,
    /// Resident set size now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident set size so far (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

impl ProcSample {
    /// Reads the process `pid`.
    pub fn read(pid: u32) -> io::Result<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        Self::parse(&stat, &status).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unexpected /proc/{pid} format"),
            )
        })
    }

    /// Parses the texts of `/proc/<pid>/stat` and `/proc/<pid>/status`.
    pub fn parse(stat: &str, status: &str) -> Option<Self> {
        // The command name (field 2) may hold spaces: fields are counted after its ')'.
        let after = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Field 3 (state) is fields[0]; utime is field 14, stime field 15.
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        let kib = |key: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))?
                .trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        Some(Self {
            cpu_ticks: utime + stime,
            rss_kib: kib("VmRSS")?,
            peak_rss_kib: kib("VmHWM")?,
        })
    }

    /// CPU time between `earlier` and this sample.
    pub fn cpu_since(&self, earlier: &ProcSample, ticks_per_second: u64) -> Duration {
        let ticks = self.cpu_ticks.saturating_sub(earlier.cpu_ticks);
        Duration::from_secs_f64(ticks as f64 / ticks_per_second.max(1) as f64)
    }
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf CLK_TCK`; 100 (the Linux value) if that fails.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_status() {
        let stat = "4242 (otlp spool) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 1000 200";
        let status = "Name:\totlp-spool\nVmHWM:\t   81234 kB\nVmRSS:\t   12000 kB\n";
        let s = ProcSample::parse(stat, status).unwrap();
        assert_eq!(s.cpu_ticks, 300);
        assert_eq!(s.rss_kib, 12000);
        assert_eq!(s.peak_rss_kib, 81234);
        let earlier = ProcSample {
            cpu_ticks: 100,
            ..s
        };
        assert_eq!(s.cpu_since(&earlier, 100), Duration::from_secs(2));
    }

    #[test]
    fn reads_this_process() {
        let s = ProcSample::read(std::process::id()).unwrap();
        assert!(s.rss_kib > 0 && s.peak_rss_kib >= s.rss_kib);
    }
}
