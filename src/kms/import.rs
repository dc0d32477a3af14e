//! Imported key material (Origin=EXTERNAL): GetParametersForImport, ImportKeyMaterial, DeleteImportedKeyMaterial,
//! and what trent keeps about imported material ([`ImportInfo`]).
//!
//! - A key created with `Origin=EXTERNAL` has no material and is `PendingImport`.
//! - `GetParametersForImport` hands out a fresh RSA wrapping key and an import token. The token is sealed
//!   (AES-256-GCM under a per-process secret) and carries everything needed to unwrap: the key ARN it is for,
//!   the wrapping algorithm, the expiry (24 h on the server clock) and the wrapping private key — so nothing is
//!   stored per request, and a token for another key, algorithm or server is refused.
//! - `ImportKeyMaterial` unwraps (RSA-OAEP, or RSA-OAEP + AES Key Wrap with Padding for `RSA_AES_KEY_WRAP_*`),
//!   checks the material fits the key spec and installs it. Each material gets a `KeyMaterialId`: SHA-256 over
//!   the key id and the material, which doubles as the fingerprint that reimports are checked against — deleted
//!   material itself is never kept.
//! - Material versions are the indexes of [`KeyRecord::materials`], which the ciphertext envelope names. A
//!   deleted or expired version is marked not imported here; for symmetric keys its slot holds an all-zero
//!   placeholder (never used: every lookup checks [`ImportInfo::is_imported`]) so later versions keep their
//!   index, other key specs have a single version and their slot is emptied. Expiry (`ValidTo`) is applied
//!   lazily whenever the key is looked up ([`expire_due`], called from `state::resolve`).
//! - Symmetric keys can take new material for on-demand rotation (`ImportType=NEW_KEY_MATERIAL`): it waits as
//!   `PENDING_ROTATION` ([`ImportInfo::pending`]) until `RotateKeyOnDemand` makes it current ([`rotate_to_pending`]).
//!
//! The wrapping keys, the unwrapping and the sealing of tokens are primitives in [`crate::crypto::wrap`]; this
//! module decides what a token carries and what each failure means on the wire.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use super::errors::KmsError;
use super::rotations::RotationType;
use super::state::{self, Accept, KeyRecord, KeyState, Origin, Scope};
use super::{b64, epoch_secs, request, response, Kms};
use crate::crypto::wrap::{self, WrappingKey};
use crate::crypto::{CryptoError, KeyMaterial, KeySpec};

const DAY_MS: i64 = 86_400_000;
/// Import parameters are valid this long (AWS: 24 hours).
const PARAMETERS_VALID_MS: i64 = DAY_MS;
/// `ValidTo` may be at most this far ahead (AWS: 365 days).
const MAX_VALID_TO_MS: i64 = 365 * DAY_MS;
const EXPIRES: &str = "KEY_MATERIAL_EXPIRES";
const DOES_NOT_EXPIRE: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";
const NEW_KEY_MATERIAL: &str = "NEW_KEY_MATERIAL";
const EXISTING_KEY_MATERIAL: &str = "EXISTING_KEY_MATERIAL";

/// What trent keeps about an EXTERNAL key's imported material.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImportInfo {
    /// One entry per material version (the same index as [`KeyRecord::materials`]), in import order.
    #[serde(default)]
    pub versions: Vec<ImportedMaterial>,
    /// Symmetric keys: new material imported for an on-demand rotation that has not happened yet.
    #[serde(default)]
    pub pending: Option<PendingMaterial>,
}

/// One imported material version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedMaterial {
    /// 64 hex digits: SHA-256 of the key id and the material, so a reimport can be checked against it.
    pub key_material_id: String,
    /// False once the material was deleted (DeleteImportedKeyMaterial) or expired: `PENDING_IMPORT`.
    pub imported: bool,
    /// `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE`, as of the last import.
    pub expiration_model: String,
    /// When the material expires (epoch ms on the server clock); only with `KEY_MATERIAL_EXPIRES`.
    #[serde(default)]
    pub valid_to_ms: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Material imported with `ImportType=NEW_KEY_MATERIAL` into a symmetric key that already has material:
/// `PENDING_ROTATION` until RotateKeyOnDemand.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingMaterial {
    pub material: KeyMaterial,
    pub info: ImportedMaterial,
}

impl ImportInfo {
    /// True when material `version` is present (imported and neither deleted nor expired).
    pub fn is_imported(&self, version: usize) -> bool {
        self.versions.get(version).is_some_and(|v| v.imported)
    }

    /// True when every material version is present (and there is at least one).
    pub fn all_imported(&self) -> bool {
        !self.versions.is_empty() && self.versions.iter().all(|v| v.imported)
    }
}

