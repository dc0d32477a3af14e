//! Key Vault secrets: the stored version record and the wire models, named as the REST spec (2025-07-01
//! `secrets.json`) names them, serialised camelCase.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::keyvault::protocol::ObjectKind;
use crate::keyvault::store::{AttributesMut, Version, Versioned, RECOVERABLE_DAYS, RECOVERY_LEVEL};

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
    /// The secret of a certificate version (its PFX or PEM): the certificates plane owns it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed: bool,
}

/// A secret: its name as first written and every version, oldest first.
pub type SecretRecord = Versioned<VersionRecord>;

impl Version for VersionRecord {
    const KIND: ObjectKind = ObjectKind::Secret;
    fn version(&self) -> &str {
        &self.version
    }
    fn attributes_mut(&mut self) -> AttributesMut<'_> {
        AttributesMut {
            enabled: &mut self.enabled,
            nbf: &mut self.nbf,
            exp: &mut self.exp,
            tags: &mut self.tags,
            updated: &mut self.updated,
        }
    }
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
    /// The certificate's key, for the secret of a certificate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
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
