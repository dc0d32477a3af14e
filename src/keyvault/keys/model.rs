//! Key Vault keys: the stored version record and the wire models, named as the REST spec (2025-07-01
//! `keys.json`) names them. JOSE names (`kty`, `crv`, key operations) are mapped here and in `jwk.rs`, nowhere
//! else: [`crate::crypto`] speaks none of them.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use crate::crypto::{KeyMaterial, KeySpec};
use crate::keyvault::protocol::ObjectKind;
use crate::keyvault::store::{AttributesMut, Version, Versioned, RECOVERABLE_DAYS, RECOVERY_LEVEL};

/// `JsonWebKeyType`: the family and whether the key is HSM-protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "RSA-HSM")]
    RsaHsm,
    #[serde(rename = "EC")]
    Ec,
    #[serde(rename = "EC-HSM")]
    EcHsm,
    #[serde(rename = "oct")]
    Oct,
    #[serde(rename = "oct-HSM")]
    OctHsm,
}

impl KeyType {
    pub fn parse(s: &str) -> Option<KeyType> {
        Some(match s {
            "RSA" => KeyType::Rsa,
            "RSA-HSM" => KeyType::RsaHsm,
            "EC" => KeyType::Ec,
            "EC-HSM" => KeyType::EcHsm,
            "oct" => KeyType::Oct,
            "oct-HSM" => KeyType::OctHsm,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::RsaHsm => "RSA-HSM",
            KeyType::Ec => "EC",
            KeyType::EcHsm => "EC-HSM",
            KeyType::Oct => "oct",
            KeyType::OctHsm => "oct-HSM",
        }
    }

    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa | KeyType::RsaHsm)
    }

    pub fn is_ec(self) -> bool {
        matches!(self, KeyType::Ec | KeyType::EcHsm)
    }

    pub fn is_oct(self) -> bool {
        matches!(self, KeyType::Oct | KeyType::OctHsm)
    }

    pub fn is_hsm(self) -> bool {
        matches!(self, KeyType::RsaHsm | KeyType::EcHsm | KeyType::OctHsm)
    }

    /// The operations a new key of this type allows when the request names none, in the service's order.
    pub fn default_ops(self) -> &'static [&'static str] {
        if self.is_rsa() {
            &["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
        } else if self.is_ec() {
            &["sign", "verify"]
        } else {
            // Managed HSM's order for a new oct-HSM key (JS recording helloworld/recording_create_an_oct_key.json).
            &[
                "deriveKey",
                "wrapKey",
                "verify",
                "sign",
                "unwrapKey",
                "encrypt",
                "decrypt",
            ]
        }
    }
}

/// The JWK curve name of an EC key spec.
pub fn curve_name(spec: KeySpec) -> Option<&'static str> {
    Some(match spec {
        KeySpec::EccNistP256 => "P-256",
        KeySpec::EccNistP384 => "P-384",
        KeySpec::EccNistP521 => "P-521",
        KeySpec::EccSecgP256k1 => "P-256K",
        _ => return None,
    })
}

/// The EC key spec of a JWK curve name.
pub fn curve_spec(name: &str) -> Option<KeySpec> {
    Some(match name {
        "P-256" => KeySpec::EccNistP256,
        "P-384" => KeySpec::EccNistP384,
        "P-521" => KeySpec::EccNistP521,
        "P-256K" => KeySpec::EccSecgP256k1,
        _ => return None,
    })
}

/// An AES key (`oct`), zeroed when dropped, stored base64.
#[derive(Clone, PartialEq, Eq)]
pub struct OctKey(pub Vec<u8>);

impl Drop for OctKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for OctKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OctKey({} bytes)", self.0.len())
    }
}

impl Serialize for OctKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for OctKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let mut text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom);
        text.zeroize();
        let bytes = bytes?;
        if ![16, 24, 32].contains(&bytes.len()) {
            return Err(serde::de::Error::custom("an oct key is 16, 24 or 32 bytes"));
        }
        Ok(OctKey(bytes))
    }
}

