//! `/ui` (recent traces with filters) and `/ui/traces/<id>` (waterfall and span details).

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::ViewerError;
use crate::html::{Form, Page, Section, Table, attribute_table, esc, service_options, url_encode};
use crate::pages::{Params, Rendered, TIME_HINT, attempt};
use crate::time::{format_duration, format_utc};
use crate::traces::{SpanView, TraceDetail, TraceQuery, parse_trace_id};
use crate::value::{attributes, hex};
use crate::viewer::Viewer;

fn query(viewer: &Viewer, p: &Params) -> Result<TraceQuery, crate::QueryError> {
    let now = viewer.now();
    Ok(TraceQuery {
        service: p.opt("service"),
        name: p.opt("name"),
        since: p.time("since", now)?,
        until: p.time("until", now)?,
        min_duration: p.duration("min_duration")?,
        limit: p.count("limit", 50, 1000)?,
    })
}

/// The list of recent traces.
pub(crate) fn traces_page(viewer: &Viewer, p: &Params) -> Result<Rendered, ViewerError> {
    let mut page = Page::new("Traces", Section::Traces);
    page.el("h1", "Recent traces");
    let (list, refused) = attempt(query(viewer, p), |q| viewer.traces(q))?;
    let services = list
        .as_ref()
        .map(|l| l.services.clone())
        .unwrap_or_default();
    let form = Form::new("/ui", "Filter traces")
        .select(
            "service",
            "Service",
            p.get("service"),
            &service_options(&services),
        )
        .text(
            "name",
            "Root span name contains",
            p.get("name"),
            "GET /users",
        )
        .text("since", "Started since", p.get("since"), TIME_HINT)
        .text("until", "Started before", p.get("until"), TIME_HINT)
        .text(
            "min_duration",
            "Minimum duration",
            p.get("min_duration"),
            "100ms",
        )
        .text("limit", "Show at most", p.get("limit"), "50")
        .finish();
    page.raw(&form);
    let status = page.status_after(refused.as_ref());
    if let Some(list) = list {
        let mut t = Table::new(
            &format!("{} traces, newest first", list.traces.len()),
            "traces",
            &[
                "Start (UTC)",
                "Service",
                "Root span",
                "Duration",
                "Spans",
                "Errors",
            ],
        );
        for r in &list.traces {
            let name = if r.root_found {
                esc(&r.root_name)
            } else {
                format!(
                    "{} <span class=\"muted\">(root span not found)</span>",
                    esc(&r.root_name)
                )
            };
            let errors = if r.errors > 0 {
                format!("<span class=\"err\">{}</span>", r.errors)
            } else {
                "0".to_owned()
            };
            t.row(&[
                format!("<span class=\"mono\">{}</span>", esc(&format_utc(r.start))),
                esc(&r.service),
                format!(
                    "<a href=\"/ui/traces/{}\">{name}</a>",
                    url_encode(&r.trace_id)
                ),
                esc(&format_duration(r.duration)),
                r.spans.to_string(),
                errors,
            ]);
        }
        page.raw(&t.finish("No traces found."));
        page.work = Some(list.work);
    }
    Ok(Rendered { status, page })
}

fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "INTERNAL",
        2 => "SERVER",
        3 => "CLIENT",
        4 => "PRODUCER",
        5 => "CONSUMER",
        _ => "UNSPECIFIED",
    }
}

fn status_text(s: &SpanView) -> (String, bool) {
    match &s.span.status {
        Some(st) if st.code == 2 => (
            if st.message.is_empty() {
                "ERROR".to_owned()
            } else {
                format!("ERROR: {}", st.message)
            },
            true,
        ),
        Some(st) if st.code == 1 => ("OK".to_owned(), false),
        _ => ("UNSET".to_owned(), false),
    }
}

