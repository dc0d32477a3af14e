//! Azure Key Vault: several vaults side by side (selected by the request's host), each with the secrets and keys
//! planes, on one clock and one storage.
//!
//! Layers, top to bottom: [`protocol`] (the only code that knows HTTP: auth, api-version, body, envelope) →
//! [`endpoint`] (the one route table) → [`call`] here (one `match` from endpoint to handler) → the planes
//! ([`secrets`], one handler per operation, typed in and out) → [`store`] (versioned, soft-deletable objects,
//! written once for every plane) and [`vault`] (what a vault holds and how it persists).

pub mod certificates;
pub mod endpoint;
pub mod keys;
pub mod protocol;
pub mod secrets;
pub mod store;
pub mod vault;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::http::control::Control;
use crate::storage::{Backend, Storage, StorageError};
use endpoint::Endpoint;
use protocol::body::parse_json;
use protocol::{Call, KeyVaultError, ListArgs, Reply, Target};
pub use vault::{KvState, VaultState};

/// The service version header every response carries (the version the 2025-07-01 recordings show).
pub const SERVICE_VERSION: &str = "1.9.3347.1";

/// All vaults of one server.
pub struct KeyVault {
    clock: Clock,
    state: Mutex<KvState>,
    /// Where the records persist (or not): every request ends with [`Storage::persist`].
    storage: Storage,
    /// The key and certificate that sign key-release tokens, made on first use.
    release_identity: std::sync::OnceLock<Arc<crate::crypto::x509::SigningIdentity>>,
    /// Where the issuing CA's certificate is written (PEM), when trent writes CA files.
    issuing_ca_file: std::sync::OnceLock<std::path::PathBuf>,
}

