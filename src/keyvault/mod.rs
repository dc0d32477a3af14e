//! Azure Key Vault: the REST protocol (routes, api-version, challenge auth, paging) and the secrets plane.

use std::sync::Arc;

use axum::Router;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::http::control::Control;

/// All vaults of one server.
pub struct KeyVault {
    #[allow(dead_code)] // read by the operations as they land
    clock: Clock,
}

impl KeyVault {
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(KeyVault { clock })
    }
}

/// The Key Vault REST routes (everything but `/_parlel/*`).
pub fn router(_service: Arc<KeyVault>) -> Router {
    Router::new()
}

impl Control for KeyVault {
    fn health(&self) -> Value {
        json!({ "status": "ok", "service": "keyvault", "secrets": 0, "versions": 0, "deleted": 0 })
    }

    fn reset(&self) {}

    fn dump(&self) -> Value {
        json!({ "secrets": [], "deleted": [] })
    }
}
