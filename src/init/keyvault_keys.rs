//! The `keyvault.keys` section of an init file: Key Vault keys with given material (a PEM or base64 PKCS#8
//! private key; base64 raw bytes for `oct-HSM`) or generated at the first start.
//!
//! ```yaml
//! keyvault:
//!   keys:
//!     - name: jwt-signing          # in the default vault unless `vault` names one (a host or a vault name)
//!       kty: RSA                   # RSA, RSA-HSM, EC, EC-HSM; oct-HSM in a Managed HSM (`vault: myhsm.managedhsm.localhost`)
//!       keySize: 2048              # RSA (2048, 3072, 4096) and oct-HSM (128, 192, 256)
//!       curve: P-256               # EC: P-256, P-384, P-521, P-256K
//!       material: |                # optional: without it the key is generated once
//!         -----BEGIN PRIVATE KEY-----
//!         ...
//!       keyOps: [sign, verify]     # optional: the key type's defaults otherwise
//!       tags: {team: payments}
//!       enabled: true
//!       notBefore: 2030-01-01T00:00:00Z
//!       expires: 1900000000
//! ```
//!
//! Idempotence, as for secrets: a key with material gets a version id derived from its name and material, so a
//! later start recognises it; a generated key is created only when the vault has no key of that name. A deleted
//! key of that name is an error that changes nothing.

use std::collections::BTreeMap;

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{decode_material, epoch_of, vault_of, Timestamp};
use crate::crypto::{KeyMaterial, KeySpec};
use crate::keyvault::keys::model::{curve_spec, KeyType, KeyVersion, Material, OctKey};
use crate::keyvault::KeyVault;

/// One key as the file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyDoc {
    name: String,
    vault: Option<String>,
    kty: String,
    key_size: Option<usize>,
    curve: Option<String>,
    material: Option<String>,
    key_ops: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
    enabled: Option<bool>,
    expires: Option<Timestamp>,
    not_before: Option<Timestamp>,
}

