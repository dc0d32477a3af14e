//! HMAC: GenerateMac and VerifyMac with HMAC_224/256/384/512 keys (KeyUsage GENERATE_VERIFY_MAC).
//!
//! Each HMAC key spec has exactly one MAC algorithm (HMAC_256 ↔ HMAC_SHA_256, ...). The tag is computed by
//! [`crate::crypto::mac`] with a copy of the current material taken under the lock; VerifyMac compares in
//! constant time and answers a wrong tag with KMSInvalidMacException (never `MacValid: false`), as AWS does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::dry_run;
use super::errors::KmsError;
use super::state::Scope;
use super::{b64, request, response, Kms};
use crate::crypto::{mac as crypto_mac, CryptoError, KeyMaterial};

/// Looks up an HMAC key for `operation` and copies out (key ARN, current material).
fn mac_key(
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
        "GENERATE_VERIFY_MAC",
        algorithm,
        crate::crypto::KeySpec::mac_algorithms,
        operation,
    )
}

fn crypto_error(err: CryptoError) -> KmsError {
    match err {
        CryptoError::Unsupported(msg) | CryptoError::InvalidInput(msg) => KmsError::InvalidKeyUsage(msg),
        other => KmsError::Internal(format!("MAC computation failed: {other}")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateMacRequest {
    key_id: String,
    #[serde(with = "b64")]
    message: Vec<u8>,
    mac_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GenerateMacResponse {
    #[serde(with = "b64")]
    mac: Vec<u8>,
    mac_algorithm: String,
    key_id: String,
}

pub fn generate_mac(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: GenerateMacRequest = request(input)?;
    let (arn, material) = mac_key(kms, scope, &req.key_id, &req.mac_algorithm, "GenerateMac")?;
    dry_run(req.dry_run)?;
    let mac = crypto_mac::generate(&material, &req.mac_algorithm, &req.message).map_err(crypto_error)?;
    response(&GenerateMacResponse {
        mac,
        mac_algorithm: req.mac_algorithm,
        key_id: arn,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyMacRequest {
    key_id: String,
    #[serde(with = "b64")]
    message: Vec<u8>,
    mac_algorithm: String,
    #[serde(with = "b64")]
    mac: Vec<u8>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct VerifyMacResponse {
    key_id: String,
    mac_valid: bool,
    mac_algorithm: String,
}

pub fn verify_mac(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: VerifyMacRequest = request(input)?;
    let (arn, material) = mac_key(kms, scope, &req.key_id, &req.mac_algorithm, "VerifyMac")?;
    dry_run(req.dry_run)?;
    let valid = crypto_mac::verify(&material, &req.mac_algorithm, &req.message, &req.mac).map_err(crypto_error)?;
    if !valid {
        return Err(KmsError::InvalidMac(String::new()));
    }
    response(&VerifyMacResponse {
        key_id: arn,
        mac_valid: true,
        mac_algorithm: req.mac_algorithm,
    })
}
