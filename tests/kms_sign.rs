//! Asymmetric KMS keys through the official SDK: CreateKey compatibility rules, GetPublicKey, and Sign/Verify
//! checked independently with the RustCrypto crates against the exported public key.

mod common;

use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use common::{code, error, setup, symmetric_key};
use sha2::{Digest, Sha256};

async fn create(kms: &aws_sdk_kms::Client, spec: KeySpec, usage: KeyUsageType) -> String {
    kms.create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("metadata")
        .key_id
}

fn names<T: AsRef<str>>(v: Option<Vec<T>>) -> Vec<String> {
    v.unwrap_or_default().iter().map(|a| a.as_ref().to_string()).collect()
}

#[tokio::test]
async fn ecdsa_p256_signatures_verify_independently() {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;

    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_spec, Some(KeySpec::EccNistP256));
    assert_eq!(md.key_usage, Some(KeyUsageType::SignVerify));
    assert_eq!(names(md.signing_algorithms), vec!["ECDSA_SHA_256"]);
    assert!(md.encryption_algorithms.is_none());

    let public = kms.get_public_key().key_id(&id).send().await.unwrap();
    assert_eq!(public.key_spec, Some(KeySpec::EccNistP256));
    assert_eq!(public.key_usage, Some(KeyUsageType::SignVerify));
    assert!(public.key_id.unwrap().ends_with(&id));
    assert!(public.encryption_algorithms.is_none());
    let der = public.public_key.unwrap().into_inner();
    let verifying = p256::ecdsa::VerifyingKey::from_public_key_der(&der).expect("SPKI DER");

    let message = b"the quick brown fox";
    let signed = kms
        .sign()
        .key_id(&id)
        .message(Blob::new(message.to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.signing_algorithm, Some(SigningAlgorithmSpec::EcdsaSha256));
    let sig_bytes = signed.signature.unwrap().into_inner();
    let sig = p256::ecdsa::Signature::from_der(&sig_bytes).expect("DER ECDSA signature");
    verifying
        .verify(message, &sig)
        .expect("RAW signature verifies with p256");

    let digest = Sha256::digest(message);
    let signed = kms
        .sign()
        .key_id(&id)
        .message(Blob::new(digest.to_vec()))
        .message_type(MessageType::Digest)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let digest_sig = signed.signature.unwrap().into_inner();
    let sig = p256::ecdsa::Signature::from_der(&digest_sig).unwrap();
    verifying
        .verify_prehash(&digest, &sig)
        .expect("DIGEST signature verifies with p256");

    // KMS's own Verify agrees, and rejects a modified message.
    let ok = kms
        .verify()
        .key_id(&id)
        .message(Blob::new(message.to_vec()))
        .signature(Blob::new(sig_bytes.clone()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(ok.signature_valid);
    assert_eq!(
        code(
            kms.verify()
                .key_id(&id)
                .message(Blob::new(b"the quick brown cat".to_vec()))
                .signature(Blob::new(sig_bytes))
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .send()
                .await
        ),
        "KMSInvalidSignatureException"
    );
    // A digest of the wrong length, an algorithm of another key type, a symmetric operation.
    assert_eq!(
        code(
            kms.sign()
                .key_id(&id)
                .message(Blob::new(vec![0u8; 20]))
                .message_type(MessageType::Digest)
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.sign()
                .key_id(&id)
                .message(Blob::new(message.to_vec()))
                .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
    let (c, m) = error(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await);
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(
        m,
        format!("arn:aws:kms:us-east-1:000000000000:key/{id} key usage is SIGN_VERIFY which is not valid for Encrypt.")
    );
}

#[tokio::test]
async fn rsa_signatures_verify_independently() {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;

    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let public = kms.get_public_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        names(public.signing_algorithms),
        vec![
            "RSASSA_PKCS1_V1_5_SHA_256",
            "RSASSA_PKCS1_V1_5_SHA_384",
            "RSASSA_PKCS1_V1_5_SHA_512",
            "RSASSA_PSS_SHA_256",
            "RSASSA_PSS_SHA_384",
            "RSASSA_PSS_SHA_512"
        ]
    );
    let key = rsa::RsaPublicKey::from_public_key_der(&public.public_key.unwrap().into_inner()).expect("SPKI DER");
    let message = b"sign me, RSA";

    let pkcs1 = kms
        .sign()
        .key_id(&id)
        .message(Blob::new(message.to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPkcs1V15Sha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap()
        .into_inner();
    assert_eq!(pkcs1.len(), 256);
    let verifying = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key.clone());
    let sig = rsa::pkcs1v15::Signature::try_from(pkcs1.as_slice()).unwrap();
    verifying
        .verify(message, &sig)
        .expect("PKCS#1 v1.5 signature verifies with rsa");

    let pss = kms
        .sign()
        .key_id(&id)
        .message(Blob::new(message.to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap()
        .into_inner();
    let verifying = rsa::pss::VerifyingKey::<Sha256>::new(key);
    let sig = rsa::pss::Signature::try_from(pss.as_slice()).unwrap();
    verifying
        .verify(message, &sig)
        .expect("PSS signature verifies with rsa");

    let ok = kms
        .verify()
        .key_id(&id)
        .message(Blob::new(message.to_vec()))
        .signature(Blob::new(pss))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap();
    assert!(ok.signature_valid);
}

#[tokio::test]
async fn secp256k1_signatures_verify_independently() {
    use k256::ecdsa::signature::Verifier;
    use k256::pkcs8::DecodePublicKey;

    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::EccSecgP256K1, KeyUsageType::SignVerify).await;
    let der = kms
        .get_public_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap()
        .into_inner();
    let verifying = k256::ecdsa::VerifyingKey::from_public_key_der(&der).unwrap();
    let sig = kms
        .sign()
        .key_id(&id)
        .message(Blob::new(b"k1".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap()
        .into_inner();
    let sig = k256::ecdsa::Signature::from_der(&sig).unwrap();
    verifying.verify(b"k1", &sig).unwrap();
}

#[tokio::test]
async fn create_key_checks_key_usage_against_key_spec() {
    let (_server, kms) = setup().await;
    // Compatible combinations, and what DescribeKey/GetPublicKey list for them.
    let rsa_enc = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let public = kms.get_public_key().key_id(&rsa_enc).send().await.unwrap();
    assert_eq!(
        names(public.encryption_algorithms),
        vec!["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
    );
    assert!(public.signing_algorithms.is_none());
    // Data keys come only from symmetric keys; RSA encryption needs an RSAES algorithm (tests/kms_crypto_ops.rs).
    assert_eq!(
        code(
            kms.generate_data_key()
                .key_id(&rsa_enc)
                .number_of_bytes(16)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
    let (c, m) = error(kms.encrypt().key_id(&rsa_enc).plaintext(Blob::new("x")).send().await);
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(m, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");

    let hmac = create(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let md = kms
        .describe_key()
        .key_id(&hmac)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(names(md.mac_algorithms), vec!["HMAC_SHA_256"]);
    assert!(md.encryption_algorithms.is_none());
    assert_eq!(
        code(kms.get_public_key().key_id(&hmac).send().await),
        "UnsupportedOperationException"
    );

    let ecdh = create(&kms, KeySpec::EccNistP384, KeyUsageType::KeyAgreement).await;
    let md = kms
        .describe_key()
        .key_id(&ecdh)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(names(md.key_agreement_algorithms), vec!["ECDH"]);
    assert!(kms
        .get_public_key()
        .key_id(&ecdh)
        .send()
        .await
        .unwrap()
        .public_key
        .is_some());

    // Incompatible ones.
    let (c, m) = error(kms.create_key().key_spec(KeySpec::EccNistP256).send().await);
    assert_eq!(c, "ValidationException");
    assert_eq!(
        m,
        "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256"
    );
    for (spec, usage) in [
        (KeySpec::SymmetricDefault, KeyUsageType::SignVerify),
        (KeySpec::EccSecgP256K1, KeyUsageType::KeyAgreement),
        (KeySpec::Hmac512, KeyUsageType::EncryptDecrypt),
        (KeySpec::Rsa3072, KeyUsageType::GenerateVerifyMac),
    ] {
        assert_eq!(
            code(
                kms.create_key()
                    .key_spec(spec.clone())
                    .key_usage(usage.clone())
                    .send()
                    .await
            ),
            "ValidationException",
            "{spec:?} {usage:?}"
        );
    }
    assert_eq!(
        code(
            kms.create_key()
                .key_spec(KeySpec::Sm2)
                .key_usage(KeyUsageType::SignVerify)
                .send()
                .await
        ),
        "ValidationException"
    );
    // ML-DSA keys exist now (tests/kms_pq.rs) and are SIGN_VERIFY only.
    assert_eq!(
        code(
            kms.create_key()
                .key_spec(KeySpec::MlDsa44)
                .key_usage(KeyUsageType::EncryptDecrypt)
                .send()
                .await
        ),
        "ValidationException"
    );

    // Symmetric keys cannot sign or export a public key.
    let sym = symmetric_key(&kms).await;
    assert_eq!(
        code(kms.get_public_key().key_id(&sym).send().await),
        "UnsupportedOperationException"
    );
    let (c, m) = error(
        kms.sign()
            .key_id(&sym)
            .message(Blob::new(b"m".to_vec()))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert!(
        m.ends_with("key usage is ENCRYPT_DECRYPT which is not valid for Sign."),
        "{m}"
    );
    // Rotation is for symmetric keys only.
    assert_eq!(
        code(kms.enable_key_rotation().key_id(&rsa_enc).send().await),
        "UnsupportedOperationException"
    );
}

#[tokio::test]
async fn slow_key_generation_does_not_stall_other_requests() {
    let (server, kms) = setup().await;
    let sym = symmetric_key(&kms).await;
    let generator = common::client_in(&server, "us-east-1");
    let started = Instant::now();
    let rsa = tokio::spawn(async move { create(&generator, KeySpec::Rsa2048, KeyUsageType::SignVerify).await });
    let mut slowest = Duration::ZERO;
    let mut calls = 0;
    while !rsa.is_finished() {
        let t = Instant::now();
        kms.encrypt()
            .key_id(&sym)
            .plaintext(Blob::new("ping"))
            .send()
            .await
            .unwrap();
        slowest = slowest.max(t.elapsed());
        calls += 1;
    }
    let id = rsa.await.unwrap();
    let generation = started.elapsed();
    eprintln!("RSA_2048 CreateKey took {generation:?}; {calls} Encrypt calls meanwhile, slowest {slowest:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "an Encrypt took {slowest:?} during RSA generation"
    );
    assert!(kms.get_public_key().key_id(&id).send().await.is_ok());
}
