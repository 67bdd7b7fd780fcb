//! Faults: an upload cut short in flight, and an outage of the server.

use std::time::Duration;

use otlp_spool_breaker::State;

use crate::support::{Lake, assert_uploaded, bounded, key_of, spool_file};

const MIB: usize = 1 << 20;

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The uploader is stopped while a put and a part upload are in flight (held by the server):
/// its connections drop, as at a crash. Nothing partial becomes visible, and the next start
/// finishes both files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_short_leaves_no_partial_object_and_is_redone() {
    bounded(async {
        let lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        let small = spool_file(dir.path(), "traces", "20261227T033000Z", 0, 64 * 1024);
        let large = spool_file(dir.path(), "traces", "20261227T033000Z", 1, 11 * MIB);
        let options = || {
            lake.options()
                .concurrency(2)
                .multipart_threshold(5 << 20)
                .part_size(5 << 20)
        };
        lake.server.hold_writes(true);
        let uploader = lake.start(dir.path(), options());
        let id = uploader.instance_id().to_owned();
        wait_for("two writes in flight", || lake.server.held_writes() >= 2).await;
        let report = uploader.shutdown(Duration::ZERO).await;
        assert_eq!((report.uploaded_files, report.pending_files), (0, 2));
        // The server now goes on with what it received from the dropped connections.
        lake.server.hold_writes(false);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let large_key = key_of(&id, &large);
        for (key, _) in lake.server.objects() {
            assert_ne!(
                key, large_key,
                "an unfinished multipart upload is never visible"
            );
            if key == key_of(&id, &small) {
                // The put's whole body had arrived: a complete object, the same bytes.
                assert_uploaded(&lake, &id, std::slice::from_ref(&small));
            } else {
                panic!("unexpected object {key}");
            }
        }

        let again = lake.start(dir.path(), options());
        again.sync(Duration::from_secs(60)).await.unwrap();
        assert_uploaded(&lake, &id, &[small.clone(), large.clone()]);
        let s = again.stats();
        assert_eq!((s.uploaded_files, s.conflicts, s.pending_files), (2, 0, 0));
        let mut keys = lake.keys();
        keys.retain(|k| k.contains("/_staging/"));
        assert!(keys.is_empty(), "staging objects are removed: {keys:?}");
        again.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_opens_the_breaker_and_recovery_uploads_everything() {
    bounded(async {
        let mut lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        lake.server.stop();
        let files: Vec<_> = (0..5)
            .map(|i| spool_file(dir.path(), "logs", "20261227T120000Z", i, 4096))
            .collect();
        let uploader = lake.start(dir.path(), lake.options());
        wait_for("failures and an open breaker", || {
            let s = uploader.stats();
            s.failures >= 3 && s.breaker_state != State::Closed
        })
        .await;
        let during = uploader.stats();
        assert_eq!(during.uploaded_files, 0);
        assert_eq!(during.pending_files, 5);
        let mut text = String::new();
        uploader.render_metrics(&mut text);
        assert!(
            text.contains("otlp_spool_upload_pending_files 5\n"),
            "{text}"
        );
        assert!(
            !text.contains("otlp_spool_upload_failures_total 0\n"),
            "{text}"
        );

        lake.server.restart().unwrap();
        uploader.sync(Duration::from_secs(60)).await.unwrap();
        let s = uploader.stats();
        assert_eq!((s.uploaded_files, s.pending_files), (5, 0));
        assert_eq!(s.breaker_state, State::Closed);
        assert_uploaded(&lake, uploader.instance_id(), &files);
        uploader.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}

/// A file deleted before its upload (retention's disk budget) is counted once, whether the
/// retention report or a scan notices first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_deleted_before_upload_are_counted() {
    bounded(async {
        let mut lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        lake.server.stop();
        let a = spool_file(dir.path(), "traces", "20261227T010000Z", 0, 100);
        let b = spool_file(dir.path(), "traces", "20261227T010000Z", 1, 100);
        let uploader = lake.start(dir.path(), lake.options().concurrency(1));
        // With the breaker open no attempt is reading a file (an attempt that read it before
        // the deletion could still deliver it, rightly).
        wait_for("both files pending, breaker open", || {
            let s = uploader.stats();
            s.pending_files == 2 && s.breaker_state == State::Open
        })
        .await;
        std::fs::remove_file(&a).unwrap();
        std::fs::remove_file(&b).unwrap();
        // The retention adapter reports b; a scan finds a (or b first) missing.
        uploader
            .state()
            .count_deleted_before_upload(std::slice::from_ref(&b));
        lake.server.restart().unwrap();
        uploader.sync(Duration::from_secs(60)).await.unwrap();
        uploader
            .state()
            .count_deleted_before_upload(&[a.clone(), b.clone()]);
        let s = uploader.stats();
        assert_eq!(
            (s.deleted_before_upload, s.uploaded_files, s.pending_files),
            (2, 0, 0)
        );
        uploader.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}