/// Spans in tree order (parents before children, siblings by start) with their depth.
fn tree_order(spans: &[SpanView]) -> Vec<(usize, usize)> {
    let by_id: HashMap<&[u8], usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span.span_id.as_slice(), i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
    let mut roots = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        match by_id.get(s.span.parent_span_id.as_slice()) {
            Some(&p) if p != i && !s.span.parent_span_id.is_empty() => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let mut out = Vec::with_capacity(spans.len());
    let mut seen = vec![false; spans.len()];
    let mut stack: Vec<(usize, usize)> = roots.into_iter().rev().map(|r| (r, 0)).collect();
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        out.push((i, depth));
        for &c in children[i].iter().rev() {
            stack.push((c, depth + 1));
        }
    }
    // Cycles of parent ids (bad data) leave spans unvisited: list them at the top level.
    for (i, s) in seen.iter().enumerate() {
        if !s {
            out.push((i, 0));
        }
    }
    out
}

/// One trace: facts, waterfall, then every span's details.
pub(crate) fn trace_page(viewer: &Viewer, id: &str) -> Result<Rendered, ViewerError> {
    let mut page = Page::new(format!("Trace {id}"), Section::Traces);
    let id = match parse_trace_id(id) {
        Ok(id) => id,
        Err(e) => {
            page.el("h1", "Trace");
            page.alert(&e.to_string());
            return Ok(Rendered { status: 400, page });
        }
    };
    let Some(detail) = viewer.trace(&id)? else {
        page.el("h1", &format!("Trace {id}"));
        page.alert("No span of this trace was found in the spool.");
        page.raw("<p><a href=\"/ui\">Back to recent traces</a></p>");
        return Ok(Rendered { status: 404, page });
    };
    page.work = Some(detail.work);
    render_trace(&mut page, &detail);
    Ok(Rendered::ok(page))
}

