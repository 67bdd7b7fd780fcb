//! Calendar arithmetic on the proleptic Gregorian calendar, in days since 1970-01-01: the one
//! copy behind storage's file-name stamps (`yyyymmddThhmmssZ`) and the viewer's RFC 3339
//! times. Pure integer functions (no clock, no time zone but UTC).
//!
//! ```
//! use otlp_spool_core::civil::{civil_from_days, days_from_civil, days_in_month};
//!
//! assert_eq!(days_from_civil(2000, 2, 29), 11_016);
//! assert_eq!(civil_from_days(11_016), (2000, 2, 29));
//! assert_eq!((days_in_month(2000, 2), days_in_month(2100, 2)), (29, 28));
//! ```
//!
//! Invariant: `civil_from_days(days_from_civil(y, m, d)) == (y, m, d)` for every valid date
//! (`1 <= m <= 12`, `1 <= d <= days_in_month(y, m)`), before the epoch too; the algorithm
//! counts in 400-year eras of 146,097 days, with years starting in March so that the leap day
//! is the last day of a year.

/// Days since 1970-01-01 of the date `y`-`m`-`d` (negative before it). `m` is 1 to 12; a day
/// past the month's end counts on into the next month.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month 1 to 12, day 1 to 31) of a day count since 1970-01-01: the inverse
/// of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days in month `m` (1 to 12) of year `y`: 28 to 31 (any other `m` answers 31).
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_four_centuries_round_trips_in_order() {
        let mut expected = days_from_civil(1900, 1, 1);
        assert_eq!(expected, -25_567);
        for y in 1900..2300 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    assert_eq!(days_from_civil(y, m, d), expected, "{y}-{m}-{d}");
                    assert_eq!(civil_from_days(expected), (y, m, d));
                    expected += 1;
                }
            }
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
