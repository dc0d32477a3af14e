//! GetKeyLastUsage through aws-sdk-kms: which operations are recorded (successful cryptographic ones, both keys of a
//! ReEncrypt), with the request id of the recorded call and the time on the trent clock; the tracking start; the
//! errors for aliases, other accounts and unknown keys; tracking in memory only.

mod common;

use aws_sdk_kms::operation::get_key_last_usage::GetKeyLastUsageOutput;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, DataKeySpec, KeyAgreementAlgorithmSpec, KeyLastUsageTrackingOperation as Op, KeySpec,
    KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use common::{client_in, client_with, code, error, setup};

async fn last_usage(kms: &Client, key_id: &str) -> GetKeyLastUsageOutput {
    kms.get_key_last_usage()
        .key_id(key_id)
        .send()
        .await
        .expect("GetKeyLastUsage")
}

/// (operation, request id) of the key's last usage, `None` when it has none.
async fn last(kms: &Client, key_id: &str) -> Option<(Op, String)> {
    let out = last_usage(kms, key_id).await;
    let usage = out
        .key_last_usage
        .expect("KeyLastUsage is always present (empty when unused)");
    match usage.operation {
        Some(op) => {
            assert!(usage.timestamp.is_some(), "a usage has a timestamp");
            assert!(usage.cloud_trail_event_id.is_none(), "trent keeps no CloudTrail");
            Some((op, usage.kms_request_id.expect("a usage has a request id")))
        }
        None => {
            assert!(usage.timestamp.is_none() && usage.kms_request_id.is_none());
            None
        }
    }
}

async fn create(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    kms.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .unwrap()
        .key_id
}

fn secs(t: &aws_sdk_kms::primitives::DateTime) -> f64 {
    t.as_secs_f64()
}

