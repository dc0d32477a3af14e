//! Bad input, table-driven: malformed requests across both clouds, each answered with a clear error in the cloud's
//! own envelope (KMS `{"__type", "message"}`, Key Vault `{"error": {"code", "message"}}`) and the status the cloud
//! uses, and none of them changing any state (the whole exported state of both services is compared after every
//! case). The SDKs cannot send most of these, so this speaks HTTP directly; what the SDKs do see is judged in the
//! other suites.
//!
//! Sources for the expected codes: AWS's validation wording and codes in the KMS model
//! (`../shared/specs/aws-kms/`) and LocalStack's recordings of real AWS (`test_kms.validation.json`:
//! `ValidationException` for constraint failures, `SerializationException` for wrong JSON types,
//! `NotFoundException` for unknown keys); Key Vault's error codes from the REST spec's `KeyVaultError` and the SDK
//! recordings (`BadParameter`, `SecretNotFound`, `KeyNotFound`, `Unauthorized` with a challenge).

mod common;

use serde_json::{json, Value};

#[derive(Clone, Copy, Debug)]
enum Port {
    Kms,
    Vault,
}

struct Case {
    what: String,
    port: Port,
    method: reqwest::Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

/// Errors AWS sends without a message (LocalStack's recordings of real AWS); trent sends an empty one or none.
const NO_MESSAGE: &[&str] = &[
    "InvalidCiphertextException",
    "KMSInvalidSignatureException",
    "KMSInvalidMacException",
];
const UNKNOWN_KEY: &str = "11111111-2222-3333-4444-555555555555";
const KMS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kms/aws4_request, \
                        SignedHeaders=host;x-amz-date, Signature=00";

fn kms(what: impl Into<String>, operation: &str, body: impl Into<Vec<u8>>, status: u16, code: &'static str) -> Case {
    Case {
        what: what.into(),
        port: Port::Kms,
        method: reqwest::Method::POST,
        path: "/".to_string(),
        headers: vec![
            ("x-amz-target", format!("TrentService.{operation}")),
            ("content-type", "application/x-amz-json-1.1".to_string()),
            ("authorization", KMS_AUTH.to_string()),
        ],
        body: body.into(),
        status,
        code,
    }
}

fn vault(
    what: impl Into<String>,
    method: reqwest::Method,
    path: &str,
    body: impl Into<Vec<u8>>,
    status: u16,
    code: &'static str,
) -> Case {
    let path = if path.contains("api-version") {
        path.to_string()
    } else {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}api-version=2025-07-01")
    };
    Case {
        what: what.into(),
        port: Port::Vault,
        method,
        path,
        headers: vec![
            ("authorization", "Bearer any-token".to_string()),
            ("content-type", "application/json".to_string()),
        ],
        body: body.into(),
        status,
        code,
    }
}