fn render_trace(page: &mut Page, d: &TraceDetail) {
    let t0 = d
        .spans
        .iter()
        .map(|s| s.span.start_time_unix_nano)
        .min()
        .unwrap_or(0);
    let t1 = d
        .spans
        .iter()
        .map(|s| s.span.end_time_unix_nano.max(s.span.start_time_unix_nano))
        .max()
        .unwrap_or(t0);
    let total = t1.saturating_sub(t0).max(1);
    let errors = d.spans.iter().filter(|s| status_text(s).1).count();
    let mut services: Vec<&str> = d.spans.iter().map(|s| s.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let _ = write!(
        page.main,
        "<h1>Trace <code>{}</code></h1><dl class=\"facts\"><dt>Start</dt><dd>{}</dd><dt>Duration</dt><dd>{}</dd>\
         <dt>Spans</dt><dd>{}</dd><dt>Errors</dt><dd>{}</dd><dt>Services</dt><dd>{}</dd></dl>\
         <p><a href=\"/ui/logs?trace_id={}\">Logs of this trace</a></p>",
        esc(&d.trace_id),
        esc(&format_utc(t0)),
        esc(&format_duration(t1 - t0)),
        d.spans.len(),
        errors,
        esc(&services.join(", ")),
        url_encode(&d.trace_id),
    );
    let mut t = Table::new(
        "Waterfall: spans in call order, bars on the trace's time line",
        "waterfall",
        &[
            "Span",
            "Service",
            "Kind",
            "Starts at",
            "Duration",
            "Status",
            "Time line",
        ],
    );
    for (i, depth) in tree_order(&d.spans) {
        let s = &d.spans[i];
        let (start, end) = (
            s.span.start_time_unix_nano,
            s.span.end_time_unix_nano.max(s.span.start_time_unix_nano),
        );
        let x = (start.saturating_sub(t0)) as f64 / total as f64 * 100.0;
        let w = ((end - start) as f64 / total as f64 * 100.0).max(0.4);
        let (status, is_err) = status_text(s);
        let fill = if is_err { "#d92d20" } else { "#3b82f6" };
        t.row(&[
            format!(
                "<span class=\"d{}\"><a href=\"#span-{}\">{}</a></span>",
                depth.min(10),
                hex(&s.span.span_id),
                esc(&s.span.name)
            ),
            esc(&s.service),
            kind_name(s.span.kind).to_owned(),
            format!("+{}", esc(&format_duration(start.saturating_sub(t0)))),
            esc(&format_duration(end - start)),
            if is_err {
                format!("<span class=\"err\">{}</span>", esc(&status))
            } else {
                esc(&status)
            },
            format!(
                "<svg viewBox=\"0 0 100 14\" preserveAspectRatio=\"none\" aria-hidden=\"true\">\
                 <rect x=\"0\" y=\"6\" width=\"100\" height=\"2\" fill=\"#eef2f7\"/>\
                 <rect x=\"{x:.3}\" y=\"2\" width=\"{w:.3}\" height=\"10\" rx=\"1\" fill=\"{fill}\"/></svg>"
            ),
        ]);
    }
    page.raw(&t.finish("No spans."));
    page.el("h2", "Spans");
    for s in &d.spans {
        render_span(page, s, t0);
    }
}

fn render_span(page: &mut Page, s: &SpanView, t0: u64) {
    let sp = &s.span;
    let (status, is_err) = status_text(s);
    let parent = if sp.parent_span_id.is_empty() {
        "(root)".to_owned()
    } else {
        format!(
            "<a href=\"#span-{0}\"><code>{0}</code></a>",
            hex(&sp.parent_span_id)
        )
    };
    let _ = write!(
        page.main,
        "<section class=\"span\" id=\"span-{id}\" aria-labelledby=\"h-{id}\"><h3 id=\"h-{id}\">{name}</h3>\
         <dl class=\"facts\"><dt>Span id</dt><dd><code>{id}</code></dd><dt>Parent</dt><dd>{parent}</dd>\
         <dt>Service</dt><dd>{service}</dd><dt>Scope</dt><dd>{scope}</dd><dt>Kind</dt><dd>{kind}</dd>\
         <dt>Start</dt><dd>{start}</dd><dt>Duration</dt><dd>{dur}</dd><dt>Status</dt><dd{cls}>{status}</dd>",
        id = hex(&sp.span_id),
        name = esc(&sp.name),
        service = esc(&s.service),
        scope = esc(&s.scope),
        kind = kind_name(sp.kind),
        start = esc(&format_utc(sp.start_time_unix_nano)),
        dur = esc(&format_duration(
            sp.end_time_unix_nano
                .saturating_sub(sp.start_time_unix_nano)
        )),
        cls = if is_err { " class=\"err\"" } else { "" },
        status = esc(&status),
    );
    if !sp.trace_state.is_empty() {
        let _ = write!(
            page.main,
            "<dt>Trace state</dt><dd><code>{}</code></dd>",
            esc(&sp.trace_state)
        );
    }
    let dropped = (
        sp.dropped_attributes_count,
        sp.dropped_events_count,
        sp.dropped_links_count,
    );
    if dropped != (0, 0, 0) {
        let _ = write!(
            page.main,
            "<dt>Dropped</dt><dd>{} attributes, {} events, {} links</dd>",
            dropped.0, dropped.1, dropped.2
        );
    }
    page.raw("</dl>");
    page.raw(&attribute_table("Attributes", &attributes(&sp.attributes)));
    let mut events = Table::new("Events", "events", &["At", "Name", "Attributes"]);
    for e in &sp.events {
        let attrs: Vec<String> = attributes(&e.attributes)
            .iter()
            .map(|(k, v)| format!("<code>{}</code>={}", esc(k), esc(v)))
            .collect();
        events.row(&[
            format!(
                "+{}",
                esc(&format_duration(e.time_unix_nano.saturating_sub(t0)))
            ),
            esc(&e.name),
            attrs.join("<br>"),
        ]);
    }
    page.raw(&events.finish("Events: none."));
    let mut links = Table::new("Links", "links", &["Trace", "Span", "Attributes"]);
    for l in &sp.links {
        let trace = hex(&l.trace_id);
        let attrs: Vec<String> = attributes(&l.attributes)
            .iter()
            .map(|(k, v)| format!("<code>{}</code>={}", esc(k), esc(v)))
            .collect();
        links.row(&[
            format!(
                "<a href=\"/ui/traces/{0}\"><code>{0}</code></a>",
                esc(&trace)
            ),
            format!("<code>{}</code>", hex(&l.span_id)),
            attrs.join("<br>"),
        ]);
    }
    page.raw(&links.finish("Links: none."));
    let _ = write!(
        page.main,
        "<details><summary>Resource</summary>{}</details></section>",
        attribute_table("Resource attributes", &s.resource)
    );
}
