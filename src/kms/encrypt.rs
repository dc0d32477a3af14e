//! Symmetric cryptography: Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext, ReEncrypt,
//! GenerateRandom.
//!
//! Ciphertexts are [`crate::crypto::envelope`] blobs: AES-256-GCM under one material version of the key, the
//! key ARN and version in an authenticated header, the encryption context bound as AAD. Decrypt finds the key
//! from the blob itself, so it needs no KeyId.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, Accept, KeyRef, Scope};
use super::{b64, request, response, Kms};
use crate::crypto::{envelope, random_bytes, KeyMaterial, KeySpec};

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

pub(crate) type Context = BTreeMap<String, String>;

fn dry_run(requested: Option<bool>) -> Result<(), KmsError> {
    if requested == Some(true) {
        return Err(KmsError::DryRun(
            "The request would have succeeded, but the DryRun option is set.".into(),
        ));
    }
    Ok(())
}

fn no_recipient(recipient: &Option<Value>) -> Result<(), KmsError> {
    if recipient.is_some() {
        return Err(KmsError::unsupported("Recipient (Nitro Enclaves attestation)"));
    }
    Ok(())
}

fn check_algorithm(spec: KeySpec, algorithm: Option<&str>) -> Result<(), KmsError> {
    match algorithm {
        None | Some(SYMMETRIC_DEFAULT) => Ok(()),
        Some(other) => Err(KmsError::InvalidKeyUsage(format!(
            "Algorithm {other} is incompatible with key spec {spec}."
        ))),
    }
}

/// How one side of an operation uses its key: the operation name (for messages), the requested algorithm and
/// whether this is a dry run.
pub(super) struct Use<'a> {
    pub(super) operation: &'a str,
    pub(super) algorithm: Option<&'a str>,
    pub(super) dry_run: Option<bool>,
}

/// Seals `plaintext` under the current material of the key `key_id` names. Returns (key ARN, blob).
pub(super) fn seal_with(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    plaintext: &[u8],
    context: &Context,
    how: Use<'_>,
) -> Result<(String, Vec<u8>), KmsError> {
    let Use {
        operation,
        algorithm,
        dry_run: dry,
    } = how;
    let now = kms.now_ms();
    let (arn, version, material) = {
        let mut store = kms.lock();
        let key = state::key_ref(&mut store, scope, key_id, Accept::AnyIdentifier, now)?;
        key.require_enabled()?;
        key.require_usage("ENCRYPT_DECRYPT", operation)?;
        if key.key_spec != KeySpec::SymmetricDefault {
            if operation.starts_with("GenerateDataKey") {
                // Data keys come only from symmetric keys, in AWS too.
                return Err(KmsError::InvalidKeyUsage(format!(
                    "{} key spec is {} which is not valid for {operation}.",
                    key.arn(),
                    key.key_spec
                )));
            }
            return Err(KmsError::unsupported(format!("{operation} with {} keys", key.key_spec)));
        }
        check_algorithm(key.key_spec, algorithm)?;
        let (version, material) = key.current_material()?;
        (key.arn(), version, material.clone())
    };
    dry_run(dry)?;
    let blob = envelope::seal(&material, &arn, version, plaintext, context)
        .map_err(|e| KmsError::Internal(format!("encryption failed: {e}")))?;
    Ok((arn, blob))
}

