//! TLS (rustls): both ports serve TLS with ALPN h2 / http/1.1; bad files fail at build.

use std::path::PathBuf;
use std::sync::Arc;

use otlp_spool_receiver::{BuildError, Receiver};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use crate::support::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn connector(alpn: &[&[u8]]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixture("cert.pem")).unwrap())
        .unwrap();
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn https_export_and_h2_alpn_on_the_grpc_port() {
    let server = start_with(builder().tls(fixture("cert.pem"), fixture("key.pem"))).await;

    let tcp = tokio::net::TcpStream::connect(server.http()).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector(&[b"http/1.1"])
        .connect(name.clone(), tcp)
        .await
        .expect("handshake");
    let body = traces(vec![good_span(1, "over-tls")]).encode_to_vec();
    let head = format!(
        "POST /v1/traces HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    tls.write_all(&body).await.unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert_eq!(server.sink.items(), 1);

    let tcp = tokio::net::TcpStream::connect(server.grpc()).await.unwrap();
    let tls = connector(&[b"h2"])
        .connect(name, tcp)
        .await
        .expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));

    // Plain text on a TLS port gets nowhere, and the server carries on.
    let plain = client().get(server.http_url("/health")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[test]
fn unusable_tls_files_fail_at_build_naming_the_file() {
    let missing = Receiver::builder()
        .tls(fixture("nope.pem"), fixture("key.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(missing, BuildError::Tls { .. }));
    assert!(missing.to_string().contains("nope.pem"), "{missing}");
    // Certificate and key swapped.
    let swapped = Receiver::builder()
        .tls(fixture("key.pem"), fixture("cert.pem"))
        .build()
        .unwrap_err();
    assert!(matches!(swapped, BuildError::Tls { .. }), "{swapped}");
}
