//! Azure Key Vault: the REST protocol (routes, api-version, challenge auth, paging) and the secrets plane.
//!
//! Every request goes through [`dispatch`]: challenge authentication first (a request without a bearer token
//! gets its 401 before its body is read), then the api-version, then the route and method, then the body.
//! Several vaults live side by side, selected by the request's host (see [`protocol::Target`]).

pub mod backup;
pub mod model;
pub mod protocol;
pub mod secrets;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::http::control::Control;
use crate::storage::{Backend, LoadOne, Persisted, Storage, StorageError, Visitor};
use model::VaultState;
use protocol::{KeyVaultError, Query, Target};
use secrets::Call;

/// The service version header every response carries.
pub const SERVICE_VERSION: &str = "1.9.2778.1";
/// Largest request body read (a backup blob of many 25 KB versions fits).
const MAX_BODY_BYTES: usize = 8 << 20;

/// All vaults of one server.
pub struct KeyVault {
    clock: Clock,
    vaults: Mutex<BTreeMap<String, VaultState>>,
    /// Where the records persist (or not): every request ends with [`Storage::persist`].
    storage: Storage,
}

impl KeyVault {
    /// Key Vault with in-memory state only.
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(KeyVault {
            clock,
            vaults: Mutex::new(BTreeMap::new()),
            storage: Storage::memory("keyvault"),
        })
    }

    /// Key Vault whose state is loaded from, and persisted to, `backend` (blocking: reads every record). Returns it
    /// with the number of records loaded.
    pub fn with_storage(clock: Clock, backend: Arc<dyn Backend>) -> Result<(Arc<Self>, usize), StorageError> {
        let storage = Storage::new(backend, "keyvault");
        let (vaults, records) = storage.load::<BTreeMap<String, VaultState>>()?;
        let kv = Arc::new(KeyVault {
            clock,
            vaults: Mutex::new(vaults),
            storage,
        });
        Ok((kv, records))
    }

    /// Makes every change to the state durable (what each request does before answering); for changes made
    /// outside a request, such as the init file.
    pub async fn persist(&self) -> Result<(), StorageError> {
        self.storage.persist(&self.vaults).await
    }

    /// Now, in epoch seconds, from the server clock.
    pub fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, VaultState>> {
        self.vaults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the named vault (created empty on first use) under the lock. `f` must not block.
    /// Deleted secrets whose scheduled purge date has passed (by the server clock) are purged first, as the
    /// service does at the end of the retention period.
    pub fn with_vault<R>(&self, vault: &str, f: impl FnOnce(&mut VaultState) -> R) -> R {
        let now = self.now();
        let mut vaults = self.lock();
        let state = vaults.entry(vault.to_string()).or_default();
        if !state.deleted.is_empty() {
            state.deleted.retain(|_, d| d.scheduled_purge_date > now);
        }
        f(state)
    }
}

/// The whole Key Vault app of one port: the REST API, the control API, and the headers every response carries.
pub fn app(service: Arc<KeyVault>) -> Router {
    router(service.clone())
        .merge(crate::http::control::routes(service))
        .layer(axum::middleware::from_fn(response_headers))
}

/// The Key Vault REST routes (everything but `/_parlel/*`).
pub fn router(service: Arc<KeyVault>) -> Router {
    Router::new().fallback(dispatch).with_state(service)
}

async fn response_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert("x-ms-request-id", id);
    }
    headers.insert(
        "x-ms-keyvault-service-version",
        HeaderValue::from_static(SERVICE_VERSION),
    );
    response
}

