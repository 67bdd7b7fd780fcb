//! The HTML pages through `Viewer::respond`: what each shows, statuses, escaping, headers.

use otlp_spool_viewer::{CONTENT_SECURITY_POLICY, Response, Viewer};

use crate::fixture::standard;

fn get(viewer: &Viewer, target: &str) -> (u16, String) {
    let r = viewer.respond("GET", target);
    (r.status, String::from_utf8(r.body).expect("utf-8 HTML"))
}

fn check(viewer: &Viewer, target: &str, status: u16, contains: &[&str]) -> String {
    let (got, body) = get(viewer, target);
    assert_eq!(got, status, "{target}:\n{body}");
    for c in contains {
        assert!(body.contains(c), "{target} lacks {c:?}:\n{body}");
    }
    body
}

#[test]
fn trace_list_page() {
    let dir = standard();
    let v = Viewer::new(dir.path());
    let body = check(
        &v,
        "/ui",
        200,
        &[
            "<h1>Recent traces</h1>",
            "<label for=\"f-service\">Service</label>",
            "<option value=\"checkout\">checkout</option>",
            "href=\"/ui/traces/03030303030303030303030303030303\">POST /pay</a>",
            "<span class=\"err\">1</span>",
            "100.00 ms",
            "aria-current=\"page\">Traces</a>",
            "Looked at 3 files",
        ],
    );
    assert_eq!(body.matches("<tr>").count(), 7, "header + 6 traces");
    let filtered = check(
        &v,
        "/ui?service=users&name=%2Fusers&min_duration=50ms",
        200,
        &["GET /users"],
    );
    assert!(!filtered.contains("POST /pay"));
    check(
        &v,
        "/ui?since=yesterday",
        400,
        &["role=\"alert\"", "parameter `since`"],
    );
    check(&v, "/ui?limit=0", 400, &["parameter `limit`"]);
}

#[test]
fn trace_page_shows_waterfall_and_span_details() {
    let dir = standard();
    let v = Viewer::new(dir.path());
    let body = check(
        &v,
        "/ui/traces/03030303030303030303030303030303",
        200,
        &[
            "<table class=\"waterfall\">",
            "<span class=\"d0\"><a href=\"#span-0300000000000001\">POST /pay</a>",
            "<span class=\"d1\"><a href=\"#span-0303000000000002\">db query 2</a>",
            "ERROR: deadlock",
            "<code>http.route</code>",
            "cache miss",
            "href=\"/ui/traces/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"",
            "<summary>Resource</summary>",
            "href=\"/ui/logs?trace_id=03030303030303030303030303030303\"",
        ],
    );
    // Telemetry is escaped, never markup.
    assert!(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!body.contains("<script>"));
    check(
        &v,
        "/ui/traces/09090909090909090909090909090909",
        404,
        &["No span of this trace"],
    );
    check(&v, "/ui/traces/%3Cb%3E", 400, &["is not a hex trace id"]);
}

#[test]
fn metric_pages() {
    let dir = standard();
    let v = Viewer::new(dir.path());
    check(
        &v,
        "/ui/metrics",
        200,
        &[
            "href=\"/ui/metrics?name=http.requests\">http.requests</a>",
            "<td>histogram</td>",
        ],
    );
    let body = check(
        &v,
        "/ui/metrics?name=http.requests",
        200,
        &[
            "<figure class=\"chart\"><svg",
            "role=\"img\"",
            "<title id=\"chart-title\">http.requests</title>",
            "route=/orders",
            "route=/users",
            "<caption>Series</caption>",
        ],
    );
    assert_eq!(body.matches("<polyline").count(), 2);
    check(&v, "/ui/metrics?name=latency", 200, &["mean (sum / count)"]);
    check(
        &v,
        "/ui/metrics?name=nope",
        404,
        &["No points of this metric"],
    );
    check(
        &v,
        "/ui/metrics?name=latency&until=soon",
        400,
        &["parameter `until`"],
    );
}

#[test]
fn logs_page_links_to_traces() {
    let dir = standard();
    let v = Viewer::new(dir.path());
    check(
        &v,
        "/ui/logs?severity=warn",
        200,
        &[
            "payment failed: deadlock",
            "<span class=\"sev-error\">ERROR</span>",
            "href=\"/ui/traces/03030303030303030303030303030303#span-0300000000000001\"",
            "<option value=\"warn\" selected>",
        ],
    );
    let body = check(&v, "/ui/logs?q=cache", 200, &["cache warm"]);
    assert!(!body.contains("cart loaded"));
    check(&v, "/ui/logs?severity=loud", 400, &["parameter `severity`"]);
    check(&v, "/ui/logs?trace_id=zz", 400, &["parameter `trace_id`"]);
}

#[test]
fn methods_assets_headers_and_unknown_paths() {
    let dir = standard();
    let v = Viewer::new(dir.path());
    let r: Response = v.respond("POST", "/ui");
    assert_eq!(r.status, 405);
    let head = v.respond("HEAD", "/ui/logs");
    assert_eq!((head.status, head.body.len()), (200, 0));
    let css = v.respond("GET", "/ui/assets/style.css");
    assert_eq!(
        (css.status, css.content_type),
        (200, "text/css; charset=utf-8")
    );
    assert_eq!(
        v.respond("GET", "/ui/assets/icon.svg").content_type,
        "image/svg+xml"
    );
    let page = v.respond("GET", "/ui");
    assert!(
        page.headers
            .iter()
            .any(|(k, val)| *k == "content-security-policy" && val == CONTENT_SECURITY_POLICY)
    );
    check(&v, "/ui/nowhere", 404, &["no page at /ui/nowhere"]);
}

#[test]
fn an_empty_or_missing_directory_still_renders() {
    let dir = tempfile::tempdir().unwrap();
    let v = Viewer::new(dir.path().join("never-written"));
    check(&v, "/ui", 200, &["No traces found."]);
    check(&v, "/ui/metrics", 200, &["No metrics found."]);
    check(&v, "/ui/logs", 200, &["No log records found."]);
}

#[test]
fn a_corrupt_finalized_file_is_named_not_fatal() {
    let dir = standard();
    let traces = dir.path().join("traces");
    std::fs::write(
        traces.join("traces-20991231T000000Z-000001.arrow"),
        b"not arrow at all",
    )
    .unwrap();
    let v = Viewer::new(dir.path());
    // The list goes on from the other files (the broken one has no rows in its summary).
    check(&v, "/ui", 200, &["POST /pay"]);
}

#[derive(Debug)]
struct Lanes;

impl otlp_spool_viewer::Pending for Lanes {
    fn pending(&self, signal: otlp_spool_storage::Signal) -> (u64, u64) {
        match signal {
            otlp_spool_storage::Signal::Logs => (3, 2 << 20),
            _ => (0, 0),
        }
    }
}

#[test]
fn the_footer_counts_what_the_lanes_still_hold() {
    let dir = standard();
    let v = Viewer::with_options(
        dir.path(),
        otlp_spool_viewer::ViewerOptions::default().pending(std::sync::Arc::new(Lanes)),
    );
    check(
        &v,
        "/ui/logs",
        200,
        &["3 requests (2.0 MiB) are accepted and not written yet"],
    );
    let (_, traces) = get(&v, "/ui");
    assert!(!traces.contains("not written yet"));
}