impl KeyVault {
    /// Key Vault with in-memory state only.
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(KeyVault {
            clock,
            state: Mutex::new(KvState::default()),
            storage: Storage::memory("keyvault"),
            release_identity: std::sync::OnceLock::new(),
            issuing_ca_file: std::sync::OnceLock::new(),
        })
    }

    /// Key Vault whose state is loaded from, and persisted to, `backend` (blocking: reads every record). Returns it
    /// with the number of records loaded.
    pub fn with_storage(clock: Clock, backend: Arc<dyn Backend>) -> Result<(Arc<Self>, usize), StorageError> {
        let storage = Storage::new(backend, "keyvault");
        let (state, records) = storage.load::<KvState>()?;
        let kv = Arc::new(KeyVault {
            clock,
            state: Mutex::new(state),
            storage,
            release_identity: std::sync::OnceLock::new(),
            issuing_ca_file: std::sync::OnceLock::new(),
        });
        Ok((kv, records))
    }

    /// Key Vault serving `state` in memory (`trent check` exports a salvaged state through it).
    pub fn from_state(clock: Clock, state: KvState) -> Arc<Self> {
        let kv = KeyVault::new(clock);
        *kv.lock() = state;
        kv
    }

    /// Makes every change to the state durable (what each request does before answering); for changes made
    /// outside a request, such as the init file.
    pub async fn persist(&self) -> Result<(), StorageError> {
        self.storage.persist(&self.state).await
    }

    /// Now, in epoch seconds, from the server clock.
    pub fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KvState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the named vault under the lock. `f` must not block. Deleted objects whose scheduled purge date
    /// has passed (by the server clock) are purged first, as the service does at the end of the retention period
    /// (an index lookup, not a scan). A vault exists only while it holds something: a request to an unknown host
    /// that stores nothing leaves no entry behind (a vault whose changes storage has not taken yet stays until it
    /// has).
    pub fn with_vault<R>(&self, vault: &str, f: impl FnOnce(&mut VaultState) -> R) -> R {
        let now = self.now();
        let mut state = self.lock();
        let entry = state.vaults.entry(vault.to_string()).or_default();
        entry.purge_due(now);
        keys::rotation_policy::rotate_due(entry, now);
        let out = f(entry);
        if entry.is_pristine() {
            state.vaults.remove(vault);
        }
        out
    }

    /// The identity that signs key-release tokens (an ECDSA P-256 key and its self-signed certificate).
    pub fn release_identity(&self) -> Result<Arc<crate::crypto::x509::SigningIdentity>, KeyVaultError> {
        if let Some(identity) = self.release_identity.get() {
            return Ok(identity.clone());
        }
        let made = crate::crypto::x509::signing_identity("trent Key Vault key release")
            .map_err(|e| KeyVaultError::Internal(format!("trent could not make its release signing key: {e}")))?;
        Ok(self.release_identity.get_or_init(|| Arc::new(made)).clone())
    }

    /// The local CA that issues certificates for configured issuers (DigiCert, GlobalSign, OneCertV2-*): made on
    /// first use and persisted with the service record, so its chains stay valid across restarts of a data dir.
    pub fn issuing_ca(&self) -> Result<crate::crypto::certificate::Authority, KeyVaultError> {
        let now = self.now();
        let existed = self.stored_issuing_ca().is_some();
        let stored = self
            .lock()
            .issuing_ca(|| {
                let ca = crate::crypto::certificate::Authority::generate(
                    "trent Key Vault issuing CA",
                    "trent (Azure Key Vault emulator)",
                    now - 86_400,
                    20,
                )
                .map_err(|e| e.to_string())?;
                Ok(vault::StoredAuthority {
                    key: ca.key,
                    certificate: certificates::model::Der(ca.certificate_der),
                })
            })
            .map_err(|e| KeyVaultError::Internal(format!("trent could not make its issuing CA: {e}")))?;
        if !existed {
            self.write_issuing_ca(&stored.certificate.0);
        }
        Ok(crate::crypto::certificate::Authority {
            key: stored.key,
            certificate_der: stored.certificate.0,
        })
    }

    fn stored_issuing_ca(&self) -> Option<vault::StoredAuthority> {
        self.lock().service_record().and_then(|r| r.issuing_ca.clone())
    }

    /// Has trent write the issuing CA's certificate to `path` (PEM): now if the state holds one, else when it is
    /// made.
    pub fn set_issuing_ca_file(&self, path: std::path::PathBuf) {
        if self.issuing_ca_file.set(path).is_ok() {
            if let Some(ca) = self.stored_issuing_ca() {
                self.write_issuing_ca(&ca.certificate.0);
            }
        }
    }

    fn write_issuing_ca(&self, der: &[u8]) {
        let Some(path) = self.issuing_ca_file.get() else { return };
        let pem = crate::crypto::certificate::to_pem(None, &[der.to_vec()]);
        match crate::http::tls::write_pem(path, &pem) {
            Ok(()) => tracing::info!(path = %path.display(), "Key Vault issuing CA certificate written"),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the Key Vault issuing CA certificate")
            }
        }
    }

    /// The key that seals key backups (made and persisted on first use: call it only to seal a backup).
    pub fn backup_key(&self) -> Vec<u8> {
        self.lock().backup_key()
    }

    /// The backup sealing key if one was ever made (a restore before any backup cannot hold one of ours, and must
    /// not make one).
    pub fn existing_backup_key(&self) -> Option<Vec<u8>> {
        self.lock().service_record().map(|record| record.backup_key.0.clone())
    }
}

/// The whole Key Vault app of one port: the REST API, the control API, and the headers every response carries.
pub fn app(service: Arc<KeyVault>) -> Router {
    router(service.clone())
        .merge(crate::http::control::routes(service))
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            protocol::error_response(&KeyVaultError::MethodNotAllowed(protocol::truncate(
                method.as_str(),
                32,
            )))
        })
        .layer(axum::middleware::from_fn(response_headers))
}

/// The Key Vault REST routes (everything but `/_parlel/*`).
pub fn router(service: Arc<KeyVault>) -> Router {
    Router::new().fallback(protocol::serve).with_state(service)
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

/// What every handler is given: the service and who the request is addressed to.
pub struct Cx<'a> {
    pub kv: &'a KeyVault,
    pub target: &'a Target,
}

