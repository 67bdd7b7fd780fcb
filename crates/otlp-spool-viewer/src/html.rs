//! The page frame and the small HTML helpers every page uses.
//!
//! Invariants: every text that comes from telemetry or from the request goes through [`esc`]
//! (element content and attribute values alike); pages carry no inline script or style (the
//! `Content-Security-Policy` forbids both), so the only assets are the stylesheet and the icon
//! compiled into the binary.

use std::fmt::Write as _;

use crate::index::Work;

/// The stylesheet, compiled in.
pub(crate) const STYLE_CSS: &str = include_str!("../assets/style.css");
/// The icon, compiled in (so browsers do not ask for a missing `/favicon.ico`).
pub(crate) const ICON_SVG: &str = include_str!("../assets/icon.svg");

/// HTML-escapes text for element content and quoted attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query parameter value or a path segment.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Traces,
    Metrics,
    Logs,
}

impl Section {
    pub(crate) fn signal(self) -> otlp_spool_storage::Signal {
        match self {
            Section::Traces => otlp_spool_storage::Signal::Traces,
            Section::Metrics => otlp_spool_storage::Signal::Metrics,
            Section::Logs => otlp_spool_storage::Signal::Logs,
        }
    }
}

/// A page being built: its `<main>` content and what the footer says.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) title: String,
    pub(crate) section: Section,
    pub(crate) main: String,
    pub(crate) work: Option<Work>,
    /// Requests and bytes of this section's signal accepted but not in any file yet.
    pub(crate) pending: Option<(u64, u64)>,
}

impl Page {
    pub(crate) fn new(title: impl Into<String>, section: Section) -> Page {
        Page {
            title: title.into(),
            section,
            main: String::with_capacity(16 * 1024),
            work: None,
            pending: None,
        }
    }

    /// Appends raw (already escaped) HTML.
    pub(crate) fn raw(&mut self, html: &str) -> &mut Self {
        self.main.push_str(html);
        self
    }

    /// Appends `<tag>escaped text</tag>`.
    pub(crate) fn el(&mut self, tag: &str, text: &str) -> &mut Self {
        let _ = write!(self.main, "<{tag}>{}</{tag}>", esc(text));
        self
    }

    /// An alert paragraph (a refused parameter, for example).
    pub(crate) fn alert(&mut self, text: &str) -> &mut Self {
        let _ = write!(
            self.main,
            "<p class=\"alert\" role=\"alert\">{}</p>",
            esc(text)
        );
        self
    }

    /// 400 with an alert naming the refused parameter, else 200.
    pub(crate) fn status_after(&mut self, refused: Option<&crate::QueryError>) -> u16 {
        match refused {
            Some(e) => {
                self.alert(&e.to_string());
                400
            }
            None => 200,
        }
    }

    /// The whole document.
    pub(crate) fn render(&self, dir: &str, elapsed_ms: Option<u128>) -> String {
        let nav = |s: Section, href: &str, label: &str| {
            let current = if s == self.section {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<li><a href=\"{href}\"{current}>{label}</a></li>")
        };
        let mut footer = String::new();
        if let Some(w) = &self.work {
            let _ = write!(
                footer,
                "Looked at {} files: {} reads ({:.1} MiB), {} skipped by the index.",
                w.files,
                w.files_scanned,
                w.bytes_scanned as f64 / 1_048_576.0,
                w.files_skipped
            );
            if w.files_damaged > 0 {
                let _ = write!(
                    footer,
                    " {} damaged files skipped (`otlp-spool inspect` names them).",
                    w.files_damaged
                );
            }
            if w.files_left > 0 {
                let _ = write!(
                    footer,
                    " {} older files not searched (scan budget spent): narrow the time range to reach them.",
                    w.files_left
                );
            }
        }
        if let Some((requests, bytes)) = self.pending.filter(|p| p.0 > 0) {
            let _ = write!(
                footer,
                " {requests} requests ({:.1} MiB) are accepted and not written yet: they appear within a second or so.",
                bytes as f64 / 1_048_576.0
            );
        }
        if let Some(ms) = elapsed_ms {
            let _ = write!(footer, " Answered in {ms} ms.");
        }
        format!(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} · otlp-spool</title>\n\
             <link rel=\"icon\" href=\"/ui/assets/icon.svg\" type=\"image/svg+xml\">\n\
             <link rel=\"stylesheet\" href=\"/ui/assets/style.css\">\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to content</a>\n\
             <header><p class=\"brand\">otlp-spool</p><nav aria-label=\"Sections\"><ul>{}{}{}</ul></nav>\
             <p class=\"dir\">{}</p></header>\n<main id=\"main\">\n{}\n</main>\n<footer><p>{}</p></footer>\n</body>\n</html>\n",
            nav(Section::Traces, "/ui", "Traces"),
            nav(Section::Metrics, "/ui/metrics", "Metrics"),
            nav(Section::Logs, "/ui/logs", "Logs"),
            esc(dir),
            self.main,
            esc(footer.trim()),
            title = esc(&self.title),
        )
    }
}