/// Opens a blob made by [`seal_with`]. `key_id`, when given, must name the key that sealed it. Returns
/// (key ARN, plaintext).
pub(super) fn open_blob(
    kms: &Kms,
    scope: &Scope,
    blob: &[u8],
    key_id: Option<&str>,
    context: &Context,
    operation: &str,
    algorithm: Option<&str>,
) -> Result<(String, Vec<u8>), KmsError> {
    let now = kms.now_ms();
    let invalid = || KmsError::InvalidCiphertext(String::new());
    let (arn, material) = {
        let mut store = kms.lock();
        let requested = match key_id {
            Some(id) => {
                let key = state::key_ref(&mut store, scope, id, Accept::AnyIdentifier, now)?;
                if key.key_spec != KeySpec::SymmetricDefault && key.key_usage == "ENCRYPT_DECRYPT" {
                    return Err(KmsError::unsupported(format!("{operation} with {} keys", key.key_spec)));
                }
                Some(key.arn())
            }
            None => None,
        };
        let header = envelope::peek(blob).map_err(|_| invalid())?;
        // The header names the key by ARN; a blob of another region opens here only under a related multi-Region
        // key (same key id, this region).
        let local = match state::parse_key_ref(&header.key_id).map_err(|_| invalid())? {
            KeyRef::Key { scope: Some(s), .. } if s.region == scope.region => Some(header.key_id.clone()),
            KeyRef::Key { scope: Some(s), key_id } if super::replication::is_multi_region_id(&key_id) => {
                Some(state::key_arn(&scope.region, &s.account_id, &key_id))
            }
            _ => None,
        };
        if let Some(requested) = &requested {
            if *requested != *local.as_ref().unwrap_or(&header.key_id) {
                return Err(KmsError::IncorrectKey(
                    "The key ID in the request does not identify a CMK that can perform this operation.".into(),
                ));
            }
        }
        let Some(local) = local else { return Err(invalid()) };
        let key = state::key_ref(&mut store, scope, &local, Accept::AnyIdentifier, now)?;
        key.require_enabled()?;
        key.require_usage("ENCRYPT_DECRYPT", operation)?;
        check_algorithm(key.key_spec, algorithm)?;
        let index = usize::try_from(header.material_version).map_err(|_| invalid())?;
        let material: KeyMaterial = key.material_at(index).cloned().ok_or_else(invalid)?;
        (key.arn(), material)
    };
    let plaintext = envelope::open(&material, blob, context).map_err(|_| invalid())?;
    Ok((arn, plaintext))
}

/// Encrypt's request, shared by the symmetric path here and the RSA path in `asymmetric.rs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptRequest {
    pub key_id: String,
    #[serde(with = "b64")]
    pub plaintext: Vec<u8>,
    pub encryption_context: Option<Context>,
    pub encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

/// Encrypt's response, shared like [`EncryptRequest`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct EncryptResponse {
    #[serde(with = "b64")]
    pub ciphertext_blob: Vec<u8>,
    pub key_id: String,
    pub encryption_algorithm: &'static str,
}

