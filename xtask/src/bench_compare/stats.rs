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
    let verdict = verdict(change, allowance);
    Some(Comparison {
        base_ns: median(&base.iter().map(|s| s.ns).collect::<Vec<_>>()),
        head_ns: median(&head.iter().map(|s| s.ns).collect::<Vec<_>>()),
        change,
        noise,
        verdict,
    })
}

/// Compares the confirmation rounds of one benchmark. Each round ran the base, the head and the
/// base again (`control[i]`). It is a regression only if both hold:
/// - the change is beyond `max(threshold, noise, A/A spread)`: besides everything [`compare`]
///   measures, the base's difference from itself, `max(b'/b, b/b') - 1` in a typical round
///   (the median over rounds: one disturbed run must not hide a real slowdown, the rank test
///   below deals with those), is noise this benchmark shows on this machine right now with
///   identical code on both sides;
/// - the head runs rank above the base runs: the exact one-sided rank-sum (Mann-Whitney)
///   probability that identical code would put the head runs this high among all runs is at most
///   [`RANK_ALPHA`]. With five rounds (five head runs, ten base runs) that allows up to about
///   eight of the fifty (head, base) pairs in the wrong order, so one disturbed base run does not
///   hide a real slowdown; with three rounds it takes every head run slower than all six base
///   runs (1 in 84 by chance). Some benchmarks are bimodal per process (where the allocator and
///   the loader happen to place things decides between two speeds); a head that drew the slow
///   mode in a few rounds moves the median but rarely outranks the base runs.
///
/// The head is paired with the geometric mean of the two base runs around it, so a linear drift
/// of the machine during a round cancels out.
pub(crate) fn confirm(
    base: &[Sample],
    head: &[Sample],
    control: &[Sample],
    threshold: f64,
) -> Option<Confirmation> {
    let n = base.len().min(head.len()).min(control.len());
    if n == 0
        || base[..n]
            .iter()
            .chain(&control[..n])
            .any(|s| !(s.ns.is_finite() && s.ns > 0.0))
    {
        return None;
    }
    let both: Vec<Sample> = base[..n]
        .iter()
        .zip(&control[..n])
        .map(|(b, c)| Sample {
            ns: (b.ns * c.ns).sqrt(),
            rel_ci: b.rel_ci.abs().max(c.rel_ci.abs()),
        })
        .collect();
    let mut c = compare(&both, &head[..n], threshold)?;
    let control_deviations: Vec<f64> = base[..n]
        .iter()
        .zip(&control[..n])
        .map(|(b, c)| (b.ns / c.ns).max(c.ns / b.ns) - 1.0)
        .collect();
    let control_noise = median(&control_deviations);
    let allowance = threshold.max(c.noise).max(control_noise);
    let base_runs: Vec<f64> = base[..n]
        .iter()
        .chain(&control[..n])
        .map(|s| s.ns)
        .collect();
    let head_runs: Vec<f64> = head[..n].iter().map(|s| s.ns).collect();
    let rank_p = rank_p_value(&base_runs, &head_runs);
    c.verdict = match verdict(c.change, allowance) {
        Verdict::Regression if rank_p > RANK_ALPHA => Verdict::Unchanged,
        v => v,
    };
    Some(Confirmation {
        comparison: c,
        control_noise,
        allowance,
        rank_p,
    })
}

/// The largest rank-sum probability [`confirm`] accepts for a regression.
pub(crate) const RANK_ALPHA: f64 = 0.02;

/// The outcome of [`confirm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Confirmation {
    /// Base (both runs of each round) against head; `verdict` already allows for the control
    /// and the rank test.
    pub(crate) comparison: Comparison,
    /// The median over rounds of the relative difference between the two base runs of a round.
    pub(crate) control_noise: f64,
    /// `max(threshold, noise, control_noise)`: what the change was held against.
    pub(crate) allowance: f64,
    /// Probability that identical code ranks the head runs this high or higher.
    pub(crate) rank_p: f64,
}

/// Exact one-sided Mann-Whitney probability `P(U >= u)` under "all runs come from one
/// distribution", where `u` counts the (head, base) pairs with the head slower (ties count as
/// not slower, which only makes the probability larger).
pub(crate) fn rank_p_value(base: &[f64], head: &[f64]) -> f64 {
    let (n, m) = (head.len(), base.len());
    if n == 0 || m == 0 {
        return 1.0;
    }
    let u: usize = head
        .iter()
        .map(|h| base.iter().filter(|b| h > b).count())
        .sum();
    // ways[i][j][k]: orderings of i head and j base runs in which exactly k pairs have the head
    // above. The largest of i + j runs is either a head run (above all j base runs) or not.
    let max_u = n * m;
    let mut ways = vec![vec![vec![0.0_f64; max_u + 1]; m + 1]; n + 1];
    for (i, row) in ways.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            if i == 0 || j == 0 {
                cell[0] = 1.0;
            }
        }
    }
    for i in 1..=n {
        for j in 1..=m {
            for k in 0..=i * j {
                let top_head = if k >= j { ways[i - 1][j][k - j] } else { 0.0 };
                let top_base = ways[i][j - 1][k];
                ways[i][j][k] = top_head + top_base;
            }
        }
    }
    let all: f64 = ways[n][m].iter().sum();
    let tail: f64 = ways[n][m][u..].iter().sum();
    tail / all
}

