//! The keys plane: one handler per wire operation, named after it. The lifecycle (versions, delete, recover,
//! purge, paging) is the shared [`crate::keyvault::store::ObjectStore`]; this module adds what is a key's own:
//! creation and import of real key material, key operations, backups sealed so that only trent reads them, and
//! (in the files beside it) the cryptographic operations, rotation policies and secure key release.
//!
//! Key generation (RSA takes tens of milliseconds to seconds) runs on the blocking pool, outside the service lock.

pub mod crypto;
pub mod jwk;
pub mod model;
pub mod release;
pub mod rotation_policy;

use model::{
    DeletedKeyBundle, DeletedKeyItem, GetRandomBytesRequest, KeyAttributes, KeyAttributesIn, KeyBundle,
    KeyCreateParameters, KeyImportParameters, KeyItem, KeyRecord, KeyReleasePolicy, KeyReleasePolicyIn,
    KeyRestoreParameters, KeyType, KeyUpdateParameters, KeyVersion, Material, OctKey, ReleasePolicy, ValueResult,
};

use super::protocol::body::{attribute_update, check_name, check_tags, new_version, to_epoch};
use super::protocol::paging::{page_by_name, Listing};
use super::protocol::{truncate, KeyVaultError, ListArgs, ListResult, ObjectKind, Target};
use super::store::{backup, Deleted};
use super::Cx;
use crate::crypto::{KeyMaterial, KeySpec};

const KIND: ObjectKind = ObjectKind::Key;
/// Every key operation a request may name (`JsonWebKeyOperation`; `deriveKey` is Managed HSM's).
const KEY_OPERATIONS: [&str; 9] = [
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
    "deriveKey",
];
/// The content type of a release policy when the request names none.
const RELEASE_POLICY_CONTENT_TYPE: &str = "application/json; charset=utf-8";

type Answer<T> = Result<T, KeyVaultError>;

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

fn key_not_found(name: &str) -> KeyVaultError {
    KeyVaultError::not_found(KIND, name)
}

/// The KeyBundle of one version.
pub fn bundle(target: &Target, name: &str, v: &KeyVersion) -> Answer<KeyBundle> {
    Ok(KeyBundle {
        key: jwk::public_jwk(target.object_id(KIND, name, &v.version), v)?,
        attributes: KeyAttributes::of(v),
        tags: v.tags.clone(),
        release_policy: v.release_policy.as_ref().map(|p| KeyReleasePolicy {
            content_type: p.content_type.clone(),
            data: jwk::b64(p.data.as_bytes()),
            immutable: p.immutable,
        }),
        managed: v.managed.then_some(true),
    })
}

fn latest_bundle(target: &Target, record: &KeyRecord) -> Answer<KeyBundle> {
    let latest = record.latest().ok_or_else(|| key_not_found(&record.name))?;
    bundle(target, &record.name, latest)
}

fn deleted_bundle(target: &Target, d: &Deleted<KeyVersion>) -> Answer<DeletedKeyBundle> {
    Ok(DeletedKeyBundle {
        recovery_id: target.recovery_id(KIND, &d.object.name),
        deleted_date: d.deleted_date,
        scheduled_purge_date: d.scheduled_purge_date,
        bundle: latest_bundle(target, &d.object)?,
    })
}

fn item(target: &Target, record: &KeyRecord) -> Option<KeyItem> {
    record.latest().map(|v| KeyItem {
        kid: target.base_id(KIND, &record.name),
        attributes: KeyAttributes::of(v),
        tags: v.tags.clone(),
        managed: v.managed.then_some(true),
    })
}

/// Checks requested key operations: each one the service knows (kept verbatim, in the order sent).
pub fn check_key_ops(ops: Vec<String>) -> Answer<Vec<String>> {
    for op in &ops {
        if !KEY_OPERATIONS.contains(&op.as_str()) {
            return Err(bad(format!("Invalid key operation: '{}'.", truncate(op, 64))));
        }
    }
    Ok(ops)
}

