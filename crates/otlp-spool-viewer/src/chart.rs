//! A line chart as inline SVG, drawn on the server: time on x, value on y, one polyline per
//! series, ticks and labels as SVG text. No script; the same numbers are in a table beside it.

use std::fmt::Write as _;

use crate::html::esc;
use crate::metrics::Series;
use crate::time::format_utc;
use crate::value::float;

/// Series colours (distinguishable, dark enough on white).
pub(crate) const PALETTE: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22",
];

const W: f64 = 960.0;
const H: f64 = 340.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

/// "Nice" tick step for a span (1, 2 or 5 times a power of ten).
fn nice_step(span: f64, ticks: f64) -> f64 {
    let raw = (span / ticks).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// The chart of `series`; `title` and `desc` label it for assistive technology.
pub(crate) fn line_chart(series: &[Series], title: &str, desc: &str) -> String {
    let points = series.iter().flat_map(|s| s.points.iter());
    let (mut t0, mut t1, mut v0, mut v1) = (u64::MAX, 0u64, f64::INFINITY, f64::NEG_INFINITY);
    for &(t, v) in points {
        t0 = t0.min(t);
        t1 = t1.max(t);
        if v.is_finite() {
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
    }
    let mut svg = String::with_capacity(8192);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"chart-title chart-desc\">\
         <title id=\"chart-title\">{}</title><desc id=\"chart-desc\">{}</desc>",
        esc(title),
        esc(desc)
    );
    if t0 > t1 || !v0.is_finite() {
        svg.push_str("<text x=\"480\" y=\"170\" text-anchor=\"middle\" fill=\"#57606a\">No points</text></svg>");
        return svg;
    }
    if v0 > 0.0 && v0 < v1 * 0.5 {
        v0 = 0.0; // Anchor mostly-positive data at zero.
    }
    if v0 == v1 {
        let pad = if v0 == 0.0 { 1.0 } else { v0.abs() * 0.1 };
        v0 -= pad;
        v1 += pad;
    }
    let step = nice_step(v1 - v0, 5.0);
    let (y_lo, y_hi) = ((v0 / step).floor() * step, (v1 / step).ceil() * step);
    let (t_span, y_span) = (
        (t1 - t0).max(1) as f64,
        (y_hi - y_lo).max(f64::MIN_POSITIVE),
    );
    let x = |t: u64| LEFT + (t - t0) as f64 / t_span * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (y_hi - v) / y_span * (H - TOP - BOTTOM);
    // Grid and y labels.
    let mut v = y_lo;
    while v <= y_hi + step * 0.001 {
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e5e7eb\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"12\" fill=\"#57606a\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            esc(&float((v / step).round() * step))
        );
        v += step;
    }
    // X labels: five times across the range.
    for i in 0..=4 {
        let t = t0 + ((t1 - t0) as f64 * f64::from(i) / 4.0) as u64;
        let label = format_utc(t);
        let label = if t1 - t0 < 60_000_000_000 {
            label.get(11..23).unwrap_or(&label).to_owned()
        } else if t1 - t0 < 86_400_000_000_000 {
            label.get(11..19).unwrap_or(&label).to_owned()
        } else {
            label.get(0..16).unwrap_or(&label).replace('T', " ")
        };
        let anchor = match i {
            0 => "start",
            4 => "end",
            _ => "middle",
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"12\" fill=\"#57606a\">{}</text>",
            x(t),
            H - BOTTOM + 18.0,
            esc(&label)
        );
    }
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"12\" fill=\"#57606a\">time (UTC)</text>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#57606a\"/>\
         <line x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#57606a\"/>",
        (W + LEFT) / 2.0,
        H - 6.0,
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for (i, s) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let _ = write!(
            svg,
            "<g class=\"series\" data-series=\"{}\"><title>{}</title>",
            i,
            esc(&s.key)
        );
        if pts.len() > 1 {
            let _ = write!(
                svg,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                pts.join(" ")
            );
        }
        if pts.len() <= 300 {
            for p in &pts {
                let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = write!(
                    svg,
                    "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{color}\"/>"
                );
            }
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

/// A small colour swatch for the legend.
pub(crate) fn swatch(i: usize) -> String {
    format!(
        "<svg viewBox=\"0 0 14 14\" aria-hidden=\"true\"><rect width=\"14\" height=\"14\" rx=\"2\" fill=\"{}\"/></svg>",
        PALETTE[i % PALETTE.len()]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 1.0);
        assert_eq!(nice_step(12.0, 5.0), 2.0);
        assert_eq!(nice_step(0.3, 5.0), 0.05);
    }

    #[test]
    fn draws_one_polyline_per_series() {
        let series = vec![
            Series {
                key: "a=1".into(),
                points: vec![(1_000_000_000, 1.0), (2_000_000_000, 3.0)],
            },
            Series {
                key: "a=<2>".into(),
                points: vec![(1_000_000_000, 2.0), (3_000_000_000, 2.5)],
            },
        ];
        let svg = line_chart(&series, "m", "d");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("a=&lt;2&gt;"));
        assert!(line_chart(&[], "m", "d").contains("No points"));
    }
}
