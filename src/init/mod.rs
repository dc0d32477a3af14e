//! `--init FILE`: KMS keys, Key Vault secrets and Key Vault keys declared in a YAML or JSON file, applied when the
//! server starts (the Key Vault keys section is [`keyvault_keys`]).
//!
//! The file is read and checked completely before anything is applied ([`InitFile::load`]): unknown fields,
//! key material of the wrong size or spec, bad names and duplicates are errors naming the file, the entry and the
//! problem. [`InitFile::apply`] then checks the file against the current state (which a data directory may have
//! restored) and only when everything fits writes the missing records through the services' ordinary maps, so
//! they are persisted like any other change.
//!
//! Applying is idempotent: a record the file names and the state already has is left as it is (no new key
//! material, no new secret version), so the same file can be given at every start. What the file cannot
//! reconcile is an error that changes nothing: a key with the same id but another spec, usage or material, an
//! alias that points at another key, a secret version id reused for another value.
//!
//! Secret versions get a version id derived from their content (or the one the file gives), which is how a
//! second start recognises a version it already added; an application's later changes to a seeded secret
//! survive a restart, while changing the file's value adds a new version on top.

pub mod keyvault_keys;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::crypto::{KeyMaterial, KeySpec};
use crate::keyvault::secrets::model::VersionRecord;
use crate::keyvault::{protocol, KeyVault};
use crate::kms::state::{self, AliasRecord, KeyRecord, KeyState, MultiRegionInfo, Origin, Rotation, Scope};
use crate::kms::Kms;

const DAY_MS: i64 = 86_400_000;

/// What went wrong with an init file: the file and the problem, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitError {
    pub path: Option<PathBuf>,
    pub problem: String,
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "init file {}: {}", path.display(), self.problem),
            None => write!(f, "init file: {}", self.problem),
        }
    }
}

impl std::error::Error for InitError {}

impl From<InitError> for std::io::Error {
    fn from(e: InitError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
    }
}

/// The syntax of an init file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// By extension (`.yaml`, `.yml`, `.json`), else by content: a document starting with `{` is JSON.
    pub fn detect(path: &Path, text: &str) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            _ if text.trim_start().starts_with('{') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The file, as written

/// The whole file: `kms` and `keyvault`, both optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    kms: KmsDoc,
    #[serde(default)]
    keyvault: KeyVaultDoc,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KmsDoc {
    #[serde(default)]
    keys: Vec<KeyDoc>,
}

/// One KMS key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KeyDoc {
    id: String,
    account: Option<String>,
    region: Option<String>,
    key_spec: Option<String>,
    key_usage: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    material: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// A JSON document as a string, or written as a YAML/JSON mapping.
    policy: Option<serde_json::Value>,
    rotation_period_in_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyVaultDoc {
    #[serde(default)]
    secrets: Vec<SecretDoc>,
    #[serde(default)]
    keys: Vec<keyvault_keys::KeyDoc>,
}

/// One secret version.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SecretDoc {
    name: String,
    vault: Option<String>,
    value: String,
    content_type: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    enabled: Option<bool>,
    expires: Option<Timestamp>,
    not_before: Option<Timestamp>,
    version: Option<String>,
}

/// Epoch seconds, or an RFC 3339 date-time (`2030-01-01T00:00:00Z`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Timestamp {
    Epoch(i64),
    Text(String),
}

// ---------------------------------------------------------------------------------------------------------------
// The file, checked

/// A checked KMS key, ready to become a [`KeyRecord`].
#[derive(Debug)]
pub struct InitKey {
    pub key_id: String,
    pub scope: Scope,
    pub spec: KeySpec,
    pub usage: String,
    pub description: String,
    pub enabled: bool,
    /// `None`: generated when the key is created.
    pub material: Option<KeyMaterial>,
    pub aliases: Vec<String>,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
    pub rotation_period_days: Option<i64>,
}

/// A checked secret version.
#[derive(Debug)]
pub struct InitSecret {
    pub vault: String,
    pub name: String,
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
}

/// A checked init file.
#[derive(Debug)]
pub struct InitFile {
    pub path: Option<PathBuf>,
    pub keys: Vec<InitKey>,
    pub secrets: Vec<InitSecret>,
    pub vault_keys: Vec<keyvault_keys::InitVaultKey>,
}