/// A release policy from the request: `data` is base64url of a JSON policy document.
fn release_policy(input: Option<KeyReleasePolicyIn>) -> Answer<Option<ReleasePolicy>> {
    let Some(input) = input else { return Ok(None) };
    let data = input
        .data
        .as_deref()
        .and_then(jwk::unb64)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad("The release policy 'data' must be base64url-encoded UTF-8 JSON."))?;
    release::parse_policy(&data)?;
    Ok(Some(ReleasePolicy {
        content_type: input
            .content_type
            .unwrap_or_else(|| RELEASE_POLICY_CONTENT_TYPE.to_string()),
        data,
        immutable: input.immutable.unwrap_or(false),
    }))
}

/// The key type a create request names, checked against where it is addressed: `oct` keys are Managed HSM keys.
fn create_type(target: &Target, kty: Option<&str>) -> Answer<KeyType> {
    let name = kty.ok_or_else(|| bad("The parameter 'kty' is required."))?;
    let kty = KeyType::parse(name).ok_or_else(|| bad(format!("Invalid key type (kty): '{}'.", truncate(name, 32))))?;
    if kty.is_oct() && !target.managed_hsm {
        return Err(bad(format!(
            "Key type '{}' is not supported by a key vault: symmetric keys are available in Managed HSM only \
             (trent serves a Managed HSM at a host '<name>.managedhsm.<domain>').",
            kty.as_str()
        )));
    }
    Ok(kty)
}

/// What to generate for a create request.
#[derive(Debug, Clone, Copy)]
enum Generate {
    Rsa { bits: usize, exponent: u64 },
    Ec(KeySpec),
    Oct(usize),
}

fn generate_plan(kty: KeyType, params: &KeyCreateParameters) -> Answer<Generate> {
    if kty.is_rsa() {
        let bits = params.key_size.unwrap_or(2048);
        if ![2048, 3072, 4096].contains(&bits) {
            return Err(bad(format!("Invalid key size: '{bits}'")));
        }
        let exponent = params.public_exponent.unwrap_or(65537);
        if exponent < 3 || exponent % 2 == 0 || exponent > u32::MAX as i64 {
            return Err(bad(format!("Invalid public exponent: '{exponent}'")));
        }
        return Ok(Generate::Rsa {
            bits: bits as usize,
            exponent: exponent as u64,
        });
    }
    if kty.is_ec() {
        let crv = params.crv.as_deref().unwrap_or("P-256");
        let spec =
            model::curve_spec(crv).ok_or_else(|| bad(format!("Invalid curve name (crv): '{}'.", truncate(crv, 32))))?;
        return Ok(Generate::Ec(spec));
    }
    let bits = params.key_size.unwrap_or(256);
    if ![128, 192, 256].contains(&bits) {
        return Err(bad(format!("Invalid key size: '{bits}'")));
    }
    Ok(Generate::Oct(bits as usize / 8))
}

/// Generates key material (blocking: RSA takes long).
fn make(plan: Generate) -> Answer<Material> {
    let made = match plan {
        Generate::Rsa { bits, exponent } => KeyMaterial::generate_rsa(bits, exponent).map(Material::Asymmetric),
        Generate::Ec(spec) => KeyMaterial::generate(spec).map(Material::Asymmetric),
        Generate::Oct(len) => Ok(Material::Symmetric(OctKey(crate::crypto::random_bytes(len)))),
    };
    made.map_err(|e| KeyVaultError::Internal(format!("key generation failed: {e}")))
}

/// Generates key material on the blocking pool, in turn with every other key generation of the server
/// ([`crate::limits::key_generation`]); a wait past the limit is the service's 429.
async fn generate(plan: Generate) -> Answer<Material> {
    crate::limits::key_generation()
        .run(move || make(plan))
        .await
        .map_err(|_| KeyVaultError::Throttled)?
}

/// Fresh material of the same type, size or curve as `v` (blocking).
pub fn material_like(v: &KeyVersion) -> Answer<Material> {
    make(plan_like(v))
}