#[tokio::test]
async fn a_new_key_has_no_usage_and_tracking_starts_at_its_creation() {
    let (server, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    let out = last_usage(&kms, &key).await;
    assert_eq!(out.key_id.as_deref(), Some(key.as_str()));
    let created = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .creation_date
        .unwrap();
    assert_eq!(out.key_creation_date, Some(created));
    assert_eq!(out.tracking_start_date, Some(created), "created after tracking began");
    assert_eq!(last(&kms, &key).await, None);
    // Management and read operations are not usage.
    kms.describe_key().key_id(&key).send().await.unwrap();
    kms.enable_key_rotation().key_id(&key).send().await.unwrap();
    kms.tag_resource()
        .key_id(&key)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("a")
                .tag_value("b")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(last(&kms, &key).await, None);
    server.stop().await;
}

#[tokio::test]
async fn symmetric_operations_record_their_request_id_and_failures_do_not() {
    let (server, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    let alias = common::unique("alias/usage");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&key)
        .send()
        .await
        .unwrap();

    // Through an alias: recorded for the key.
    let encrypted = kms
        .encrypt()
        .key_id(&alias)
        .plaintext(Blob::new(b"hello".to_vec()))
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    let encrypt_id = encrypted.request_id().expect("x-amzn-requestid").to_string();
    assert_eq!(last(&kms, &key).await, Some((Op::Encrypt, encrypt_id)));

    let blob = encrypted.ciphertext_blob.unwrap();
    let decrypted = kms
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    let decrypt_id = decrypted.request_id().unwrap().to_string();
    assert_eq!(last(&kms, &key).await, Some((Op::Decrypt, decrypt_id.clone())));

    // A failed Decrypt (wrong context) leaves the record as it was.
    let failed = kms.decrypt().ciphertext_blob(blob).send().await;
    assert_eq!(code(failed), "InvalidCiphertextException");
    assert_eq!(last(&kms, &key).await, Some((Op::Decrypt, decrypt_id)));

    // Each call is checked before the next: the record is the last one.
    macro_rules! check {
        ($op:expr, $call:expr) => {{
            let id = $call.send().await.unwrap().request_id().unwrap().to_string();
            assert_eq!(last(&kms, &key).await, Some(($op, id)));
        }};
    }
    check!(
        Op::GenerateDataKey,
        kms.generate_data_key().key_id(&key).key_spec(DataKeySpec::Aes256)
    );
    check!(
        Op::GenerateDataKeyWithoutPlaintext,
        kms.generate_data_key_without_plaintext()
            .key_id(&key)
            .number_of_bytes(16)
    );
    check!(
        Op::GenerateDataKeyPairWithoutPlaintext,
        kms.generate_data_key_pair_without_plaintext()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
    );
    check!(
        Op::GenerateDataKeyPair,
        kms.generate_data_key_pair()
            .key_id(&key)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
    );

    // A disabled key refuses Encrypt: nothing new is recorded.
    kms.disable_key().key_id(&key).send().await.unwrap();
    let refused = kms
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await;
    assert_eq!(code(refused), "DisabledException");
    assert_eq!(last(&kms, &key).await.unwrap().0, Op::GenerateDataKeyPair);
    // GetKeyLastUsage itself works on a disabled key.
    server.stop().await;
}

#[tokio::test]
async fn re_encrypt_records_both_keys() {
    let (server, kms) = setup().await;
    let source = common::symmetric_key(&kms).await;
    let destination = common::symmetric_key(&kms).await;
    let blob = kms
        .encrypt()
        .key_id(&source)
        .plaintext(Blob::new(b"moving".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let out = kms
        .re_encrypt()
        .ciphertext_blob(blob)
        .destination_key_id(&destination)
        .send()
        .await
        .unwrap();
    let id = out.request_id().unwrap().to_string();
    assert_eq!(last(&kms, &source).await, Some((Op::ReEncrypt, id.clone())));
    assert_eq!(last(&kms, &destination).await, Some((Op::ReEncrypt, id)));
    server.stop().await;
}

#[tokio::test]
async fn signing_macs_and_key_agreement_are_recorded_when_they_succeed() {
    let (server, kms) = setup().await;
    let signing = create(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let message = Blob::new(b"signed".to_vec());
    let signed = kms
        .sign()
        .key_id(&signing)
        .message(message.clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        last(&kms, &signing).await,
        Some((Op::Sign, signed.request_id().unwrap().to_string()))
    );
    // GetPublicKey is not a cryptographic operation.
    kms.get_public_key().key_id(&signing).send().await.unwrap();
    let signature = signed.signature.unwrap();
    let verified = kms
        .verify()
        .key_id(&signing)
        .message(message.clone())
        .signature(signature.clone())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let verify_id = verified.request_id().unwrap().to_string();
    assert_eq!(last(&kms, &signing).await, Some((Op::Verify, verify_id.clone())));
    let bad = kms
        .verify()
        .key_id(&signing)
        .message(Blob::new(b"other message".to_vec()))
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await;
    assert_eq!(code(bad), "KMSInvalidSignatureException");
    assert_eq!(last(&kms, &signing).await, Some((Op::Verify, verify_id)));

    let mac_key = create(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = kms
        .generate_mac()
        .key_id(&mac_key)
        .message(message.clone())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        last(&kms, &mac_key).await,
        Some((Op::GenerateMac, mac.request_id().unwrap().to_string()))
    );
    let verified = kms
        .verify_mac()
        .key_id(&mac_key)
        .message(message)
        .mac(mac.mac.unwrap())
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(
        last(&kms, &mac_key).await,
        Some((Op::VerifyMac, verified.request_id().unwrap().to_string()))
    );

    let agreement = create(&kms, KeySpec::EccNistP256, KeyUsageType::KeyAgreement).await;
    let peer = kms
        .get_public_key()
        .key_id(&signing)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    let derived = kms
        .derive_shared_secret()
        .key_id(&agreement)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(peer)
        .send()
        .await
        .unwrap();
    assert_eq!(
        last(&kms, &agreement).await,
        Some((Op::DeriveSharedSecret, derived.request_id().unwrap().to_string()))
    );
    server.stop().await;
}

#[tokio::test]
async fn the_timestamp_follows_the_trent_clock() {
    let (server, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    server.clock().advance_ms(10 * 86_400_000);
    let expected = server.clock().now_secs_f64();
    kms.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"later".to_vec()))
        .send()
        .await
        .unwrap();
    let out = last_usage(&kms, &key).await;
    let at = secs(out.key_last_usage.unwrap().timestamp.as_ref().unwrap());
    assert!((at - expected).abs() < 5.0, "{at} vs {expected}");
    let created = secs(out.key_creation_date.as_ref().unwrap());
    assert!(at - created > 9.0 * 86_400.0);
    server.stop().await;
}

#[tokio::test]
async fn aliases_other_accounts_and_unknown_keys_are_refused() {
    let (server, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    let alias = common::unique("alias/not-for-usage");
    kms.create_alias()
        .alias_name(&alias)
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let (code_, _) = error(kms.get_key_last_usage().key_id(&alias).send().await);
    assert_eq!(code_, "NotFoundException");

    // By key ARN in its own account it works; from another account it does not (no cross-account use).
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{key}");
    assert_eq!(last_usage(&kms, &arn).await.key_id.as_deref(), Some(key.as_str()));
    let other = client_with(&server, "us-east-1", "111122223333");
    assert_eq!(
        code(other.get_key_last_usage().key_id(&arn).send().await),
        "NotFoundException"
    );

    let (code_, message) = error(
        kms.get_key_last_usage()
            .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
            .send()
            .await,
    );
    assert_eq!(code_, "NotFoundException");
    assert!(message.contains("1234abcd-12ab-34cd-56ef-1234567890ab"), "{message}");
    // Another region does not see the key.
    let west = client_in(&server, "us-west-2");
    assert_eq!(
        code(west.get_key_last_usage().key_id(&key).send().await),
        "NotFoundException"
    );
    server.stop().await;
}

#[tokio::test]
async fn cross_account_use_is_recorded_for_the_owner() {
    let (server, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    let arn = format!("arn:aws:kms:us-east-1:000000000000:key/{key}");
    let other = client_with(&server, "us-east-1", "111122223333");
    let out = other
        .encrypt()
        .key_id(&arn)
        .plaintext(Blob::new(b"from another account".to_vec()))
        .send()
        .await
        .expect("cross-account Encrypt by key ARN");
    assert_eq!(
        last(&kms, &key).await,
        Some((Op::Encrypt, out.request_id().unwrap().to_string()))
    );
    // The caller's account has no such key to ask about.
    assert_eq!(
        code(other.get_key_last_usage().key_id(&key).send().await),
        "NotFoundException"
    );
    server.stop().await;
}

#[tokio::test]
async fn tracking_lives_in_memory_and_restarts_with_the_process() {
    let (first, kms) = setup().await;
    let key = common::symmetric_key(&kms).await;
    kms.encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"before the restart".to_vec()))
        .send()
        .await
        .unwrap();
    assert!(last(&kms, &key).await.is_some());
    let document: serde_json::Value = reqwest::get(format!("{}/_parlel/export", first.kms_endpoint()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !document.to_string().contains("LastUsage"),
        "usage is not part of the state"
    );

    // A later process with the same state: the key predates tracking, and no usage is known.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let second = common::server().await;
    let res = reqwest::Client::new()
        .post(format!("{}/_parlel/import", second.kms_endpoint()))
        .json(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let kms2 = client_in(&second, "us-east-1");
    let out = last_usage(&kms2, &key).await;
    let created = secs(out.key_creation_date.as_ref().unwrap());
    let tracking = secs(out.tracking_start_date.as_ref().unwrap());
    assert!(
        tracking > created,
        "tracking {tracking} starts after the creation {created}"
    );
    assert_eq!(last(&kms2, &key).await, None);

    // Reset forgets usage too.
    kms.decrypt()
        .ciphertext_blob(
            kms.encrypt()
                .key_id(&key)
                .plaintext(Blob::new(b"x".to_vec()))
                .send()
                .await
                .unwrap()
                .ciphertext_blob
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(last(&kms, &key).await.unwrap().0, Op::Decrypt);
    let res = reqwest::Client::new()
        .post(format!("{}/_parlel/reset", first.kms_endpoint()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = reqwest::Client::new()
        .post(format!("{}/_parlel/import", first.kms_endpoint()))
        .json(&document)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(last(&kms, &key).await, None);
    first.stop().await;
    second.stop().await;
}
