//! The HTTP extension point: extra paths on the HTTP port, behind the `/metrics` token rule,
//! never shadowing the receiver's own paths.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use otlp_spool_receiver::{ExtensionFuture, HttpExtension};
use tonic::codegen::http::{Request, Response};

use crate::support::*;

/// Answers every path under `/x` with its method, path and query.
struct Echo;

impl HttpExtension for Echo {
    fn serves(&self, path: &str) -> bool {
        path.starts_with("/x") || path == "/metrics"
    }

    fn call(&self, request: Request<()>) -> ExtensionFuture {
        let text = format!("{} {}", request.method(), request.uri());
        Box::pin(async move {
            Response::builder()
                .status(201)
                .header("content-type", "text/plain")
                .body(Bytes::from(text))
                .unwrap()
        })
    }
}

#[tokio::test]
async fn extension_paths_are_served_with_the_token_rule() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let server = start_with(
            builder()
                .http_extension(Arc::new(Echo))
                .bearer_token("s3cret"),
        )
        .await;
        let get = |path: &'static str, auth: Option<&'static str>| {
            let mut r = client().get(server.http_url(path));
            if let Some(a) = auth {
                r = r.header("authorization", a);
            }
            send(r)
        };
        let reply = get("/x/page?a=1", Some("Bearer s3cret")).await;
        assert_eq!(
            (reply.status, reply.text()),
            (201, "GET /x/page?a=1".to_owned())
        );
        assert_eq!(reply.header("content-type"), Some("text/plain"));
        assert_eq!(get("/x/page", None).await.status, 401);
        assert_eq!(get("/x/page", Some("Bearer nope")).await.status, 401);
        // The receiver's own paths win, and unclaimed paths stay 404.
        let metrics = get("/metrics", Some("Bearer s3cret")).await;
        assert!(
            metrics.text().contains("otlp_spool_receiver"),
            "{}",
            metrics.text()
        );
        assert_eq!(get("/health", None).await.status, 200);
        assert_eq!(get("/elsewhere", Some("Bearer s3cret")).await.status, 404);
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn without_an_extension_unknown_paths_are_404() {
    let server = start().await;
    assert_eq!(send(client().get(server.http_url("/x"))).await.status, 404);
}
