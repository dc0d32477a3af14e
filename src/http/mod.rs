//! Shared HTTP plumbing: listeners, graceful shutdown, request logging, panic containment and the control API
//! (`/_parlel/*`) that every service port answers.

pub mod control;
pub mod guard;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// A shutdown signal shared by every listener of one server.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending half: `trigger` stops every listener holding a [`Shutdown`].
pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown has been triggered (or the trigger dropped).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// Wraps a service router with what every port has: request logs, and a panic turned into a 500 answer in the
/// service's own error envelope (`on_panic`), so one bad request can never take the server down.
pub fn with_common_layers<F>(router: Router, on_panic: F) -> Router
where
    F: Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
{
    router
        .layer(CatchPanicLayer::custom(move |_: Box<dyn std::any::Any + Send>| {
            on_panic()
        }))
        .layer(TraceLayer::new_for_http())
}

/// Whether reading a body failed because it exceeds the limit (rather than stalling or breaking off).
pub fn body_too_large(e: &axum::Error) -> bool {
    std::error::Error::source(e).is_some_and(|inner| inner.is::<http_body_util::LengthLimitError>())
}

/// Binds `addr` (port 0 picks a free one) and returns the listener with its real address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// What one client may hold of the server: how long it may take to send a request's headers (an idle keep-alive
/// connection and a slowloris alike are closed after it), and how many connections all clients together may keep
/// open (below the common 1024-descriptor limit, so a flood of silent connections cannot lock everyone out).
#[derive(Debug)]
pub struct Limits {
    pub header_read_timeout: Duration,
    /// The longest a request body may go without a byte: a body that stalls fails to read (the service answers
    /// its "could not read the body" error) and the connection closes.
    pub body_read_timeout: Duration,
    pub connections: Arc<Semaphore>,
    pub max_connections: usize,
}

impl Limits {
    pub fn new(header_read_timeout: Duration, body_read_timeout: Duration, max_connections: usize) -> Arc<Limits> {
        Arc::new(Limits {
            header_read_timeout,
            body_read_timeout,
            connections: Arc::new(Semaphore::new(max_connections.max(1))),
            max_connections: max_connections.max(1),
        })
    }
}

const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const H2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);

/// A request body that fails once it goes `timeout` without a frame (nginx's `client_body_timeout`).
fn timed_body(body: hyper::body::Incoming, timeout: Duration) -> axum::body::Body {
    axum::body::Body::new(tower_http::timeout::TimeoutBody::new(timeout, body))
}
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` — plain HTTP/1.1 and h2c, or TLS (HTTP/1.1 and h2 by ALPN) with
/// `tls` — then lets open connections finish (bounded). Every connection runs in its own task under `limits`; a
/// connection past the cap is closed at once.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Arc<Limits>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = shutdown.clone().wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = limits.connections.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, max = limits.max_connections, "connection refused: too many open connections");
                    drop(tcp);
                    continue;
                };
                let (router, tls, watcher, stopping) = (router.clone(), tls.clone(), graceful.watcher(), shutdown.clone());
                let timeout = limits.header_read_timeout;
                let body_timeout = limits.body_read_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    // A client that connects and sends nothing is closed after the header timeout too (hyper's own
                    // timer starts only with the first byte).
                    // Abandoned at shutdown, like a TLS handshake: it holds no request yet.
                    let mut first = [0u8; 1];
                    let sent = tokio::select! {
                        peeked = tokio::time::timeout(timeout, tcp.peek(&mut first)) => {
                            matches!(peeked, Ok(Ok(n)) if n > 0)
                        }
                        _ = stopping.clone().wait() => false,
                    };
                    if !sent {
                        tracing::debug!(%peer, "connection closed: nothing sent within the header timeout");
                        return;
                    }
                    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    builder.http1().timer(TokioTimer::new()).header_read_timeout(timeout);
                    // HTTP/2: pings find peers that went away without closing (each stream's body has the body timeout).
                    builder
                        .http2()
                        .timer(TokioTimer::new())
                        .keep_alive_interval(Some(H2_KEEP_ALIVE_INTERVAL))
                        .keep_alive_timeout(timeout);
                    let Some(acceptor) = tls else {
                        let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            router.clone().oneshot(request.map(|body| timed_body(body, body_timeout)))
                        });
                        if let Err(e) = watcher.watch(builder.serve_connection(TokioIo::new(tcp), service)).await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        return;
                    };
                    // A handshake still running at shutdown is abandoned (it holds no request yet).
                    let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    let stream = tokio::select! {
                        result = handshake => match result {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        },
                        _ = stopping.wait() => return,
                    };
                    let service = hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                        request.extensions_mut().insert(tls::TlsConnection);
                        router.clone().oneshot(request.map(|body| timed_body(body, body_timeout)))
                    });
                    if let Err(e) = watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await {
                        tracing::debug!(%peer, error = %e, "TLS connection ended with an error");
                    }
                });
            }
            _ = &mut stop => break,
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!("connections still open after the drain timeout"),
    }
    Ok(())
}