pub fn encrypt(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    if let Some(out) = super::asymmetric::encrypt(kms, scope, &input)? {
        return Ok(out);
    }
    let req: EncryptRequest = request(input)?;
    let context = req.encryption_context.unwrap_or_default();
    let (key_id, ciphertext_blob) = seal_with(
        kms,
        scope,
        &req.key_id,
        &req.plaintext,
        &context,
        Use {
            operation: "Encrypt",
            algorithm: req.encryption_algorithm.as_deref(),
            dry_run: req.dry_run,
        },
    )?;
    response(&EncryptResponse {
        ciphertext_blob,
        key_id,
        encryption_algorithm: SYMMETRIC_DEFAULT,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptRequest {
    #[serde(with = "b64")]
    ciphertext_blob: Vec<u8>,
    key_id: Option<String>,
    encryption_context: Option<Context>,
    encryption_algorithm: Option<String>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

/// Decrypt's response, shared by the symmetric and RSA paths.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DecryptResponse {
    pub key_id: String,
    #[serde(with = "b64")]
    pub plaintext: Vec<u8>,
    pub encryption_algorithm: &'static str,
}

pub fn decrypt(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    if let Some(out) = super::asymmetric::decrypt(kms, scope, &input)? {
        return Ok(out);
    }
    let req: DecryptRequest = request(input)?;
    no_recipient(&req.recipient)?;
    let context = req.encryption_context.unwrap_or_default();
    let (key_id, plaintext) = open_blob(
        kms,
        scope,
        &req.ciphertext_blob,
        req.key_id.as_deref(),
        &context,
        "Decrypt",
        req.encryption_algorithm.as_deref(),
    )?;
    dry_run(req.dry_run)?;
    response(&DecryptResponse {
        key_id,
        plaintext,
        encryption_algorithm: SYMMETRIC_DEFAULT,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyRequest {
    key_id: String,
    encryption_context: Option<Context>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyResponse {
    #[serde(with = "b64")]
    ciphertext_blob: Vec<u8>,
    #[serde(with = "b64::option", skip_serializing_if = "Option::is_none")]
    plaintext: Option<Vec<u8>>,
    key_id: String,
}

fn data_key(kms: &Kms, scope: &Scope, input: Value, operation: &str, with_plaintext: bool) -> Result<Value, KmsError> {
    let req: GenerateDataKeyRequest = request(input)?;
    no_recipient(&req.recipient)?;
    let length = match (req.key_spec.as_deref(), req.number_of_bytes) {
        (Some("AES_128"), None) => 16,
        (Some("AES_256"), None) => 32,
        (None, Some(n)) => {
            usize::try_from(n).map_err(|_| KmsError::Validation(format!("Invalid NumberOfBytes {n}")))?
        }
        (Some(other), None) => return Err(KmsError::Validation(format!("Invalid KeySpec {other}"))),
        _ => {
            return Err(KmsError::Validation(
                "Please specify either number of bytes or key spec.".into(),
            ))
        }
    };
    let plaintext = random_bytes(length);
    let context = req.encryption_context.unwrap_or_default();
    let (key_id, ciphertext_blob) = seal_with(
        kms,
        scope,
        &req.key_id,
        &plaintext,
        &context,
        Use {
            operation,
            algorithm: None,
            dry_run: req.dry_run,
        },
    )?;
    response(&GenerateDataKeyResponse {
        ciphertext_blob,
        plaintext: with_plaintext.then_some(plaintext),
        key_id,
    })
}

pub fn generate_data_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    data_key(kms, scope, input, "GenerateDataKey", true)
}

pub fn generate_data_key_without_plaintext(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    data_key(kms, scope, input, "GenerateDataKeyWithoutPlaintext", false)
}

/// ReEncrypt's request, shared by the symmetric path here and the RSA path in `asymmetric.rs`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReEncryptRequest {
    #[serde(with = "b64")]
    pub ciphertext_blob: Vec<u8>,
    pub source_key_id: Option<String>,
    pub source_encryption_context: Option<Context>,
    pub source_encryption_algorithm: Option<String>,
    pub destination_key_id: String,
    pub destination_encryption_context: Option<Context>,
    pub destination_encryption_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

/// ReEncrypt's response, shared like [`ReEncryptRequest`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ReEncryptResponse {
    #[serde(with = "b64")]
    pub ciphertext_blob: Vec<u8>,
    pub source_key_id: String,
    pub key_id: String,
    pub source_encryption_algorithm: &'static str,
    pub destination_encryption_algorithm: &'static str,
}

pub fn re_encrypt(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    if let Some(out) = super::asymmetric::re_encrypt(kms, scope, &input)? {
        return Ok(out);
    }
    let req: ReEncryptRequest = request(input)?;
    let source_context = req.source_encryption_context.unwrap_or_default();
    let (source_key_id, plaintext) = open_blob(
        kms,
        scope,
        &req.ciphertext_blob,
        req.source_key_id.as_deref(),
        &source_context,
        "ReEncryptFrom",
        req.source_encryption_algorithm.as_deref(),
    )?;
    let destination_context = req.destination_encryption_context.unwrap_or_default();
    let (key_id, ciphertext_blob) = seal_with(
        kms,
        scope,
        &req.destination_key_id,
        &plaintext,
        &destination_context,
        Use {
            operation: "ReEncryptTo",
            algorithm: req.destination_encryption_algorithm.as_deref(),
            dry_run: req.dry_run,
        },
    )?;
    response(&ReEncryptResponse {
        ciphertext_blob,
        source_key_id,
        key_id,
        source_encryption_algorithm: SYMMETRIC_DEFAULT,
        destination_encryption_algorithm: SYMMETRIC_DEFAULT,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateRandomRequest {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
    recipient: Option<Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateRandomResponse {
    #[serde(with = "b64")]
    plaintext: Vec<u8>,
}

pub fn generate_random(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: GenerateRandomRequest = request(input)?;
    no_recipient(&req.recipient)?;
    if let Some(id) = &req.custom_key_store_id {
        super::custom_key_stores::check_generate_random(kms, scope, id)?;
    }
    let Some(n) = req.number_of_bytes else {
        return Err(KmsError::Validation("NumberOfBytes is required.".into()));
    };
    let n = usize::try_from(n).map_err(|_| KmsError::Validation(format!("Invalid NumberOfBytes {n}")))?;
    response(&GenerateRandomResponse {
        plaintext: random_bytes(n),
    })
}