impl Cx<'_> {
    /// Runs `f` on the addressed vault under the service lock (see [`KeyVault::with_vault`]).
    pub fn with_vault<R>(&self, f: impl FnOnce(&mut VaultState) -> R) -> R {
        self.kv.with_vault(&self.target.vault, f)
    }
}

fn ok<T: serde::Serialize>(answer: Result<T, KeyVaultError>) -> Result<Reply, KeyVaultError> {
    Reply::json(&answer?)
}

fn no_content(answer: Result<(), KeyVaultError>) -> Result<Reply, KeyVaultError> {
    answer.map(|()| Reply::no_content())
}

/// The one dispatch: every endpoint to its handler, with its body parsed into the operation's parameters.
pub async fn call(kv: &KeyVault, call: &Call<'_>, endpoint: Endpoint, body: &[u8]) -> Result<Reply, KeyVaultError> {
    use Endpoint::*;
    let cx = Cx {
        kv,
        target: call.target,
    };
    let list = || ListArgs::of(call.query, call.api_version);
    match endpoint {
        GetSecrets => ok(secrets::get_secrets(&cx, &list()?)),
        SetSecret { name } => ok(secrets::set_secret(&cx, &name, parse_json(body)?)),
        GetSecret { name, version } => ok(secrets::get_secret(
            &cx,
            &name,
            version.as_deref(),
            call.query.get("outContentType"),
        )),
        UpdateSecret { name, version } => ok(secrets::update_secret(
            &cx,
            &name,
            version.as_deref(),
            parse_json(body)?,
        )),
        DeleteSecret { name } => ok(secrets::delete_secret(&cx, &name)),
        GetSecretVersions { name } => ok(secrets::get_secret_versions(&cx, &name, &list()?)),
        BackupSecret { name } => ok(secrets::backup_secret(&cx, &name)),
        RestoreSecret => ok(secrets::restore_secret(&cx, parse_json(body)?)),
        GetDeletedSecrets => ok(secrets::get_deleted_secrets(&cx, &list()?)),
        GetDeletedSecret { name } => ok(secrets::get_deleted_secret(&cx, &name)),
        PurgeDeletedSecret { name } => no_content(secrets::purge_deleted_secret(&cx, &name)),
        RecoverDeletedSecret { name } => ok(secrets::recover_deleted_secret(&cx, &name)),
        GetKeys => ok(keys::get_keys(&cx, &list()?)),
        CreateKey { name } => ok(keys::create_key(&cx, &name, parse_json(body)?).await),
        ImportKey { name } => ok(keys::import_key(&cx, &name, parse_json(body)?)),
        GetKey { name, version } => ok(keys::get_key(&cx, &name, version.as_deref())),
        UpdateKey { name, version } => ok(keys::update_key(&cx, &name, version.as_deref(), parse_json(body)?)),
        DeleteKey { name } => ok(keys::delete_key(&cx, &name)),
        GetKeyVersions { name } => ok(keys::get_key_versions(&cx, &name, &list()?)),
        BackupKey { name } => ok(keys::backup_key(&cx, &name)),
        RestoreKey => ok(keys::restore_key(&cx, parse_json(body)?)),
        RotateKey { name } => ok(keys::rotate_key(&cx, &name).await),
        GetKeyRotationPolicy { name } => ok(keys::rotation_policy::get_key_rotation_policy(&cx, &name)),
        UpdateKeyRotationPolicy { name } => ok(keys::rotation_policy::update_key_rotation_policy(
            &cx,
            &name,
            parse_json(body)?,
        )),
        KeyOperation { name, version, op } => match op {
            endpoint::KeyOperation::Verify => {
                ok(keys::crypto::verify(&cx, &name, version.as_deref(), parse_json(body)?))
            }
            endpoint::KeyOperation::Release => ok(keys::release::release(
                &cx,
                &name,
                version.as_deref(),
                parse_json(body)?,
            )),
            op => ok(keys::crypto::key_operation(
                &cx,
                &name,
                version.as_deref(),
                op,
                parse_json(body)?,
            )),
        },
        GetKeyAttestation { name, version } => ok(keys::release::get_key_attestation(&cx, &name, version.as_deref())),
        GetRandomBytes => ok(keys::get_random_bytes(parse_json(body)?)),
        GetDeletedKeys => ok(keys::get_deleted_keys(&cx, &list()?)),
        GetDeletedKey { name } => ok(keys::get_deleted_key(&cx, &name)),
        PurgeDeletedKey { name } => no_content(keys::purge_deleted_key(&cx, &name)),
        RecoverDeletedKey { name } => ok(keys::recover_deleted_key(&cx, &name)),
        GetCertificates => {
            let include_pending = call
                .query
                .get("includePending")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            ok(certificates::get_certificates(&cx, &list()?, include_pending))
        }
        CreateCertificate { name } => {
            certificates::create_certificate(&cx, &name, parse_json(body)?, call.api_version).await
        }
        ImportCertificate { name } => ok(certificates::import_certificate(&cx, &name, parse_json(body)?)),
        GetCertificate { name, version } => ok(certificates::get_certificate(&cx, &name, version.as_deref())),
        UpdateCertificate { name, version } => ok(certificates::update_certificate(
            &cx,
            &name,
            version.as_deref(),
            parse_json(body)?,
        )),
        DeleteCertificate { name } => ok(certificates::delete_certificate(&cx, &name)),
        GetCertificateVersions { name } => ok(certificates::get_certificate_versions(&cx, &name, &list()?)),
        GetCertificatePolicy { name } => ok(certificates::get_certificate_policy(&cx, &name)),
        UpdateCertificatePolicy { name } => ok(certificates::update_certificate_policy(&cx, &name, parse_json(body)?)),
        GetCertificateOperation { name } => certificates::get_certificate_operation(&cx, &name),
        UpdateCertificateOperation { name } => {
            certificates::update_certificate_operation(&cx, &name, parse_json(body)?)
        }
        DeleteCertificateOperation { name } => ok(certificates::delete_certificate_operation(&cx, &name)),
        MergeCertificate { name } => certificates::merge_certificate(&cx, &name, parse_json(body)?),
        BackupCertificate { name } => ok(certificates::backup_certificate(&cx, &name)),
        RestoreCertificate => ok(certificates::restore_certificate(&cx, parse_json(body)?)),
        GetDeletedCertificates => ok(certificates::get_deleted_certificates(&cx, &list()?)),
        GetDeletedCertificate { name } => ok(certificates::get_deleted_certificate(&cx, &name)),
        PurgeDeletedCertificate { name } => no_content(certificates::purge_deleted_certificate(&cx, &name)),
        RecoverDeletedCertificate { name } => ok(certificates::recover_deleted_certificate(&cx, &name)),
        GetCertificateIssuers => ok(certificates::issuers::get_certificate_issuers(&cx, &list()?)),
        SetCertificateIssuer { name } => ok(certificates::issuers::set_certificate_issuer(
            &cx,
            &name,
            parse_json(body)?,
        )),
        UpdateCertificateIssuer { name } => ok(certificates::issuers::update_certificate_issuer(
            &cx,
            &name,
            parse_json(body)?,
        )),
        GetCertificateIssuer { name } => ok(certificates::issuers::get_certificate_issuer(&cx, &name)),
        DeleteCertificateIssuer { name } => ok(certificates::issuers::delete_certificate_issuer(&cx, &name)),
        GetCertificateContacts => ok(certificates::issuers::get_certificate_contacts(&cx)),
        SetCertificateContacts => ok(certificates::issuers::set_certificate_contacts(&cx, parse_json(body)?)),
        DeleteCertificateContacts => ok(certificates::issuers::delete_certificate_contacts(&cx)),
    }
}

