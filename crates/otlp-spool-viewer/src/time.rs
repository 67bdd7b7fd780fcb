//! Time as the viewer and the `replay` command read and write it: UTC timestamps in nanoseconds
//! since the Unix epoch (the OTLP `*_time_unix_nano` fields), durations in nanoseconds.
//!
//! Accepted forms for a point in time ([`parse_time`]): RFC 3339 in UTC or with an offset
//! (`2026-12-03T08:15:00Z`, `2026-12-03T08:15:00.250+01:00`, a space instead of `T`), a date
//! alone (`2026-12-03`, midnight UTC), `now`, or a duration meaning "that long ago" (`15m`,
//! `2h`, `7d`). Durations ([`parse_duration`]): a number with a unit `ns`, `us`, `ms`, `s`,
//! `m`, `h`, `d`; a bare number is milliseconds. Nothing here reads the clock: "now" is passed in.

use std::time::{Duration, SystemTime};

use otlp_spool_core::civil::{civil_from_days, days_from_civil, days_in_month};

/// A text that is neither a time nor a duration the viewer understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}`: {problem}")]
pub struct TimeError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

fn err(text: &str, problem: &'static str) -> TimeError {
    TimeError {
        text: text.to_owned(),
        problem,
    }
}

const NS_PER_SEC: u64 = 1_000_000_000;

/// Nanoseconds since the Unix epoch of `t` (0 before the epoch, saturating far after it).
pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The `SystemTime` of `ns` nanoseconds since the Unix epoch.
pub fn from_unix_nanos(ns: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(ns)
}

/// `2026-12-03T08:15:00.250Z`: UTC with milliseconds; 0 (an unset OTLP time) prints as `-`.
pub fn format_utc(ns: u64) -> String {
    if ns == 0 {
        return "-".to_owned();
    }
    let secs = ns / NS_PER_SEC;
    let millis = (ns % NS_PER_SEC) / 1_000_000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A duration for people: `950 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`, `2m 05s`, `3h 02m`.
pub fn format_duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns} ns"),
        1_000..1_000_000 => format!("{:.1} µs", ns as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2} ms", ns as f64 / 1e6),
        1_000_000_000..60_000_000_000 => format!("{:.2} s", ns as f64 / 1e9),
        _ => {
            let s = ns / NS_PER_SEC;
            if s < 3600 {
                format!("{}m {:02}s", s / 60, s % 60)
            } else {
                format!("{}h {:02}m", s / 3600, s / 60 % 60)
            }
        }
    }
}

/// Parses a duration (`250ms`, `1.5s`, `2m`, `1h`, `7d`, `500us`, `20ns`; bare numbers are
/// milliseconds) into nanoseconds.
pub fn parse_duration(text: &str) -> Result<u64, TimeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() {
        return Err(err(text, "expected a number, e.g. 250ms, 1.5s, 2m, 1h"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| err(text, "not a number, e.g. 250ms, 1.5s, 2m, 1h"))?;
    let scale = match unit.trim() {
        "" | "ms" => 1e6,
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        _ => return Err(err(text, "unknown unit (ns, us, ms, s, m, h, d)")),
    };
    let ns = value * scale;
    if !ns.is_finite() || ns >= u64::MAX as f64 {
        return Err(err(text, "too large"));
    }
    Ok(ns as u64)
}

/// Parses a point in time (see the module docs) into nanoseconds since the Unix epoch; `now`
/// anchors `now` and "ago" durations.
pub fn parse_time(text: &str, now: SystemTime) -> Result<u64, TimeError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(unix_nanos(now));
    }
    if t.len() >= 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-' {
        return parse_rfc3339(t).ok_or_else(|| {
            err(
                text,
                "expected RFC 3339 time, e.g. 2026-12-03T08:15:00Z or 2026-12-03",
            )
        });
    }
    let ago = parse_duration(t).map_err(|_| {
        err(
            text,
            "expected a time (2026-12-03T08:15:00Z, 2026-12-03, now) or a duration ago (15m, 2h)",
        )
    })?;
    Ok(unix_nanos(now).saturating_sub(ago))
}

