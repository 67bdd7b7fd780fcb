//! The queries against files written by today's writer.

use otlp_spool_storage::traces_to_arrow;
use otlp_spool_viewer::{LogQuery, MetricQuery, TraceQuery, Viewer, ViewerOptions};

use crate::fixture::{MS, Request, T0, standard, store, trace, traces, write_files};

fn hex_id(n: u8) -> String {
    format!("{n:02x}").repeat(16)
}

fn list(viewer: &Viewer, q: TraceQuery) -> Vec<(String, String, u32)> {
    viewer
        .traces(&q)
        .unwrap()
        .traces
        .into_iter()
        .map(|t| (t.root_name, t.service, t.spans))
        .collect()
}

#[test]
fn recent_traces_newest_first_with_their_roots_and_counts() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let all = viewer.traces(&TraceQuery::default()).unwrap();
    let names: Vec<&str> = all.traces.iter().map(|t| t.root_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "GET /cart",
            "DELETE /users/{id}",
            "GET /users",
            "POST /pay",
            "GET /users/{id}",
            "GET /cart"
        ]
    );
    let pay = &all.traces[3];
    assert_eq!(pay.trace_id, hex_id(3));
    assert_eq!((pay.spans, pay.errors, pay.duration), (4, 1, 100 * MS));
    assert_eq!(pay.start, T0 + 3_000 * MS);
    assert!(pay.root_found);
    assert_eq!(all.services, ["checkout", "users"]);
}

#[test]
fn trace_filters() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let q = TraceQuery::default;
    assert_eq!(
        list(
            &viewer,
            TraceQuery {
                service: Some("users".into()),
                ..q()
            }
        )
        .len(),
        3
    );
    assert_eq!(
        list(
            &viewer,
            TraceQuery {
                name: Some("users/{ID}".into()),
                ..q()
            }
        ),
        [
            ("DELETE /users/{id}".to_owned(), "users".to_owned(), 2),
            ("GET /users/{id}".to_owned(), "users".to_owned(), 2)
        ]
    );
    let since = TraceQuery {
        since: Some(T0 + 4_000 * MS),
        until: Some(T0 + 6_000 * MS),
        ..q()
    };
    assert_eq!(list(&viewer, since).len(), 2);
    let long = TraceQuery {
        min_duration: Some(101 * MS),
        ..q()
    };
    assert!(list(&viewer, long).is_empty());
    let one = TraceQuery { limit: 1, ..q() };
    assert_eq!(
        list(&viewer, one),
        [("GET /cart".to_owned(), "checkout".to_owned(), 5)]
    );
}

#[test]
fn a_trace_has_every_span_with_attributes_events_links_and_status() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let t = viewer
        .trace(&hex_id(3).to_uppercase())
        .unwrap()
        .expect("trace 3");
    assert_eq!(t.trace_id, hex_id(3));
    let names: Vec<&str> = t.spans.iter().map(|s| s.span.name.as_str()).collect();
    assert_eq!(
        names,
        ["POST /pay", "db query 0", "db query 1", "db query 2"]
    );
    let root = &t.spans[0];
    assert_eq!(root.service, "checkout");
    assert_eq!(root.scope, "fixture 1.0");
    assert_eq!(root.span.events[0].name, "cache miss");
    assert_eq!(root.span.links[0].trace_id, vec![0xee; 16]);
    assert_eq!(t.spans[3].span.status.as_ref().unwrap().message, "deadlock");
    // Only the one file holding it was decoded; the other two were skipped by the index.
    assert_eq!((t.work.files_scanned - 3, t.work.files_skipped), (1, 2));
    let again = viewer.trace(&hex_id(3)).unwrap().unwrap();
    assert_eq!((again.work.files_scanned, again.work.files_skipped), (1, 2));
    assert!(viewer.trace(&hex_id(9)).unwrap().is_none());
    assert!(viewer.trace("not hex").unwrap().is_none());
}

#[test]
fn the_index_makes_a_second_list_free() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let first = viewer.traces(&TraceQuery::default()).unwrap().work;
    assert_eq!(first.files_scanned, 3);
    let second = viewer.traces(&TraceQuery::default()).unwrap().work;
    assert_eq!((second.files, second.files_scanned), (3, 0));
    let (summaries, _, agg_bytes) = viewer.index_stats();
    assert_eq!(summaries, 3);
    assert!(agg_bytes > 0);
}