/// The secret half of a key version.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Material {
    /// RSA and EC keys.
    Asymmetric(KeyMaterial),
    /// AES keys (Managed HSM).
    Symmetric(OctKey),
}

/// A release policy as stored: its content type, the policy document (UTF-8 JSON) and whether it is immutable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePolicy {
    pub content_type: String,
    pub data: String,
    pub immutable: bool,
}

/// One version of a key, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyVersion {
    pub version: String,
    pub kty: KeyType,
    pub material: Material,
    pub key_ops: Vec<String>,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub tags: Option<BTreeMap<String, String>>,
    pub exportable: bool,
    pub release_policy: Option<ReleasePolicy>,
    /// The key of a certificate version: the certificates plane owns it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed: bool,
}

impl Version for KeyVersion {
    const KIND: ObjectKind = ObjectKind::Key;
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

/// A key: its name as first written and every version, oldest first.
pub type KeyRecord = Versioned<KeyVersion>;

/// A key rotation policy as stored (one per key name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationPolicyRecord {
    pub lifetime_actions: Vec<LifetimeAction>,
    pub expiry_time: Option<String>,
    pub created: i64,
    pub updated: i64,
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (responses)

/// `JsonWebKey` as the service returns it: public parts only, base64url.
#[derive(Debug, Clone, Serialize)]
pub struct JsonWebKey {
    pub kid: String,
    pub kty: KeyType,
    pub key_ops: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

/// `KeyAttributes`, in the order the service writes them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyAttributes {
    pub enabled: bool,
    #[serde(rename = "key_size", skip_serializing_if = "Option::is_none")]
    pub key_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub recovery_level: &'static str,
    pub recoverable_days: i64,
    pub exportable: bool,
    pub hsm_platform: &'static str,
}

impl KeyAttributes {
    pub fn of(v: &KeyVersion) -> Self {
        let key_size = match &v.material {
            Material::Asymmetric(m) => m.spec().rsa_bits(),
            Material::Symmetric(k) => Some(k.0.len() * 8),
        };
        KeyAttributes {
            enabled: v.enabled,
            key_size,
            nbf: v.nbf,
            exp: v.exp,
            created: v.created,
            updated: v.updated,
            recovery_level: RECOVERY_LEVEL,
            recoverable_days: RECOVERABLE_DAYS,
            exportable: v.exportable,
            // "0" for software-protected keys, "2" for HSM keys on a premium vault (recorded in GO TestReleaseKey).
            hsm_platform: if v.kty.is_hsm() { "2" } else { "0" },
        }
    }
}

/// `KeyReleasePolicy` on the wire: `data` base64url.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReleasePolicy {
    pub content_type: String,
    pub data: String,
    pub immutable: bool,
}

/// `KeyBundle`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyBundle {
    pub key: JsonWebKey,
    pub attributes: KeyAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_policy: Option<KeyReleasePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
}

/// `DeletedKeyBundle`, in the service's member order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedKeyBundle {
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
    #[serde(flatten)]
    pub bundle: KeyBundle,
}

/// `KeyItem`: a list entry (no key material).
#[derive(Debug, Clone, Serialize)]
pub struct KeyItem {
    pub kid: String,
    pub attributes: KeyAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed: Option<bool>,
}

/// `DeletedKeyItem`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedKeyItem {
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
    #[serde(flatten)]
    pub item: KeyItem,
}

/// `KeyOperationResult`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyOperationResult {
    pub kid: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aad: Option<String>,
}

/// `KeyVerifyResult`.
#[derive(Debug, Clone, Serialize)]
pub struct KeyVerifyResult {
    pub value: bool,
}

/// `BackupKeyResult`, `RandomBytes`, `KeyReleaseResult`: one base64url (or JWS) `value`.
#[derive(Debug, Clone, Serialize)]
pub struct ValueResult {
    pub value: String,
}

