//! The object_store client for the lake: `AmazonS3` on the rustls connector of `http.rs`,
//! create-only puts (`If-None-Match: *`) and create-only copies (`S3CopyIfNotExists::Multipart`:
//! a one-part multipart upload completed with `If-None-Match: *`).
//!
//! Invariants: object_store's own retries are off (the uploader retries with its back-off
//! behind its circuit breaker, so an outage is seen by the breaker and not hidden inside one
//! call); requests are path-style against a custom endpoint; payloads are signed (SigV4
//! covers the body's SHA-256), so a corrupted body is refused by the server.

use std::sync::Arc;

use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut, S3CopyIfNotExists};
use object_store::{ClientOptions, RetryConfig};

use crate::error::StartError;
use crate::http::RustlsConnector;
use crate::options::UploadOptions;

/// The store and a description of where its credentials came from (for the start-up log).
pub(crate) fn build(
    options: &UploadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Arc<AmazonS3>, String), StartError> {
    let resolved = options
        .credentials
        .resolve(options.region.as_deref(), env)?;
    let connector = RustlsConnector::new(options.request_timeout).map_err(StartError::Client)?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(options.destination.bucket())
        .with_region(resolved.region.as_deref().unwrap_or("us-east-1"))
        .with_http_connector(connector)
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(options.allow_http)
                .with_timeout(options.request_timeout),
        )
        .with_retry(RetryConfig {
            max_retries: 0,
            retry_timeout: options.request_timeout,
            ..RetryConfig::default()
        })
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        .with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
    }
    if let Some(keys) = resolved.keys {
        builder = builder
            .with_access_key_id(keys.key_id)
            .with_secret_access_key(keys.secret);
        if let Some(token) = keys.token {
            builder = builder.with_token(token);
        }
    }
    for (key, value) in resolved.passthrough {
        builder = builder.with_config(key, value);
    }
    let store = builder
        .build()
        .map_err(|e| StartError::Client(e.to_string()))?;
    Ok((Arc::new(store), resolved.source))
}