/// Operations that name a key, with an otherwise valid body: each gets the same four bad `KeyId`s.
fn keyed_operations() -> Vec<(&'static str, Value)> {
    vec![
        ("DescribeKey", json!({})),
        ("EnableKey", json!({})),
        ("DisableKey", json!({})),
        ("GetKeyPolicy", json!({})),
        (
            "PutKeyPolicy",
            json!({"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}),
        ),
        ("ListKeyPolicies", json!({})),
        ("GetKeyRotationStatus", json!({})),
        ("EnableKeyRotation", json!({})),
        ("DisableKeyRotation", json!({})),
        ("ListKeyRotations", json!({})),
        ("RotateKeyOnDemand", json!({})),
        ("ListResourceTags", json!({})),
        ("TagResource", json!({"Tags": [{"TagKey": "a", "TagValue": "b"}]})),
        ("UntagResource", json!({"TagKeys": ["a"]})),
        ("UpdateKeyDescription", json!({"Description": "changed"})),
        ("ScheduleKeyDeletion", json!({"PendingWindowInDays": 7})),
        ("CancelKeyDeletion", json!({})),
        ("ListGrants", json!({})),
        (
            "CreateGrant",
            json!({"GranteePrincipal": "arn:aws:iam::000000000000:root", "Operations": ["Encrypt"]}),
        ),
        ("Encrypt", json!({"Plaintext": "aGk="})),
        ("GenerateDataKey", json!({"KeySpec": "AES_256"})),
        ("GenerateDataKeyWithoutPlaintext", json!({"KeySpec": "AES_256"})),
        ("GenerateDataKeyPair", json!({"KeyPairSpec": "ECC_NIST_P256"})),
        (
            "GenerateDataKeyPairWithoutPlaintext",
            json!({"KeyPairSpec": "ECC_NIST_P256"}),
        ),
        ("Sign", json!({"Message": "aGk=", "SigningAlgorithm": "ECDSA_SHA_256"})),
        (
            "Verify",
            json!({"Message": "aGk=", "Signature": "aGk=", "SigningAlgorithm": "ECDSA_SHA_256"}),
        ),
        (
            "GenerateMac",
            json!({"Message": "aGk=", "MacAlgorithm": "HMAC_SHA_256"}),
        ),
        (
            "VerifyMac",
            json!({"Message": "aGk=", "Mac": "aGk=", "MacAlgorithm": "HMAC_SHA_256"}),
        ),
        ("GetPublicKey", json!({})),
        (
            "GetParametersForImport",
            json!({"WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}),
        ),
        ("DeleteImportedKeyMaterial", json!({})),
        ("ReplicateKey", json!({"ReplicaRegion": "eu-west-1"})),
        ("UpdatePrimaryRegion", json!({"PrimaryRegion": "eu-west-1"})),
        (
            "DeriveSharedSecret",
            json!({"KeyAgreementAlgorithm": "ECDH", "PublicKey": "aGk="}),
        ),
    ]
}

fn with(body: &Value, member: &str, value: Value) -> Vec<u8> {
    let mut body = body.clone();
    body[member] = value;
    serde_json::to_vec(&body).unwrap()
}

fn kms_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for (operation, body) in keyed_operations() {
        cases.push(kms(
            format!("{operation} without KeyId"),
            operation,
            serde_json::to_vec(&body).unwrap(),
            400,
            "ValidationException",
        ));
        cases.push(kms(
            format!("{operation} with a numeric KeyId"),
            operation,
            with(&body, "KeyId", json!(42)),
            400,
            "SerializationException",
        ));
        cases.push(kms(
            format!("{operation} with an empty KeyId"),
            operation,
            with(&body, "KeyId", json!("")),
            400,
            "ValidationException",
        ));
        cases.push(kms(
            format!("{operation} with an unknown KeyId"),
            operation,
            with(&body, "KeyId", json!(UNKNOWN_KEY)),
            400,
            "NotFoundException",
        ));
    }
    let simple: Vec<(&str, &str, String, u16, &'static str)> = vec![
        (
            "an unknown operation",
            "NoSuchOperation",
            "{}".to_string(),
            400,
            "UnknownOperationException",
        ),
        (
            "a body that is not JSON",
            "CreateKey",
            "{not json".to_string(),
            400,
            "SerializationException",
        ),
        (
            "a JSON array body",
            "CreateKey",
            "[1]".to_string(),
            400,
            "SerializationException",
        ),
        (
            "a JSON string body",
            "ListKeys",
            "\"keys\"".to_string(),
            400,
            "SerializationException",
        ),
        (
            "a truncated body",
            "ListAliases",
            "{\"Limit\": ".to_string(),
            400,
            "SerializationException",
        ),
        (
            "CreateKey with an unknown KeySpec",
            "CreateKey",
            r#"{"KeySpec": "AES_512"}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "CreateKey with an unknown KeyUsage",
            "CreateKey",
            r#"{"KeyUsage": "EVERYTHING"}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "CreateKey with a numeric Description",
            "CreateKey",
            r#"{"Description": 5}"#.to_string(),
            400,
            "SerializationException",
        ),
        (
            "CreateKey with Tags not a list",
            "CreateKey",
            r#"{"Tags": {"a": "b"}}"#.to_string(),
            400,
            "SerializationException",
        ),
        (
            "CreateKey with a 9000-character Description",
            "CreateKey",
            "".to_string(),
            400,
            "ValidationException",
        ),
        (
            "CreateKey with a malformed policy",
            "CreateKey",
            r#"{"Policy": "not a policy"}"#.to_string(),
            400,
            "MalformedPolicyDocumentException",
        ),
        (
            "ListKeys with Limit 0",
            "ListKeys",
            r#"{"Limit": 0}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "ListKeys with Limit 1001",
            "ListKeys",
            r#"{"Limit": 1001}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "ListKeys with a forged Marker",
            "ListKeys",
            r#"{"Marker": "bm90IGEgbWFya2Vy"}"#.to_string(),
            400,
            "InvalidMarkerException",
        ),
        (
            "ListAliases with a forged Marker",
            "ListAliases",
            r#"{"Marker": "garbage"}"#.to_string(),
            400,
            "InvalidMarkerException",
        ),
        (
            "GenerateRandom with 0 bytes",
            "GenerateRandom",
            r#"{"NumberOfBytes": 0}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "GenerateRandom with 1025 bytes",
            "GenerateRandom",
            r#"{"NumberOfBytes": 1025}"#.to_string(),
            400,
            "ValidationException",
        ),
        (
            "GenerateRandom with a string count",
            "GenerateRandom",
            r#"{"NumberOfBytes": "ten"}"#.to_string(),
            400,
            "SerializationException",
        ),
        (
            "Decrypt with garbage ciphertext",
            "Decrypt",
            r#"{"CiphertextBlob": "Z2FyYmFnZSBjaXBoZXJ0ZXh0"}"#.to_string(),
            400,
            "InvalidCiphertextException",
        ),
        (
            "Decrypt with ciphertext that is not base64",
            "Decrypt",
            r#"{"CiphertextBlob": "%%%"}"#.to_string(),
            400,
            "SerializationException",
        ),
        (
            "Decrypt without CiphertextBlob",
            "Decrypt",
            "{}".to_string(),
            400,
            "ValidationException",
        ),
        (
            "ReEncrypt with garbage ciphertext",
            "ReEncrypt",
            format!(r#"{{"CiphertextBlob": "Z2FyYmFnZQ==", "DestinationKeyId": "{UNKNOWN_KEY}"}}"#),
            400,
            "InvalidCiphertextException",
        ),
        (
            "CreateAlias with a name outside alias/",
            "CreateAlias",
            format!(r#"{{"AliasName": "nope", "TargetKeyId": "{UNKNOWN_KEY}"}}"#),
            400,
            "ValidationException",
        ),
        (
            "CreateAlias for an unknown key",
            "CreateAlias",
            format!(r#"{{"AliasName": "alias/new", "TargetKeyId": "{UNKNOWN_KEY}"}}"#),
            400,
            "NotFoundException",
        ),
        (
            "DeleteAlias of an unknown alias",
            "DeleteAlias",
            r#"{"AliasName": "alias/none"}"#.to_string(),
            400,
            "NotFoundException",
        ),
        (
            "UpdateAlias to an unknown key",
            "UpdateAlias",
            format!(r#"{{"AliasName": "alias/seeded", "TargetKeyId": "{UNKNOWN_KEY}"}}"#),
            400,
            "NotFoundException",
        ),
        (
            "RetireGrant without a grant",
            "RetireGrant",
            "{}".to_string(),
            400,
            "InvalidGrantTokenException",
        ),
        (
            "RevokeGrant of an unknown grant",
            "RevokeGrant",
            format!(
                r#"{{"KeyId": "{UNKNOWN_KEY}", "GrantId": "0000000000000000000000000000000000000000000000000000000000000000"}}"#
            ),
            400,
            "NotFoundException",
        ),
        (
            "DescribeCustomKeyStores of an unknown store",
            "DescribeCustomKeyStores",
            r#"{"CustomKeyStoreId": "cks-1234567890abcdef0"}"#.to_string(),
            400,
            "CustomKeyStoreNotFoundException",
        ),
        (
            "DeleteCustomKeyStore of an unknown store",
            "DeleteCustomKeyStore",
            r#"{"CustomKeyStoreId": "cks-1234567890abcdef0"}"#.to_string(),
            400,
            "CustomKeyStoreNotFoundException",
        ),
    ];
    for (what, operation, body, status, code) in simple {
        let body = if what.contains("9000-character") {
            serde_json::to_vec(&json!({"Description": "d".repeat(9000)})).unwrap()
        } else {
            body.as_bytes().to_vec()
        };
        cases.push(kms(what, operation, body, status, code));
    }
    // The envelope around the operations.
    let mut no_target = kms("no X-Amz-Target", "ListKeys", "{}", 400, "UnknownOperationException");
    no_target.headers.retain(|(name, _)| *name != "x-amz-target");
    cases.push(no_target);
    let mut other_service = kms(
        "another service's target",
        "ListKeys",
        "{}",
        400,
        "UnknownOperationException",
    );
    other_service.headers[0].1 = "DynamoDB_20120810.ListTables".to_string();
    cases.push(other_service);
    let mut bad_region = kms(
        "a malformed region in the credential",
        "ListKeys",
        "{}",
        400,
        "InvalidSignatureException",
    );
    bad_region.headers[2].1 = KMS_AUTH.replace("us-east-1", "us-east-1:999999999999");
    cases.push(bad_region);
    let mut get = kms(
        "GET on the KMS endpoint",
        "ListKeys",
        "",
        405,
        "UnknownOperationException",
    );
    get.method = reqwest::Method::GET;
    cases.push(get);
    let mut elsewhere = kms(
        "a POST to another path",
        "ListKeys",
        "{}",
        404,
        "UnknownOperationException",
    );
    elsewhere.path = "/2015-03-31/functions".to_string();
    cases.push(elsewhere);
    cases.push(kms(
        "a body over the 1 MiB limit",
        "Encrypt",
        vec![b' '; (1 << 20) + 16],
        413,
        "RequestEntityTooLargeException",
    ));
    cases
}

fn vault_cases(rsa_key: &str) -> Vec<Case> {
    use reqwest::Method as M;
    let key = |suffix: &str| format!("/keys/{rsa_key}{suffix}");
    let mut cases = vec![
        // Names, bodies and parameters of the secrets plane.
        vault(
            "setSecret with an invalid name",
            M::PUT,
            "/secrets/bad_name!",
            r#"{"value": "v"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with a 128-character name",
            M::PUT,
            &format!("/secrets/{}", "n".repeat(128)),
            r#"{"value": "v"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with a body that is not JSON",
            M::PUT,
            "/secrets/s1",
            "{value",
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with an array body",
            M::PUT,
            "/secrets/s1",
            "[]",
            400,
            "BadParameter",
        ),
        vault(
            "setSecret without a value",
            M::PUT,
            "/secrets/s1",
            "{}",
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with a numeric value",
            M::PUT,
            "/secrets/s1",
            r#"{"value": 5}"#,
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with tags not an object",
            M::PUT,
            "/secrets/s1",
            r#"{"value": "v", "tags": ["a"]}"#,
            400,
            "BadParameter",
        ),
        vault(
            "setSecret with a non-numeric exp",
            M::PUT,
            "/secrets/s1",
            r#"{"value": "v", "attributes": {"exp": "soon"}}"#,
            400,
            "BadParameter",
        ),
        vault(
            "getSecret of an unknown secret",
            M::GET,
            "/secrets/missing",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "getSecret of an unknown version",
            M::GET,
            "/secrets/present/00000000000000000000000000000000",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "updateSecret of an unknown secret",
            M::PATCH,
            "/secrets/missing/00000000000000000000000000000000",
            r#"{"contentType": "x"}"#,
            404,
            "SecretNotFound",
        ),
        vault(
            "updateSecret with a body that is not JSON",
            M::PATCH,
            "/secrets/present/",
            "nope",
            400,
            "BadParameter",
        ),
        vault(
            "deleteSecret of an unknown secret",
            M::DELETE,
            "/secrets/missing",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "getDeletedSecret of an unknown secret",
            M::GET,
            "/deletedsecrets/missing",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "recoverDeletedSecret of an unknown secret",
            M::POST,
            "/deletedsecrets/missing/recover",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "purgeDeletedSecret of an unknown secret",
            M::DELETE,
            "/deletedsecrets/missing",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "backupSecret of an unknown secret",
            M::POST,
            "/secrets/missing/backup",
            "",
            404,
            "SecretNotFound",
        ),
        vault(
            "restoreSecret with a garbage blob",
            M::POST,
            "/secrets/restore",
            r#"{"value": "Z2FyYmFnZQ"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "restoreSecret without a value",
            M::POST,
            "/secrets/restore",
            "{}",
            400,
            "BadParameter",
        ),
        vault(
            "getSecrets with maxresults 0",
            M::GET,
            "/secrets?maxresults=0",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getSecrets with maxresults 26",
            M::GET,
            "/secrets?maxresults=26",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getSecrets with maxresults abc",
            M::GET,
            "/secrets?maxresults=abc",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getSecrets with a forged skiptoken",
            M::GET,
            "/secrets?$skiptoken=garbage",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getSecretVersions with a forged skiptoken",
            M::GET,
            "/secrets/present/versions?$skiptoken=garbage",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getDeletedSecrets with maxresults 0",
            M::GET,
            "/deletedsecrets?maxresults=0",
            "",
            400,
            "BadParameter",
        ),
        // The keys plane.
        vault(
            "createKey with an unknown kty",
            M::POST,
            "/keys/k1/create",
            r#"{"kty": "DSA"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "createKey without kty",
            M::POST,
            "/keys/k1/create",
            "{}",
            400,
            "BadParameter",
        ),
        vault(
            "createKey with an RSA size of 1000",
            M::POST,
            "/keys/k1/create",
            r#"{"kty": "RSA", "key_size": 1000}"#,
            400,
            "BadParameter",
        ),
        vault(
            "createKey with an unknown curve",
            M::POST,
            "/keys/k1/create",
            r#"{"kty": "EC", "crv": "P-999"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "createKey with an unknown key_op",
            M::POST,
            "/keys/k1/create",
            r#"{"kty": "EC", "key_ops": ["fly"]}"#,
            400,
            "BadParameter",
        ),
        vault(
            "createKey with a body that is not JSON",
            M::POST,
            "/keys/k1/create",
            "kty=RSA",
            400,
            "BadParameter",
        ),
        vault(
            "createKey with an invalid name",
            M::POST,
            "/keys/bad.name/create",
            r#"{"kty": "EC"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "createKey oct on a vault (HSM only)",
            M::POST,
            "/keys/k1/create",
            r#"{"kty": "oct-HSM"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "importKey without the RSA parts",
            M::PUT,
            "/keys/k1",
            r#"{"key": {"kty": "RSA"}}"#,
            400,
            "BadParameter",
        ),
        vault(
            "importKey with key not an object",
            M::PUT,
            "/keys/k1",
            r#"{"key": "pem"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "importKey with an EC point off the curve",
            M::PUT,
            "/keys/k1",
            r#"{"key": {"kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ", "d": "AQ"}}"#,
            400,
            "BadParameter",
        ),
        vault(
            "getKey of an unknown key",
            M::GET,
            "/keys/missing",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "getKey of an unknown version",
            M::GET,
            &key("/00000000000000000000000000000000"),
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "updateKey of an unknown key",
            M::PATCH,
            "/keys/missing/",
            r#"{"tags": {}}"#,
            404,
            "KeyNotFound",
        ),
        vault(
            "deleteKey of an unknown key",
            M::DELETE,
            "/keys/missing",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "getDeletedKey of an unknown key",
            M::GET,
            "/deletedkeys/missing",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "recoverDeletedKey of an unknown key",
            M::POST,
            "/deletedkeys/missing/recover",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "purgeDeletedKey of an unknown key",
            M::DELETE,
            "/deletedkeys/missing",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "backupKey of an unknown key",
            M::POST,
            "/keys/missing/backup",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "restoreKey with a garbage blob",
            M::POST,
            "/keys/restore",
            r#"{"value": "Z2FyYmFnZQ"}"#,
            400,
            "Malformed backup blob",
        ),
        vault(
            "encrypt with an unknown key",
            M::POST,
            "/keys/missing//encrypt",
            r#"{"alg": "RSA-OAEP", "value": "aGk"}"#,
            404,
            "KeyNotFound",
        ),
        vault(
            "encrypt with an unknown algorithm",
            M::POST,
            &key("//encrypt"),
            r#"{"alg": "ROT13", "value": "aGk"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "encrypt without alg",
            M::POST,
            &key("//encrypt"),
            r#"{"value": "aGk"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "encrypt with a value that is not base64url",
            M::POST,
            &key("//encrypt"),
            r#"{"alg": "RSA-OAEP", "value": "***"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "decrypt of a garbage ciphertext",
            M::POST,
            &key("//decrypt"),
            r#"{"alg": "RSA-OAEP", "value": "aGk"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "sign with a digest of the wrong length",
            M::POST,
            &key("//sign"),
            r#"{"alg": "RS256", "value": "aGk"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "sign with an EC algorithm on an RSA key",
            M::POST,
            &key("//sign"),
            r#"{"alg": "ES256", "value": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "verify without a signature",
            M::POST,
            &key("//verify"),
            r#"{"alg": "RS256", "digest": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "wrapKey with an unknown algorithm",
            M::POST,
            &key("//wrapkey"),
            r#"{"alg": "A128KW", "value": "aGk"}"#,
            400,
            "BadParameter",
        ),
        vault(
            "setKeyRotationPolicy with a bad duration",
            M::PUT,
            &key("/rotationpolicy"),
            r#"{"lifetimeActions": [{"trigger": {"timeAfterCreate": "soon"}, "action": {"type": "Rotate"}}]}"#,
            400,
            "BadParameter",
        ),
        vault(
            "getKeyRotationPolicy of an unknown key",
            M::GET,
            "/keys/missing/rotationpolicy",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "rotateKey of an unknown key",
            M::POST,
            "/keys/missing/rotate",
            "",
            404,
            "KeyNotFound",
        ),
        vault(
            "release of an unknown key",
            M::POST,
            "/keys/missing/00000000000000000000000000000000/release",
            r#"{"target": "token"}"#,
            404,
            "KeyNotFound",
        ),
        vault(
            "getKeys with maxresults 26",
            M::GET,
            "/keys?maxresults=26",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getKeys with a forged skiptoken",
            M::GET,
            "/keys?$skiptoken=garbage",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "getRandomBytes with count 0",
            M::POST,
            "/rng",
            r#"{"count": 0}"#,
            400,
            "BadParameter",
        ),
        // The protocol around the operations.
        vault(
            "an unknown api-version",
            M::GET,
            "/secrets/present?api-version=1999-01-01",
            "",
            400,
            "BadParameter",
        ),
        vault(
            "a GET on a POST-only path",
            M::GET,
            &key("//encrypt"),
            "",
            405,
            "MethodNotAllowed",
        ),
        vault("an unknown path", M::GET, "/nothing/here", "", 404, "NotFound"),
        vault(
            "a body over the 8 MiB limit",
            M::PUT,
            "/secrets/big",
            vec![b' '; (8 << 20) + 16],
            413,
            "RequestTooLarge",
        ),
    ];
    let mut no_version = vault("no api-version", M::GET, "/secrets/present", "", 400, "BadParameter");
    no_version.path = "/secrets/present".to_string();
    cases.push(no_version);
    let mut no_token = vault("no bearer token", M::GET, "/secrets/present", "", 401, "Unauthorized");
    no_token.headers.retain(|(name, _)| *name != "authorization");
    cases.push(no_token);
    cases
}

async fn export(server: &trent::Server) -> (Value, Value) {
    (
        common::control_get(&server.kms_endpoint(), "export").await,
        common::control_get(&server.keyvault_endpoint(), "export").await,
    )
}

#[tokio::test]
async fn malformed_requests_get_the_clouds_errors_and_change_nothing() {
    let server = common::server().await;
    // Some state for the cases to leave alone: a key with an alias, a secret, an RSA key.
    let kms_client = common::client_in(&server, "us-east-1");
    let seeded = common::symmetric_key(&kms_client).await;
    kms_client
        .create_alias()
        .alias_name("alias/seeded")
        .target_key_id(&seeded)
        .send()
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let vault_url = |path: &str| format!("{}{path}?api-version=2025-07-01", server.keyvault_endpoint());
    let put = http
        .put(vault_url("/secrets/present"))
        .bearer_auth("t")
        .json(&json!({"value": "v"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let created: Value = http
        .post(vault_url("/keys/rsa/create"))
        .bearer_auth("t")
        .json(&json!({"kty": "RSA"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(created["key"]["kid"].is_string(), "{created}");

    let before = export(&server).await;
    let cases: Vec<Case> = kms_cases().into_iter().chain(vault_cases("rsa")).collect();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let base = match case.port {
            Port::Kms => server.kms_endpoint(),
            Port::Vault => server.keyvault_endpoint(),
        };
        let mut request = http.request(case.method.clone(), format!("{base}{}", case.path));
        for (name, value) in &case.headers {
            request = request.header(*name, value);
        }
        if !case.body.is_empty() {
            request = request.body(case.body.clone());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let (code, message) = match case.port {
            Port::Kms => (&body["__type"], &body["message"]),
            Port::Vault => (&body["error"]["code"], &body["error"]["message"]),
        };
        let problem = if status != case.status || code != case.code {
            Some(format!(
                "answered {status} {code}, expected {} {}",
                case.status, case.code
            ))
        } else if !(message.is_string() || (message.is_null() && NO_MESSAGE.contains(&case.code))) {
            Some("the error has no message".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!(
                "{}: {problem}: {}",
                case.what,
                text.chars().take(300).collect::<String>()
            ));
        }
        let after = export(&server).await;
        if after != before {
            failures.push(format!("{}: the state changed", case.what));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    drop(kms_client);
    server.stop().await;
}