#[test]
fn a_spent_budget_leaves_older_files_unread_and_says_so() {
    let dir = standard();
    let viewer = Viewer::with_options(dir.path(), ViewerOptions::default().scan_budget(1));
    let q = TraceQuery {
        service: Some("nobody".into()),
        ..TraceQuery::default()
    };
    let w = viewer.traces(&q).unwrap().work;
    assert_eq!((w.files_scanned, w.files_left), (1, 2));
}

#[test]
fn metric_series_one_per_attribute_set() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let names: Vec<String> = viewer
        .metric_names()
        .unwrap()
        .metrics
        .into_iter()
        .map(|m| format!("{} {} {} {}", m.name, m.kind, m.unit, m.points))
        .collect();
    assert_eq!(
        names,
        [
            "cpu.temp gauge Cel 5",
            "http.requests sum 1 10",
            "latency histogram ms 5"
        ]
    );

    let m = viewer
        .metric_series(&MetricQuery::new("http.requests"))
        .unwrap();
    assert_eq!((m.kind.as_str(), m.value_label.as_str()), ("sum", "value"));
    let keys: Vec<&str> = m.series.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(keys, ["route=/orders", "route=/users"]);
    // Two files (services checkout: 3 points, users: 2), oldest first within a series.
    let times: Vec<u64> = m.series[1]
        .points
        .iter()
        .map(|p| (p.0 - T0) / (1000 * MS))
        .collect();
    assert_eq!(times, [0, 0, 1, 1, 2]);
    assert_eq!(m.series[1].points.last().unwrap().1, 30.0);

    let h = viewer.metric_series(&MetricQuery::new("latency")).unwrap();
    assert_eq!(h.value_label, "mean (sum / count)");
    assert_eq!(h.series[0].key, "(no attributes)");
    assert_eq!(h.series[0].points[0].1, 25.0);

    let only = MetricQuery {
        service: Some("users".into()),
        ..MetricQuery::new("cpu.temp")
    };
    assert_eq!(
        viewer.metric_series(&only).unwrap().series[0].points.len(),
        2
    );
    assert!(
        viewer
            .metric_series(&MetricQuery::new("nope"))
            .unwrap()
            .series
            .is_empty()
    );
}

#[test]
fn log_search() {
    let dir = standard();
    let viewer = Viewer::new(dir.path());
    let bodies = |q: LogQuery| -> Vec<String> {
        viewer
            .logs(&q)
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.body)
            .collect()
    };
    let q = LogQuery::default;
    assert_eq!(
        bodies(q()),
        [
            "cache warm",
            "payment failed: deadlock",
            "payment slow: retrying",
            "cart loaded"
        ]
    );
    assert_eq!(
        bodies(LogQuery {
            min_severity: Some(13),
            ..q()
        }),
        ["payment failed: deadlock", "payment slow: retrying"]
    );
    assert_eq!(
        bodies(LogQuery {
            text: Some("PAYMENT F".into()),
            ..q()
        }),
        ["payment failed: deadlock"]
    );
    assert_eq!(
        bodies(LogQuery {
            trace_id: Some(hex_id(3)),
            ..q()
        })
        .len(),
        2
    );
    assert!(
        bodies(LogQuery {
            service: Some("users".into()),
            ..q()
        })
        .is_empty()
    );
    let one = viewer.logs(&LogQuery { limit: 1, ..q() }).unwrap();
    assert_eq!(one.rows.len(), 1);
    let r = &viewer
        .logs(&LogQuery {
            text: Some("cart".into()),
            ..q()
        })
        .unwrap()
        .rows[0];
    assert_eq!(
        (r.severity.as_str(), r.service.as_str()),
        ("INFO", "checkout")
    );
    assert_eq!(r.trace_id, hex_id(1));
    assert_eq!(r.attributes, [("thread".to_owned(), "0".to_owned())]);
}