/// What applying a file did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub keys_created: usize,
    pub keys_present: usize,
    pub aliases_created: usize,
    pub secret_versions_created: usize,
    pub secret_versions_present: usize,
    pub vault_keys_created: usize,
    pub vault_keys_present: usize,
}

impl InitFile {
    /// Reads and checks the file at `path` (YAML or JSON, see [`Format::detect`]).
    pub fn load(path: &Path) -> Result<InitFile, InitError> {
        let text = std::fs::read_to_string(path).map_err(|e| InitError {
            path: Some(path.to_path_buf()),
            problem: format!("cannot read it: {e}"),
        })?;
        let mut file = InitFile::parse(&text, Format::detect(path, &text)).map_err(|e| InitError {
            path: Some(path.to_path_buf()),
            problem: e.problem,
        })?;
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    /// Parses and checks the text of an init file.
    pub fn parse(text: &str, format: Format) -> Result<InitFile, InitError> {
        let fail = |problem: String| InitError { path: None, problem };
        let doc: FileDoc = if text.trim().is_empty() {
            FileDoc::default()
        } else {
            match format {
                Format::Json => {
                    serde_json::from_str(text).map_err(|e| fail(format!("not a valid init file (JSON): {e}")))?
                }
                Format::Yaml => {
                    serde_norway::from_str(text).map_err(|e| fail(format!("not a valid init file (YAML): {e}")))?
                }
            }
        };
        let mut keys = Vec::with_capacity(doc.kms.keys.len());
        for (i, key) in doc.kms.keys.into_iter().enumerate() {
            let label = format!("kms.keys[{i}] ({})", key.id);
            keys.push(check_key(key).map_err(|e| fail(format!("{label}: {e}")))?);
        }
        let mut secrets = Vec::with_capacity(doc.keyvault.secrets.len());
        for (i, secret) in doc.keyvault.secrets.into_iter().enumerate() {
            let label = format!("keyvault.secrets[{i}] ({})", secret.name);
            secrets.push(check_secret(secret).map_err(|e| fail(format!("{label}: {e}")))?);
        }
        let mut vault_keys = Vec::with_capacity(doc.keyvault.keys.len());
        for (i, key) in doc.keyvault.keys.into_iter().enumerate() {
            let label = format!("keyvault.keys[{i}] ({})", key_doc_name(&key));
            vault_keys.push(keyvault_keys::check(key).map_err(|e| fail(format!("{label}: {e}")))?);
        }
        let file = InitFile {
            path: None,
            keys,
            secrets,
            vault_keys,
        };
        file.check_duplicates().map_err(fail)?;
        Ok(file)
    }

    /// Key ids are unique in the file (AWS key ids are globally unique; a multi-Region key reaches other regions
    /// with ReplicateKey), aliases per account and region, secret versions per secret.
    fn check_duplicates(&self) -> Result<(), String> {
        let mut ids = BTreeMap::new();
        let mut aliases = BTreeMap::new();
        for key in &self.keys {
            let scope = format!("{}/{}", key.scope.account_id, key.scope.region);
            if let Some(first) = ids.insert(key.key_id.clone(), scope.clone()) {
                return Err(format!(
                    "key {} appears twice (in {first} and in {scope}); key ids are unique, replicas of a \
                     multi-Region key are made with ReplicateKey",
                    key.key_id
                ));
            }
            for alias in &key.aliases {
                if let Some(other) = aliases.insert((scope.clone(), alias.clone()), key.key_id.clone()) {
                    return Err(format!(
                        "alias {alias} is given twice in {scope} (keys {other} and {})",
                        key.key_id
                    ));
                }
            }
        }
        let mut names = BTreeSet::new();
        for k in &self.vault_keys {
            if !names.insert((k.vault.clone(), k.name.to_ascii_lowercase())) {
                return Err(format!("key {} of vault {} appears twice", k.name, k.vault));
            }
        }
        let mut versions = BTreeSet::new();
        for s in &self.secrets {
            if !versions.insert((s.vault.clone(), s.name.to_ascii_lowercase(), s.version.clone())) {
                return Err(format!(
                    "secret {} of vault {} has version {} twice (two identical entries, or the same explicit \
                     version)",
                    s.name, s.vault, s.version
                ));
            }
        }
        Ok(())
    }

    fn error(&self, problem: String) -> InitError {
        InitError {
            path: self.path.clone(),
            problem,
        }
    }

    /// Applies the file to the running services (either may be absent: `--no-kms`, `--no-keyvault`). Checks
    /// everything against the current state first; on any conflict returns an error and changes nothing.
    pub async fn apply(self, kms: Option<&Kms>, kv: Option<&KeyVault>) -> Result<Applied, InitError> {
        let file = std::sync::Arc::new(self);
        // Key generation (RSA takes seconds) runs off the async workers and outside the lock. At start nothing
        // serves requests yet; on a running server (Server::apply_init) the apply below checks everything again.
        let generated = match kms {
            Some(_) if file.keys.iter().any(|k| k.material.is_none()) => {
                let needed = file.generate_missing_indexes(kms);
                let file2 = file.clone();
                tokio::task::spawn_blocking(move || file2.generate_for(&needed))
                    .await
                    .map_err(|e| file.error(format!("key generation failed: {e}")))??
            }
            _ => BTreeMap::new(),
        };
        let vault_generated = match kv {
            Some(kv) if file.vault_keys.iter().any(|k| k.material.is_err()) => {
                let mut missing = Vec::new();
                for (i, key) in file.vault_keys.iter().enumerate() {
                    if key.material.is_err() && !key.present(kv).map_err(|e| file.error(e))? {
                        missing.push(i);
                    }
                }
                let file2 = file.clone();
                tokio::task::spawn_blocking(move || {
                    missing
                        .into_iter()
                        .map(|i| file2.vault_keys[i].generate().map(|m| (i, m)))
                        .collect::<Result<BTreeMap<_, _>, _>>()
                })
                .await
                .map_err(|e| file.error(format!("key generation failed: {e}")))?
                .map_err(|e| file.error(e))?
            }
            _ => BTreeMap::new(),
        };
        file.apply_with(kms, kv, generated, vault_generated)
    }

    /// The keys that need generated material: without material in the file and not in the state yet.
    fn generate_missing_indexes(&self, kms: Option<&Kms>) -> Vec<usize> {
        let Some(kms) = kms else { return Vec::new() };
        let now = kms.now_ms();
        let mut store = kms.lock();
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.material.is_none())
            .filter(|(_, k)| !store.region(&k.scope, now).keys.contains_key(&k.key_id))
            .map(|(i, _)| i)
            .collect()
    }