/// The `KeyMaterialId` of `material` for key `key_id`: SHA-256 over both, in hex. Used for every key's material
/// (DescribeKey's CurrentKeyMaterialId, ListKeyRotations), generated or imported.
pub fn material_id(key_id: &str, material: &[u8]) -> String {
    let mut input = Vec::with_capacity(key_id.len() + 1 + material.len());
    input.extend_from_slice(key_id.as_bytes());
    input.push(0);
    input.extend_from_slice(material);
    let digest = crate::crypto::sha256(&input);
    zeroize::Zeroize::zeroize(&mut input);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// True when material `m` is imported and its `ValidTo` has passed as of `now_ms`.
fn is_due(m: &ImportedMaterial, now_ms: i64) -> bool {
    m.imported && m.valid_to_ms.is_some_and(|at| at <= now_ms)
}

/// True when some material of `key` has expired as of `now_ms` ([`expire_due`] has work to do). Read-only, so a
/// lookup need not take the record mutably (which marks it changed for storage) when nothing expires.
pub fn has_expired(key: &KeyRecord, now_ms: i64) -> bool {
    key.import.as_ref().is_some_and(|info| {
        info.versions.iter().any(|m| is_due(m, now_ms))
            || info.pending.as_ref().is_some_and(|p| is_due(&p.info, now_ms))
    })
}

/// Deletes material whose `ValidTo` has passed as of `now_ms` (the key goes to PendingImport unless it is
/// pending deletion). Called whenever a key is looked up, like automatic rotation.
pub fn expire_due(key: &mut KeyRecord, now_ms: i64) {
    let Some(info) = key.import.as_mut() else { return };
    let due = |m: &ImportedMaterial| is_due(m, now_ms);
    if info.pending.as_ref().is_some_and(|p| due(&p.info)) {
        info.pending = None;
    }
    let expired: Vec<usize> = (0..info.versions.len()).filter(|&v| due(&info.versions[v])).collect();
    for version in expired {
        drop_material(key, version);
    }
}

/// Removes material `version` from the key (see the module docs for why the slot stays for symmetric keys).
fn drop_material(key: &mut KeyRecord, version: usize) {
    if let Some(info) = key.import.as_mut() {
        if let Some(entry) = info.versions.get_mut(version) {
            entry.imported = false;
        }
    }
    if key.key_spec == KeySpec::SymmetricDefault {
        if let (Some(slot), Ok(placeholder)) = (
            key.materials.get_mut(version),
            KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0u8; 32]),
        ) {
            *slot = placeholder;
        }
    } else {
        key.materials.clear();
    }
    if key.state != KeyState::PendingDeletion {
        key.state = KeyState::PendingImport;
    }
}

/// Multi-Region replicas of imported keys: KMS never copies imported material to a replica, but a replica only
/// takes the material of its primary, at the same version index (the ciphertext envelope names versions by
/// index). So a replica's [`ImportInfo`] mirrors the primary's versions: a version the replica has not imported
/// yet is an entry with the primary's KeyMaterialId and `imported: false` (and, for symmetric keys, a placeholder
/// slot), and the replica's ImportKeyMaterial is a reimport of one of them. True when [`follow_primary`] has work:
/// the primary has versions the replica does not list, or the replica holds material pending rotation that the
/// primary no longer has pending.
pub fn must_follow(replica: &KeyRecord, primary: &ImportInfo) -> bool {
    let (versions, pending) = replica
        .import
        .as_ref()
        .map_or((0, None), |i| (i.versions.len(), i.pending.as_ref()));
    let primary_pending = primary.pending.as_ref().map(|p| &p.info.key_material_id);
    versions < primary.versions.len() || pending.is_some_and(|p| Some(&p.info.key_material_id) != primary_pending)
}

/// Brings replica `replica`'s import bookkeeping in step with its primary's `primary` (see [`must_follow`]): a
/// primary version the replica lacks becomes current on the replica if the replica already imported it for
/// rotation (the primary rotated on demand), otherwise it awaits import and the replica is PendingImport. Material
/// pending rotation that the primary no longer has pending is dropped (deleting a primary's pending material
/// deletes it from the replicas too). The replica's own imports, deletions and expirations are left alone.
pub fn follow_primary(replica: &mut KeyRecord, primary: &ImportInfo) {
    let symmetric = replica.key_spec == KeySpec::SymmetricDefault;
    let info = replica.import.get_or_insert_with(ImportInfo::default);
    let mut awaiting = false;
    for wanted in primary.versions.iter().skip(info.versions.len()) {
        match info.pending.take() {
            Some(p) if p.info.key_material_id == wanted.key_material_id => {
                replica.materials.push(p.material);
                info.versions.push(p.info);
            }
            other => {
                info.pending = other;
                info.versions.push(ImportedMaterial {
                    key_material_id: wanted.key_material_id.clone(),
                    imported: false,
                    expiration_model: DOES_NOT_EXPIRE.to_string(),
                    valid_to_ms: None,
                    description: wanted.description.clone(),
                });
                if symmetric {
                    if let Ok(placeholder) = KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0u8; 32]) {
                        replica.materials.push(placeholder);
                    }
                }
                awaiting = true;
            }
        }
    }
    let primary_pending = primary.pending.as_ref().map(|p| &p.info.key_material_id);
    if info
        .pending
        .as_ref()
        .is_some_and(|p| Some(&p.info.key_material_id) != primary_pending)
    {
        info.pending = None;
    }
    if awaiting && replica.state != KeyState::PendingDeletion {
        replica.state = KeyState::PendingImport;
    }
}

