//! Encapsulate and Decapsulate: ML-KEM (FIPS 203) with an `ENCAPSULATE_DECAPSULATE` key of spec
//! ML_KEM_512/768/1024 and the one algorithm `ML_KEM` (crypto in [`crate::crypto::kem`]).
//!
//! - Encapsulate: a fresh 32-byte shared secret and its encapsulation under the key's public key
//!   (`SharedSecretCiphertextBlob`, 768/1088/1568 bytes), as a peer holding the public key would compute it.
//! - Decapsulate: the shared secret of a `SharedSecretCiphertextBlob`. As in AWS, only a ciphertext of the wrong
//!   length is an `InvalidCiphertextException`; an altered ciphertext, or one made for another key, gives a
//!   pseudo-random 32-byte value (FIPS 203 implicit rejection), so callers must confirm the secrets match.
//!
//! Lookup, key state and usage checks as the other cryptographic operations; GrantTokens are accepted.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::dry_run;
use super::errors::KmsError;
use super::state::Scope;
use super::{b64, request, response, Kms};
use crate::crypto::{kem, CryptoError, KeyMaterial};

/// Looks up an ML-KEM key for `operation` and copies out (key ARN, material).
fn kem_key(
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
        "ENCAPSULATE_DECAPSULATE",
        algorithm,
        crate::crypto::KeySpec::encapsulation_algorithms,
        operation,
    )
}

