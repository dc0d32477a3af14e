//! Asymmetric signatures and public keys: Sign, Verify, GetPublicKey.
//!
//! Signing runs on the blocking pool (RSA is slow) with a copy of the material taken under the lock.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::algorithms as algorithms_aws;
use super::errors::KmsError;
use super::keys::algorithms;
use super::state::{self, Accept, Scope};
use super::{b64, request, response, Kms};
use crate::crypto::sign::MessageType;
use crate::crypto::{CryptoError, KeyMaterial};

fn crypto_error(err: CryptoError) -> KmsError {
    match err {
        CryptoError::InvalidDigest(msg) => KmsError::Validation(msg),
        CryptoError::Unsupported(msg) | CryptoError::InvalidInput(msg) => KmsError::Validation(msg),
        other => KmsError::Internal(other.to_string()),
    }
}

/// Looks up a signing key and copies out what a signature needs: (key ARN, material).
fn signing_key(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    algorithm: &str,
    operation: &str,
) -> Result<(String, KeyMaterial), KmsError> {
    super::common::operation_key(
        kms,
        scope,
        key_id,
        "SIGN_VERIFY",
        algorithm,
        crate::crypto::KeySpec::signing_algorithms,
        operation,
    )
}

fn message_type(value: Option<&str>) -> Result<MessageType, KmsError> {
    let value = value.unwrap_or("RAW");
    MessageType::parse(value).ok_or_else(|| KmsError::unsupported(format!("MessageType {value}")))
}

fn dry_run(requested: Option<bool>) -> Result<(), KmsError> {
    if requested == Some(true) {
        return Err(KmsError::DryRun(
            "The request would have succeeded, but the DryRun option is set.".into(),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SignRequest {
    key_id: String,
    #[serde(with = "b64")]
    message: Vec<u8>,
    message_type: Option<String>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SignResponse {
    key_id: String,
    #[serde(with = "b64")]
    signature: Vec<u8>,
    signing_algorithm: String,
}

pub async fn sign(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: SignRequest = request(input)?;
    let message_type = message_type(req.message_type.as_deref())?;
    let (arn, material) = signing_key(kms, scope, &req.key_id, &req.signing_algorithm, "Sign")?;
    dry_run(req.dry_run)?;
    let algorithm = req.signing_algorithm.clone();
    let message = req.message;
    let signature =
        tokio::task::spawn_blocking(move || algorithms_aws::sign(&material, &algorithm, message_type, &message))
            .await
            .map_err(|e| KmsError::Internal(format!("signing failed: {e}")))?
            .map_err(crypto_error)?;
    response(&SignResponse {
        key_id: arn,
        signature,
        signing_algorithm: req.signing_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyRequest {
    key_id: String,
    #[serde(with = "b64")]
    message: Vec<u8>,
    message_type: Option<String>,
    #[serde(with = "b64")]
    signature: Vec<u8>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyResponse {
    key_id: String,
    signature_valid: bool,
    signing_algorithm: String,
}

pub async fn verify(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: VerifyRequest = request(input)?;
    let message_type = message_type(req.message_type.as_deref())?;
    let (arn, material) = signing_key(kms, scope, &req.key_id, &req.signing_algorithm, "Verify")?;
    dry_run(req.dry_run)?;
    let algorithm = req.signing_algorithm.clone();
    let (message, signature) = (req.message, req.signature);
    let valid = tokio::task::spawn_blocking(move || {
        algorithms_aws::verify(&material, &algorithm, message_type, &message, &signature)
    })
    .await
    .map_err(|e| KmsError::Internal(format!("verification failed: {e}")))?
    .map_err(crypto_error)?;
    if !valid {
        return Err(KmsError::InvalidSignature(String::new()));
    }
    response(&VerifyResponse {
        key_id: arn,
        signature_valid: true,
        signing_algorithm: req.signing_algorithm,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetPublicKeyResponse {
    key_id: String,
    #[serde(with = "b64")]
    public_key: Vec<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_master_key_spec: Option<&'static str>,
    key_spec: &'static str,
    key_usage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_agreement_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encapsulation_algorithms: Option<Vec<&'static str>>,
}

pub fn get_public_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: super::keys::KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let (out_key, material) = {
        let mut store = kms.lock();
        let key = state::key_ref(&mut store, scope, &req.key_id, Accept::AnyIdentifier, now)?;
        // AWS answers GetPublicKey for disabled keys too; only pending deletion is refused.
        key.require_not_pending_deletion()?;
        if !key.key_spec.has_public_key() {
            return Err(KmsError::Unsupported(format!(
                "{} key spec is {} which is not valid for GetPublicKey.",
                key.arn(),
                key.key_spec
            )));
        }
        let (_, material) = key.current_material()?;
        ((key.arn(), key.key_spec, key.key_usage.clone()), material.clone())
    };
    let (arn, spec, usage) = out_key;
    let public_key = material
        .public_key_der()
        .map_err(|e| KmsError::Internal(format!("could not encode the public key: {e}")))?;
    let algs = algorithms(spec, &usage);
    response(&GetPublicKeyResponse {
        key_id: arn,
        public_key,
        customer_master_key_spec: spec.customer_master_key_spec(),
        key_spec: spec.as_str(),
        key_usage: usage,
        encryption_algorithms: algs.encryption,
        signing_algorithms: algs.signing,
        key_agreement_algorithms: algs.key_agreement,
        encapsulation_algorithms: algs.encapsulation,
    })
}