/// `LifetimeActions` entry: trigger first, as the service writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeAction {
    pub trigger: Trigger,
    pub action: Action,
}

/// `LifetimeActionsTrigger`: ISO 8601 durations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_after_create: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_before_expiry: Option<String>,
}

/// `LifetimeActionsType`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    #[serde(rename = "type")]
    pub kind: String,
}

/// `KeyRotationPolicyAttributes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationPolicyAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
    pub created: i64,
    pub updated: i64,
}

/// `KeyRotationPolicy`: without `id` and with `attributes: null` when no policy was ever set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRotationPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub lifetime_actions: Vec<LifetimeAction>,
    pub attributes: Option<RotationPolicyAttributes>,
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (requests). Unknown members are ignored, as the service does.

/// The writable part of `KeyAttributes`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyAttributesIn {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub exp: Option<f64>,
    #[serde(default)]
    pub exportable: Option<bool>,
}

/// `KeyReleasePolicy` in a request: `data` base64url of the policy document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReleasePolicyIn {
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub immutable: Option<bool>,
    #[serde(default)]
    pub data: Option<String>,
}

/// `KeyCreateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyCreateParameters {
    #[serde(default)]
    pub kty: Option<String>,
    #[serde(default)]
    pub key_size: Option<i64>,
    #[serde(default)]
    pub public_exponent: Option<i64>,
    #[serde(default)]
    pub key_ops: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: Option<KeyAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub release_policy: Option<KeyReleasePolicyIn>,
}

/// `JsonWebKey` in an import request: any part may be present.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct JsonWebKeyIn {
    #[serde(default)]
    pub kty: Option<String>,
    #[serde(default)]
    pub key_ops: Option<Vec<String>>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub d: Option<String>,
    #[serde(default)]
    pub dp: Option<String>,
    #[serde(default)]
    pub dq: Option<String>,
    #[serde(default)]
    pub qi: Option<String>,
    #[serde(default)]
    pub p: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub k: Option<String>,
    #[serde(default)]
    pub key_hsm: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

/// `KeyImportParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyImportParameters {
    #[serde(default, rename = "Hsm")]
    pub hsm: Option<bool>,
    #[serde(default)]
    pub key: Option<JsonWebKeyIn>,
    #[serde(default)]
    pub attributes: Option<KeyAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub release_policy: Option<KeyReleasePolicyIn>,
}

/// `KeyUpdateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyUpdateParameters {
    #[serde(default)]
    pub key_ops: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: Option<KeyAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default)]
    pub release_policy: Option<KeyReleasePolicyIn>,
}

/// `KeyOperationsParameters`, `KeySignParameters` and `KeyVerifyParameters` in one: what a cryptographic
/// operation's body may carry (each operation checks the members it needs).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyOperationParameters {
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub iv: Option<String>,
    #[serde(default)]
    pub aad: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

/// `KeyRestoreParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyRestoreParameters {
    #[serde(default)]
    pub value: Option<String>,
}

/// `GetRandomBytesRequest`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GetRandomBytesRequest {
    #[serde(default)]
    pub count: Option<i64>,
}

/// `KeyReleaseParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct KeyReleaseParameters {
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default)]
    pub enc: Option<String>,
}

/// `KeyRotationPolicy` in a request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRotationPolicyIn {
    #[serde(default)]
    pub lifetime_actions: Option<Vec<LifetimeActionIn>>,
    #[serde(default)]
    pub attributes: Option<RotationPolicyAttributesIn>,
}

/// A lifetime action in a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LifetimeActionIn {
    #[serde(default)]
    pub trigger: Option<Trigger>,
    #[serde(default)]
    pub action: Option<ActionIn>,
}

/// `LifetimeActionsType` in a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ActionIn {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `KeyRotationPolicyAttributes` in a request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationPolicyAttributesIn {
    #[serde(default)]
    pub expiry_time: Option<String>,
}