impl KeyDoc {
    /// The entry's name (for error labels).
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What to make when the file gives no material.
#[derive(Debug, Clone, Copy)]
pub enum Generate {
    Rsa(usize),
    Ec(KeySpec),
    Oct(usize),
}

/// A checked key entry.
#[derive(Debug)]
pub struct InitVaultKey {
    pub vault: String,
    pub name: String,
    pub kty: KeyType,
    /// Given material with its derived version id, or what to generate.
    pub material: Result<(Material, String), Generate>,
    pub key_ops: Vec<String>,
    pub tags: Option<BTreeMap<String, String>>,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
}

fn rsa_spec(bits: usize) -> Result<KeySpec, String> {
    match bits {
        2048 => Ok(KeySpec::Rsa2048),
        3072 => Ok(KeySpec::Rsa3072),
        4096 => Ok(KeySpec::Rsa4096),
        other => Err(format!("keySize {other} is not an RSA key size (2048, 3072, 4096)")),
    }
}

/// The version id of given material: SHA-256 of the vault, the lower-cased name and the key bytes.
fn derived_version(vault: &str, name: &str, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(vault.as_bytes());
    h.update([0]);
    h.update(name.to_ascii_lowercase().as_bytes());
    h.update([0]);
    h.update(bytes);
    hex_of(&h.finalize()[..16])
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks one entry.
pub fn check(doc: KeyDoc) -> Result<InitVaultKey, String> {
    let vault = vault_of(doc.vault.as_deref())?;
    crate::keyvault::protocol::body::check_name(&doc.name).map_err(|_| {
        format!(
            "name \"{}\" is not a key name (1 to 127 letters, digits and -)",
            doc.name
        )
    })?;
    let kty = KeyType::parse(&doc.kty)
        .filter(|k| *k != KeyType::Oct)
        .ok_or_else(|| format!("kty \"{}\" is not one of RSA, RSA-HSM, EC, EC-HSM, oct-HSM", doc.kty))?;
    if kty.is_oct() && !vault.ends_with(".managedhsm") {
        return Err("oct-HSM keys live in a Managed HSM: give `vault: <name>.managedhsm.localhost`".to_string());
    }
    let material = match (&doc.material, kty) {
        (None, k) if k.is_rsa() => Err(Generate::Rsa(
            rsa_spec(doc.key_size.unwrap_or(2048))?.rsa_bits().unwrap_or(2048),
        )),
        (None, k) if k.is_ec() => {
            let crv = doc.curve.as_deref().unwrap_or("P-256");
            Err(Generate::Ec(curve_spec(crv).ok_or_else(|| {
                format!("curve \"{crv}\" is not P-256, P-384, P-521 or P-256K")
            })?))
        }
        (None, _) => match doc.key_size.unwrap_or(256) {
            bits @ (128 | 192 | 256) => Err(Generate::Oct(bits / 8)),
            other => return Err(format!("keySize {other} is not an AES key size (128, 192, 256)")),
        },
        (Some(text), k) if k.is_oct() => {
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact.as_bytes())
                .map_err(|e| format!("material is not base64: {e}"))?;
            if ![16, 24, 32].contains(&bytes.len()) {
                return Err(format!(
                    "material: an AES key is 16, 24 or 32 bytes, not {}",
                    bytes.len()
                ));
            }
            let version = derived_version(&vault, &doc.name, &bytes);
            Ok((Material::Symmetric(OctKey(bytes)), version))
        }
        (Some(text), k) => {
            let material = given_material(k, &doc, text)?;
            let version = derived_version(&vault, &doc.name, material.bytes());
            Ok((Material::Asymmetric(material), version))
        }
    };
    let key_ops = match doc.key_ops {
        Some(ops) => crate::keyvault::keys::check_key_ops(ops).map_err(|e| format!("keyOps: {e}"))?,
        None => kty.default_ops().iter().map(|s| s.to_string()).collect(),
    };
    Ok(InitVaultKey {
        vault,
        name: doc.name,
        kty,
        material,
        key_ops,
        tags: doc.tags,
        enabled: doc.enabled.unwrap_or(true),
        nbf: doc.not_before.map(|t| epoch_of(t, "notBefore")).transpose()?,
        exp: doc.expires.map(|t| epoch_of(t, "expires")).transpose()?,
    })
}

/// Given RSA or EC material, checked against the entry's size or curve (RSA without keySize: any of the sizes).
fn given_material(kty: KeyType, doc: &KeyDoc, text: &str) -> Result<KeyMaterial, String> {
    if kty.is_ec() {
        let crv = doc.curve.as_deref().unwrap_or("P-256");
        let spec = curve_spec(crv).ok_or_else(|| format!("curve \"{crv}\" is not P-256, P-384, P-521 or P-256K"))?;
        return decode_material(spec, text);
    }
    match doc.key_size {
        Some(bits) => decode_material(rsa_spec(bits)?, text),
        None => [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096]
            .into_iter()
            .find_map(|spec| decode_material(spec, text).ok())
            .ok_or_else(|| {
                "material is not a PEM PRIVATE KEY or base64 PKCS#8 DER of a 2048, 3072 or 4096-bit RSA key".to_string()
            }),
    }
}

impl InitVaultKey {
    /// Whether the vault already has what this entry describes (then applying leaves it alone); an error when a
    /// deleted key holds the name.
    pub fn present(&self, kv: &KeyVault) -> Result<bool, String> {
        kv.with_vault(&self.vault, |vault| {
            if vault.keys.get_deleted(&self.name).is_ok() {
                return Err(format!(
                    "key {} of vault {} is deleted (recoverable): recover or purge it before seeding it",
                    self.name, self.vault
                ));
            }
            Ok(match (&self.material, vault.keys.get(&self.name)) {
                (_, Err(_)) => false,
                (Ok((_, version)), Ok(record)) => record.version(version).is_some(),
                (Err(_), Ok(_)) => true,
            })
        })
    }

    /// Makes the material to generate (blocking for RSA); `None` when the file gave it.
    pub fn generate(&self) -> Result<Option<Material>, String> {
        let Err(plan) = &self.material else { return Ok(None) };
        let made = match *plan {
            Generate::Rsa(bits) => KeyMaterial::generate_rsa(bits, 65537).map(Material::Asymmetric),
            Generate::Ec(spec) => KeyMaterial::generate(spec).map(Material::Asymmetric),
            Generate::Oct(len) => Ok(Material::Symmetric(OctKey(crate::crypto::random_bytes(len)))),
        };
        made.map(Some)
            .map_err(|e| format!("key {}: cannot generate its material: {e}", self.name))
    }

    /// Adds the key version (`generated` holds the material when the file gave none).
    pub fn apply(&self, kv: &KeyVault, generated: Option<Material>, now: i64) -> Result<(), String> {
        let (material, version) = match (&self.material, generated) {
            (Ok((m, v)), _) => (m.clone(), v.clone()),
            (Err(_), Some(m)) => (m, crate::keyvault::protocol::body::new_version()),
            (Err(_), None) => return Err(format!("key {}: no material was generated", self.name)),
        };
        let record = KeyVersion {
            managed: false,
            version,
            kty: self.kty,
            material,
            key_ops: self.key_ops.clone(),
            enabled: self.enabled,
            nbf: self.nbf,
            exp: self.exp,
            created: now,
            updated: now,
            tags: self.tags.clone(),
            exportable: false,
            release_policy: None,
        };
        kv.with_vault(&self.vault, |vault| {
            vault
                .keys
                .add_version(&self.name, record)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    }
}