    /// Generates material for the keys at `indexes`. Slow for RSA: call it off the async workers.
    fn generate_for(&self, indexes: &[usize]) -> Result<BTreeMap<usize, KeyMaterial>, InitError> {
        let mut out = BTreeMap::new();
        for &i in indexes {
            let key = &self.keys[i];
            let material = KeyMaterial::generate(key.spec).map_err(|e| {
                self.error(format!(
                    "key {}: cannot generate {} key material: {e}",
                    key.key_id, key.spec
                ))
            })?;
            out.insert(i, material);
        }
        Ok(out)
    }

    fn apply_with(
        &self,
        kms: Option<&Kms>,
        kv: Option<&KeyVault>,
        mut generated: BTreeMap<usize, KeyMaterial>,
        mut vault_generated: BTreeMap<usize, Option<crate::keyvault::keys::model::Material>>,
    ) -> Result<Applied, InitError> {
        let mut applied = Applied::default();
        // Check both services before changing either.
        if let Some(kms) = kms {
            self.check_kms(kms).map_err(|e| self.error(e))?;
        } else if !self.keys.is_empty() {
            tracing::warn!(
                keys = self.keys.len(),
                "KMS is not served (--no-kms): the init file's keys are not applied"
            );
        }
        if let Some(kv) = kv {
            self.check_keyvault(kv).map_err(|e| self.error(e))?;
        } else if !self.secrets.is_empty() || !self.vault_keys.is_empty() {
            tracing::warn!(
                secrets = self.secrets.len(),
                keys = self.vault_keys.len(),
                "Key Vault is not served (--no-keyvault): the init file's secrets and keys are not applied"
            );
        }
        if let Some(kms) = kms {
            self.apply_kms(kms, &mut generated, &mut applied)
                .map_err(|e| self.error(e))?;
        }
        if let Some(kv) = kv {
            self.apply_keyvault(kv, &mut applied);
            let now = kv.now();
            for (i, key) in self.vault_keys.iter().enumerate() {
                if key.present(kv).map_err(|e| self.error(e))? {
                    applied.vault_keys_present += 1;
                    continue;
                }
                let material = match &key.material {
                    Ok(_) => None,
                    Err(_) => match vault_generated.remove(&i).flatten() {
                        Some(m) => Some(m),
                        // Not generated ahead (a key that appeared meanwhile went again): make it now.
                        None => key.generate().map_err(|e| self.error(e))?,
                    },
                };
                key.apply(kv, material, now).map_err(|e| self.error(e))?;
                applied.vault_keys_created += 1;
            }
        }
        Ok(applied)
    }