/// The plan that makes a new version like `v` (same type, size or curve): for RotateKey and rotation policies.
fn plan_like(v: &KeyVersion) -> Generate {
    match &v.material {
        Material::Asymmetric(m) if v.kty.is_rsa() => {
            let exponent = m
                .rsa_parts(false)
                .ok()
                .map(|p| p.e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
                .unwrap_or(65537);
            Generate::Rsa {
                bits: m.spec().rsa_bits().unwrap_or(2048),
                exponent,
            }
        }
        Material::Asymmetric(m) => Generate::Ec(m.spec()),
        Material::Symmetric(k) => Generate::Oct(k.0.len()),
    }
}

/// Attributes and release policy of a new key (create or import), with the service's rule that an exportable key
/// needs a release policy.
struct NewKeyProperties {
    enabled: bool,
    nbf: Option<i64>,
    exp: Option<i64>,
    exportable: bool,
    release_policy: Option<ReleasePolicy>,
    tags: Option<std::collections::BTreeMap<String, String>>,
}

fn new_key_properties(
    attributes: Option<KeyAttributesIn>,
    tags: &Option<std::collections::HashMap<String, String>>,
    policy: Option<KeyReleasePolicyIn>,
) -> Answer<NewKeyProperties> {
    let attrs = attributes.unwrap_or_default();
    let release_policy = release_policy(policy)?;
    let exportable = attrs.exportable.unwrap_or(false);
    if exportable && release_policy.is_none() {
        return Err(bad("An exportable key must have a release policy."));
    }
    if !exportable && release_policy.is_some() {
        return Err(bad("A release policy can only be set on an exportable key."));
    }
    Ok(NewKeyProperties {
        enabled: attrs.enabled.unwrap_or(true),
        nbf: to_epoch(attrs.nbf, "nbf")?,
        exp: to_epoch(attrs.exp, "exp")?,
        exportable,
        release_policy,
        tags: check_tags(tags)?,
    })
}

fn new_version_record(kty: KeyType, material: Material, ops: Vec<String>, p: NewKeyProperties, now: i64) -> KeyVersion {
    KeyVersion {
        managed: false,
        version: new_version(),
        kty,
        material,
        key_ops: ops,
        enabled: p.enabled,
        nbf: p.nbf,
        exp: p.exp,
        created: now,
        updated: now,
        tags: p.tags,
        exportable: p.exportable,
        release_policy: p.release_policy,
    }
}

fn add(cx: &Cx, name: &str, version: KeyVersion) -> Answer<KeyBundle> {
    cx.with_vault(|vault| {
        let record = vault.keys.add_version(name, version)?;
        latest_bundle(cx.target, record)
    })
}

// ---------------------------------------------------------------------------------------------------------------

/// `POST /keys/{name}/create` — CreateKey: a new version with freshly generated material.
pub async fn create_key(cx: &Cx<'_>, name: &str, params: KeyCreateParameters) -> Answer<KeyBundle> {
    check_name(name)?;
    let kty = create_type(cx.target, params.kty.as_deref())?;
    let plan = generate_plan(kty, &params)?;
    let ops = match params.key_ops.clone() {
        Some(ops) => check_key_ops(ops)?,
        None => kty.default_ops().iter().map(|s| s.to_string()).collect(),
    };
    let properties = new_key_properties(params.attributes.clone(), &params.tags, params.release_policy.clone())?;
    // A deleted name is refused before the (slow) generation, as after it.
    cx.with_vault(|vault| match vault.keys.get_deleted(name) {
        Ok(d) => Err(KeyVaultError::deleted_but_recoverable(KIND, &d.object.name)),
        Err(_) => Ok(()),
    })?;
    let material = generate(plan).await?;
    let version = new_version_record(kty, material, ops, properties, cx.kv.now());
    add(cx, name, version)
}

/// `PUT /keys/{name}` — ImportKey: a new version holding the given JWK's material.
pub fn import_key(cx: &Cx, name: &str, params: KeyImportParameters) -> Answer<KeyBundle> {
    check_name(name)?;
    let jwk_in = params
        .key
        .as_ref()
        .ok_or_else(|| bad("The parameter 'key' is required."))?;
    let (kty, material) = jwk::import(jwk_in, params.hsm.unwrap_or(false))?;
    if kty.is_oct() && !cx.target.managed_hsm {
        create_type(cx.target, Some(kty.as_str()))?;
    }
    let ops = match jwk_in.key_ops.clone() {
        Some(ops) => check_key_ops(ops)?,
        None => kty.default_ops().iter().map(|s| s.to_string()).collect(),
    };
    let properties = new_key_properties(params.attributes, &params.tags, params.release_policy)?;
    let version = new_version_record(kty, material, ops, properties, cx.kv.now());
    add(cx, name, version)
}

/// `GET /keys/{name}[/{version}]` — GetKey (latest when the version is empty). Disabled keys are readable.
pub fn get_key(cx: &Cx, name: &str, version: Option<&str>) -> Answer<KeyBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        let v = record.find(version)?;
        bundle(cx.target, &record.name, v)
    })
}

