//! The control API every service port answers, outside the cloud's own API:
//! `GET /_parlel/health`, `POST /_parlel/reset`, `GET /_parlel/dump`.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

/// What a service exposes to the control API.
pub trait Control: Send + Sync + 'static {
    /// `{status, service, …counts}`.
    fn health(&self) -> Value;
    /// Wipes all state.
    fn reset(&self);
    /// A listing of what is stored (names, never secret material).
    fn dump(&self) -> Value;
}

/// Routes `/_parlel/{health,reset,dump}` to `service`.
pub fn routes<S: Control>(service: Arc<S>) -> Router {
    Router::new()
        .route("/_parlel/health", get(health::<S>))
        .route("/_parlel/reset", post(reset::<S>))
        .route("/_parlel/dump", get(dump::<S>))
        .with_state(service)
}

async fn health<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(s.health())
}

async fn reset<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    s.reset();
    Json(serde_json::json!({ "status": "ok", "reset": true }))
}

async fn dump<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(s.dump())
}
