//! [`ViewerServer`]: the viewer alone on an HTTP/1.1 port (`otlp-spool ui DIR`), without any
//! OTLP endpoint. The only tokio code of the crate: it accepts connections and runs
//! [`Viewer::respond`] on the blocking pool.
//!
//! Invariants: `/` redirects to `/ui`; other paths outside `/ui` are 404; a request never
//! reads a body (GET and HEAD only); stopping the server stops accepting at once.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::handler::serves;
use crate::viewer::Viewer;

/// The port could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("binding the viewer to {addr}: {source}")]
pub struct ServeError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// The error.
    pub source: std::io::Error,
}

/// A bound, not yet running viewer server.
#[derive(Debug)]
pub struct ViewerServer {
    listener: TcpListener,
    viewer: Viewer,
}

/// Turns a viewer [`crate::Response`] into a hyper response.
fn to_hyper(r: crate::Response) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(r.body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Ok(v) = hyper::header::HeaderValue::from_str(r.content_type) {
        headers.insert(hyper::header::CONTENT_TYPE, v);
    }
    for (name, value) in r.headers {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    response
}

async fn handle(
    viewer: Viewer,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    if path == "/" {
        let mut r = Response::new(Full::new(Bytes::new()));
        *r.status_mut() = hyper::StatusCode::FOUND;
        r.headers_mut().insert(
            hyper::header::LOCATION,
            hyper::header::HeaderValue::from_static("/ui"),
        );
        return Ok(r);
    }
    if !serves(path) {
        let mut r = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *r.status_mut() = hyper::StatusCode::NOT_FOUND;
        return Ok(r);
    }
    let method = request.method().as_str().to_owned();
    let target = request
        .uri()
        .path_and_query()
        .map_or_else(|| path.to_owned(), |pq| pq.as_str().to_owned());
    let answer = tokio::task::spawn_blocking(move || viewer.respond(&method, &target)).await;
    Ok(match answer {
        Ok(r) => to_hyper(r),
        Err(_) => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"viewer task failed\n")));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
    })
}

impl ViewerServer {
    /// Binds `addr` (port 0 picks a free port: see [`ViewerServer::local_addr`]).
    pub async fn bind(viewer: Viewer, addr: SocketAddr) -> Result<ViewerServer, ServeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError { addr, source })?;
        Ok(ViewerServer { listener, viewer })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => return,
                a = self.listener.accept() => a,
            };
            let Ok((stream, _)) = accepted else {
                // Out of file descriptors and the like: back off a little, keep serving.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let viewer = self.viewer.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(viewer.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }
}