impl Control for KeyVault {
    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn health(&self) -> Value {
        let storage = self.storage.health();
        let state = self.lock();
        let (mut secrets, mut versions, mut deleted) = (0, 0, 0);
        let (mut keys, mut key_versions, mut deleted_keys) = (0, 0, 0);
        let (mut certificates, mut certificate_versions, mut deleted_certificates) = (0, 0, 0);
        for vault in state.vaults.values() {
            let (s, v, d) = vault.secrets.counts();
            secrets += s;
            versions += v;
            deleted += d;
            let (k, kv, dk) = vault.keys.counts();
            keys += k;
            key_versions += kv;
            deleted_keys += dk;
            let (c, cv, dc) = vault.certificates.counts();
            certificates += c;
            certificate_versions += cv;
            deleted_certificates += dc;
        }
        json!({
            "status": storage.status(),
            "storage": storage.to_json(),
            "service": "keyvault",
            "secrets": secrets,
            "versions": versions,
            "deleted": deleted,
            "keys": keys,
            "keyVersions": key_versions,
            "deletedKeys": deleted_keys,
            "certificates": certificates,
            "certificateVersions": certificate_versions,
            "deletedCertificates": deleted_certificates,
        })
    }

    fn reset(&self) -> Result<(), String> {
        self.storage
            .replace(&self.state, KvState::default())
            .map_err(|e| e.to_string())
    }

