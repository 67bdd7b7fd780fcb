//! Uploads: keys, single and multipart puts, the manifest, restarts, delete_after_upload,
//! objects that are already there.

use std::time::Duration;

use otlp_spool_upload::{INSTANCE_ID_FILE, MANIFEST_FILE, Uploader};

use crate::support::{Lake, PREFIX, assert_uploaded, bounded, content, key_of, spool_file};

const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_land_under_hive_keys_once_and_survive_a_restart() {
    bounded(async {
        let lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        let small = spool_file(dir.path(), "traces", "20261227T033000Z", 0, 3000);
        let large = spool_file(dir.path(), "logs", "20261227T040500Z", 1, 12 * MIB);
        let options = || {
            lake.options()
                .multipart_threshold(8 << 20)
                .part_size(5 << 20)
        };
        let uploader = lake.start(dir.path(), options());
        let id = uploader.instance_id().to_owned();
        uploader.sync(Duration::from_secs(60)).await.unwrap();
        let mut expected = vec![key_of(&id, &small), key_of(&id, &large)];
        expected.sort();
        assert_eq!(lake.keys(), expected, "no staging object is left behind");
        assert!(expected[0].starts_with(&format!("{PREFIX}/logs/date=2026-12-27/hour=04/{id}-")));
        assert_uploaded(&lake, &id, &[small.clone(), large.clone()]);
        let s = uploader.stats();
        assert_eq!(
            (s.uploaded_files, s.multipart_uploads, s.failures),
            (2, 1, 0)
        );
        assert_eq!(s.uploaded_bytes, (3000 + 12 * MIB) as u64);
        assert_eq!((s.pending_files, s.pending_bytes), (0, 0));
        assert!(uploader.state().is_uploaded(&small) && uploader.state().is_uploaded(&large));
        let manifest = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
        assert!(manifest.contains("traces/traces-20261227T033000Z-000000.parquet\n"));
        assert!(manifest.contains("logs/logs-20261227T040500Z-000001.parquet\n"));
        let mut text = String::new();
        uploader.render_metrics(&mut text);
        assert!(text.contains("otlp_spool_upload_files_total 2\n"), "{text}");
        assert!(
            text.contains("otlp_spool_upload_breaker_state 0\n"),
            "{text}"
        );
        uploader.shutdown(Duration::from_secs(5)).await;

        // A restart keeps the instance id and uploads nothing again. The state handed in (as
        // a retention guard would hold it) knows the earlier uploads as soon as it starts.
        let guard = std::sync::Arc::new(otlp_spool_upload::UploadState::default());
        assert!(!guard.is_uploaded(&small));
        let again =
            Uploader::start_sharing(dir.path(), options().build().unwrap(), guard.clone()).unwrap();
        assert!(guard.is_uploaded(&small) && guard.is_uploaded(&large));
        assert_eq!(again.instance_id(), id);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(INSTANCE_ID_FILE))
                .unwrap()
                .trim(),
            id
        );
        again.sync(Duration::from_secs(30)).await.unwrap();
        assert_eq!(again.stats().uploaded_files, 0);
        assert!(again.state().is_uploaded(&small));
        again.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_after_upload_deletes_only_confirmed_files() {
    bounded(async {
        let lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<_> = (0..3)
            .map(|i| {
                spool_file(
                    dir.path(),
                    "metrics",
                    "20261227T100000Z",
                    i,
                    1000 + i as usize,
                )
            })
            .collect();
        let kept: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        let uploader = lake.start(dir.path(), lake.options().delete_after_upload(true));
        uploader.sync(Duration::from_secs(30)).await.unwrap();
        for (file, bytes) in files.iter().zip(&kept) {
            assert!(
                !file.exists(),
                "{} was deleted after its upload",
                file.display()
            );
            let key = key_of(uploader.instance_id(), file);
            assert_eq!(&lake.server.object_bytes(&key).unwrap(), bytes);
        }
        let s = uploader.stats();
        assert_eq!((s.uploaded_files, s.deleted_after_upload), (3, 3));
        uploader.shutdown(Duration::from_secs(5)).await;
        // The next start compacts the manifest down to the files that still exist: none.
        let again = lake.start(dir.path(), lake.options());
        let manifest = std::fs::read_to_string(dir.path().join(MANIFEST_FILE)).unwrap();
        assert!(!manifest.contains("metrics/"), "{manifest}");
        again.shutdown(Duration::from_secs(1)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_objects_are_recognised_or_counted_as_conflicts_never_overwritten() {
    bounded(async {
        let lake = Lake::new();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(INSTANCE_ID_FILE), "node-a\n").unwrap();
        let same = spool_file(dir.path(), "traces", "20261227T030000Z", 0, 2000);
        let other = spool_file(dir.path(), "traces", "20261227T030000Z", 1, 2000);
        let shorter = spool_file(dir.path(), "traces", "20261227T030000Z", 2, 2000);
        let large_same = spool_file(dir.path(), "logs", "20261227T030000Z", 3, 6 * MIB);
        // What a crashed earlier run (or a clone of this directory) left in the bucket.
        let bucket = |key: &str, bytes: &[u8]| lake.server.put_raw(key, bytes).unwrap();
        bucket(&key_of("node-a", &same), &std::fs::read(&same).unwrap());
        let foreign = content("someone else", 2000);
        bucket(&key_of("node-a", &other), &foreign);
        bucket(&key_of("node-a", &shorter), &foreign[..100]);
        bucket(
            &key_of("node-a", &large_same),
            &std::fs::read(&large_same).unwrap(),
        );

        let uploader = lake.start(dir.path(), lake.options().multipart_threshold(5 << 20));
        assert_eq!(uploader.instance_id(), "node-a");
        uploader.sync(Duration::from_secs(60)).await.unwrap();
        let s = uploader.stats();
        assert_eq!(
            (s.uploaded_files, s.already_present, s.conflicts),
            (2, 2, 2)
        );
        assert_eq!(s.pending_files, 0);
        assert!(uploader.state().is_uploaded(&same) && uploader.state().is_uploaded(&large_same));
        assert!(!uploader.state().is_uploaded(&other) && !uploader.state().is_uploaded(&shorter));
        assert_eq!(
            lake.server.object_bytes(&key_of("node-a", &other)).unwrap(),
            foreign
        );
        assert_eq!(
            lake.server
                .object_bytes(&key_of("node-a", &shorter))
                .unwrap(),
            &foreign[..100]
        );
        assert!(
            other.exists() && shorter.exists(),
            "conflicted files stay local"
        );
        uploader.shutdown(Duration::from_secs(5)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_problems_are_clear_errors() {
    let lake = Lake::new();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(INSTANCE_ID_FILE), "../../escape").unwrap();
    let err = Uploader::start(dir.path(), lake.options().build().unwrap()).unwrap_err();
    assert!(err.to_string().contains("is not an instance id"), "{err}");
    // Outside a runtime.
    let options = lake.options().build().unwrap();
    let other = tempfile::tempdir().unwrap();
    let err = std::thread::spawn(move || Uploader::start(other.path(), options).unwrap_err())
        .join()
        .unwrap();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}
