//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh RSA, ECC or Ed25519 key pair whose
//! private key (PKCS#8 DER; Ed25519 as RFC 8410 defines it) is encrypted under a symmetric KMS key with the very
//! envelope Encrypt uses, so Decrypt of PrivateKeyCiphertextBlob (with the same EncryptionContext) returns the
//! PKCS#8 bytes. The public key is X.509 SubjectPublicKeyInfo DER. Key generation runs on the blocking pool
//! (RSA_4096 takes seconds).
//!
//! The model also lists ML_KEM_512/768/1024 pair specs. AWS does not document which PKCS#8 form of an ML-KEM
//! private key those return (the seed-only, expanded or both form of the LAMPS ML-KEM profile), so trent refuses
//! them rather than guess a format callers would then depend on.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::no_recipient;
use super::encrypt::{seal_with, Context, Use};
use super::errors::KmsError;
use super::state::Scope;
use super::{b64, request, response, Kms};
use crate::crypto::{KeyMaterial, KeySpec};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyPairRequest {
    key_id: String,
    key_pair_spec: String,
    encryption_context: Option<Context>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateDataKeyPairResponse {
    #[serde(with = "b64")]
    private_key_ciphertext_blob: Vec<u8>,
    #[serde(with = "b64::option", skip_serializing_if = "Option::is_none")]
    private_key_plaintext: Option<Vec<u8>>,
    #[serde(with = "b64")]
    public_key: Vec<u8>,
    key_id: String,
    key_pair_spec: &'static str,
}

/// The key pair spec to generate; SM2 outside China regions is AWS's ValidationException.
fn pair_spec(name: &str, scope: &Scope) -> Result<KeySpec, KmsError> {
    match KeySpec::parse(name) {
        Some(KeySpec::Sm2) if !scope.region.starts_with("cn-") => Err(KmsError::Validation(format!(
            "KeyPairSpec SM2 is not supported in the {} region. SM2 keys are available only in China Regions.",
            scope.region
        ))),
        Some(KeySpec::Sm2) => Err(KmsError::unsupported("KeyPairSpec SM2")),
        Some(spec) if spec.is_rsa() || spec.is_ecc() || spec == KeySpec::EccNistEdwards25519 => Ok(spec),
        _ => Err(KmsError::unsupported(format!("KeyPairSpec {name}"))),
    }
}

async fn data_key_pair(
    kms: &Kms,
    scope: &Scope,
    input: Value,
    operation: &str,
    with_plaintext: bool,
) -> Result<Value, KmsError> {
    let req: GenerateDataKeyPairRequest = request(input)?;
    no_recipient(&req.recipient)?;
    let spec = pair_spec(&req.key_pair_spec, scope)?;
    let context = req.encryption_context.unwrap_or_default();
    // Every check on the KMS key (existence, state, usage, symmetric spec) and DryRun, before spending seconds
    // on an RSA key: sealing an empty plaintext runs exactly the checks the real seal below runs.
    let check = Use {
        operation,
        algorithm: None,
        dry_run: req.dry_run,
    };
    seal_with(kms, scope, &req.key_id, &[], &context, check)?;
    let pair = crate::limits::key_generation()
        .run(move || KeyMaterial::generate(spec))
        .await
        .map_err(|_| KmsError::Throttling)?
        .map_err(|e| KmsError::Internal(format!("key pair generation failed: {e}")))?;
    let public_key = pair
        .public_key_der()
        .map_err(|e| KmsError::Internal(format!("could not encode the public key: {e}")))?;
    let seal = Use {
        operation,
        algorithm: None,
        dry_run: None,
    };
    let (key_id, private_key_ciphertext_blob) = seal_with(kms, scope, &req.key_id, pair.bytes(), &context, seal)?;
    response(&GenerateDataKeyPairResponse {
        private_key_ciphertext_blob,
        private_key_plaintext: with_plaintext.then(|| pair.bytes().to_vec()),
        public_key,
        key_id,
        key_pair_spec: spec.as_str(),
    })
}

pub async fn generate_data_key_pair(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    data_key_pair(kms, scope, input, "GenerateDataKeyPair", true).await
}

pub async fn generate_data_key_pair_without_plaintext(
    kms: &Kms,
    scope: &Scope,
    input: Value,
) -> Result<Value, KmsError> {
    data_key_pair(kms, scope, input, "GenerateDataKeyPairWithoutPlaintext", false).await
}