/// The routes of the secrets plane (plus the planes not served yet).
enum Route {
    Secrets,
    Secret(String),
    SecretVersion(String, String),
    SecretVersions(String),
    SecretBackup(String),
    SecretRestore,
    DeletedSecrets,
    DeletedSecret(String),
    DeletedSecretRecover(String),
    NotImplemented(&'static str),
}

/// `POST /secrets/restore` is RestoreSecret; any other method on that path addresses a secret named `restore`.
fn route(segments: &[String], method: &Method) -> Option<Route> {
    let first = segments.first()?.to_ascii_lowercase();
    let rest = segments.get(1..).unwrap_or(&[]);
    match first.as_str() {
        "secrets" => Some(match rest {
            [] => Route::Secrets,
            [r] if r.eq_ignore_ascii_case("restore") && method == Method::POST => Route::SecretRestore,
            [name] => Route::Secret(name.clone()),
            [name, v] if v.eq_ignore_ascii_case("versions") => Route::SecretVersions(name.clone()),
            [name, b] if b.eq_ignore_ascii_case("backup") => Route::SecretBackup(name.clone()),
            [name, version] => Route::SecretVersion(name.clone(), version.clone()),
            _ => return None,
        }),
        "deletedsecrets" => Some(match rest {
            [] => Route::DeletedSecrets,
            [name] => Route::DeletedSecret(name.clone()),
            [name, r] if r.eq_ignore_ascii_case("recover") => Route::DeletedSecretRecover(name.clone()),
            _ => return None,
        }),
        "keys" | "deletedkeys" => Some(Route::NotImplemented("keys")),
        "certificates" | "deletedcertificates" => Some(Route::NotImplemented("certificates")),
        _ => None,
    }
}

/// The one entry point of the Key Vault REST API.
async fn dispatch(State(kv): State<Arc<KeyVault>>, request: Request) -> Response {
    let response = match handle(&kv, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    // Purges on the clock can change state even when the request fails: persist either way, before answering.
    if let Err(e) = kv.storage.persist(&kv.vaults).await {
        let message = format!("trent could not persist the change: {e}");
        let body = json!({"error": {"code": "InternalServerError", "message": message}});
        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response();
    }
    response
}

impl VaultState {
    /// Every persisted collection of a vault, under its record-key name (`<vault>/<name>/<lower-cased secret>`):
    /// the storage layer drains, loads and rewrites records only through this list. A new `Tracked` collection of
    /// VaultState (keys, certificates) MUST be added here, or it is lost on restart.
    pub fn collections<V: Visitor>(&mut self, scope: &str, v: &mut V) -> Result<(), StorageError> {
        v.collection(scope, "secrets", &mut self.secrets)?;
        v.collection(scope, "deleted", &mut self.deleted)?;
        Ok(())
    }
}

/// Key Vault records as the storage layer sees them: every vault's [`VaultState::collections`].
impl Persisted for BTreeMap<String, VaultState> {
    fn visit<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), StorageError> {
        for (vault, state) in self.iter_mut() {
            state.collections(vault, visitor)?;
        }
        Ok(())
    }

    fn load_record(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let (vault, collection, name) = crate::storage::split_key(key, 1)
            .ok_or_else(|| "the key is not <vault>/<collection>/<name>".to_string())?;
        let mut one = LoadOne {
            collection,
            name,
            bytes,
            found: false,
        };
        let state = self.entry(vault.to_string()).or_default();
        state.collections(vault, &mut one).map_err(|e| e.to_string())?;
        if !one.found {
            return Err(format!("unknown collection \"{collection}\""));
        }
        Ok(())
    }

    fn finish_load(&mut self) -> Result<(), String> {
        for (vault, state) in self.iter() {
            model::check_vault(state).map_err(|e| format!("vault \"{vault}\": {e}"))?;
        }
        Ok(())
    }
}

async fn handle(kv: &KeyVault, request: Request) -> Result<Response, KeyVaultError> {
    let (parts, body) = request.into_parts();
    let https = parts.extensions.get::<crate::http::tls::TlsConnection>().is_some();
    let target = Target::of(&parts.uri, &parts.headers, https)
        .ok_or_else(|| KeyVaultError::BadParameter("The request has no valid Host header.".to_string()))?;

    // Challenge authentication comes first, before the body is read: the SDKs' first request has no body.
    if !protocol::has_bearer_token(&parts.headers) {
        return Err(KeyVaultError::Unauthorized {
            challenge: target.challenge(),
        });
    }

    let query = Query::parse(parts.uri.query());
    protocol::check_api_version(&query)?;
    let api_version = query
        .get("api-version")
        .unwrap_or(protocol::LATEST_API_VERSION)
        .to_string();

    let path = parts.uri.path();
    let mut segments: Vec<String> = path.split('/').skip(1).map(protocol::percent_decode).collect();
    // A trailing slash names the same resource (`/secrets/{name}/` is the latest version).
    while segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    let route = route(&segments, &parts.method).ok_or_else(|| {
        KeyVaultError::NotFound(format!(
            "The requested path '{}' is not a Key Vault operation.",
            protocol::truncate(path, 200)
        ))
    })?;
    let method = parts.method.clone();

    let not_allowed = || KeyVaultError::MethodNotAllowed(protocol::truncate(method.as_str(), 32));
    let allowed: &[Method] = match &route {
        Route::Secrets | Route::SecretVersions(_) | Route::DeletedSecrets => &[Method::GET],
        Route::Secret(_) => &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE],
        Route::SecretVersion(..) => &[Method::GET, Method::PATCH],
        Route::SecretBackup(_) | Route::SecretRestore | Route::DeletedSecretRecover(_) => &[Method::POST],
        Route::DeletedSecret(_) => &[Method::GET, Method::DELETE],
        Route::NotImplemented(plane) => {
            return Err(KeyVaultError::NotImplemented(format!(
                "trent does not implement the Key Vault {plane} API yet: {} {} is not supported.",
                method,
                protocol::truncate(path, 200)
            )))
        }
    };
    if !allowed.contains(&method) {
        return Err(not_allowed());
    }