fn crypto_error(operation: &str, err: CryptoError) -> KmsError {
    match err {
        CryptoError::InvalidCiphertext => KmsError::InvalidCiphertext(String::new()),
        CryptoError::Unsupported(msg) => KmsError::InvalidKeyUsage(msg),
        other => KmsError::Internal(format!("{operation} failed: {other}")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EncapsulateRequest {
    key_id: String,
    encapsulation_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct EncapsulateResponse {
    key_id: String,
    #[serde(with = "b64")]
    shared_secret: Vec<u8>,
    #[serde(with = "b64")]
    shared_secret_ciphertext_blob: Vec<u8>,
    encapsulation_algorithm: String,
}

pub fn encapsulate(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: EncapsulateRequest = request(input)?;
    let (arn, material) = kem_key(kms, scope, &req.key_id, &req.encapsulation_algorithm, "Encapsulate")?;
    dry_run(req.dry_run)?;
    let (shared_secret, ciphertext) =
        kem::encapsulate(&material, &req.encapsulation_algorithm).map_err(|e| crypto_error("Encapsulate", e))?;
    response(&EncapsulateResponse {
        key_id: arn,
        shared_secret,
        shared_secret_ciphertext_blob: ciphertext,
        encapsulation_algorithm: req.encapsulation_algorithm,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DecapsulateRequest {
    key_id: String,
    #[serde(with = "b64")]
    shared_secret_ciphertext_blob: Vec<u8>,
    encapsulation_algorithm: String,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DecapsulateResponse {
    key_id: String,
    #[serde(with = "b64")]
    shared_secret: Vec<u8>,
    encapsulation_algorithm: String,
}

pub fn decapsulate(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: DecapsulateRequest = request(input)?;
    let (arn, material) = kem_key(kms, scope, &req.key_id, &req.encapsulation_algorithm, "Decapsulate")?;
    dry_run(req.dry_run)?;
    let shared_secret = kem::decapsulate(
        &material,
        &req.encapsulation_algorithm,
        &req.shared_secret_ciphertext_blob,
    )
    .map_err(|e| crypto_error("Decapsulate", e))?;
    response(&DecapsulateResponse {
        key_id: arn,
        shared_secret,
        encapsulation_algorithm: req.encapsulation_algorithm,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use serde_json::json;

    use super::*;
    use crate::aws::{model, AwsJsonService, RequestContext};
    use crate::clock::Clock;
    use crate::kms::tests::call;

    fn b64d(v: &Value) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap()
    }

    async fn err(kms: &Kms, operation: &str, input: Value) -> (String, String) {
        model::kms().validate_input(operation, &input).expect("valid input");
        let e = kms.call(RequestContext::default(), operation, input).await.unwrap_err();
        (e.code.to_string(), e.message)
    }

    #[tokio::test]
    async fn encapsulate_then_decapsulate_and_metadata() {
        let kms = Kms::new(Clock::new());
        for (spec, ct_len) in [("ML_KEM_512", 768), ("ML_KEM_768", 1088), ("ML_KEM_1024", 1568)] {
            let created = call(
                &kms,
                "CreateKey",
                json!({"KeySpec": spec, "KeyUsage": "ENCAPSULATE_DECAPSULATE"}),
            )
            .await;
            let md = &created["KeyMetadata"];
            assert_eq!(md["KeySpec"], spec);
            assert_eq!(md["KeyUsage"], "ENCAPSULATE_DECAPSULATE");
            assert_eq!(md["EncapsulationAlgorithms"], json!(["ML_KEM"]));
            assert!(md.get("CustomerMasterKeySpec").is_none());
            assert!(md.get("EncryptionAlgorithms").is_none() && md.get("SigningAlgorithms").is_none());
            let id = md["KeyId"].as_str().unwrap().to_string();

            let public = call(&kms, "GetPublicKey", json!({"KeyId": id})).await;
            assert_eq!(public["EncapsulationAlgorithms"], json!(["ML_KEM"]));
            assert_eq!(public["KeyUsage"], "ENCAPSULATE_DECAPSULATE");

            let enc = call(
                &kms,
                "Encapsulate",
                json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM"}),
            )
            .await;
            assert_eq!(enc["KeyId"], md["Arn"]);
            assert_eq!(enc["EncapsulationAlgorithm"], "ML_KEM");
            let secret = b64d(&enc["SharedSecret"]);
            assert_eq!(secret.len(), 32);
            assert_eq!(b64d(&enc["SharedSecretCiphertextBlob"]).len(), ct_len);

            let dec = call(
                &kms,
                "Decapsulate",
                json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM",
                       "SharedSecretCiphertextBlob": enc["SharedSecretCiphertextBlob"]}),
            )
            .await;
            assert_eq!(b64d(&dec["SharedSecret"]), secret, "{spec}");
            assert_eq!(dec["KeyId"], md["Arn"]);
        }
    }

    /// The signing specs that arrived with ML-KEM: every output member and enum value is in the model (no
    /// deprecated CustomerMasterKeySpec for specs its enum lacks).
    #[tokio::test]
    async fn ml_dsa_and_ed25519_outputs_use_only_model_members() {
        let kms = Kms::new(Clock::new());
        for (spec, algorithm, message_type, message) in [
            ("ML_DSA_44", "ML_DSA_SHAKE_256", "RAW", "aGk="),
            (
                "ML_DSA_65",
                "ML_DSA_SHAKE_256",
                "EXTERNAL_MU",
                &*base64::engine::general_purpose::STANDARD.encode([7u8; 64]),
            ),
            ("ML_DSA_87", "ML_DSA_SHAKE_256", "RAW", "aGk="),
            ("ECC_NIST_EDWARDS25519", "ED25519_SHA_512", "RAW", "aGk="),
            (
                "ECC_NIST_EDWARDS25519",
                "ED25519_PH_SHA_512",
                "DIGEST",
                &*base64::engine::general_purpose::STANDARD.encode([7u8; 64]),
            ),
        ] {
            let created = call(&kms, "CreateKey", json!({"KeySpec": spec, "KeyUsage": "SIGN_VERIFY"})).await;
            assert!(created["KeyMetadata"].get("CustomerMasterKeySpec").is_none(), "{spec}");
            let id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
            call(&kms, "DescribeKey", json!({"KeyId": id})).await;
            let public = call(&kms, "GetPublicKey", json!({"KeyId": id})).await;
            assert!(public.get("CustomerMasterKeySpec").is_none());
            let request =
                json!({"KeyId": id, "Message": message, "MessageType": message_type, "SigningAlgorithm": algorithm});
            let signed = call(&kms, "Sign", request.clone()).await;
            let mut verify = request;
            verify["Signature"] = signed["Signature"].clone();
            let verified = call(&kms, "Verify", verify).await;
            assert_eq!(verified["SignatureValid"], true, "{spec} {algorithm}");
        }
    }

    #[tokio::test]
    async fn errors_follow_aws() {
        let kms = Kms::new(Clock::new());
        let created = call(
            &kms,
            "CreateKey",
            json!({"KeySpec": "ML_KEM_768", "KeyUsage": "ENCAPSULATE_DECAPSULATE"}),
        )
        .await;
        let id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let enc = call(
            &kms,
            "Encapsulate",
            json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM"}),
        )
        .await;

        // A ciphertext of the wrong length; a right-length wrong one decapsulates (implicit rejection).
        let (code, _) = err(
            &kms,
            "Decapsulate",
            json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": "AAAA"}),
        )
        .await;
        assert_eq!(code, "InvalidCiphertextException");
        let mut ct = b64d(&enc["SharedSecretCiphertextBlob"]);
        ct[0] ^= 0xff;
        let other = call(
            &kms,
            "Decapsulate",
            json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM",
                   "SharedSecretCiphertextBlob": base64::engine::general_purpose::STANDARD.encode(&ct)}),
        )
        .await;
        assert_ne!(other["SharedSecret"], enc["SharedSecret"]);

        // DryRun succeeds up to the check.
        let (code, _) = err(
            &kms,
            "Encapsulate",
            json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM", "DryRun": true}),
        )
        .await;
        assert_eq!(code, "DryRunOperationException");

        // Wrong key usage: a symmetric key and a signing key.
        let sym = call(&kms, "CreateKey", json!({})).await;
        let sym = sym["KeyMetadata"]["Arn"].as_str().unwrap().to_string();
        let (code, message) = err(
            &kms,
            "Encapsulate",
            json!({"KeyId": sym, "EncapsulationAlgorithm": "ML_KEM"}),
        )
        .await;
        assert_eq!(code, "InvalidKeyUsageException");
        assert_eq!(
            message,
            format!("{sym} key usage is ENCRYPT_DECRYPT which is not valid for Encapsulate.")
        );

        // Disabled key; unknown key; the spec/usage pairing at CreateKey.
        call(&kms, "DisableKey", json!({"KeyId": id})).await;
        let (code, _) = err(
            &kms,
            "Encapsulate",
            json!({"KeyId": id, "EncapsulationAlgorithm": "ML_KEM"}),
        )
        .await;
        assert_eq!(code, "DisabledException");
        let (code, _) = err(
            &kms,
            "Decapsulate",
            json!({"KeyId": "alias/none", "EncapsulationAlgorithm": "ML_KEM", "SharedSecretCiphertextBlob": "AAAA"}),
        )
        .await;
        assert_eq!(code, "NotFoundException");
        for (spec, usage) in [
            ("ML_KEM_512", "ENCRYPT_DECRYPT"),
            ("ML_KEM_512", "KEY_AGREEMENT"),
            ("ECC_NIST_P256", "ENCAPSULATE_DECAPSULATE"),
            ("ML_DSA_44", "ENCAPSULATE_DECAPSULATE"),
        ] {
            let (code, message) = err(&kms, "CreateKey", json!({"KeySpec": spec, "KeyUsage": usage})).await;
            assert_eq!(code, "ValidationException", "{spec} {usage}");
            assert!(message.contains(usage), "{message}");
        }
    }
}