/// `PATCH /keys/{name}[/{version}]` — UpdateKey: key operations, attributes, tags and release policy of one
/// version (an immutable release policy cannot change).
pub fn update_key(cx: &Cx, name: &str, version: Option<&str>, params: KeyUpdateParameters) -> Answer<KeyBundle> {
    check_name(name)?;
    let ops = params.key_ops.map(check_key_ops).transpose()?;
    let attrs = params.attributes.unwrap_or_default();
    let update = attribute_update(&params.tags, attrs.enabled, attrs.nbf, attrs.exp)?;
    let policy = release_policy(params.release_policy)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let record = vault.keys.get_mut(name)?;
        let stored_name = record.name.clone();
        let v = record.find_mut(version)?;
        if let Some(policy) = &policy {
            if v.release_policy.as_ref().is_some_and(|p| p.immutable) {
                return Err(bad("The key's release policy is immutable and cannot be changed."));
            }
            if !v.exportable && attrs.exportable != Some(true) {
                return Err(bad("A release policy can only be set on an exportable key."));
            }
            v.release_policy = Some(policy.clone());
        }
        if let Some(exportable) = attrs.exportable {
            if v.exportable && !exportable {
                return Err(bad("An exportable key cannot be made non-exportable."));
            }
            if exportable && v.release_policy.is_none() {
                return Err(bad("An exportable key must have a release policy."));
            }
            v.exportable = exportable;
        }
        if let Some(ops) = ops {
            v.key_ops = ops;
        }
        update.apply(v, now);
        bundle(cx.target, &stored_name, v)
    })
}

/// `DELETE /keys/{name}` — DeleteKey: soft delete of every version.
pub fn delete_key(cx: &Cx, name: &str) -> Answer<DeletedKeyBundle> {
    check_name(name)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let deleted = vault.keys.delete(name, now)?;
        deleted_bundle(cx.target, deleted)
    })
}

/// `GET /keys` — GetKeys: one item per key (`kid` without version, latest version's attributes), by name.
pub fn get_keys(cx: &Cx, args: &ListArgs) -> Answer<ListResult<KeyItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.keys.live(),
            cx.target,
            "/keys",
            args,
            (KIND, Listing::Objects),
            |r| item(cx.target, r),
        )
    })
}

/// `GET /keys/{name}/versions` — GetKeyVersions, oldest first. An unknown name lists nothing (NET recording
/// KeyClientLiveTests/GetPropertiesOfKeyVersionsNonExisting.json).
pub fn get_key_versions(cx: &Cx, name: &str, args: &ListArgs) -> Answer<ListResult<KeyItem>> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault.keys.page_versions(name, cx.target, args, |stored, v| KeyItem {
            kid: cx.target.object_id(KIND, stored, &v.version),
            attributes: KeyAttributes::of(v),
            tags: v.tags.clone(),
            managed: v.managed.then_some(true),
        })
    })
}

/// `POST /keys/{name}/backup` — BackupKey: every version in one blob, sealed with the service's backup key.
pub fn backup_key(cx: &Cx, name: &str) -> Answer<ValueResult> {
    check_name(name)?;
    // The sealing key is made on the first backup of a key that exists, never by a failed one.
    cx.with_vault(|vault| vault.keys.get(name).map(|_| ()))?;
    let key = cx.kv.backup_key();
    cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        Ok(ValueResult {
            value: backup::seal_wire(&key, record),
        })
    })
}