#[test]
fn batches_still_being_written_are_visible() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    write_files(
        &store,
        vec![Request::Traces(traces(vec![trace(
            1, "a", "done", 0, false,
        )]))],
    );
    // A second write without rotation: it sits in the active `.tmp` file.
    store
        .writer(otlp_spool_storage::Signal::Traces)
        .write(traces_to_arrow(&traces(vec![trace(2, "a", "in flight", 1, false)])).unwrap())
        .unwrap();
    let viewer = Viewer::new(dir.path());
    let names: Vec<String> = viewer
        .traces(&TraceQuery::default())
        .unwrap()
        .traces
        .into_iter()
        .map(|t| t.root_name)
        .collect();
    assert_eq!(names, ["in flight", "done"]);
    assert_eq!(viewer.trace(&hex_id(2)).unwrap().unwrap().spans.len(), 2);
    let finalized_only =
        Viewer::with_options(dir.path(), ViewerOptions::default().include_active(false));
    assert_eq!(
        finalized_only
            .traces(&TraceQuery::default())
            .unwrap()
            .traces
            .len(),
        1
    );
    // Once finalized it is read under its final name, counted once.
    store.close().unwrap();
    assert_eq!(
        viewer.traces(&TraceQuery::default()).unwrap().traces.len(),
        2
    );
}

#[test]
fn a_lookup_decodes_only_the_batches_holding_the_trace() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let writer = store.writer(otlp_spool_storage::Signal::Traces);
    // One file of ten batches, trace n in batch n - 1.
    for n in 1..=10 {
        let many: Vec<_> = (0..20)
            .map(|_| trace(n, "svc", "GET /x", 5, false))
            .collect();
        writer
            .write(traces_to_arrow(&traces(many)).unwrap())
            .unwrap();
    }
    store.close().unwrap();
    let viewer = Viewer::new(dir.path());
    viewer.traces(&TraceQuery::default()).unwrap(); // Builds the index.
    let file_bytes: u64 =
        otlp_spool_viewer::list_files(dir.path(), otlp_spool_storage::Signal::Traces, false)
            .unwrap()
            .iter()
            .map(|f| f.bytes)
            .sum();
    let t = viewer.trace(&hex_id(7)).unwrap().expect("trace 7");
    assert_eq!(t.spans.len(), 20 * 6);
    assert_eq!(t.work.files_scanned, 1);
    assert!(
        t.work.bytes_scanned * 5 < file_bytes,
        "read {} of {file_bytes} bytes",
        t.work.bytes_scanned
    );
    let files =
        otlp_spool_viewer::list_files(dir.path(), otlp_spool_storage::Signal::Traces, false)
            .unwrap();
    assert_eq!(
        otlp_spool_viewer::row_count(&files[0]).unwrap(),
        10 * 20 * 6
    );
    // Logs of one trace: only the batches that mention it are filtered.
    let logs = viewer
        .logs(&LogQuery {
            trace_id: Some(hex_id(7)),
            ..LogQuery::default()
        })
        .unwrap();
    assert!(logs.rows.is_empty());
}

#[test]
fn rows_in_time_keeps_the_rows_of_the_range() {
    let dir = standard();
    let files =
        otlp_spool_viewer::list_files(dir.path(), otlp_spool_storage::Signal::Logs, false).unwrap();
    let batch = otlp_spool_viewer::read_batches(&files[0])
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let logs = otlp_spool_storage::Signal::Logs;
    let rows = |since, until| {
        otlp_spool_viewer::rows_in_time(logs, &batch, since, until)
            .unwrap()
            .num_rows()
    };
    assert_eq!(rows(None, None), 4);
    assert_eq!(rows(Some(T0 + 1_000 * MS), None), 3);
    assert_eq!(rows(Some(T0 + 1_000 * MS), Some(T0 + 3_000 * MS)), 2);
    assert_eq!(rows(Some(T0 + 10_000 * MS), None), 0);
}

#[test]
fn lengths_a_corrupt_file_claims_are_never_allocated() {
    let dir = standard();
    // A message header claiming 2 GiB of metadata, in a file of 12 bytes.
    std::fs::write(
        dir.path()
            .join("traces/traces-20991231T000000Z-000001.arrow"),
        b"\xff\xff\xff\xff\xff\xff\xff\x7fabcd",
    )
    .unwrap();
    let files =
        otlp_spool_viewer::list_files(dir.path(), otlp_spool_storage::Signal::Traces, false)
            .unwrap();
    assert_eq!(files[0].bytes, 12);
    // A damaged finalized file: an error naming it (nothing allocated for the claim).
    let err = otlp_spool_viewer::row_count(&files[0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("traces-20991231T000000Z-000001.arrow"),
        "{err}"
    );
    let viewer = Viewer::new(dir.path());
    assert!(viewer.trace(&hex_id(3)).unwrap().is_some());
}
