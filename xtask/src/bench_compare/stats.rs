//! The regression verdict, kept free of I/O so it can be tested on numbers alone.
//!
//! Both sides run in alternating rounds (ABBA...), so slow drift of a shared machine hits base and
//! head alike. Each round gives a paired ratio `head / base`; the change is the median ratio minus
//! one. The noise is the largest of (a) how far the paired ratios stray from their median (the
//! scaled median absolute deviation from three rounds on, half the range for two), (b) how far
//! each side's own estimates move from round to round (the same robust spread, relative to
//! their median: the process-to-process variation of one unchanged binary), and (c) the median of
//! criterion's own confidence-interval half-widths. A change is a regression only
//! when it is larger than `max(threshold, noise)`: a benchmark this machine cannot measure to within
//! 10% is never called a 6% regression.

/// One criterion measurement of one benchmark: its estimate and its relative uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    /// Estimated time per iteration, in nanoseconds.
    pub(crate) ns: f64,
    /// Half-width of the estimate's confidence interval, relative to the estimate (0.02 = 2%).
    pub(crate) rel_ci: f64,
}

/// What the comparison concludes for one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Slower by more than the allowance.
    Regression,
    /// Faster by more than the allowance.
    Improvement,
    /// Within the allowance.
    Unchanged,
}

/// The comparison of one benchmark across rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Comparison {
    /// Median of the base estimates, ns.
    pub(crate) base_ns: f64,
    /// Median of the head estimates, ns.
    pub(crate) head_ns: f64,
    /// Relative change, head over base, minus one (0.20 = 20% slower).
    pub(crate) change: f64,
    /// Measured relative noise.
    pub(crate) noise: f64,
    /// The verdict against `max(threshold, noise)`.
    pub(crate) verdict: Verdict,
}

/// Compares paired rounds. `base[i]` and `head[i]` come from the same round; both must be non-empty
/// and of the same length (extra entries on one side are ignored).
pub(crate) fn compare(base: &[Sample], head: &[Sample], threshold: f64) -> Option<Comparison> {
    let n = base.len().min(head.len());
    if n == 0 {
        return None;
    }
    let (base, head) = (&base[..n], &head[..n]);
    if base
        .iter()
        .chain(head)
        .any(|s| !(s.ns.is_finite() && s.ns > 0.0))
    {
        return None;
    }
    let ratios: Vec<f64> = base.iter().zip(head).map(|(b, h)| h.ns / b.ns).collect();
    let ratio = median(&ratios);
    let deviations: Vec<f64> = ratios.iter().map(|r| (r - ratio).abs()).collect();
    let spread = robust_spread(&deviations);
    let dispersion = |side: &[Sample]| {
        let values: Vec<f64> = side.iter().map(|s| s.ns).collect();
        let mid = median(&values);
        let deviations: Vec<f64> = values.iter().map(|v| (v - mid).abs() / mid).collect();
        robust_spread(&deviations)
    };
    let spread = spread.max(dispersion(base)).max(dispersion(head));
    let cis: Vec<f64> = base
        .iter()
        .chain(head)
        .map(|s| s.rel_ci.abs())
        .filter(|c| c.is_finite())
        .collect();
    let ci = if cis.is_empty() { 0.0 } else { median(&cis) };
    let noise = spread.max(ci);
    let change = ratio - 1.0;
    let allowance = threshold.max(noise);
    let verdict = if change > allowance {
        Verdict::Regression
    } else if change < -allowance {
        Verdict::Improvement
    } else {
        Verdict::Unchanged
    };
    Some(Comparison {
        base_ns: median(&base.iter().map(|s| s.ns).collect::<Vec<_>>()),
        head_ns: median(&head.iter().map(|s| s.ns).collect::<Vec<_>>()),
        change,
        noise,
        verdict,
    })
}

/// A spread from absolute deviations: the scaled median absolute deviation from three values on
/// (1.4826 scales it to a standard deviation for normal data; one outlier cannot move it), the
/// largest deviation (half the range) for two.
fn robust_spread(deviations: &[f64]) -> f64 {
    if deviations.len() >= 3 {
        1.4826 * median(deviations)
    } else {
        deviations.iter().copied().fold(0.0, f64::max)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// Formats nanoseconds with a readable unit.
pub(crate) fn format_ns(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.2} ns")
    } else if ns < 1e6 {
        format!("{:.2} us", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ns: f64) -> Sample {
        Sample { ns, rel_ci: 0.01 }
    }

    fn check(base: &[f64], head: &[f64], expected: Verdict) {
        let base: Vec<_> = base.iter().copied().map(s).collect();
        let head: Vec<_> = head.iter().copied().map(s).collect();
        let c = compare(&base, &head, 0.05).unwrap();
        assert_eq!(c.verdict, expected, "{c:?}");
    }

    #[test]
    fn equal_sides_are_unchanged() {
        check(
            &[100.0, 101.0, 99.0],
            &[100.0, 99.5, 100.5],
            Verdict::Unchanged,
        );
    }

    #[test]
    fn small_change_under_threshold_is_unchanged() {
        check(&[100.0, 100.0], &[104.0, 104.0], Verdict::Unchanged);
    }

    #[test]
    fn twenty_percent_slowdown_is_a_regression() {
        check(
            &[100.0, 101.0, 99.0],
            &[120.0, 121.0, 119.0],
            Verdict::Regression,
        );
    }

    #[test]
    fn twenty_percent_speedup_is_an_improvement() {
        check(&[100.0, 100.0], &[80.0, 80.0], Verdict::Improvement);
    }

    #[test]
    fn noise_larger_than_the_change_hides_it() {
        // Paired ratios 1.0 and 1.3: median 1.15, spread 0.15 -> 15% change is within noise.
        check(&[100.0, 100.0], &[100.0, 130.0], Verdict::Unchanged);
    }

    #[test]
    fn one_spoiled_round_does_not_hide_a_regression() {
        // Four clean rounds at +25%, one round where load made the base look slow.
        check(
            &[100.0, 100.0, 160.0, 100.0, 100.0],
            &[125.0, 125.0, 125.0, 125.0, 125.0],
            Verdict::Regression,
        );
    }

    #[test]
    fn an_unsteady_side_counts_as_noise() {
        // Paired ratios agree (+20%), but each side alone moves by about 25% between rounds.
        check(
            &[100.0, 125.0, 150.0],
            &[120.0, 150.0, 180.0],
            Verdict::Unchanged,
        );
    }

    #[test]
    fn wide_confidence_intervals_count_as_noise() {
        let base = [Sample {
            ns: 100.0,
            rel_ci: 0.3,
        }];
        let head = [Sample {
            ns: 125.0,
            rel_ci: 0.3,
        }];
        let c = compare(&base, &head, 0.05).unwrap();
        assert_eq!(c.verdict, Verdict::Unchanged);
        assert!((c.noise - 0.3).abs() < 1e-9);
    }

    #[test]
    fn empty_or_broken_samples_give_no_comparison() {
        assert!(compare(&[], &[], 0.05).is_none());
        assert!(compare(&[s(0.0)], &[s(1.0)], 0.05).is_none());
        assert!(compare(&[s(f64::NAN)], &[s(1.0)], 0.05).is_none());
    }

    #[test]
    fn units_are_readable() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(12_345.0), "12.35 us");
        assert_eq!(format_ns(12_345_678.0), "12.35 ms");
    }
}
