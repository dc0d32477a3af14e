//! Shared HTTP plumbing: listeners, graceful shutdown, request logging, panic containment and the control API
//! (`/_parlel/*`) that every service port answers.

pub mod control;
pub mod guard;
pub mod tls;

use std::net::SocketAddr;

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

/// Binds `addr` (port 0 picks a free one) and returns the listener with its real address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Serves `router` over plain HTTP/1.1 and h2c on `listener` until `shutdown`.
pub async fn serve_plain(listener: TcpListener, router: Router, shutdown: Shutdown) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.wait())
        .await
}