fn verdict(change: f64, allowance: f64) -> Verdict {
    if change > allowance {
        Verdict::Regression
    } else if change < -allowance {
        Verdict::Improvement
    } else {
        Verdict::Unchanged
    }
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

    fn samples(ns: &[f64]) -> Vec<Sample> {
        ns.iter().copied().map(s).collect()
    }

    #[test]
    fn confirmation_catches_a_steady_slowdown() {
        let c = confirm(
            &samples(&[100.0, 101.0, 99.0, 100.0]),
            &samples(&[121.0, 120.0, 122.0, 120.0]),
            &samples(&[100.0, 99.0, 101.0, 100.0]),
            0.05,
        )
        .unwrap();
        assert_eq!(c.comparison.verdict, Verdict::Regression, "{c:?}");
        assert!((c.control_noise - 0.0101).abs() < 1e-3, "{c:?}");
    }

    #[test]
    fn a_base_unsteady_against_itself_hides_the_change() {
        // Head +20% over the base, but the base differs from itself by 30% in most rounds.
        let c = confirm(
            &samples(&[100.0, 130.0, 100.0, 100.0, 100.0]),
            &samples(&[140.0, 140.0, 140.0, 140.0, 140.0]),
            &samples(&[130.0, 100.0, 130.0, 100.0, 130.0]),
            0.05,
        )
        .unwrap();
        assert_eq!(c.comparison.verdict, Verdict::Unchanged, "{c:?}");
        assert!((c.control_noise - 0.3).abs() < 1e-9, "{c:?}");
    }

    #[test]
    fn one_disturbed_base_run_does_not_hide_a_slowdown() {
        // Head +20% in every round; one base run was slowed by 34% by something else.
        let c = confirm(
            &samples(&[100.0, 100.0, 134.0, 100.0, 100.0]),
            &samples(&[120.0, 121.0, 120.0, 119.0, 120.0]),
            &samples(&[101.0, 99.0, 100.0, 100.0, 101.0]),
            0.15,
        )
        .unwrap();
        assert!(c.rank_p <= RANK_ALPHA, "{c:?}");
        assert_eq!(c.comparison.verdict, Verdict::Regression, "{c:?}");
    }

    #[test]
    fn drift_within_a_round_cancels() {
        // The machine slows down steadily: base 100, head 110, base again 120 in every round.
        let c = confirm(
            &samples(&[100.0, 100.0, 100.0]),
            &samples(&[110.0, 110.0, 110.0]),
            &samples(&[120.0, 120.0, 120.0]),
            0.05,
        )
        .unwrap();
        assert_eq!(c.comparison.verdict, Verdict::Unchanged, "{c:?}");
        assert!(c.comparison.change.abs() < 0.01, "{c:?}");
    }

    #[test]
    fn rank_probabilities_are_exact() {
        let base = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        // All three head runs above all six base runs: 1 of C(9, 3) = 84 orderings.
        assert!((rank_p_value(&base, &[7.0, 8.0, 9.0]) - 1.0 / 84.0).abs() < 1e-12);
        // One base run above one head run: 2 of 84 orderings are at least this extreme.
        assert!((rank_p_value(&base, &[5.5, 8.0, 9.0]) - 2.0 / 84.0).abs() < 1e-12);
        assert!((rank_p_value(&base, &[0.1, 0.2, 0.3]) - 1.0).abs() < 1e-12);
        assert_eq!(rank_p_value(&[], &[1.0]), 1.0);
    }

    #[test]
    fn a_head_that_does_not_outrank_every_base_run_is_not_confirmed() {
        // Median +20% beyond every allowance, but one base run is slower than a head run.
        let c = confirm(
            &samples(&[100.0, 100.0, 100.0]),
            &samples(&[120.0, 120.0, 103.0]),
            &samples(&[100.0, 100.0, 104.0]),
            0.05,
        )
        .unwrap();
        assert!(c.comparison.change > c.allowance, "{c:?}");
        assert!(c.rank_p > RANK_ALPHA, "{c:?}");
        assert_eq!(c.comparison.verdict, Verdict::Unchanged, "{c:?}");
    }

    #[test]
    fn confirmation_without_samples_gives_nothing() {
        assert!(confirm(&[], &[], &[], 0.05).is_none());
        assert!(confirm(&[s(1.0)], &[s(1.0)], &[s(0.0)], 0.05).is_none());
    }

    #[test]
    fn units_are_readable() {
        assert_eq!(format_ns(12.345), "12.35 ns");
        assert_eq!(format_ns(12_345.0), "12.35 us");
        assert_eq!(format_ns(12_345_678.0), "12.35 ms");
    }
}
