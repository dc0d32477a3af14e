//! Small request checks shared by the handlers of mac.rs, asymmetric.rs, agreement.rs, data_key_pair.rs and
//! policies.rs, and the key lookup of the cryptographic operations (sign.rs, mac.rs, kem.rs, agreement.rs).

use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, Accept, Scope};
use super::Kms;
use crate::crypto::{KeyMaterial, KeySpec};

/// Looks up the key of a cryptographic `operation`: it must be Enabled, have KeyUsage `usage` and offer
/// `algorithm` among `algorithms(spec)`. Copies out (key ARN, current material) so no lock is held while the
/// cryptography runs.
pub(crate) fn operation_key(
    kms: &Kms,
    scope: &Scope,
    key_id: &str,
    usage: &str,
    algorithm: &str,
    algorithms: fn(&KeySpec) -> &'static [&'static str],
    operation: &str,
) -> Result<(String, KeyMaterial), KmsError> {
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, key_id, Accept::AnyIdentifier, now)?;
    key.require_enabled()?;
    key.require_usage(usage, operation)?;
    if !algorithms(&key.key_spec).contains(&algorithm) {
        return Err(incompatible_algorithm(algorithm, key.key_spec));
    }
    let (_, material) = key.current_material()?;
    Ok((key.arn(), material.clone()))
}

/// `DryRun: true` → DryRunOperationException once every other check has passed.
pub(crate) fn dry_run(requested: Option<bool>) -> Result<(), KmsError> {
    if requested == Some(true) {
        return Err(KmsError::DryRun(
            "The request would have succeeded, but the DryRun option is set.".into(),
        ));
    }
    Ok(())
}

/// A `Recipient` (Nitro Enclaves attestation document) is refused by name: trent has no enclaves.
pub(crate) fn no_recipient(recipient: &Option<Value>) -> Result<(), KmsError> {
    if recipient.is_some() {
        return Err(KmsError::unsupported("Recipient (Nitro Enclaves attestation)"));
    }
    Ok(())
}

/// AWS's message for an algorithm that the key's spec does not offer (InvalidKeyUsageException).
pub(crate) fn incompatible_algorithm(algorithm: &str, spec: impl std::fmt::Display) -> KmsError {
    KmsError::InvalidKeyUsage(format!("Algorithm {algorithm} is incompatible with key spec {spec}."))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::aws::model::{self, Shape};
    use crate::aws::{AwsJsonService, RequestContext};
    use crate::clock::Clock;
    use crate::kms::Kms;

    /// Calls `operation` with model-valid input and checks every top-level output member is in the model.
    async fn call(kms: &Kms, operation: &str, input: serde_json::Value) -> serde_json::Value {
        let model = model::kms();
        model.validate_input(operation, &input).expect("valid input");
        let output = kms
            .call(RequestContext::default(), operation, input)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        let shape = model.operations[operation].output.clone();
        if let (Some(Shape::Structure { members, .. }), Some(obj)) =
            (shape.and_then(|s| model.shapes.get(&s)), output.as_object())
        {
            for name in obj.keys() {
                assert!(
                    members.iter().any(|m| &m.name == name),
                    "{operation}.{name} is not in the model"
                );
            }
        }
        output
    }

    async fn key(kms: &Kms, spec: &str, usage: &str) -> String {
        let out = call(kms, "CreateKey", json!({"KeySpec": spec, "KeyUsage": usage})).await;
        out["KeyMetadata"]["KeyId"].as_str().unwrap().to_string()
    }

    #[tokio::test]
    async fn outputs_are_members_of_the_model_and_errors_are_declared() {
        let kms = Kms::new(Clock::new());
        let hmac = key(&kms, "HMAC_256", "GENERATE_VERIFY_MAC").await;
        let mac = call(
            &kms,
            "GenerateMac",
            json!({"KeyId": hmac, "Message": "aGk=", "MacAlgorithm": "HMAC_SHA_256"}),
        )
        .await;
        call(
            &kms,
            "VerifyMac",
            json!({"KeyId": hmac, "Message": "aGk=", "MacAlgorithm": "HMAC_SHA_256", "Mac": mac["Mac"]}),
        )
        .await;
        let ecdh = key(&kms, "ECC_NIST_P256", "KEY_AGREEMENT").await;
        let peer = call(&kms, "GetPublicKey", json!({"KeyId": ecdh})).await;
        call(
            &kms,
            "DeriveSharedSecret",
            json!({"KeyId": ecdh, "KeyAgreementAlgorithm": "ECDH", "PublicKey": peer["PublicKey"]}),
        )
        .await;
        let sym = key(&kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").await;
        call(
            &kms,
            "GenerateDataKeyPair",
            json!({"KeyId": sym, "KeyPairSpec": "ECC_NIST_P256"}),
        )
        .await;
        call(
            &kms,
            "GenerateDataKeyPairWithoutPlaintext",
            json!({"KeyId": sym, "KeyPairSpec": "ECC_SECG_P256K1"}),
        )
        .await;
        call(&kms, "GetKeyPolicy", json!({"KeyId": sym, "PolicyName": "default"})).await;
        call(&kms, "PutKeyPolicy", json!({"KeyId": sym, "Policy": "{}"})).await;
        call(&kms, "ListKeyPolicies", json!({"KeyId": sym})).await;

        // The failures these handlers add are error shapes the model declares for the operation.
        let model = model::kms();
        for (operation, input, expected) in [
            (
                "VerifyMac",
                json!({"KeyId": hmac, "Message": "aGk=", "MacAlgorithm": "HMAC_SHA_256", "Mac": "AAAA"}),
                "KMSInvalidMacException",
            ),
            (
                "PutKeyPolicy",
                json!({"KeyId": sym, "Policy": "nope"}),
                "MalformedPolicyDocumentException",
            ),
            (
                "CreateKey",
                json!({"Policy": "nope"}),
                "MalformedPolicyDocumentException",
            ),
            (
                "GetKeyPolicy",
                json!({"KeyId": sym, "PolicyName": "other"}),
                "NotFoundException",
            ),
        ] {
            let err = kms.call(RequestContext::default(), operation, input).await.unwrap_err();
            assert_eq!(err.code, expected, "{operation}");
            assert!(
                model.operations[operation].errors.iter().any(|e| e == expected),
                "{operation} does not declare {expected}"
            );
        }
    }
}
