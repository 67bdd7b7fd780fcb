//! The standalone server on a real loopback port, spoken to over a raw TCP connection.

use std::time::Duration;

use otlp_spool_viewer::{Viewer, ViewerServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::standard;

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn serves_pages_over_http_and_stops() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = standard();
        let server = ViewerServer::bind(Viewer::new(dir.path()), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = server.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let page = http_get(addr, "/ui/traces/03030303030303030303030303030303").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(
            page.to_ascii_lowercase()
                .contains("content-security-policy: default-src 'none'")
        );
        assert!(page.contains("POST /pay"));
        let root = http_get(addr, "/").await;
        assert!(
            root.starts_with("HTTP/1.1 302") && root.contains("location: /ui"),
            "{root}"
        );
        assert!(
            http_get(addr, "/v1/traces")
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            http_get(addr, "/ui/logs?q=deadlock")
                .await
                .contains("payment failed: deadlock")
        );
        stop.send(()).unwrap();
        task.await.unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "still accepting"
        );
    })
    .await
    .expect("bounded");
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = ViewerServer::bind(Viewer::new("."), addr)
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
