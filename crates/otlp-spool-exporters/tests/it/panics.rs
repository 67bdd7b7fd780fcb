//! A delivery that panics costs its batch, counted, and never the worker: the next batches
//! are delivered by the same forwarder. Panics are injected through the hidden test hook.

use std::time::Duration;

use otlp_spool_core::Sink;
use otlp_spool_exporters::{Forwarder, Protocol};

use crate::common::{endpoint_of, eventually, start_receiver, traces};

#[tokio::test]
async fn a_panicking_delivery_drops_its_batch_counted_and_the_worker_goes_on() {
    tokio::time::timeout(Duration::from_secs(30), async {
        let (receiver, sink) = start_receiver(|b| b).await;
        let forwarder = Forwarder::builder()
            .endpoint(endpoint_of(&receiver, Protocol::Grpc, "http"))
            .protocol(Protocol::Grpc)
            .concurrency(1)
            .build()
            .unwrap();
        forwarder.inject_panics(3);
        for n in 0..3 {
            forwarder.accept(traces(&format!("doomed-{n}"), 5)).unwrap();
            assert!(
                eventually(Duration::from_secs(5), || forwarder.stats().panics == n + 1).await,
                "{:?}",
                forwarder.stats()
            );
        }
        let stats = forwarder.stats();
        assert_eq!((stats.panics, stats.consecutive_panics), (3, 3));
        assert_eq!(stats.dropped_items, 15);

        // The same single worker delivers the next batch, and the streak resets.
        forwarder.accept(traces("survivor", 4)).unwrap();
        assert!(forwarder.flush(Duration::from_secs(10)).await);
        let stats = forwarder.stats();
        assert_eq!(stats.forwarded_items, 4);
        assert_eq!(stats.consecutive_panics, 0);
        assert_eq!(stats.settled_items(), stats.accepted_items);
        assert_eq!(sink.items(), 4);
        let report = forwarder.shutdown(Duration::from_secs(5)).await;
        assert!(report.drained);
    })
    .await
    .expect("test timed out");
}
