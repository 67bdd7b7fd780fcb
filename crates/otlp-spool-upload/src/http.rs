//! The HTTP client object_store talks through: hyper-util's pooled client over hyper-rustls
//! on rustls' *ring* provider (the stack the forwarder already uses), so neither reqwest nor
//! aws-lc is built.
//!
//! Invariants: `https` endpoints are verified against the system roots (read once, at
//! start); a plain `http` request is sent only when object_store's options for that client
//! allow it (the uploader allows it only for a loopback endpoint; credential endpoints such as
//! instance metadata set it themselves); every request is bounded by the request timeout;
//! transport failures become `HttpError`s with the kind object_store's retry logic expects,
//! never panics.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use object_store::ClientConfigKey;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpResponseBody, HttpService,
};
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

type Pool = Client<hyper_rustls::HttpsConnector<TcpConnector>, HttpRequestBody>;

/// Builds one pooled client per store; object_store asks it for an [`HttpClient`] per use
/// (the store itself, credential providers).
#[derive(Debug, Clone)]
pub(crate) struct RustlsConnector {
    pool: Pool,
    timeout: Duration,
}

impl RustlsConnector {
    pub(crate) fn new(timeout: Duration) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        let (added, _ignored) = roots.add_parsable_certificates(native.certs);
        if added == 0 {
            tracing::warn!(
                "upload: no system root certificates found; https endpoints will fail to verify"
            );
        }
        let tls = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = TcpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(timeout.min(Duration::from_secs(10))));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let pool = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(https);
        Ok(Self { pool, timeout })
    }
}

impl HttpConnector for RustlsConnector {
    fn connect(&self, options: &object_store::ClientOptions) -> object_store::Result<HttpClient> {
        let allow_http = options
            .get_config_value(&ClientConfigKey::AllowHttp)
            .is_some_and(|v| v == "true");
        Ok(HttpClient::new(Service {
            pool: self.pool.clone(),
            timeout: self.timeout,
            allow_http,
        }))
    }
}

#[derive(Debug)]
struct Service {
    pool: Pool,
    timeout: Duration,
    allow_http: bool,
}

#[async_trait]
impl HttpService for Service {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        if !self.allow_http && request.uri().scheme_str() != Some("https") {
            return Err(HttpError::new(
                HttpErrorKind::Connect,
                std::io::Error::other("plain http is not allowed for this endpoint"),
            ));
        }
        let response = match tokio::time::timeout(self.timeout, self.pool.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let kind = if e.is_connect() {
                    HttpErrorKind::Connect
                } else {
                    HttpErrorKind::Request
                };
                return Err(HttpError::new(kind, e));
            }
            Err(_) => {
                return Err(HttpError::new(
                    HttpErrorKind::Timeout,
                    std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no response within {:?}", self.timeout),
                    ),
                ));
            }
        };
        let (parts, body) = response.into_parts();
        let body = body.map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e));
        Ok(HttpResponse::from_parts(parts, HttpResponseBody::new(body)))
    }
}
