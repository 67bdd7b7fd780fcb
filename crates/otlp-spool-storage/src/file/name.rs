//! File names: `<signal>-<UTC yyyymmddThhmmssZ>-<seq>.<arrow|parquet>` for finalized files,
//! `.<final name>.tmp` while a file is written and `.<final name>.part` while a finalized copy
//! is produced (Parquet encoding, recovery). Hidden names never match `*.arrow` or `*.parquet`,
//! so a reader that globs those never sees a torn file.
//!
//! The timestamp is the clock's time when the file was opened, in whole seconds; `seq` is a
//! per-signal counter that keeps names unique and ordered within a second.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use otlp_spool_core::civil::{civil_from_days, days_from_civil, days_in_month};

use super::options::Format;
use crate::Signal;

/// Suffix of a file being written.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";
/// Suffix of a finalized copy being produced.
pub(crate) const PART_SUFFIX: &str = ".part";

/// The parsed name of a spool file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileName {
    pub(crate) signal: Signal,
    pub(crate) unix_secs: u64,
    pub(crate) seq: u64,
    pub(crate) format: Format,
}

/// What kind of spool file a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Final,
    Temp,
    Part,
}

impl FileName {
    pub(crate) fn new(signal: Signal, at: SystemTime, seq: u64, format: Format) -> Self {
        let unix_secs = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            signal,
            unix_secs,
            seq,
            format,
        }
    }

    pub(crate) fn final_name(&self) -> String {
        format!(
            "{}-{}-{:06}.{}",
            self.signal.as_str(),
            format_utc(self.unix_secs),
            self.seq,
            self.format.extension()
        )
    }
    pub(crate) fn temp_name(&self) -> String {
        format!(".{}{TEMP_SUFFIX}", self.final_name())
    }
    pub(crate) fn part_name(&self) -> String {
        format!(".{}{PART_SUFFIX}", self.final_name())
    }
    pub(crate) fn time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.unix_secs)
    }

    /// Parses any of the three name kinds of `signal`.
    pub(crate) fn parse(signal: Signal, name: &str) -> Option<(FileName, Kind)> {
        let (base, kind) = if let Some(hidden) = name.strip_prefix('.') {
            if let Some(b) = hidden.strip_suffix(TEMP_SUFFIX) {
                (b, Kind::Temp)
            } else {
                (hidden.strip_suffix(PART_SUFFIX)?, Kind::Part)
            }
        } else {
            (name, Kind::Final)
        };
        let (stem, format) = if let Some(s) = base.strip_suffix(".arrow") {
            (s, Format::Arrow)
        } else {
            (base.strip_suffix(".parquet")?, Format::Parquet)
        };
        let rest = stem.strip_prefix(signal.as_str())?.strip_prefix('-')?;
        let (ts, seq) = rest.split_once('-')?;
        if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some((
            FileName {
                signal,
                unix_secs: parse_utc(ts)?,
                seq: seq.parse().ok()?,
                format,
            },
            kind,
        ))
    }
}

/// A finalized file of one signal, as listed by the reader and by retention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Full path of the file.
    pub path: PathBuf,
    /// The signal.
    pub signal: Signal,
    /// When the file was opened (the timestamp in its name, whole seconds).
    pub opened_at: SystemTime,
    /// The sequence number in its name.
    pub seq: u64,
    /// Its format, from the extension (for a temporary stream, the format of the file it
    /// becomes: the stream itself is Arrow IPC).
    pub format: Format,
    /// Its size in bytes.
    pub bytes: u64,
}

/// A directory entry's name as [`FileName::parse`] read it.
pub(crate) type Parsed = Option<(FileName, Kind)>;

/// Every entry of `signal_dir` with its parsed name (`None`: not an otlp-spool file name of
/// `signal`), in directory order: the one listing recovery, finalization and temp-file
/// clean-up share.
pub(crate) fn list_entries(
    signal_dir: &Path,
    signal: Signal,
) -> std::io::Result<Vec<(PathBuf, Parsed)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(signal_dir)? {
        let entry = entry?;
        let parsed = entry
            .file_name()
            .to_str()
            .and_then(|text| FileName::parse(signal, text));
        out.push((entry.path(), parsed));
    }
    Ok(out)
}