/// Checks a key's import bookkeeping against its material (a state document read through the control API or a
/// data directory): one entry per material version, a removed version only where a key spec allows it, valid ids
/// and expirations, pending material of the key's spec. The error says what is wrong.
pub fn check_record(key: &KeyRecord) -> Result<(), String> {
    let Some(info) = &key.import else { return Ok(()) };
    if key.origin != Origin::External {
        return Err(format!(
            "has imported key material records but Origin {}",
            key.origin.as_str()
        ));
    }
    let symmetric = key.key_spec == KeySpec::SymmetricDefault;
    let versions = info.versions.len();
    let emptied = !symmetric && key.materials.is_empty() && versions == 1 && !info.versions[0].imported;
    if key.materials.len() != versions && !emptied {
        return Err(format!(
            "has {} material versions but {versions} imported key material records",
            key.materials.len()
        ));
    }
    if !symmetric && (versions > 1 || info.pending.is_some()) {
        return Err(format!(
            "is {} and cannot have more than one key material",
            key.key_spec
        ));
    }
    let entries = info.versions.iter().chain(info.pending.as_ref().map(|p| &p.info));
    for entry in entries {
        let id = &entry.key_material_id;
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format!(
                "has a key material id \"{id}\" that is not 64 lowercase hex digits"
            ));
        }
        match (entry.expiration_model.as_str(), entry.valid_to_ms) {
            (EXPIRES, Some(_)) | (DOES_NOT_EXPIRE, None) => {}
            (model, valid_to) => {
                return Err(format!(
                    "key material {id} has ExpirationModel \"{model}\" with ValidTo {valid_to:?}"
                ))
            }
        }
    }
    if let Some(pending) = &info.pending {
        KeyMaterial::from_bytes(key.key_spec, pending.material.bytes())
            .map_err(|e| format!("has key material pending rotation that is invalid: {e}"))?;
    }
    Ok(())
}

/// What KeyMetadata shows about imported material: ExpirationModel, ValidTo, CurrentKeyMaterialId.
pub struct MetadataFields {
    pub expiration_model: Option<&'static str>,
    pub valid_to: Option<f64>,
    pub current_key_material_id: Option<String>,
}

/// The KeyMetadata fields of an EXTERNAL key (all None for other keys and before the first import).
pub fn metadata_fields(key: &KeyRecord) -> MetadataFields {
    let none = MetadataFields {
        expiration_model: None,
        valid_to: None,
        current_key_material_id: None,
    };
    let Some(info) = key.import.as_ref().filter(|_| key.origin == Origin::External) else {
        // Keys KMS generated: symmetric ones name their current material (the id ListKeyRotations shows).
        return MetadataFields {
            current_key_material_id: key
                .materials
                .last()
                .filter(|_| key.key_spec == KeySpec::SymmetricDefault)
                .map(|m| material_id(&key.key_id, m.bytes())),
            ..none
        };
    };
    let Some(current) = info.versions.last() else {
        return none;
    };
    // ValidTo: the earliest expiry of any imported material permanently associated with the key.
    let valid_to_ms = info
        .versions
        .iter()
        .filter(|v| v.imported)
        .filter_map(|v| v.valid_to_ms)
        .min();
    MetadataFields {
        expiration_model: Some(if valid_to_ms.is_some() || current.expiration_model == EXPIRES {
            EXPIRES
        } else {
            DOES_NOT_EXPIRE
        }),
        valid_to: valid_to_ms.map(epoch_secs),
        current_key_material_id: (key.key_spec == KeySpec::SymmetricDefault).then(|| current.key_material_id.clone()),
    }
}

/// RotateKeyOnDemand of a symmetric EXTERNAL key: the material pending rotation becomes the current version.
/// Returns the new version and its KeyMaterialId.
pub fn rotate_to_pending(key: &mut KeyRecord) -> Result<(usize, String), KmsError> {
    let arn = key.arn();
    let pending = key
        .import
        .as_mut()
        .and_then(|info| info.pending.take())
        .ok_or_else(|| {
            KmsError::InvalidState(format!(
                "{arn} has no imported key material in PENDING_ROTATION state. Import new key material with \
             ImportType NEW_KEY_MATERIAL before rotating on demand."
            ))
        })?;
    let PendingMaterial { material, info } = pending;
    let id = info.key_material_id.clone();
    key.materials.push(material);
    key.import.get_or_insert_with(ImportInfo::default).versions.push(info);
    Ok((key.materials.len().saturating_sub(1), id))
}

/// The import fields of a ListKeyRotations entry (symmetric EXTERNAL keys only).
pub struct RotationFields {
    pub import_state: &'static str,
    pub expiration_model: String,
    pub valid_to: Option<f64>,
    pub description: Option<String>,
}

fn rotation_fields_of(m: &ImportedMaterial) -> RotationFields {
    RotationFields {
        import_state: if m.imported { "IMPORTED" } else { "PENDING_IMPORT" },
        expiration_model: m.expiration_model.clone(),
        valid_to: m.valid_to_ms.map(epoch_secs),
        description: m.description.clone(),
    }
}

/// ListKeyRotations' import fields for material `version` of `key`.
pub fn rotation_fields(key: &KeyRecord, version: usize) -> Option<RotationFields> {
    if key.origin != Origin::External || key.key_spec != KeySpec::SymmetricDefault {
        return None;
    }
    key.import.as_ref()?.versions.get(version).map(rotation_fields_of)
}

