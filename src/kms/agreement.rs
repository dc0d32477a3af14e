//! DeriveSharedSecret: ECDH between a KEY_AGREEMENT key on a NIST curve (ECC_NIST_P256/P384/P521) and the
//! caller's public key (X.509 SubjectPublicKeyInfo DER). Returns the raw shared secret, as AWS does.
//!
//! A `Recipient` (Nitro Enclaves attestation, for CiphertextForRecipient) is refused by name.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{dry_run, incompatible_algorithm, no_recipient};
use super::errors::KmsError;
use super::state::{self, Accept, Scope};
use super::{b64, request, response, Kms};
use crate::crypto::{agreement, CryptoError};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeriveSharedSecretRequest {
    key_id: String,
    key_agreement_algorithm: String,
    #[serde(with = "b64")]
    public_key: Vec<u8>,
    recipient: Option<Value>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeriveSharedSecretResponse {
    key_id: String,
    #[serde(with = "b64")]
    shared_secret: Vec<u8>,
    key_agreement_algorithm: String,
    key_origin: &'static str,
}

pub fn derive_shared_secret(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: DeriveSharedSecretRequest = request(input)?;
    no_recipient(&req.recipient)?;
    let now = kms.now_ms();
    let (arn, material) = {
        let mut store = kms.lock();
        let key = state::key_ref(&mut store, scope, &req.key_id, Accept::AnyIdentifier, now)?;
        key.require_enabled()?;
        key.require_usage("KEY_AGREEMENT", "DeriveSharedSecret")?;
        if !key
            .key_spec
            .key_agreement_algorithms()
            .contains(&req.key_agreement_algorithm.as_str())
        {
            return Err(incompatible_algorithm(&req.key_agreement_algorithm, key.key_spec));
        }
        let (_, material) = key.current_material()?;
        (key.arn(), material.clone())
    };
    dry_run(req.dry_run)?;
    let shared_secret = agreement::derive_shared_secret(&material, &req.key_agreement_algorithm, &req.public_key)
        .map_err(|e| match e {
            CryptoError::InvalidInput(msg) => KmsError::Validation(msg),
            CryptoError::Unsupported(msg) => KmsError::InvalidKeyUsage(msg),
            other => KmsError::Internal(format!("key agreement failed: {other}")),
        })?;
    response(&DeriveSharedSecretResponse {
        key_id: arn,
        shared_secret,
        key_agreement_algorithm: req.key_agreement_algorithm,
        key_origin: "AWS_KMS",
    })
}