    /// `{"vaults": {"<vault>": {"secrets": {<lower-cased name>: {name, versions}}, "deleted": {…}}}}`, every
    /// secret with every version (values included).
    fn export(&self) -> Value {
        let state = self.lock();
        let mut document = json!({ "vaults": serde_json::to_value(&state.vaults).unwrap_or(Value::Null) });
        if let Some(service) = state.service_record() {
            document["service"] = serde_json::to_value(service).unwrap_or(Value::Null);
        }
        crate::http::control::state_document("keyvault", document)
    }

    fn import(&self, document: &[u8]) -> Result<(), String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct State {
            vaults: BTreeMap<String, VaultState>,
            #[serde(default)]
            service: Option<vault::ServiceRecord>,
        }
        let state = crate::http::control::state_of_document("keyvault", document)?;
        let state: State = serde_json::from_str(state.get()).map_err(|e| format!("\"state\" is malformed: {e}"))?;
        for (vault, v) in &state.vaults {
            v.check().map_err(|e| format!("vault \"{vault}\": {e}"))?;
        }
        self.storage
            .replace(&self.state, KvState::new(state.vaults, state.service))
            .map_err(|e| e.to_string())
    }

    fn dump(&self) -> Value {
        let state = self.lock();
        let names = |v: &VaultState| -> Value {
            let live = |m: &BTreeMap<String, _>| -> Vec<String> { m.keys().cloned().collect() };
            json!({
                "secrets": v.secrets.live().values().map(|r| r.name.clone()).collect::<Vec<_>>(),
                "deleted": v.secrets.deleted_objects().values().map(|d| d.object.name.clone()).collect::<Vec<_>>(),
                "keys": v.keys.live().values().map(|r| r.name.clone()).collect::<Vec<_>>(),
                "deletedKeys": v.keys.deleted_objects().values().map(|d| d.object.name.clone()).collect::<Vec<_>>(),
                "keyRotationPolicies": live(&v.rotation_policies),
                "certificates": v.certificates.live().values().map(|r| r.name.clone()).collect::<Vec<_>>(),
                "deletedCertificates": v.certificates.deleted_objects().values().map(|d| d.object.name.clone()).collect::<Vec<_>>(),
                "certificateIssuers": v.certificate_issuers.values().map(|r| r.name.clone()).collect::<Vec<_>>(),
            })
        };
        let mut out = state
            .vaults
            .get(protocol::DEFAULT_VAULT)
            .map(names)
            .unwrap_or_else(|| names(&VaultState::default()));
        let per_vault: serde_json::Map<String, Value> = state
            .vaults
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(name, v)| (name.clone(), names(v)))
            .collect();
        out["vaults"] = Value::Object(per_vault);
        out
    }
}