/// A search form: `<form role="search">` with labelled fields and a submit button.
#[derive(Debug, Default)]
pub(crate) struct Form {
    html: String,
}

impl Form {
    pub(crate) fn new(action: &str, label: &str) -> Form {
        Form {
            html: format!(
                "<form class=\"filters\" method=\"get\" action=\"{}\" role=\"search\" aria-label=\"{}\">",
                esc(action),
                esc(label)
            ),
        }
    }

    /// A labelled text input.
    pub(crate) fn text(&mut self, name: &str, label: &str, value: &str, hint: &str) -> &mut Self {
        let _ = write!(
            self.html,
            "<p><label for=\"f-{name}\">{}</label> <input type=\"text\" id=\"f-{name}\" name=\"{name}\" value=\"{}\" placeholder=\"{}\"></p>",
            esc(label),
            esc(value),
            esc(hint)
        );
        self
    }

    /// A labelled select; `options` are (value, label); the first is usually "any".
    pub(crate) fn select(
        &mut self,
        name: &str,
        label: &str,
        selected: &str,
        options: &[(String, String)],
    ) -> &mut Self {
        let _ = write!(
            self.html,
            "<p><label for=\"f-{name}\">{}</label> <select id=\"f-{name}\" name=\"{name}\">",
            esc(label)
        );
        for (value, text) in options {
            let sel = if value == selected { " selected" } else { "" };
            let _ = write!(
                self.html,
                "<option value=\"{}\"{sel}>{}</option>",
                esc(value),
                esc(text)
            );
        }
        self.html.push_str("</select></p>");
        self
    }

    pub(crate) fn finish(&mut self) -> String {
        let mut html = std::mem::take(&mut self.html);
        html.push_str("<p><button type=\"submit\">Apply</button></p></form>");
        html
    }
}

/// Options for a service select: "any" then each service.
pub(crate) fn service_options(services: &[String]) -> Vec<(String, String)> {
    std::iter::once((String::new(), "any".to_owned()))
        .chain(services.iter().map(|s| (s.clone(), s.clone())))
        .collect()
}

/// A `<table>` with a caption and header cells; rows are added as already-escaped cells.
#[derive(Debug)]
pub(crate) struct Table {
    html: String,
    rows: usize,
}

impl Table {
    pub(crate) fn new(caption: &str, class: &str, headers: &[&str]) -> Table {
        let mut html = format!(
            "<table class=\"{}\"><caption>{}</caption><thead><tr>",
            esc(class),
            esc(caption)
        );
        for h in headers {
            let _ = write!(html, "<th scope=\"col\">{}</th>", esc(h));
        }
        html.push_str("</tr></thead><tbody>");
        Table { html, rows: 0 }
    }

    /// One row of raw cell HTML.
    pub(crate) fn row(&mut self, cells: &[String]) {
        self.html.push_str("<tr>");
        for c in cells {
            let _ = write!(self.html, "<td>{c}</td>");
        }
        self.html.push_str("</tr>");
        self.rows += 1;
    }

    pub(crate) fn finish(mut self, empty: &str) -> String {
        if self.rows == 0 {
            return format!("<p class=\"empty\">{}</p>", esc(empty));
        }
        self.html.push_str("</tbody></table>");
        self.html
    }
}

/// A key/value table of attributes (escaped), or a note when there are none.
pub(crate) fn attribute_table(caption: &str, pairs: &[(String, String)]) -> String {
    let mut t = Table::new(caption, "attrs", &["Key", "Value"]);
    for (k, v) in pairs {
        t.row(&[format!("<code>{}</code>", esc(k)), esc(v)]);
    }
    t.finish(&format!("{caption}: none."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(url_encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
