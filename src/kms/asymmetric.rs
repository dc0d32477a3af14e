//! Encrypt, Decrypt and ReEncrypt with asymmetric ENCRYPT_DECRYPT keys (RSA_2048/3072/4096 with
//! RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256).
//!
//! The handlers of [`super::encrypt`] ask this module first ([`encrypt`], [`decrypt`], [`re_encrypt`]); it
//! answers `None` unless the request's key is asymmetric, and the symmetric path carries on untouched.
//!
//! As in AWS, ciphertexts are raw RSA-OAEP blocks (one modulus long) that carry no key id, so Decrypt needs
//! the KeyId and the EncryptionAlgorithm; anyone holding the GetPublicKey SPKI can produce ciphertexts trent
//! decrypts. Asymmetric keys take no encryption context.

use serde::Deserialize;
use serde_json::Value;

use super::algorithms;
use super::common::{dry_run, incompatible_algorithm, no_recipient};
use super::encrypt::{
    open_blob, seal_with, Context, DecryptResponse, EncryptRequest, EncryptResponse, ReEncryptRequest,
    ReEncryptResponse, Use,
};
use super::errors::KmsError;
use super::state::{self, Accept, Scope};
use super::{b64, request, response, Kms};
use crate::crypto::{CryptoError, KeyMaterial, KeySpec};

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// Whether `key_id` names an existing key that is not SYMMETRIC_DEFAULT. Lookup failures answer `false`: the
/// symmetric path then reports them exactly as before.
fn is_asymmetric(kms: &Kms, scope: &Scope, key_id: Option<&str>) -> bool {
    let Some(key_id) = key_id else { return false };
    let now = kms.now_ms();
    let mut store = kms.lock();
    state::key_ref(&mut store, scope, key_id, Accept::AnyIdentifier, now)
        .is_ok_and(|key| key.key_spec != KeySpec::SymmetricDefault)
}

fn no_context(context: &Option<Context>) -> Result<(), KmsError> {
    if context.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err(KmsError::Validation(
            "EncryptionContext is not supported with asymmetric KMS keys.".into(),
        ));
    }
    Ok(())
}

/// Looks up an asymmetric key for `operation` with `algorithm` and copies out (key ARN, spec, material).
/// `default_error` is what a missing / SYMMETRIC_DEFAULT algorithm answers.
fn rsa_key(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    algorithm: Option<&str>,
    operation: &str,
    default_error: fn(KeySpec) -> KmsError,
) -> Result<(String, &'static str, KeyMaterial), KmsError> {
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, key_id, Accept::AnyIdentifier, now)?;
    key.require_enabled()?;
    key.require_usage("ENCRYPT_DECRYPT", operation)?;
    let spec = key.key_spec;
    let algorithm = match algorithm {
        None | Some(SYMMETRIC_DEFAULT) => return Err(default_error(spec)),
        Some(a) => a,
    };
    let Some(algorithm) = spec.encryption_algorithms().iter().find(|a| **a == algorithm) else {
        return Err(incompatible_algorithm(algorithm, spec));
    };
    if !spec.is_rsa() {
        return Err(KmsError::unsupported(format!("{operation} with {spec} keys")));
    }
    let (_, material) = key.current_material()?;
    Ok((key.arn(), algorithm, material.clone()))
}

/// Encrypts under an asymmetric key: (key ARN, algorithm, ciphertext).
fn seal(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    algorithm: Option<&str>,
    plaintext: &[u8],
    operation: &str,
) -> Result<(String, &'static str, Vec<u8>), KmsError> {
    let (arn, algorithm, material) = rsa_key(kms, scope, key_id, algorithm, operation, |spec| {
        incompatible_algorithm(SYMMETRIC_DEFAULT, spec)
    })?;
    let max =
        algorithms::max_plaintext_len(material.spec(), algorithm).map_err(|e| KmsError::Internal(e.to_string()))?;
    if plaintext.len() > max {
        return Err(KmsError::Validation(format!(
            "Plaintext length {} exceeds the maximum of {max} bytes for {algorithm} with key spec {}.",
            plaintext.len(),
            material.spec()
        )));
    }
    let ciphertext = algorithms::encrypt(&material, algorithm, plaintext).map_err(|e| match e {
        CryptoError::InvalidInput(msg) => KmsError::Validation(msg),
        other => KmsError::Internal(format!("encryption failed: {other}")),
    })?;
    Ok((arn, algorithm, ciphertext))
}

/// Decrypts under an asymmetric key: (key ARN, algorithm, plaintext). A missing or SYMMETRIC_DEFAULT
/// algorithm is InvalidCiphertextException (AWS parses the blob as its own symmetric format first).
fn open(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    algorithm: Option<&str>,
    ciphertext: &[u8],
    operation: &str,
) -> Result<(String, &'static str, Vec<u8>), KmsError> {
    let (arn, algorithm, material) = rsa_key(kms, scope, key_id, algorithm, operation, |_| {
        KmsError::InvalidCiphertext(String::new())
    })?;
    // An RSA private-key operation takes milliseconds (~50 ms for RSA_4096 in a debug build): let the runtime
    // move other tasks off this worker meanwhile. The handlers are synchronous, so no spawn_blocking here.
    let plaintext = off_the_runtime(|| algorithms::decrypt(&material, algorithm, ciphertext))
        .map_err(|_| KmsError::InvalidCiphertext(String::new()))?;
    Ok((arn, algorithm, plaintext))
}