    /// Every key the state already has must be the same key; every alias that exists must point at its key.
    fn check_kms(&self, kms: &Kms) -> Result<(), String> {
        let now = kms.now_ms();
        let mut store = kms.lock();
        for key in &self.keys {
            let region = store.region(&key.scope, now);
            if let Some(existing) = region.keys.get(&key.key_id) {
                let arn = existing.arn();
                if existing.key_spec != key.spec {
                    return Err(format!(
                        "key {arn} already exists with KeySpec {}, the file says {}",
                        existing.key_spec, key.spec
                    ));
                }
                if existing.key_usage != key.usage {
                    return Err(format!(
                        "key {arn} already exists with KeyUsage {}, the file says {}",
                        existing.key_usage, key.usage
                    ));
                }
                if let Some(material) = &key.material {
                    let same = existing
                        .materials
                        .first()
                        .is_some_and(|m| m.bytes() == material.bytes());
                    if !same {
                        return Err(format!(
                            "key {arn} already exists with different key material than the file gives"
                        ));
                    }
                }
            }
            for alias in &key.aliases {
                if let Some(record) = region.aliases.get(alias) {
                    if record.target_key_id != key.key_id {
                        return Err(format!(
                            "alias {} already points at key {}, the file gives it to key {}",
                            state::alias_arn(&key.scope.region, &key.scope.account_id, alias),
                            record.target_key_id,
                            key.key_id
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_kms(
        &self,
        kms: &Kms,
        generated: &mut BTreeMap<usize, KeyMaterial>,
        applied: &mut Applied,
    ) -> Result<(), String> {
        let now = kms.now_ms();
        let mut store = kms.lock();
        for (i, key) in self.keys.iter().enumerate() {
            let region = store.region(&key.scope, now);
            if region.keys.contains_key(&key.key_id) {
                applied.keys_present += 1;
            } else {
                let material = match (&key.material, generated.remove(&i)) {
                    (Some(m), _) => m.clone(),
                    (None, Some(m)) => m,
                    // Created since we looked: generate here (only possible if requests raced the start).
                    (None, None) => KeyMaterial::generate(key.spec)
                        .map_err(|e| format!("key {}: cannot generate key material: {e}", key.key_id))?,
                };
                let record = KeyRecord {
                    key_id: key.key_id.clone(),
                    account_id: key.scope.account_id.clone(),
                    region: key.scope.region.clone(),
                    creation_ms: now,
                    description: key.description.clone(),
                    key_usage: key.usage.clone(),
                    key_spec: key.spec,
                    state: if key.enabled {
                        KeyState::Enabled
                    } else {
                        KeyState::Disabled
                    },
                    deletion_ms: None,
                    pending_window_days: None,
                    policy: key
                        .policy
                        .clone()
                        .unwrap_or_else(|| crate::kms::keys::default_policy(&key.scope.account_id)),
                    tags: key.tags.clone(),
                    aliases: BTreeSet::new(),
                    rotation: key.rotation_period_days.map(|days| Rotation {
                        period_days: days,
                        next_rotation_ms: now + days * DAY_MS,
                    }),
                    materials: vec![material],
                    origin: Origin::AwsKms,
                    multi_region: key.key_id.starts_with("mrk-").then(|| MultiRegionInfo {
                        primary_region: key.scope.region.clone(),
                        replica_regions: BTreeSet::new(),
                    }),
                    custom_key_store_id: None,
                    import: None,
                };
                region.keys.insert(key.key_id.clone(), record);
                applied.keys_created += 1;
            }
            for alias in &key.aliases {
                if region.aliases.contains_key(alias) {
                    continue;
                }
                region.aliases.insert(
                    alias.clone(),
                    AliasRecord {
                        name: alias.clone(),
                        target_key_id: key.key_id.clone(),
                        creation_ms: now,
                        last_updated_ms: now,
                    },
                );
                if let Some(record) = region.keys.get_mut(&key.key_id) {
                    record.aliases.insert(alias.clone());
                }
                applied.aliases_created += 1;
            }
        }
        Ok(())
    }

    /// A soft-deleted secret can only be left alone (when it holds the file's version) or refused; a soft-deleted
    /// key is refused.
    fn check_keyvault(&self, kv: &KeyVault) -> Result<(), String> {
        for key in &self.vault_keys {
            key.present(kv)?;
        }
        for s in &self.secrets {
            kv.with_vault(&s.vault, |vault| {
                if let Ok(deleted) = vault.secrets.get_deleted(&s.name) {
                    if deleted.object.version(&s.version).is_none() {
                        return Err(format!(
                            "secret {} of vault {} is deleted (recoverable): recover or purge it before seeding \
                             a new version",
                            s.name, s.vault
                        ));
                    }
                    return Ok(());
                }
                // A version's value never changes; its properties may have been updated since it was seeded.
                if let Some(existing) = vault.secrets.get(&s.name).ok().and_then(|r| r.version(&s.version)) {
                    if existing.value != s.value {
                        return Err(format!(
                            "secret {} of vault {} already has version {} with another value than the file gives",
                            s.name, s.vault, s.version
                        ));
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn apply_keyvault(&self, kv: &KeyVault, applied: &mut Applied) {
        let now = kv.now();
        for s in &self.secrets {
            kv.with_vault(&s.vault, |vault| {
                if vault.secrets.get_deleted(&s.name).is_ok() {
                    applied.secret_versions_present += 1;
                    return;
                }
                if vault
                    .secrets
                    .get(&s.name)
                    .is_ok_and(|r| r.version(&s.version).is_some())
                {
                    applied.secret_versions_present += 1;
                    return;
                }
                // checked above: the name is not deleted, so adding a version cannot fail
                let added = vault.secrets.add_version(
                    &s.name,
                    VersionRecord {
                        managed: false,
                        version: s.version.clone(),
                        value: s.value.clone(),
                        content_type: s.content_type.clone(),
                        tags: s.tags.clone(),
                        enabled: s.enabled,
                        nbf: s.nbf,
                        exp: s.exp,
                        created: now,
                        updated: now,
                    },
                );
                if added.is_ok() {
                    applied.secret_versions_created += 1;
                }
            });
        }
    }
}

fn key_doc_name(doc: &keyvault_keys::KeyDoc) -> String {
    doc.name().to_string()
}

// ---------------------------------------------------------------------------------------------------------------
// Checks of single entries

fn check_key(doc: KeyDoc) -> Result<InitKey, String> {
    let account = doc.account.unwrap_or_else(|| crate::aws::DEFAULT_ACCOUNT.to_string());
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("account \"{account}\" is not a 12-digit AWS account id"));
    }
    let region = doc.region.unwrap_or_else(|| crate::aws::DEFAULT_REGION.to_string());
    let region_ok = !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(format!("region \"{region}\" is not an AWS region name"));
    }
    check_key_id(&doc.id)?;

    let spec_name = doc.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT");
    let spec = KeySpec::parse(spec_name).ok_or_else(|| {
        let known: Vec<&str> = KeySpec::ALL.iter().map(|s| s.as_str()).collect();
        format!("keySpec \"{spec_name}\" is not one of {}", known.join(", "))
    })?;
    let usages = spec.key_usages();
    let usage = match doc.key_usage {
        Some(usage) => {
            if !usages.contains(&usage.as_str()) {
                return Err(format!(
                    "keyUsage {usage} is not valid for keySpec {spec} (valid: {})",
                    usages.join(", ")
                ));
            }
            usage
        }
        None if usages.len() == 1 => usages[0].to_string(),
        None if usages.contains(&"ENCRYPT_DECRYPT") => "ENCRYPT_DECRYPT".to_string(),
        None => {
            return Err(format!(
                "keyUsage is required for keySpec {spec} ({})",
                usages.join(" or ")
            ))
        }
    };

    let material = match &doc.material {
        Some(text) => Some(decode_material(spec, text)?),
        None => None,
    };

    let description = doc.description.unwrap_or_default();
    if description.chars().count() > 8192 {
        return Err("description is longer than 8192 characters".to_string());
    }

    for alias in &doc.aliases {
        check_alias_name(alias)?;
    }
    for (k, v) in &doc.tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(format!("tag key \"{k}\" must be 1 to 128 characters"));
        }
        if v.chars().count() > 256 {
            return Err(format!("tag {k}: the value must be at most 256 characters"));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!("tag key \"{k}\": tags beginning with aws: are reserved"));
        }
    }

    let policy = match doc.policy {
        None => None,
        Some(serde_json::Value::String(text)) => {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(_)) => {}
                Ok(_) => return Err("policy must be a JSON object".to_string()),
                Err(e) => return Err(format!("policy is not valid JSON: {e}")),
            }
            Some(text)
        }
        Some(value @ serde_json::Value::Object(_)) => Some(value.to_string()),
        Some(_) => return Err("policy must be a JSON document (a string) or a mapping".to_string()),
    };
    if let Some(policy) = &policy {
        if policy.len() > 32_768 {
            return Err("policy is longer than 32768 characters".to_string());
        }
    }

    if let Some(days) = doc.rotation_period_in_days {
        if spec != KeySpec::SymmetricDefault {
            return Err(format!(
                "rotationPeriodInDays: automatic rotation is supported only on SYMMETRIC_DEFAULT keys, this key \
                 is {spec}"
            ));
        }
        if !(90..=2560).contains(&days) {
            return Err(format!("rotationPeriodInDays must be 90 to 2560, got {days}"));
        }
    }

    Ok(InitKey {
        key_id: doc.id,
        scope: Scope {
            account_id: account,
            region,
        },
        spec,
        usage,
        description,
        enabled: doc.enabled.unwrap_or(true),
        material,
        aliases: doc.aliases,
        tags: doc.tags,
        policy,
        rotation_period_days: doc.rotation_period_in_days,
    })
}

/// A key id as AWS issues them: a lower-case UUID, or `mrk-` and 32 lower-case hex digits (multi-Region).
fn check_key_id(id: &str) -> Result<(), String> {
    let is_uuid = uuid::Uuid::try_parse(id).is_ok_and(|u| u.hyphenated().to_string() == id);
    let is_mrk = id
        .strip_prefix("mrk-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if !is_uuid && !is_mrk {
        return Err(format!(
            "id \"{id}\" is not a key id: use a lower-case UUID (1234abcd-12ab-34cd-56ef-1234567890ab) or mrk- \
             and 32 lower-case hex digits for a multi-Region key"
        ));
    }
    if !state::is_key_id(id) {
        return Err(format!("id \"{id}\": this trent does not serve keys with such ids yet"));
    }
    Ok(())
}

/// CreateAlias's rules: `alias/` and a name of letters, digits, `/`, `_`, `-`; `alias/aws/` is reserved.
fn check_alias_name(alias: &str) -> Result<(), String> {
    let Some(name) = alias.strip_prefix("alias/") else {
        return Err(format!("alias \"{alias}\" must start with alias/"));
    };
    if name.is_empty() || alias.len() > 256 {
        return Err(format!("alias \"{alias}\" must be alias/ and 1 to 250 characters"));
    }
    if alias.starts_with("alias/aws/") {
        return Err(format!(
            "alias \"{alias}\": alias/aws/ is reserved for AWS managed keys"
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
    {
        return Err(format!(
            "alias \"{alias}\" may contain only letters, digits, /, _ and - after alias/"
        ));
    }
    Ok(())
}

/// Key material as the file gives it: base64 raw bytes for symmetric and HMAC keys; a PEM `PRIVATE KEY` or base64
/// PKCS#8 DER for key pairs. Checked against the spec by [`KeyMaterial::from_bytes`].
pub(crate) fn decode_material(spec: KeySpec, text: &str) -> Result<KeyMaterial, String> {
    let raw_bytes = spec == KeySpec::SymmetricDefault || spec.is_hmac();
    let trimmed = text.trim();
    let bytes = if trimmed.starts_with("-----BEGIN") {
        if raw_bytes {
            return Err(format!(
                "material: {spec} material is base64 of the raw key bytes, not PEM"
            ));
        }
        pem_private_key(trimmed)?
    } else {
        let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact.as_bytes())
            .map_err(|e| format!("material is not base64: {e}"))?
    };
    KeyMaterial::from_bytes(spec, &bytes).map_err(|e| {
        let form = if raw_bytes {
            match spec.hmac_key_len() {
                Some(_) => "base64 of the raw HMAC key",
                None => "base64 of exactly 32 bytes",
            }
        } else {
            "a PEM PRIVATE KEY or base64 PKCS#8 DER"
        };
        format!("material does not fit keySpec {spec} ({form} expected): {e}")
    })
}

/// The DER inside a PEM `PRIVATE KEY` block (PKCS#8). Other labels get a hint how to convert them.
fn pem_private_key(pem: &str) -> Result<Vec<u8>, String> {
    let mut lines = pem.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(|| "material: malformed PEM header".to_string())?;
    match label {
        "PRIVATE KEY" => {}
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
            return Err(format!(
                "material: a PEM {label} is not PKCS#8; convert it with `openssl pkcs8 -topk8 -nocrypt -in key.pem`"
            ))
        }
        "ENCRYPTED PRIVATE KEY" => return Err("material: the PEM private key is encrypted".to_string()),
        other => return Err(format!("material: a PEM {other} is not a private key")),
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        body.push_str(line);
    }
    if !ended {
        return Err(format!("material: the PEM has no {end} line"));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("material: the PEM body is not base64: {e}"))
}

fn check_secret(doc: SecretDoc) -> Result<InitSecret, String> {
    let vault = vault_of(doc.vault.as_deref())?;
    protocol::body::check_name(&doc.name).map_err(|_| {
        format!(
            "name \"{}\" is not a secret name (1 to 127 letters, digits and -)",
            doc.name
        )
    })?;
    if doc.value.len() > crate::keyvault::secrets::MAX_VALUE_BYTES {
        return Err(format!(
            "value is {} bytes, more than the {} a secret may hold",
            doc.value.len(),
            crate::keyvault::secrets::MAX_VALUE_BYTES
        ));
    }
    if doc.content_type.as_ref().is_some_and(|c| c.chars().count() > 255) {
        return Err("contentType is longer than 255 characters".to_string());
    }
    if let Some(tags) = &doc.tags {
        if tags.len() > crate::keyvault::secrets::MAX_TAGS {
            return Err(format!(
                "{} tags, more than the {} a secret may carry",
                tags.len(),
                crate::keyvault::secrets::MAX_TAGS
            ));
        }
        for (k, v) in tags {
            if k.is_empty() || k.chars().count() > 512 || v.chars().count() > 256 {
                return Err(format!(
                    "tag \"{k}\": names are 1 to 512 characters, values at most 256"
                ));
            }
        }
    }
    let nbf = doc.not_before.map(|t| epoch_of(t, "notBefore")).transpose()?;
    let exp = doc.expires.map(|t| epoch_of(t, "expires")).transpose()?;
    let enabled = doc.enabled.unwrap_or(true);
    let version = match doc.version {
        Some(v) => {
            if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
                return Err(format!("version \"{v}\" is not 32 lower-case hex digits"));
            }
            v
        }
        None => derived_version(
            &vault,
            &doc.name,
            &doc.value,
            &doc.content_type,
            &doc.tags,
            enabled,
            nbf,
            exp,
        ),
    };
    Ok(InitSecret {
        vault,
        name: doc.name,
        version,
        value: doc.value,
        content_type: doc.content_type,
        tags: doc.tags,
        enabled,
        nbf,
        exp,
    })
}

/// The version id of a seeded secret version without an explicit one: 32 hex digits of a SHA-256 over its
/// content, so the same entry gets the same version at every start (and a changed entry a new one).
#[allow(clippy::too_many_arguments)] // every part of the content goes in; a struct would only rename them
fn derived_version(
    vault: &str,
    name: &str,
    value: &str,
    content_type: &Option<String>,
    tags: &Option<BTreeMap<String, String>>,
    enabled: bool,
    nbf: Option<i64>,
    exp: Option<i64>,
) -> String {
    let canonical = serde_json::json!({
        "vault": vault,
        "name": name.to_ascii_lowercase(),
        "value": value,
        "contentType": content_type,
        "tags": tags,
        "enabled": enabled,
        "nbf": nbf,
        "exp": exp,
    });
    let digest = Sha256::digest(format!("trent-init-secret-v1\n{canonical}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The vault a `vault:` entry names: a vault name (`myvault`; `default` or absent is the default vault), or a
/// host or URL as clients address vaults (`myvault.localhost:4595`, `https://myvault.localhost:4595`,
/// `localhost:4594`), resolved the way the Key Vault service resolves the `Host` header.
pub(crate) fn vault_of(entry: Option<&str>) -> Result<String, String> {
    let Some(entry) = entry.map(str::trim) else {
        return Ok(protocol::DEFAULT_VAULT.to_string());
    };
    let authority = match entry.split_once("://") {
        Some((_, rest)) => rest.split('/').next().unwrap_or_default(),
        None => entry,
    };
    let authority = authority.to_ascii_lowercase();
    if authority.is_empty() {
        return Err(format!("vault \"{entry}\" names no vault"));
    }
    let is_host =
        entry.contains("://") || authority.contains('.') || authority.contains(':') || authority == "localhost";
    if is_host {
        if authority.parse::<axum::http::uri::Authority>().is_err() {
            return Err(format!("vault \"{entry}\" is not a host or URL"));
        }
        return Ok(protocol::vault_name(&authority));
    }
    if authority.len() > 127 || !authority.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!("vault \"{entry}\" is not a vault name (letters, digits and -)"));
    }
    Ok(authority)
}

pub(crate) fn epoch_of(t: Timestamp, field: &str) -> Result<i64, String> {
    match t {
        Timestamp::Epoch(secs) => Ok(secs),
        Timestamp::Text(text) => parse_rfc3339(&text).ok_or_else(|| {
            format!("{field} \"{text}\" is neither epoch seconds nor an RFC 3339 date-time (2030-01-01T00:00:00Z)")
        }),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` → epoch seconds (fractions dropped, as Key Vault keeps whole seconds).
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(range)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let r = rest.as_bytes();
            if r.len() != 6 || r[3] != b':' {
                return None;
            }
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates_convert_to_epoch_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00Z"), Some(1_893_456_000));
        assert_eq!(parse_rfc3339("2030-01-01T01:00:00+01:00"), Some(1_893_456_000));
        assert_eq!(parse_rfc3339("2000-02-29T12:34:56.789Z"), Some(951_827_696));
        assert_eq!(parse_rfc3339("2030-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2030-01-01"), None);
        assert_eq!(parse_rfc3339("2030-01-01T00:00:00"), None);
    }

    #[test]
    fn vaults_resolve_like_the_host_header() {
        assert_eq!(vault_of(None).unwrap(), "default");
        assert_eq!(vault_of(Some("default")).unwrap(), "default");
        assert_eq!(vault_of(Some("MyVault")).unwrap(), "myvault");
        assert_eq!(vault_of(Some("myvault.localhost:4595")).unwrap(), "myvault");
        assert_eq!(vault_of(Some("https://myvault.localhost:4595/")).unwrap(), "myvault");
        assert_eq!(vault_of(Some("localhost")).unwrap(), "default");
        assert_eq!(vault_of(Some("127.0.0.1:4594")).unwrap(), "default");
        assert!(vault_of(Some("bad vault")).is_err());
    }

    #[test]
    fn derived_versions_are_stable_and_content_addressed() {
        let a = derived_version("default", "n", "v", &None, &None, true, None, None);
        assert_eq!(a.len(), 32);
        assert_eq!(a, derived_version("default", "N", "v", &None, &None, true, None, None));
        assert_ne!(a, derived_version("default", "n", "w", &None, &None, true, None, None));
        assert_ne!(a, derived_version("other", "n", "v", &None, &None, true, None, None));
    }

    #[test]
    fn key_ids_follow_aws() {
        assert!(check_key_id("1234abcd-12ab-34cd-56ef-1234567890ab").is_ok());
        assert!(check_key_id("1234ABCD-12ab-34cd-56ef-1234567890ab").is_err());
        assert!(check_key_id("1234abcd12ab34cd56ef1234567890ab").is_err());
        assert!(check_key_id("mrk-1234abcd12ab34cd56ef1234567890").is_err());
        assert!(check_key_id("alias/x").is_err());
    }
}
