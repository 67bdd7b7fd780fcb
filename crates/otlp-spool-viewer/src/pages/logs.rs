//! `/ui/logs`: log search by severity, text, service, trace and time, with links to traces.

use crate::html::{Form, Page, Section, Table, esc, service_options, url_encode};
use crate::logs::LogQuery;
use crate::pages::{Params, Rendered, TIME_HINT, attempt};
use crate::time::format_utc;
use crate::traces::parse_trace_id;
use crate::viewer::Viewer;
use crate::{QueryError, ViewerError};

const SEVERITIES: [(&str, &str, i32); 6] = [
    ("trace", "TRACE and above", 1),
    ("debug", "DEBUG and above", 5),
    ("info", "INFO and above", 9),
    ("warn", "WARN and above", 13),
    ("error", "ERROR and above", 17),
    ("fatal", "FATAL", 21),
];

fn query(viewer: &Viewer, p: &Params) -> Result<LogQuery, QueryError> {
    let now = viewer.now();
    let min_severity = match p.get("severity").to_ascii_lowercase().as_str() {
        "" | "any" => None,
        s => match SEVERITIES.iter().find(|x| x.0 == s) {
            Some(x) => Some(x.2),
            None => match s.parse::<i32>() {
                Ok(n) if (1..=24).contains(&n) => Some(n),
                _ => {
                    return Err(QueryError {
                        name: "severity",
                        problem: format!(
                            "`{s}`: expected trace, debug, info, warn, error or fatal"
                        ),
                    });
                }
            },
        },
    };
    Ok(LogQuery {
        min_severity,
        text: p.opt("q"),
        service: p.opt("service"),
        trace_id: p.opt("trace_id").map(|t| parse_trace_id(&t)).transpose()?,
        since: p.time("since", now)?,
        until: p.time("until", now)?,
        limit: p.count("limit", 100, 2000)?,
    })
}

/// The log search page.
pub(crate) fn logs_page(viewer: &Viewer, p: &Params) -> Result<Rendered, ViewerError> {
    let mut page = Page::new("Logs", Section::Logs);
    page.el("h1", "Logs");
    let (list, refused) = attempt(query(viewer, p), |q| viewer.logs(q))?;
    let services = list
        .as_ref()
        .map(|l| l.services.clone())
        .unwrap_or_default();
    let severities: Vec<(String, String)> = std::iter::once(("".to_owned(), "any".to_owned()))
        .chain(
            SEVERITIES
                .iter()
                .map(|(v, l, _)| ((*v).to_owned(), (*l).to_owned())),
        )
        .collect();
    let form = Form::new("/ui/logs", "Search logs")
        .text("q", "Body contains", p.get("q"), "timeout")
        .select(
            "severity",
            "Severity",
            &p.get("severity").to_ascii_lowercase(),
            &severities,
        )
        .select(
            "service",
            "Service",
            p.get("service"),
            &service_options(&services),
        )
        .text("trace_id", "Trace id", p.get("trace_id"), "")
        .text("since", "Since", p.get("since"), TIME_HINT)
        .text("until", "Before", p.get("until"), TIME_HINT)
        .text("limit", "Show at most", p.get("limit"), "100")
        .finish();
    page.raw(&form);
    let status = page.status_after(refused.as_ref());
    if let Some(list) = list {
        let mut t = Table::new(
            &format!("{} log records, newest first", list.rows.len()),
            "logs",
            &[
                "Time (UTC)",
                "Severity",
                "Service",
                "Body",
                "Attributes",
                "Trace",
            ],
        );
        for r in &list.rows {
            let sev_class = crate::logs::severity_name(r.severity_number).to_ascii_lowercase();
            let attrs: Vec<String> = r
                .attributes
                .iter()
                .map(|(k, v)| format!("<code>{}</code>={}", esc(k), esc(v)))
                .collect();
            let trace = if r.trace_id.is_empty() {
                String::new()
            } else {
                let span = if r.span_id.is_empty() {
                    String::new()
                } else {
                    format!("#span-{}", url_encode(&r.span_id))
                };
                format!(
                    "<a href=\"/ui/traces/{}{span}\" title=\"trace {}\">trace</a>",
                    url_encode(&r.trace_id),
                    esc(&r.trace_id)
                )
            };
            t.row(&[
                format!("<span class=\"mono\">{}</span>", esc(&format_utc(r.time))),
                format!(
                    "<span class=\"sev-{sev_class}\">{}</span>",
                    esc(&r.severity)
                ),
                esc(&r.service),
                format!("<span class=\"body\">{}</span>", esc(&r.body)),
                attrs.join("<br>"),
                trace,
            ]);
        }
        page.raw(&t.finish("No log records found."));
        page.work = Some(list.work);
    }
    Ok(Rendered { status, page })
}