/// Runs `f` under `block_in_place` on a multi-threaded runtime (the server binary's), inline elsewhere (a
/// current-thread test runtime, where `block_in_place` is not allowed).
fn off_the_runtime<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Encrypt with an asymmetric key; `None` when the key is symmetric (or does not resolve).
pub(crate) fn encrypt(kms: &Kms, scope: &Scope, input: &Value) -> Result<Option<Value>, KmsError> {
    let key_id = input.get("KeyId").and_then(Value::as_str);
    if !is_asymmetric(kms, scope, key_id) {
        return Ok(None);
    }
    let req: EncryptRequest = request(input.clone())?;
    let (key_id, algorithm, ciphertext_blob) = seal(
        kms,
        scope,
        &req.key_id,
        req.encryption_algorithm.as_deref(),
        &req.plaintext,
        "Encrypt",
    )?;
    no_context(&req.encryption_context)?;
    dry_run(req.dry_run)?;
    response(&EncryptResponse {
        ciphertext_blob,
        key_id,
        encryption_algorithm: algorithm,
    })
    .map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecryptRequest {
    #[serde(with = "b64")]
    ciphertext_blob: Vec<u8>,
    key_id: String,
    encryption_context: Option<Context>,
    encryption_algorithm: Option<String>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

/// Decrypt with an asymmetric key named by KeyId; `None` when KeyId is absent or names a symmetric key.
pub(crate) fn decrypt(kms: &Kms, scope: &Scope, input: &Value) -> Result<Option<Value>, KmsError> {
    let key_id = input.get("KeyId").and_then(Value::as_str);
    if !is_asymmetric(kms, scope, key_id) {
        return Ok(None);
    }
    let req: DecryptRequest = request(input.clone())?;
    no_recipient(&req.recipient)?;
    let (key_id, algorithm, plaintext) = open(
        kms,
        scope,
        &req.key_id,
        req.encryption_algorithm.as_deref(),
        &req.ciphertext_blob,
        "Decrypt",
    )?;
    no_context(&req.encryption_context)?;
    dry_run(req.dry_run)?;
    response(&DecryptResponse {
        key_id,
        plaintext,
        encryption_algorithm: algorithm,
    })
    .map(Some)
}

/// ReEncrypt where the source (SourceKeyId) or the destination key is asymmetric; `None` when both are
/// symmetric. The symmetric side, if any, goes through the symmetric path's own seal/open.
pub(crate) fn re_encrypt(kms: &Kms, scope: &Scope, input: &Value) -> Result<Option<Value>, KmsError> {
    let source_asym = is_asymmetric(kms, scope, input.get("SourceKeyId").and_then(Value::as_str));
    let destination_asym = is_asymmetric(kms, scope, input.get("DestinationKeyId").and_then(Value::as_str));
    if !source_asym && !destination_asym {
        return Ok(None);
    }
    let req: ReEncryptRequest = request(input.clone())?;
    let (source_key_id, source_algorithm, plaintext) = match (source_asym, req.source_key_id.as_deref()) {
        (true, Some(source)) => {
            no_context(&req.source_encryption_context)?;
            open(
                kms,
                scope,
                source,
                req.source_encryption_algorithm.as_deref(),
                &req.ciphertext_blob,
                "ReEncryptFrom",
            )?
        }
        _ => {
            let context = req.source_encryption_context.clone().unwrap_or_default();
            let (arn, plaintext) = open_blob(
                kms,
                scope,
                &req.ciphertext_blob,
                req.source_key_id.as_deref(),
                &context,
                "ReEncryptFrom",
                req.source_encryption_algorithm.as_deref(),
            )?;
            (arn, SYMMETRIC_DEFAULT, plaintext)
        }
    };
    let (key_id, destination_algorithm, ciphertext_blob) = if destination_asym {
        let sealed = seal(
            kms,
            scope,
            &req.destination_key_id,
            req.destination_encryption_algorithm.as_deref(),
            &plaintext,
            "ReEncryptTo",
        )?;
        no_context(&req.destination_encryption_context)?;
        dry_run(req.dry_run)?;
        sealed
    } else {
        let context = req.destination_encryption_context.clone().unwrap_or_default();
        let (arn, blob) = seal_with(
            kms,
            scope,
            &req.destination_key_id,
            &plaintext,
            &context,
            Use {
                operation: "ReEncryptTo",
                algorithm: req.destination_encryption_algorithm.as_deref(),
                dry_run: req.dry_run,
            },
        )?;
        (arn, SYMMETRIC_DEFAULT, blob)
    };
    response(&ReEncryptResponse {
        ciphertext_blob,
        source_key_id,
        key_id,
        source_encryption_algorithm: source_algorithm,
        destination_encryption_algorithm: destination_algorithm,
    })
    .map(Some)
}