/// `POST /keys/restore` — RestoreKey: the key with all its versions, ids and dates, from a backup blob.
pub fn restore_key(cx: &Cx, params: KeyRestoreParameters) -> Answer<KeyBundle> {
    let blob = params.value.ok_or_else(|| bad("The parameter 'value' is required."))?;
    // The code (with its spaces) and message the service sends (JS recording
    // keys_client__restore_keys_and_recover_backups/recording_fails_to_restore_a_key_with_a_malformed_backup.json).
    // Before any backup was made there is no sealing key, so no blob can be one of ours.
    let record: KeyRecord = cx
        .kv
        .existing_backup_key()
        .and_then(|key| backup::open_wire(&key, &blob).ok())
        .ok_or_else(|| KeyVaultError::BadRequest {
            code: "Malformed backup blob",
            message: "Backup blob contains invalid or corrupt version.".to_string(),
        })?;
    cx.with_vault(|vault| {
        let name = record.name.clone();
        let latest = record.latest().map(|v| cx.target.object_id(KIND, &name, &v.version));
        match vault.keys.restore(record) {
            Ok(restored) => latest_bundle(cx.target, restored),
            // The conflict wording of GO recording TestBackupRestore/KV.json, naming the backed-up version.
            Err(KeyVaultError::Conflict { inner: None, .. }) => Err(KeyVaultError::Conflict {
                message: format!(
                    "There was a conflict restoring the key '{}'. This can happen if either: a second key with the \
                     same name was created after the first key was deleted; thus trying to restore a key whose \
                     name is already in use. To fix this, rename the second key to something else so that the \
                     restore works. The second probable cause of this exception is when multiple operations are \
                     performed in parallel against the key. To avoid this error, perform operations against a key \
                     in a sequential manner.",
                    latest.unwrap_or_default()
                ),
                inner: None,
            }),
            Err(e) => Err(e),
        }
    })
}

/// `POST /keys/{name}/rotate` — RotateKey: a new version of the same type, size or curve and operations; its
/// expiry follows the rotation policy's `expiryTime`.
pub async fn rotate_key(cx: &Cx<'_>, name: &str) -> Answer<KeyBundle> {
    check_name(name)?;
    let (plan, template) = cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        let latest = record.latest().ok_or_else(|| key_not_found(name))?;
        Ok::<_, KeyVaultError>((plan_like(latest), latest.clone()))
    })?;
    let material = generate(plan).await?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let version = rotation_policy::rotated_version(vault, name, &template, material, now);
        let record = vault.keys.add_version(name, version)?;
        latest_bundle(cx.target, record)
    })
}

/// `GET /deletedkeys` — GetDeletedKeys, by name.
pub fn get_deleted_keys(cx: &Cx, args: &ListArgs) -> Answer<ListResult<DeletedKeyItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.keys.deleted_objects(),
            cx.target,
            "/deletedkeys",
            args,
            (KIND, Listing::Deleted),
            |d| {
                item(cx.target, &d.object).map(|item| DeletedKeyItem {
                    recovery_id: cx.target.recovery_id(KIND, &d.object.name),
                    deleted_date: d.deleted_date,
                    scheduled_purge_date: d.scheduled_purge_date,
                    item,
                })
            },
        )
    })
}

/// `GET /deletedkeys/{name}` — GetDeletedKey.
pub fn get_deleted_key(cx: &Cx, name: &str) -> Answer<DeletedKeyBundle> {
    check_name(name)?;
    cx.with_vault(|vault| deleted_bundle(cx.target, vault.keys.get_deleted(name)?))
}

/// `DELETE /deletedkeys/{name}` — PurgeDeletedKey (answered 204); the rotation policy goes with the key.
pub fn purge_deleted_key(cx: &Cx, name: &str) -> Answer<()> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault.keys.purge(name)?;
        vault.rotation_policies.remove(&name.to_ascii_lowercase());
        Ok(())
    })
}

/// `POST /deletedkeys/{name}/recover` — RecoverDeletedKey. A name that is not deleted is the service's KeyNotFound
/// sentence (JS recording recording_fails_if_one_tries_to_recover_a_nonexisting_deleted_key.json).
pub fn recover_deleted_key(cx: &Cx, name: &str) -> Answer<KeyBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let record = vault.keys.recover(name).map_err(|_| key_not_found(name))?;
        latest_bundle(cx.target, record)
    })
}

/// `POST /rng` — GetRandomBytes: 1 to 128 bytes from the operating system's CSPRNG.
pub fn get_random_bytes(params: GetRandomBytesRequest) -> Answer<ValueResult> {
    let count = params.count.ok_or_else(|| bad("The parameter 'count' is required."))?;
    if !(1..=128).contains(&count) {
        return Err(bad(format!(
            "Invalid count: '{count}'. The number of random bytes must be between 1 and 128."
        )));
    }
    Ok(ValueResult {
        value: jwk::b64(&crate::crypto::random_bytes(count as usize)),
    })
}