/// Lists the finalized files of `signal` in `signal_dir`, oldest first (by time, then seq).
/// A missing directory lists as empty.
pub(crate) fn list_finalized(signal_dir: &Path, signal: Signal) -> std::io::Result<Vec<FileInfo>> {
    list_kind(signal_dir, signal, Kind::Final)
}

/// Lists the temporary streams (`.<final name>.tmp`) of `signal` in `signal_dir`, as
/// [`list_finalized`] does the finalized files.
pub(crate) fn list_temps(signal_dir: &Path, signal: Signal) -> std::io::Result<Vec<FileInfo>> {
    list_kind(signal_dir, signal, Kind::Temp)
}

fn list_kind(signal_dir: &Path, signal: Signal, kind: Kind) -> std::io::Result<Vec<FileInfo>> {
    let entries = match std::fs::read_dir(signal_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let Some((parsed, found)) = FileName::parse(signal, &name) else {
            continue;
        };
        if found != kind {
            continue;
        }
        let meta = match entry.metadata() {
            Ok(m) if m.is_file() => m,
            Ok(_) => continue,
            // Deleted between read_dir and metadata (retention on another thread).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        files.push(FileInfo {
            path: entry.path(),
            signal,
            opened_at: parsed.time(),
            seq: parsed.seq,
            format: parsed.format,
            bytes: meta.len(),
        });
    }
    files.sort_by_key(|f| (f.opened_at, f.seq));
    Ok(files)
}

/// `yyyymmddThhmmssZ` of a Unix time in seconds (proleptic Gregorian calendar, UTC).
pub(crate) fn format_utc(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Inverse of [`format_utc`]; `None` unless the text is exactly a valid timestamp.
pub(crate) fn parse_utc(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    // Bytes, not `&text[r]`: a multi-byte character inside the name must not split a slice.
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        b[r].iter().try_fold(0u64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    // Four digits each: the casts cannot truncate.
    let (y, mo, d) = (y as i64, mo as u32, d as u32);
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "19700101T000000Z");
        assert_eq!(format_utc(951_782_400), "20000229T000000Z");
        assert_eq!(format_utc(1_798_342_200), "20261227T033000Z");
    }

    #[test]
    fn parse_inverts_format() {
        for secs in (0..4_000_000_000u64).step_by(7_654_321) {
            assert_eq!(parse_utc(&format_utc(secs)), Some(secs));
        }
        for bad in [
            "20260230T000000Z",
            "2026013T0000000Z",
            "20260101T240000Z",
            "20260101 000000Z",
            // A multi-byte character inside the timestamp (16 bytes, so the length check
            // passes) once panicked the parser at start-up and in every retention tick.
            "2026é101T00000Z",
            "20260101T0000é0Z",
            "éééééééé",
        ] {
            assert_eq!(parse_utc(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_round_trip() {
        let n = FileName::new(
            Signal::Logs,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_342_200),
            7,
            Format::Parquet,
        );
        assert_eq!(n.final_name(), "logs-20261227T033000Z-000007.parquet");
        assert_eq!(n.temp_name(), ".logs-20261227T033000Z-000007.parquet.tmp");
        for (text, kind) in [
            (n.final_name(), Kind::Final),
            (n.temp_name(), Kind::Temp),
            (n.part_name(), Kind::Part),
        ] {
            assert_eq!(FileName::parse(Signal::Logs, &text), Some((n, kind)));
        }
        assert_eq!(FileName::parse(Signal::Traces, &n.final_name()), None);
        for not_ours in [
            "logs-20261227T033000Z-.arrow",
            "logs-2026122é033000Z-000001.arrow",
            "logs-20261227T033000Z-00000é.arrow",
            "logs-20261227T033000Z-000001.arrow.bak",
            "notes.txt",
            ".logs-20261227T033000Z-000001.arrow",
        ] {
            assert_eq!(FileName::parse(Signal::Logs, not_ours), None, "{not_ours}");
        }
    }
}
