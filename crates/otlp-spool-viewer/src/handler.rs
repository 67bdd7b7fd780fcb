//! [`Viewer::respond`]: routing of `/ui` requests to pages, as plain data ([`Response`]) so that
//! any HTTP server can carry it (the receiver's HTTP port, or [`crate::serve`]).
//!
//! Invariants: only `GET` and `HEAD` are answered (405 otherwise); at most
//! [`MAX_CONCURRENT_PAGES`] pages are computed at once per viewer (503 with `Retry-After` past
//! it), so a burst of page views cannot take every blocking thread; a spool that cannot be read
//! gives a 500 page naming the file, never a panic; every response carries a
//! `Content-Security-Policy` that allows no script and no inline style.

use std::sync::atomic::Ordering;

use crate::html::{ICON_SVG, Page, STYLE_CSS, Section};
use crate::pages::{Params, Rendered, logs_page, metrics_page, trace_page, traces_page};
use crate::viewer::Viewer;

/// Pages computed at once per viewer.
pub const MAX_CONCURRENT_PAGES: usize = 4;

/// The policy on every viewer response: own assets only, no script, no inline style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A response, independent of any HTTP library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Further headers.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for `HEAD`).
    pub body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>, cache: &str) -> Response {
        Response {
            status,
            content_type,
            headers: vec![
                (
                    "content-security-policy",
                    CONTENT_SECURITY_POLICY.to_owned(),
                ),
                ("x-content-type-options", "nosniff".to_owned()),
                ("referrer-policy", "no-referrer".to_owned()),
                ("cache-control", cache.to_owned()),
            ],
            body,
        }
    }

    fn text(status: u16, body: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
            "no-store",
        )
    }
}

/// Decrements the in-flight count on every exit path.
struct Slot<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether `path` is one the viewer serves (`/ui` and below).
pub fn serves(path: &str) -> bool {
    path == "/ui" || path.starts_with("/ui/")
}

impl Viewer {
    /// Answers `method` on `target` (path and optional `?query`). Blocking (it reads files):
    /// run it on a blocking thread.
    pub fn respond(&self, method: &str, target: &str) -> Response {
        let head = method.eq_ignore_ascii_case("HEAD");
        if !head && !method.eq_ignore_ascii_case("GET") {
            let mut r = Response::text(405, "method not allowed\n");
            r.headers.push(("allow", "GET, HEAD".to_owned()));
            return r;
        }
        let mut response = self.route(target);
        if head {
            response.body.clear();
        }
        response
    }

    fn route(&self, target: &str) -> Response {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        match path {
            "/ui/assets/style.css" => {
                return Response::new(
                    200,
                    "text/css; charset=utf-8",
                    STYLE_CSS.as_bytes().to_vec(),
                    "max-age=300",
                );
            }
            "/ui/assets/icon.svg" => {
                return Response::new(
                    200,
                    "image/svg+xml",
                    ICON_SVG.as_bytes().to_vec(),
                    "max-age=300",
                );
            }
            _ => {}
        }
        let in_flight = &self.inner.in_flight;
        if in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_CONCURRENT_PAGES {
            in_flight.fetch_sub(1, Ordering::AcqRel);
            let mut r = Response::text(503, "the viewer is busy: retry in a second\n");
            r.headers.push(("retry-after", "1".to_owned()));
            return r;
        }
        let _slot = Slot(in_flight);
        let started = self.now();
        let params = Params::parse(query);
        let rendered = match path {
            "/ui" | "/ui/" | "/ui/traces" | "/ui/traces/" => traces_page(self, &params),
            "/ui/metrics" | "/ui/metrics/" => metrics_page(self, &params),
            "/ui/logs" | "/ui/logs/" => logs_page(self, &params),
            p => match p.strip_prefix("/ui/traces/") {
                Some(id) => trace_page(self, &crate::pages::url_decode(id)),
                None => {
                    let mut page = Page::new("Not found", Section::Traces);
                    page.el("h1", "Not found");
                    page.alert(&format!("The viewer has no page at {p}."));
                    Ok(Rendered { status: 404, page })
                }
            },
        };
        let mut rendered = rendered.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "otlp-spool viewer: reading the spool failed");
            let mut page = Page::new("Error", Section::Traces);
            page.el("h1", "The spool could not be read");
            page.alert(&e.to_string());
            Rendered { status: 500, page }
        });
        if let Some(p) = &self.inner.opts.pending {
            rendered.page.pending = Some(p.pending(rendered.page.section.signal()));
        }
        let elapsed = self
            .now()
            .duration_since(started)
            .map(|d| d.as_millis())
            .ok();
        let html = rendered
            .page
            .render(&self.root().display().to_string(), elapsed);
        Response::new(
            rendered.status,
            "text/html; charset=utf-8",
            html.into_bytes(),
            "no-store",
        )
    }
}