    let needs_body = matches!(method, Method::PUT | Method::PATCH) || matches!(route, Route::SecretRestore);
    let body = if needs_body {
        read_body(body).await?
    } else {
        drop(body);
        bytes::Bytes::new()
    };

    let call = Call {
        kv,
        target: &target,
        query: &query,
        api_version: &api_version,
        body: &body,
    };
    match (route, method.clone()) {
        (Route::Secrets, _) => secrets::get_secrets(&call),
        (Route::Secret(name), Method::PUT) => secrets::set_secret(&call, &name),
        (Route::Secret(name), Method::GET) => secrets::get_secret(&call, &name, None),
        (Route::Secret(name), Method::PATCH) => secrets::update_secret(&call, &name, None),
        (Route::Secret(name), _) => secrets::delete_secret(&call, &name),
        (Route::SecretVersion(name, version), Method::GET) => secrets::get_secret(&call, &name, Some(&version)),
        (Route::SecretVersion(name, version), _) => secrets::update_secret(&call, &name, Some(&version)),
        (Route::SecretVersions(name), _) => secrets::get_secret_versions(&call, &name),
        (Route::SecretBackup(name), _) => secrets::backup_secret(&call, &name),
        (Route::SecretRestore, _) => secrets::restore_secret(&call),
        (Route::DeletedSecrets, _) => secrets::get_deleted_secrets(&call),
        (Route::DeletedSecret(name), Method::GET) => secrets::get_deleted_secret(&call, &name),
        (Route::DeletedSecret(name), _) => secrets::purge_deleted_secret(&call, &name),
        (Route::DeletedSecretRecover(name), _) => secrets::recover_deleted_secret(&call, &name),
        (Route::NotImplemented(_), _) => Err(not_allowed()),
    }
}

async fn read_body(body: Body) -> Result<bytes::Bytes, KeyVaultError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        KeyVaultError::PayloadTooLarge(format!(
            "The request body could not be read or exceeds {MAX_BODY_BYTES} bytes."
        ))
    })
}

impl Control for KeyVault {
    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn health(&self) -> Value {
        let vaults = self.lock();
        let (mut secrets, mut versions, mut deleted) = (0, 0, 0);
        for vault in vaults.values() {
            let (s, v, d) = secrets::counts(vault);
            secrets += s;
            versions += v;
            deleted += d;
        }
        json!({
            "status": "ok",
            "service": "keyvault",
            "secrets": secrets,
            "versions": versions,
            "deleted": deleted,
        })
    }

    fn reset(&self) -> Result<(), String> {
        self.storage
            .replace(&self.vaults, BTreeMap::new())
            .map_err(|e| e.to_string())
    }

    /// `{"vaults": {"<vault>": {"secrets": {<lower-cased name>: {name, versions}}, "deleted": {…}}}}`, every
    /// secret with every version (values included).
    fn export(&self) -> Value {
        let vaults = self.lock();
        let state = json!({ "vaults": serde_json::to_value(&*vaults).unwrap_or(Value::Null) });
        crate::http::control::state_document("keyvault", state)
    }

    fn import(&self, document: Value) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct State {
            vaults: BTreeMap<String, VaultState>,
        }
        let state = crate::http::control::state_of_document("keyvault", document)?;
        let state: State = serde_json::from_value(state).map_err(|e| format!("\"state\" is malformed: {e}"))?;
        for (vault, v) in &state.vaults {
            model::check_vault(v).map_err(|e| format!("vault \"{vault}\": {e}"))?;
        }
        self.storage
            .replace(&self.vaults, state.vaults)
            .map_err(|e| e.to_string())
    }

    fn dump(&self) -> Value {
        let vaults = self.lock();
        let names = |v: &VaultState| -> (Vec<String>, Vec<String>) {
            (
                v.secrets.values().map(|r| r.name.clone()).collect(),
                v.deleted.values().map(|d| d.secret.name.clone()).collect(),
            )
        };
        let (secrets, deleted) = vaults.get(protocol::DEFAULT_VAULT).map(names).unwrap_or_default();
        let per_vault: serde_json::Map<String, Value> = vaults
            .iter()
            .filter(|(_, v)| !v.secrets.is_empty() || !v.deleted.is_empty())
            .map(|(name, v)| {
                let (s, d) = names(v);
                (name.clone(), json!({ "secrets": s, "deleted": d }))
            })
            .collect();
        json!({ "secrets": secrets, "deleted": deleted, "vaults": per_vault })
    }
}
