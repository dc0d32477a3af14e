//! Key Vault secrets: the stored records (Serialize/Deserialize, so a later issue can persist them) and the wire
//! models, named as the REST spec (2025-07-01 `secrets.json`) names them, serialised camelCase.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::storage::Tracked;

/// Recovery level every secret of a soft-delete vault reports.
pub const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";
/// Soft-delete retention, in days.
pub const RECOVERABLE_DAYS: i64 = 90;

// ---------------------------------------------------------------------------------------------------------------
// Stored records

/// One version of a secret, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: String,
    pub value: String,
    pub content_type: Option<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

/// A secret: its name as first written, and every version, oldest first (the last one is the latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    pub name: String,
    pub versions: Vec<VersionRecord>,
}

impl SecretRecord {
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.last()
    }

    pub fn version(&self, version: &str) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| v.version.eq_ignore_ascii_case(version))
    }

    pub fn version_mut(&mut self, version: &str) -> Option<&mut VersionRecord> {
        self.versions
            .iter_mut()
            .find(|v| v.version.eq_ignore_ascii_case(version))
    }
}

/// A soft-deleted secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedRecord {
    pub secret: SecretRecord,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

/// One vault: live secrets and deleted secrets, keyed by lower-cased name (Key Vault names are case-insensitive).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VaultState {
    pub secrets: Tracked<SecretRecord>,
    pub deleted: Tracked<DeletedRecord>,
}

/// Checks a vault read from an imported state document: entries keyed by their lower-cased name, every secret
/// with at least one version and unique version ids, no name both live and deleted.
pub fn check_vault(vault: &VaultState) -> Result<(), String> {
    let check = |key: &str, secret: &SecretRecord| -> Result<(), String> {
        if key != secret.name.to_lowercase() {
            return Err(format!("entry \"{key}\" holds secret \"{}\"", secret.name));
        }
        if secret.versions.is_empty() {
            return Err(format!("secret \"{}\" has no versions", secret.name));
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &secret.versions {
            if v.version.is_empty() || !seen.insert(v.version.to_lowercase()) {
                return Err(format!(
                    "secret \"{}\" has an empty or repeated version \"{}\"",
                    secret.name, v.version
                ));
            }
        }
        Ok(())
    };
    for (key, secret) in &vault.secrets {
        check(key, secret)?;
    }
    for (key, deleted) in &vault.deleted {
        check(key, &deleted.secret)?;
        if vault.secrets.contains_key(key) {
            return Err(format!("secret \"{key}\" is both live and deleted"));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (responses)

/// `SecretAttributes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretAttributes {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub recoverable_days: i64,
    pub recovery_level: &'static str,
}

impl SecretAttributes {
    pub fn of(v: &VersionRecord) -> Self {
        SecretAttributes {
            enabled: v.enabled,
            nbf: v.nbf,
            exp: v.exp,
            created: v.created,
            updated: v.updated,
            recoverable_days: RECOVERABLE_DAYS,
            recovery_level: RECOVERY_LEVEL,
        }
    }
}

/// `SecretBundle`: a secret version with its value.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretBundle {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub attributes: SecretAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
}

/// `DeletedSecretBundle`: a `SecretBundle` plus the deletion facts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedSecretBundle {
    #[serde(flatten)]
    pub bundle: SecretBundle,
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

/// `SecretItem`: a list entry (no value).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretItem {
    pub id: String,
    pub attributes: SecretAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// `DeletedSecretItem`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedSecretItem {
    #[serde(flatten)]
    pub item: SecretItem,
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

/// `SecretListResult` / `DeletedSecretListResult`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResult<T> {
    pub value: Vec<T>,
    pub next_link: Option<String>,
}

/// `BackupSecretResult`.
#[derive(Debug, Clone, Serialize)]
pub struct BackupSecretResult {
    pub value: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (requests). Timestamps may arrive as integers or floats; unknown fields are ignored, as the
// service does.

/// The writable part of `SecretAttributes` in a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretAttributesIn {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub exp: Option<f64>,
}

/// `SecretSetParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretSetParameters {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub attributes: Option<SecretAttributesIn>,
}

/// `SecretUpdateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretUpdateParameters {
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub attributes: Option<SecretAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
}

/// `SecretRestoreParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecretRestoreParameters {
    #[serde(default)]
    pub value: Option<String>,
}