/// The material pending rotation of `key`, as (KeyMaterialId, import fields).
pub fn pending_rotation(key: &KeyRecord) -> Option<(String, RotationFields)> {
    let pending = key.import.as_ref()?.pending.as_ref()?;
    Some((pending.info.key_material_id.clone(), rotation_fields_of(&pending.info)))
}

/// AWS's refusal for a key of another origin: "<arn> origin is AWS_KMS which is not valid for this operation."
fn require_external(key: &KeyRecord) -> Result<(), KmsError> {
    if key.origin != Origin::External {
        return Err(KmsError::Unsupported(format!(
            "{} origin is {} which is not valid for this operation.",
            key.arn(),
            key.origin.as_str()
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// GetParametersForImport

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersForImportRequest {
    key_id: String,
    wrapping_algorithm: String,
    wrapping_key_spec: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersForImportResponse {
    key_id: String,
    #[serde(with = "b64")]
    import_token: Vec<u8>,
    #[serde(with = "b64")]
    public_key: Vec<u8>,
    parameters_valid_to: f64,
}

/// Checks a wrapping key spec and algorithm for material of `spec` in `region` the way AWS documents them;
/// returns the RSA modulus size and the algorithm.
fn check_wrapping(
    spec: KeySpec,
    wrapping_spec: &str,
    algorithm: &str,
    region: &str,
) -> Result<(usize, wrap::Algorithm), KmsError> {
    let china = region.starts_with("cn-");
    if wrapping_spec == "SM2" || algorithm == "SM2PKE" {
        if !china {
            return Err(KmsError::Validation(format!(
                "{} SM2 is not supported in the {region} region. SM2 is available only in China Regions.",
                if wrapping_spec == "SM2" {
                    "WrappingKeySpec"
                } else {
                    "WrappingAlgorithm"
                }
            )));
        }
        return Err(KmsError::unsupported("SM2 wrapping keys"));
    }
    let bits = match wrapping_spec {
        "RSA_2048" => 2048,
        "RSA_3072" => 3072,
        "RSA_4096" => 4096,
        other => return Err(KmsError::Validation(format!("Unknown WrappingKeySpec {other}"))),
    };
    let alg = match algorithm {
        "RSAES_OAEP_SHA_1" => wrap::Algorithm::OaepSha1,
        "RSAES_OAEP_SHA_256" => wrap::Algorithm::OaepSha256,
        "RSA_AES_KEY_WRAP_SHA_1" => wrap::Algorithm::AesKwSha1,
        "RSA_AES_KEY_WRAP_SHA_256" => wrap::Algorithm::AesKwSha256,
        "RSAES_PKCS1_V1_5" => {
            return Err(KmsError::Validation(
                "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_256 or \
                 RSA_AES_KEY_WRAP_SHA_256."
                    .into(),
            ))
        }
        other => return Err(KmsError::Validation(format!("Unknown WrappingAlgorithm {other}"))),
    };
    if alg.is_hybrid() && china {
        return Err(KmsError::Validation(format!(
            "WrappingAlgorithm {algorithm} is not supported in the {region} region."
        )));
    }
    if !alg.is_hybrid() && spec.is_rsa() {
        return Err(KmsError::Validation(format!(
            "WrappingAlgorithm {algorithm} cannot wrap {spec} key material. To import an RSA private key, use an \
             RSA_AES_KEY_WRAP wrapping algorithm."
        )));
    }
    if !alg.is_hybrid() && spec == KeySpec::EccNistP521 && bits == 2048 {
        return Err(KmsError::Validation(format!(
            "WrappingAlgorithm {algorithm} with WrappingKeySpec RSA_2048 cannot wrap ECC_NIST_P521 key material. \
             Use a larger wrapping key or an RSA_AES_KEY_WRAP wrapping algorithm."
        )));
    }
    Ok((bits, alg))
}

pub async fn get_parameters_for_import(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: GetParametersForImportRequest = request(input)?;
    let now = kms.now_ms();
    let (arn, bits, alg) = {
        let mut store = kms.lock();
        let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
        // Allowed in every state of an EXTERNAL key, PendingDeletion included (AWS's key state table).
        require_external(key)?;
        let (bits, alg) = check_wrapping(
            key.key_spec,
            &req.wrapping_key_spec,
            &req.wrapping_algorithm,
            &scope.region,
        )?;
        (key.arn(), bits, alg)
    };
    // RSA generation is slow: never on the async workers, never under the lock.
    let private = tokio::task::spawn_blocking(move || WrappingKey::generate(bits))
        .await
        .map_err(|e| KmsError::Internal(format!("wrapping key generation failed: {e}")))?
        .map_err(internal("wrapping key generation failed"))?;
    // Valid for 24 hours from when the parameters are issued (after the wrapping key exists).
    let valid_to_ms = kms.now_ms() + PARAMETERS_VALID_MS;
    let public_key = private
        .public_key_der()
        .map_err(internal("cannot encode the wrapping public key"))?;
    let import_token = seal_token(&Token {
        key_arn: arn.clone(),
        algorithm: alg,
        valid_to_ms,
        private_key: private,
    })?;
    response(&GetParametersForImportResponse {
        key_id: arn,
        import_token,
        public_key,
        parameters_valid_to: epoch_secs(valid_to_ms),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// ImportKeyMaterial

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImportKeyMaterialRequest {
    key_id: String,
    #[serde(with = "b64")]
    import_token: Vec<u8>,
    #[serde(with = "b64")]
    encrypted_key_material: Vec<u8>,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
    import_type: Option<String>,
    key_material_description: Option<String>,
    key_material_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImportKeyMaterialResponse {
    key_id: String,
    key_material_id: String,
}

/// ExpirationModel and ValidTo of an import request, checked: (model, valid-to ms).
fn expiration(req: &ImportKeyMaterialRequest, now: i64) -> Result<(String, Option<i64>), KmsError> {
    let model = req.expiration_model.as_deref().unwrap_or(EXPIRES);
    match (model, req.valid_to) {
        (EXPIRES, None) => Err(KmsError::Validation(
            "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.".into(),
        )),
        (EXPIRES, Some(secs)) => {
            let ms = (secs * 1000.0).round() as i64;
            if ms <= now || ms > now + MAX_VALID_TO_MS {
                return Err(KmsError::Validation(
                    "ValidTo must be a future date and time no more than 365 days from now.".into(),
                ));
            }
            Ok((EXPIRES.to_string(), Some(ms)))
        }
        (DOES_NOT_EXPIRE, None) => Ok((DOES_NOT_EXPIRE.to_string(), None)),
        (DOES_NOT_EXPIRE, Some(_)) => Err(KmsError::Validation(
            "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.".into(),
        )),
        (other, _) => Err(KmsError::Validation(format!("Unknown ExpirationModel {other}"))),
    }
}

fn incorrect_material(arn: &str) -> KmsError {
    KmsError::IncorrectKeyMaterial(format!(
        "The key material in the request is not the same key material that was previously imported into {arn}."
    ))
}

pub async fn import_key_material(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ImportKeyMaterialRequest = request(input)?;
    let now = kms.now_ms();
    let (arn, key_id, spec) = {
        let mut store = kms.lock();
        let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
        // Allowed in every state of an EXTERNAL key, PendingDeletion included (AWS's key state table).
        require_external(key)?;
        if key.key_spec != KeySpec::SymmetricDefault
            && (req.import_type.is_some() || req.key_material_id.is_some() || req.key_material_description.is_some())
        {
            return Err(KmsError::Validation(format!(
                "ImportType, KeyMaterialId and KeyMaterialDescription are only valid for symmetric encryption KMS \
                 keys; {} is {}.",
                key.arn(),
                key.key_spec
            )));
        }
        (key.arn(), key.key_id.clone(), key.key_spec)
    };
    let (expiration_model, valid_to_ms) = expiration(&req, now)?;
    if req.import_type.as_deref() == Some(NEW_KEY_MATERIAL) && req.key_material_id.is_some() {
        return Err(KmsError::Validation(
            "You cannot specify a KeyMaterialId when ImportType is NEW_KEY_MATERIAL.".into(),
        ));
    }
    let token = open_token(&req.import_token)?;
    if token.key_arn != arn {
        return Err(KmsError::InvalidImportToken(format!(
            "The import token is not valid for {arn}. Use an import token from a GetParametersForImport request \
             for this KMS key."
        )));
    }
    if token.valid_to_ms <= now {
        return Err(KmsError::ExpiredImportToken(
            "The import token has expired. Use GetParametersForImport to get a new import token and public key.".into(),
        ));
    }
    let wrapped = req.encrypted_key_material.clone();
    let material = tokio::task::spawn_blocking(move || {
        let plain = token.private_key.unwrap(token.algorithm, &wrapped).ok_or_else(|| {
            KmsError::InvalidCiphertext(
                "The encrypted key material could not be decrypted with the wrapping key and algorithm of the \
                 import token."
                    .into(),
            )
        })?;
        KeyMaterial::from_bytes(spec, &plain).map_err(|e| {
            KmsError::IncorrectKeyMaterial(format!("The key material is not valid for a {spec} KMS key: {e}"))
        })
    })
    .await
    .map_err(|e| KmsError::Internal(format!("unwrapping failed: {e}")))??;
    let id = material_id(&key_id, material.bytes());
    let imported = ImportedMaterial {
        key_material_id: id.clone(),
        imported: true,
        expiration_model,
        valid_to_ms,
        description: req.key_material_description.clone(),
    };

    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    // A multi-Region replica takes only its primary's material (see `follow_primary`): (primary ARN, the id of the
    // primary's material pending rotation).
    let replica_of = super::replication::primary_record(&store, &key_scope, &key_id).map(|primary| {
        let pending = primary.import.as_ref().and_then(|i| i.pending.as_ref());
        (primary.arn(), pending.map(|p| p.info.key_material_id.clone()))
    });
    let region = store.region(&key_scope, now);
    let key = region
        .keys
        .get_mut(&key_id)
        .ok_or_else(|| KmsError::NotFound(format!("Key '{arn}' does not exist")))?;
    let info = key.import.get_or_insert_with(ImportInfo::default);
    let ever_imported = !info.versions.is_empty();
    let import_type = req.import_type.as_deref().unwrap_or(if ever_imported {
        EXISTING_KEY_MATERIAL
    } else {
        NEW_KEY_MATERIAL
    });
    let known_version = info.versions.iter().position(|v| v.key_material_id == id);
    let is_pending = info.pending.as_ref().is_some_and(|p| p.info.key_material_id == id);
    if let Some(requested) = &req.key_material_id {
        if *requested != id {
            return Err(incorrect_material(&arn));
        }
    }
    let mut replica_takes_pending = false;
    if let Some((primary_arn, primary_pending)) = &replica_of {
        if known_version.is_none() && !is_pending {
            if primary_pending.as_ref() != Some(&id) {
                return Err(KmsError::IncorrectKeyMaterial(format!(
                    "The key material in the request is not key material of the primary key {primary_arn}. Import \
                     into the multi-Region replica key {arn} the same key material that was imported into its \
                     primary key."
                )));
            }
            replica_takes_pending = true;
        }
    }
    match (import_type, known_version) {
        // The primary's material pending rotation, imported into a replica ahead of the primary's rotation.
        (_, None) if replica_takes_pending => {
            info.pending = Some(PendingMaterial {
                material,
                info: imported,
            });
        }
        (NEW_KEY_MATERIAL, _) if !ever_imported => {
            key.materials = vec![material];
            info.versions = vec![imported];
            if key.key_spec == KeySpec::SymmetricDefault {
                region
                    .rotations
                    .record_with_id(&key_id, 0, RotationType::Initial, now, id.clone());
            }
        }
        (NEW_KEY_MATERIAL, Some(_)) => {
            return Err(KmsError::IncorrectKeyMaterial(format!(
                "The key material in the request is already associated with {arn}. To reimport it, use ImportType \
                 EXISTING_KEY_MATERIAL."
            )));
        }
        (NEW_KEY_MATERIAL, None) => {
            if info.pending.is_some() && !is_pending {
                return Err(KmsError::InvalidState(format!(
                    "{arn} already has key material in PENDING_ROTATION state. Delete it with \
                     DeleteImportedKeyMaterial before importing different new key material."
                )));
            }
            info.pending = Some(PendingMaterial {
                material,
                info: imported,
            });
        }
        (_, Some(version)) => {
            let mut imported = imported;
            if imported.description.is_none() {
                imported.description = info.versions[version].description.clone();
            }
            info.versions[version] = imported;
            if version < key.materials.len() {
                key.materials[version] = material;
            } else if version == key.materials.len() {
                key.materials.push(material);
            } else {
                return Err(KmsError::Internal(format!("{arn} is missing material versions")));
            }
        }
        (_, None) if is_pending => {
            if let Some(pending) = info.pending.as_mut() {
                let description = imported.description.clone().or(pending.info.description.take());
                pending.info = ImportedMaterial {
                    description,
                    ..imported
                };
            }
        }
        (_, None) => return Err(incorrect_material(&arn)),
    }
    let complete = key.import.as_ref().is_some_and(ImportInfo::all_imported);
    if key.state == KeyState::PendingImport && complete {
        key.state = KeyState::Enabled;
    }
    drop(store);
    response(&ImportKeyMaterialResponse {
        key_id: arn,
        key_material_id: id,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// DeleteImportedKeyMaterial

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteImportedKeyMaterialRequest {
    key_id: String,
    key_material_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteImportedKeyMaterialResponse {
    key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_id: Option<String>,
}

pub fn delete_imported_key_material(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: DeleteImportedKeyMaterialRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    require_external(key)?;
    let arn = key.arn();
    let info = key.import.get_or_insert_with(ImportInfo::default);
    // (version to delete, its id); the current material when no id is given (none if never imported).
    let target = match &req.key_material_id {
        None => info
            .versions
            .len()
            .checked_sub(1)
            .map(|version| (Some(version), info.versions[version].key_material_id.clone())),
        Some(id) if info.pending.as_ref().is_some_and(|p| p.info.key_material_id == *id) => {
            info.pending = None;
            Some((None, id.clone()))
        }
        Some(id) => match info.versions.iter().position(|v| v.key_material_id == *id) {
            Some(version) => Some((Some(version), id.clone())),
            None => {
                return Err(KmsError::NotFound(format!(
                    "Key material with ID {id} is not associated with {arn}."
                )))
            }
        },
    };
    if let Some((Some(version), _)) = &target {
        drop_material(key, *version);
    }
    let deleted = target.map(|(_, id)| id);
    drop(store);
    response(&DeleteImportedKeyMaterialResponse {
        key_id: arn,
        key_material_id: deleted,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Import tokens: what a token carries and how it is laid out (the sealing itself is `crypto::wrap`).

/// What an import token carries.
struct Token {
    pub key_arn: String,
    pub algorithm: wrap::Algorithm,
    pub valid_to_ms: i64,
    pub private_key: WrappingKey,
}

const TOKEN_MAGIC: [u8; 4] = *b"TIT\x01";

fn internal(what: &str) -> impl Fn(CryptoError) -> KmsError + '_ {
    move |e| KmsError::Internal(format!("{what}: {e}"))
}

/// `"TIT" 0x01 | nonce (12) | AES-256-GCM(valid-to ms: i64 | algorithm: u8 | ARN length: u16 | ARN |
/// PKCS#8 DER of the wrapping key)`, sealed by [`wrap::seal`] under a per-process key with the magic bound as
/// associated data.
fn seal_token(token: &Token) -> Result<Vec<u8>, KmsError> {
    let der = token
        .private_key
        .to_pkcs8_der()
        .map_err(internal("cannot encode the wrapping key"))?;
    let arn = token.key_arn.as_bytes();
    let arn_len = u16::try_from(arn.len()).map_err(|_| KmsError::Internal("key ARN too long".into()))?;
    let mut payload = Zeroizing::new(Vec::with_capacity(11 + arn.len() + der.len()));
    payload.extend_from_slice(&token.valid_to_ms.to_be_bytes());
    payload.push(token.algorithm.code());
    payload.extend_from_slice(&arn_len.to_be_bytes());
    payload.extend_from_slice(arn);
    payload.extend_from_slice(&der);
    wrap::seal(&TOKEN_MAGIC, &payload).map_err(internal("cannot seal the import token"))
}

fn invalid_token() -> KmsError {
    KmsError::InvalidImportToken(
        "The import token is not valid. Use the import token from the same GetParametersForImport response as the \
         public key."
            .into(),
    )
}

/// Opens a token made by [`seal_token`] (by this process); anything else → InvalidImportTokenException.
fn open_token(blob: &[u8]) -> Result<Token, KmsError> {
    let payload = wrap::open(&TOKEN_MAGIC, blob).ok_or_else(invalid_token)?;
    let (valid_to, rest) = payload.split_first_chunk::<8>().ok_or_else(invalid_token)?;
    let (&code, rest) = rest.split_first().ok_or_else(invalid_token)?;
    let (arn_len, rest) = rest.split_first_chunk::<2>().ok_or_else(invalid_token)?;
    let (arn, der) = rest
        .split_at_checked(usize::from(u16::from_be_bytes(*arn_len)))
        .ok_or_else(invalid_token)?;
    Ok(Token {
        key_arn: String::from_utf8(arn.to_vec()).map_err(|_| invalid_token())?,
        algorithm: wrap::Algorithm::from_code(code).ok_or_else(invalid_token)?,
        valid_to_ms: i64::from_be_bytes(*valid_to),
        private_key: WrappingKey::from_pkcs8_der(der).map_err(|_| invalid_token())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::wrap::{client_wrap, Algorithm};

    #[test]
    fn a_token_round_trips_and_any_change_is_refused() {
        let private = WrappingKey::generate(2048).unwrap();
        let public = private.public_key_der().unwrap();
        let token = seal_token(&Token {
            key_arn: "arn:aws:kms:us-east-1:000000000000:key/k".into(),
            algorithm: Algorithm::AesKwSha256,
            valid_to_ms: 1234,
            private_key: private,
        })
        .unwrap();
        // The wrapping key must not be readable from the token (the modulus is the tail of its SPKI).
        let n = &public[public.len() - 5 - 256..public.len() - 5];
        assert!(!token.windows(16).any(|w| n.windows(16).any(|x| x == w)));
        let back = open_token(&token).unwrap();
        assert_eq!(back.key_arn, "arn:aws:kms:us-east-1:000000000000:key/k");
        assert_eq!(back.algorithm, Algorithm::AesKwSha256);
        assert_eq!(back.valid_to_ms, 1234);
        assert_eq!(back.private_key.public_key_der().unwrap(), public);
        for i in [0, 5, 20, token.len() - 1] {
            let mut bad = token.clone();
            bad[i] ^= 0x40;
            assert_eq!(open_token(&bad).err().unwrap().code(), "InvalidImportTokenException");
        }
        assert_eq!(open_token(b"").err().unwrap().code(), "InvalidImportTokenException");
        assert_eq!(
            open_token(&token[..40]).err().unwrap().code(),
            "InvalidImportTokenException"
        );
        // A 4096-bit wrapping key still fits the model's 6144-byte ImportToken.
        let big = seal_token(&Token {
            key_arn: format!("arn:aws:kms:ap-southeast-2:123456789012:key/{}", uuid::Uuid::new_v4()),
            algorithm: Algorithm::OaepSha256,
            valid_to_ms: 0,
            private_key: WrappingKey::generate(4096).unwrap(),
        })
        .unwrap();
        assert!(big.len() <= 6144, "{}", big.len());
    }

    #[test]
    fn wrapping_rules_follow_the_aws_documentation() {
        let ok = |spec, ws, alg| check_wrapping(spec, ws, alg, "us-east-1").map(|(bits, _)| bits);
        let code = |spec, ws, alg, region| check_wrapping(spec, ws, alg, region).unwrap_err().code();
        assert_eq!(
            ok(KeySpec::SymmetricDefault, "RSA_2048", "RSAES_OAEP_SHA_256").unwrap(),
            2048
        );
        assert_eq!(
            ok(KeySpec::Rsa4096, "RSA_3072", "RSA_AES_KEY_WRAP_SHA_1").unwrap(),
            3072
        );
        assert_eq!(ok(KeySpec::EccNistP521, "RSA_3072", "RSAES_OAEP_SHA_1").unwrap(), 3072);
        assert_eq!(
            ok(KeySpec::EccNistP521, "RSA_2048", "RSA_AES_KEY_WRAP_SHA_256").unwrap(),
            2048
        );
        for (spec, ws, alg) in [
            (KeySpec::Rsa2048, "RSA_4096", "RSAES_OAEP_SHA_256"),
            (KeySpec::EccNistP521, "RSA_2048", "RSAES_OAEP_SHA_1"),
            (KeySpec::SymmetricDefault, "RSA_2048", "RSAES_PKCS1_V1_5"),
            (KeySpec::SymmetricDefault, "SM2", "RSAES_OAEP_SHA_256"),
            (KeySpec::SymmetricDefault, "RSA_2048", "SM2PKE"),
        ] {
            assert_eq!(
                code(spec, ws, alg, "eu-west-1"),
                "ValidationException",
                "{spec} {ws} {alg}"
            );
        }
        assert_eq!(
            code(
                KeySpec::SymmetricDefault,
                "RSA_2048",
                "RSA_AES_KEY_WRAP_SHA_256",
                "cn-north-1"
            ),
            "ValidationException"
        );
        assert_eq!(
            code(KeySpec::SymmetricDefault, "SM2", "SM2PKE", "cn-north-1"),
            "UnsupportedOperationException"
        );
    }

    #[tokio::test]
    async fn an_imported_key_survives_export_and_import_without_its_deleted_material() {
        use base64::Engine;
        use serde_json::json;

        use crate::clock::Clock;
        use crate::http::control::Control;
        use crate::kms::tests::call;

        let b64 = &base64::engine::general_purpose::STANDARD;
        let kms = Kms::new(Clock::new());
        let key = call(&kms, "CreateKey", json!({"Origin": "EXTERNAL"})).await;
        let key = key["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let material = crate::crypto::random_bytes(32);
        let import = |kms: std::sync::Arc<Kms>, material: Vec<u8>, extra: Value| {
            let key = key.clone();
            async move {
                let params = call(
                    &kms,
                    "GetParametersForImport",
                    json!({"KeyId": key, "WrappingAlgorithm": "RSA_AES_KEY_WRAP_SHA_256", "WrappingKeySpec": "RSA_2048"}),
                )
                .await;
                let der = b64.decode(params["PublicKey"].as_str().unwrap()).unwrap();
                let wrapped = client_wrap(&der, Algorithm::AesKwSha256, &material);
                let mut input = json!({
                    "KeyId": key, "ImportToken": params["ImportToken"],
                    "EncryptedKeyMaterial": b64.encode(wrapped),
                    "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE",
                });
                if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
                    input.extend(extra.clone());
                }
                call(&kms, "ImportKeyMaterial", input).await
            }
        };
        import(kms.clone(), material.clone(), json!({})).await;
        import(
            kms.clone(),
            crate::crypto::random_bytes(32),
            json!({"ImportType": "NEW_KEY_MATERIAL", "KeyMaterialDescription": "next"}),
        )
        .await;
        let listed = call(
            &kms,
            "ListKeyRotations",
            json!({"KeyId": key, "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}),
        )
        .await;
        assert_eq!(listed["Rotations"][1]["KeyMaterialState"], "PENDING_ROTATION");
        let blob = call(&kms, "Encrypt", json!({"KeyId": key, "Plaintext": "aGk="})).await["CiphertextBlob"].clone();
        call(&kms, "DeleteImportedKeyMaterial", json!({"KeyId": key})).await;
        let described = call(&kms, "DescribeKey", json!({"KeyId": key})).await;
        assert_eq!(described["KeyMetadata"]["KeyState"], "PendingImport");

        // The export holds the material pending rotation, but not the deleted material.
        let document = kms.export();
        assert!(!document.to_string().contains(&b64.encode(&material)));
        let copy = Kms::new(Clock::new());
        copy.import(&serde_json::to_vec(&document).unwrap()).unwrap();
        let described = call(&copy, "DescribeKey", json!({"KeyId": key})).await;
        assert_eq!(described["KeyMetadata"]["KeyState"], "PendingImport");
        import(copy.clone(), material, json!({})).await;
        let plain = call(&copy, "Decrypt", json!({"CiphertextBlob": blob})).await;
        assert_eq!(plain["Plaintext"], "aGk=");

        // Records that do not match the material are refused.
        let mut bad = document.clone();
        let records = &mut bad["state"]["regions"]["000000000000/us-east-1"]["keys"][&key]["import"];
        records["versions"] = json!([]);
        assert!(copy
            .import(&serde_json::to_vec(&bad).unwrap())
            .unwrap_err()
            .contains("imported key material records"));
        let mut bad = document;
        let records = &mut bad["state"]["regions"]["000000000000/us-east-1"]["keys"][&key]["import"];
        records["versions"][0]["key_material_id"] = json!("nope");
        assert!(copy
            .import(&serde_json::to_vec(&bad).unwrap())
            .unwrap_err()
            .contains("64 lowercase hex"));
    }

    #[test]
    fn material_ids_bind_key_and_material() {
        let a = material_id("k1", &[1; 32]);
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(a, material_id("k1", &[1; 32]));
        assert_ne!(a, material_id("k2", &[1; 32]));
        assert_ne!(a, material_id("k1", &[2; 32]));
    }
}
