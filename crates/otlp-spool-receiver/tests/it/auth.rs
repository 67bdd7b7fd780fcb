//! Bearer token: required on export requests (both transports) and /metrics; probes open.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use otlp_spool_receiver::RejectReason;
use prost::Message;
use tonic::Code;
use tonic::metadata::MetadataValue;

use crate::support::*;

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_unauthenticated() {
    let server = start_with(builder().bearer_token("s3cret")).await;
    let body = traces(vec![good_span(1, "x")]).encode_to_vec();
    let export = |auth: Option<&'static str>| {
        let mut request = client()
            .post(server.http_url("/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        send(request)
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic czNjcmV0"),
        Some("Bearer s3cret2"),
        Some("Bearer"),
    ] {
        let reply = export(auth).await;
        assert_eq!(reply.status, 401, "{auth:?}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(export(Some("Bearer s3cret")).await.status, 200);
    assert_eq!(
        export(Some("bearer s3cret")).await.status,
        200,
        "the scheme is case-insensitive"
    );

    let channel = crate::grpc::channel(&server).await;
    let status = TraceServiceClient::new(channel.clone())
        .export(traces(vec![good_span(1, "x")]))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut wrong = tonic::Request::new(traces(vec![good_span(1, "x")]));
    wrong
        .metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer nope"));
    let status = TraceServiceClient::new(channel.clone())
        .export(wrong)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut right = tonic::Request::new(traces(vec![good_span(1, "x")]));
    right
        .metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer s3cret"));
    TraceServiceClient::new(channel)
        .export(right)
        .await
        .expect("authorized");

    assert_eq!(server.sink.calls(), 3, "only the authorized requests");
    assert_eq!(
        server
            .running
            .metrics()
            .rejected_requests(RejectReason::Unauthenticated),
        7
    );

    // Probes stay open; metrics need the token.
    assert_eq!(
        send(client().get(server.http_url("/health"))).await.status,
        200
    );
    assert_eq!(
        send(client().get(server.http_url("/ready"))).await.status,
        200
    );
    assert_eq!(
        send(client().get(server.http_url("/metrics"))).await.status,
        401
    );
    let metrics = send(
        client()
            .get(server.http_url("/metrics"))
            .header("authorization", "Bearer s3cret"),
    )
    .await;
    assert_eq!(metrics.status, 200);
}

#[test]
fn bad_tokens_are_refused_at_build() {
    use otlp_spool_receiver::{BuildError, Receiver};
    for token in ["", "has space", "tab\t", "é"] {
        let error = Receiver::builder().bearer_token(token).build().unwrap_err();
        assert!(matches!(error, BuildError::InvalidBearerToken), "{token:?}");
    }
    let ok = Receiver::builder().bearer_token("abc.DEF-123_~+/=").build();
    assert!(ok.is_ok());
    assert!(!format!("{:?}", Receiver::builder().bearer_token("hidden")).contains("hidden"));
}
