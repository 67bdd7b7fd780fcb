//! Many concurrent clients (JoinSet + Barrier at 10, 100, 1000, each under a timeout): every
//! acknowledged request reaches the sink exactly once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_spool_receiver::ExportRequest;
use prost::Message;
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;

use crate::support::*;

/// The names of every span the sink holds; panics on a duplicate.
fn names_once(server: &Server) -> HashSet<String> {
    let mut names = HashSet::new();
    for telemetry in server.sink.take() {
        let ExportRequest::Traces(request) = telemetry.decode().unwrap() else {
            panic!("not traces")
        };
        for span in request
            .resource_spans
            .iter()
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| &s.spans)
        {
            assert!(names.insert(span.name.clone()), "{} twice", span.name);
        }
    }
    names
}

async fn http_clients(tasks: usize, connections: usize) {
    let server = start().await;
    let client = client();
    let barrier = Arc::new(Barrier::new(tasks));
    // HTTP/1.1 needs a connection per request in flight: keep their number bounded.
    let connections = Arc::new(Semaphore::new(connections));
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let (client, barrier, connections) = (client.clone(), barrier.clone(), connections.clone());
        let url = server.http_url("/v1/traces");
        set.spawn(async move {
            let name = format!("http-{i}");
            let body = traces(vec![good_span((i % 250) as u8 + 1, &name)]).encode_to_vec();
            barrier.wait().await;
            let _slot = connections.acquire().await.unwrap();
            let reply = send(
                client
                    .post(url)
                    .header("content-type", "application/x-protobuf")
                    .body(body),
            )
            .await;
            (name, reply.status)
        });
    }
    let acknowledged = tokio::time::timeout(Duration::from_secs(30), async {
        let mut acknowledged = HashSet::new();
        while let Some(joined) = set.join_next().await {
            let (name, status) = joined.unwrap();
            assert_eq!(status, 200, "{name}");
            acknowledged.insert(name);
        }
        acknowledged
    })
    .await
    .expect("all HTTP requests answered in time");
    assert_eq!(acknowledged.len(), tasks);
    assert_eq!(names_once(&server), acknowledged);
}

async fn grpc_clients(tasks: usize) {
    let server = start().await;
    let channel = crate::grpc::channel(&server).await;
    let barrier = Arc::new(Barrier::new(tasks));
    let mut set = JoinSet::new();
    for i in 0..tasks {
        let (channel, barrier) = (channel.clone(), barrier.clone());
        set.spawn(async move {
            let name = format!("grpc-{i}");
            let request = traces(vec![good_span((i % 250) as u8 + 1, &name)]);
            barrier.wait().await;
            let result = TraceServiceClient::new(channel).export(request).await;
            (name, result.map(|_| ()).map_err(|s| s.code()))
        });
    }
    let acknowledged = tokio::time::timeout(Duration::from_secs(30), async {
        let mut acknowledged = HashSet::new();
        while let Some(joined) = set.join_next().await {
            let (name, result) = joined.unwrap();
            assert_eq!(result, Ok(()), "{name}");
            acknowledged.insert(name);
        }
        acknowledged
    })
    .await
    .expect("all gRPC requests answered in time");
    assert_eq!(acknowledged.len(), tasks);
    assert_eq!(names_once(&server), acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_10() {
    http_clients(10, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_100() {
    http_clients(100, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_1000_over_64_connections() {
    http_clients(1000, 64).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grpc_10() {
    grpc_clients(10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grpc_100() {
    grpc_clients(100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grpc_1000() {
    grpc_clients(1000).await;
}
