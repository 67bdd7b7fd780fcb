//! `/ui/metrics` (the metric names) and `/ui/metrics?name=M` (a chart of M's points, one series
//! per attribute set, with the same numbers in tables).

use std::fmt::Write as _;

use crate::ViewerError;
use crate::chart::{line_chart, swatch};
use crate::html::{Form, Page, Section, Table, esc, url_encode};
use crate::metrics::{MAX_SERIES, MetricQuery};
use crate::pages::{Params, Rendered, TIME_HINT};
use crate::time::format_utc;
use crate::value::float;
use crate::viewer::Viewer;

fn catalog(viewer: &Viewer, page: &mut Page) -> Result<(), ViewerError> {
    let catalog = viewer.metric_names()?;
    let mut t = Table::new(
        &format!("{} metrics", catalog.metrics.len()),
        "metrics",
        &["Name", "Type", "Unit", "Points"],
    );
    for m in &catalog.metrics {
        t.row(&[
            format!(
                "<a href=\"/ui/metrics?name={}\">{}</a>",
                url_encode(&m.name),
                esc(&m.name)
            ),
            esc(&m.kind),
            esc(&m.unit),
            m.points.to_string(),
        ]);
    }
    page.raw(&t.finish("No metrics found."));
    page.work = Some(catalog.work);
    Ok(())
}

/// The metrics page (catalog without `name`, chart with it).
pub(crate) fn metrics_page(viewer: &Viewer, p: &Params) -> Result<Rendered, ViewerError> {
    let Some(name) = p.opt("name") else {
        let mut page = Page::new("Metrics", Section::Metrics);
        page.el("h1", "Metrics");
        catalog(viewer, &mut page)?;
        return Ok(Rendered::ok(page));
    };
    let mut page = Page::new(format!("Metric {name}"), Section::Metrics);
    page.el("h1", &name);
    let form = Form::new("/ui/metrics", "Choose points")
        .text("name", "Metric", &name, "")
        .text("service", "Service", p.get("service"), "any")
        .text("since", "Since", p.get("since"), TIME_HINT)
        .text("until", "Before", p.get("until"), TIME_HINT)
        .finish();
    page.raw(&form);
    let now = viewer.now();
    let q = match (p.time("since", now), p.time("until", now)) {
        (Ok(since), Ok(until)) => MetricQuery {
            service: p.opt("service"),
            since,
            until,
            ..MetricQuery::new(&name)
        },
        (Err(e), _) | (_, Err(e)) => {
            page.alert(&e.to_string());
            return Ok(Rendered { status: 400, page });
        }
    };
    let m = viewer.metric_series(&q)?;
    page.work = Some(m.work);
    if m.series.is_empty() {
        page.alert("No points of this metric were found.");
        page.raw("<p><a href=\"/ui/metrics\">All metrics</a></p>");
        return Ok(Rendered { status: 404, page });
    }
    let unit = if m.unit.is_empty() {
        String::new()
    } else {
        format!(" ({})", m.unit)
    };
    let points: usize = m.series.iter().map(|s| s.points.len()).sum();
    let _ = write!(
        page.main,
        "<dl class=\"facts\"><dt>Type</dt><dd>{}</dd><dt>Unit</dt><dd>{}</dd><dt>Description</dt><dd>{}</dd>\
         <dt>Plotted</dt><dd>{}{}</dd><dt>Points</dt><dd>{points} in {} series</dd></dl>",
        esc(&m.kind),
        esc(if m.unit.is_empty() { "-" } else { &m.unit }),
        esc(if m.description.is_empty() {
            "-"
        } else {
            &m.description
        }),
        esc(&m.value_label),
        esc(&unit),
        m.series.len(),
    );
    if m.points_left_out > 0 {
        page.alert(&format!(
            "Only the first {MAX_SERIES} attribute sets are drawn; {} points of others were left out: filter by service or time.",
            m.points_left_out
        ));
    }
    let desc = format!(
        "{} of {} over time, {} series, {points} points",
        m.value_label,
        m.name,
        m.series.len()
    );
    let _ = write!(
        page.main,
        "<figure class=\"chart\">{}<figcaption>{}{}, time in UTC.</figcaption></figure><ul class=\"legend\" aria-label=\"Series\">",
        line_chart(&m.series, &m.name, &desc),
        esc(&m.value_label),
        esc(&unit)
    );
    for (i, s) in m.series.iter().enumerate() {
        let _ = write!(page.main, "<li>{} {}</li>", swatch(i), esc(&s.key));
    }
    page.raw("</ul>");
    let mut t = Table::new(
        "Series",
        "series",
        &[
            "Attributes",
            "Points",
            "First",
            "Last",
            "Latest value",
            "Min",
            "Max",
        ],
    );
    for s in &m.series {
        let vals = s.points.iter().map(|p| p.1);
        let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (first, last) = (s.points.first(), s.points.last());
        t.row(&[
            esc(&s.key),
            s.points.len().to_string(),
            esc(&first.map_or_else(String::new, |p| format_utc(p.0))),
            esc(&last.map_or_else(String::new, |p| format_utc(p.0))),
            esc(&last.map_or_else(String::new, |p| float(p.1))),
            esc(&float(lo)),
            esc(&float(hi)),
        ]);
    }
    page.raw(&t.finish(""));
    page.raw("<details><summary>Every point (latest 200 per series)</summary>");
    for s in &m.series {
        let mut t = Table::new(&s.key, "points", &["Time (UTC)", "Value"]);
        for p in s.points.iter().rev().take(200) {
            t.row(&[esc(&format_utc(p.0)), esc(&float(p.1))]);
        }
        page.raw(&t.finish(""));
    }
    page.raw("</details>");
    Ok(Rendered::ok(page))
}