fn digits(s: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = s.get(range)?;
    if part.bytes().all(|b| b.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn parse_rfc3339(t: &str) -> Option<u64> {
    let year = i64::from(digits(t, 0..4)?);
    let month = digits(t, 5..7)?;
    let day = digits(t, 8..10)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs_of_day: i64 = 0;
    let mut nanos: u64 = 0;
    let mut offset: i64 = 0;
    if t.len() > 10 {
        if !matches!(t.as_bytes()[10], b'T' | b't' | b' ') {
            return None;
        }
        let hour = digits(t, 11..13)?;
        let min = digits(t, 14..16)?;
        if t.get(13..14)? != ":" {
            return None;
        }
        let (sec, mut rest) = if t.get(16..17) == Some(":") {
            (digits(t, 17..19)?, t.get(19..)?)
        } else {
            (0, t.get(16..)?)
        };
        if hour > 23 || min > 59 || sec > 60 {
            return None;
        }
        secs_of_day = i64::from(hour * 3600 + min * 60 + sec);
        if let Some(frac) = rest.strip_prefix('.') {
            let end = frac
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(frac.len());
            let (f, tail) = frac.split_at(end);
            if f.is_empty() {
                return None;
            }
            let mut padded = f.chars().take(9).collect::<String>();
            while padded.len() < 9 {
                padded.push('0');
            }
            nanos = padded.parse().ok()?;
            rest = tail;
        }
        match rest {
            "" | "Z" | "z" => {}
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let oh = i64::from(digits(rest, 1..3)?);
                let om = match rest.len() {
                    3 => 0,
                    6 if rest.get(3..4) == Some(":") => i64::from(digits(rest, 4..6)?),
                    5 => i64::from(digits(rest, 3..5)?),
                    _ => return None,
                };
                offset = sign * (oh * 3600 + om * 60);
            }
        }
    }
    let secs = days_from_civil(year, month, day) * 86_400 + secs_of_day - offset;
    let secs = u64::try_from(secs).ok()?;
    secs.checked_mul(NS_PER_SEC)?.checked_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        from_unix_nanos(1_764_750_000 * NS_PER_SEC)
    }

    #[test]
    fn rfc3339_round_trips_through_format() {
        for ns in [
            1,
            NS_PER_SEC,
            951_782_400 * NS_PER_SEC + 123_000_000, // 2000-02-29
            1_764_750_000 * NS_PER_SEC + 999_000_000,
            4_102_444_799 * NS_PER_SEC, // 2099-12-31T23:59:59Z
        ] {
            let text = format_utc(ns);
            assert_eq!(
                parse_time(&text, now()).unwrap(),
                ns / 1_000_000 * 1_000_000,
                "{text}"
            );
        }
        assert_eq!(
            format_utc(951_782_400 * NS_PER_SEC),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn accepted_time_forms() {
        let day = 1_764_720_000 * NS_PER_SEC; // 2025-12-03T00:00:00Z
        assert_eq!(format_utc(day), "2025-12-03T00:00:00.000Z");
        let check = |text: &str, want: u64| assert_eq!(parse_time(text, now()), Ok(want), "{text}");
        check("2025-12-03", day);
        check("2024-02-29", 1_709_164_800 * NS_PER_SEC);
        check("2025-12-03T01:02:03Z", day + 3723 * NS_PER_SEC);
        check("2025-12-03 01:02", day + 3720 * NS_PER_SEC);
        check(
            "2025-12-03T01:02:03.5+01:00",
            day + 123 * NS_PER_SEC + NS_PER_SEC / 2,
        );
        check(
            "2025-12-03T01:02:03.000000001Z",
            day + 3723 * NS_PER_SEC + 1,
        );
        check("now", unix_nanos(now()));
        check("15m", unix_nanos(now()) - 900 * NS_PER_SEC);
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            // A day the month does not have (it once counted on into March).
            "2025-02-29",
            "2025-04-31",
            "2025-12-03T25:00Z",
            "2025-12-03T01:02:03+1",
        ] {
            assert!(parse_time(bad, now()).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn durations() {
        let check = |text: &str, want: u64| assert_eq!(parse_duration(text), Ok(want), "{text}");
        check("250ms", 250_000_000);
        check("250", 250_000_000);
        check("1.5s", 1_500_000_000);
        check("2m", 120 * NS_PER_SEC);
        check("20ns", 20);
        check("3us", 3_000);
        check("1d", 86_400 * NS_PER_SEC);
        for bad in ["", "ms", "1.2.3s", "5 parsecs", "1e30d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(format_duration(950), "950 ns");
        assert_eq!(format_duration(4_560_000), "4.56 ms");
        assert_eq!(format_duration(125 * NS_PER_SEC), "2m 05s");
    }
}
