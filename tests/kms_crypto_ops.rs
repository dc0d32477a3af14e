//! The crypto-backed KMS operations beyond symmetric Encrypt and Sign, through the official SDK: GenerateMac /
//! VerifyMac, asymmetric (RSA OAEP) Encrypt / Decrypt / ReEncrypt, DeriveSharedSecret, GenerateDataKeyPair(+
//! WithoutPlaintext), and the key policy operations. Results are checked with independent implementations
//! (the rsa, p256, p384, p521 and k256 crates) wherever trent's output can be checked without its secrets.

mod common;

use std::time::Instant;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeyEncryptionMechanism, KeySpec, KeyUsageType,
    MacAlgorithmSpec, OriginType, RecipientInfo,
};
use aws_sdk_kms::Client;
use common::{code, error, setup, symmetric_key};

async fn create(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
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

async fn public_key(kms: &Client, id: &str) -> Vec<u8> {
    kms.get_public_key()
        .key_id(id)
        .send()
        .await
        .expect("GetPublicKey")
        .public_key
        .expect("PublicKey")
        .into_inner()
}

// ---------------------------------------------------------------------------------------------------- MACs

#[tokio::test]
async fn macs_are_generated_and_verified_for_every_hmac_spec() {
    let (_server, kms) = setup().await;
    let specs = [
        (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224, 28),
        (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256, 32),
        (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384, 48),
        (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512, 64),
    ];
    for (spec, alg, len) in specs {
        let id = create(&kms, spec.clone(), KeyUsageType::GenerateVerifyMac).await;
        let message = Blob::new(b"message to authenticate".to_vec());
        let out = kms
            .generate_mac()
            .key_id(&id)
            .message(message.clone())
            .mac_algorithm(alg.clone())
            .send()
            .await
            .expect("GenerateMac");
        assert_eq!(out.mac_algorithm, Some(alg.clone()));
        assert!(out.key_id.unwrap().ends_with(&id));
        let mac = out.mac.unwrap().into_inner();
        assert_eq!(mac.len(), len, "{spec:?}");
        // HMAC is deterministic: the same message gives the same tag.
        let again = kms
            .generate_mac()
            .key_id(&id)
            .message(message.clone())
            .mac_algorithm(alg.clone())
            .send()
            .await
            .unwrap()
            .mac
            .unwrap()
            .into_inner();
        assert_eq!(again, mac);
        let verified = kms
            .verify_mac()
            .key_id(&id)
            .message(message.clone())
            .mac(Blob::new(mac.clone()))
            .mac_algorithm(alg.clone())
            .send()
            .await
            .expect("VerifyMac");
        assert!(verified.mac_valid);
        assert_eq!(verified.mac_algorithm, Some(alg.clone()));

        // A tampered tag, a truncated one, another message: KMSInvalidMacException.
        let mut tampered = mac.clone();
        tampered[0] ^= 1;
        for (msg, tag) in [
            (message.clone(), tampered),
            (message.clone(), mac[..len - 1].to_vec()),
            (Blob::new(b"another message".to_vec()), mac.clone()),
        ] {
            assert_eq!(
                code(
                    kms.verify_mac()
                        .key_id(&id)
                        .message(msg)
                        .mac(Blob::new(tag))
                        .mac_algorithm(alg.clone())
                        .send()
                        .await
                ),
                "KMSInvalidMacException"
            );
        }
    }
}

#[tokio::test]
async fn mac_errors_follow_aws() {
    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let m = || Blob::new(b"m".to_vec());
    let (c, msg) = error(
        kms.generate_mac()
            .key_id(&id)
            .message(m())
            .mac_algorithm(MacAlgorithmSpec::HmacSha512)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(msg, "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256.");
    assert_eq!(
        code(
            kms.verify_mac()
                .key_id(&id)
                .message(m())
                .mac(Blob::new(vec![0; 32]))
                .mac_algorithm(MacAlgorithmSpec::HmacSha384)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
    // Not an HMAC key.
    let sym = symmetric_key(&kms).await;
    let (c, msg) = error(
        kms.generate_mac()
            .key_id(&sym)
            .message(m())
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert!(
        msg.ends_with("key usage is ENCRYPT_DECRYPT which is not valid for GenerateMac."),
        "{msg}"
    );
    // Dry run, through an alias.
    kms.create_alias()
        .alias_name("alias/mac")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            kms.generate_mac()
                .key_id("alias/mac")
                .message(m())
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .dry_run(true)
                .send()
                .await
        ),
        "DryRunOperationException"
    );
    // Key states.
    kms.disable_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        code(
            kms.generate_mac()
                .key_id(&id)
                .message(m())
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .send()
                .await
        ),
        "DisabledException"
    );
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            kms.verify_mac()
                .key_id(&id)
                .message(m())
                .mac(Blob::new(vec![0; 32]))
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(
            kms.generate_mac()
                .key_id("11111111-2222-3333-4444-555555555555")
                .message(m())
                .mac_algorithm(MacAlgorithmSpec::HmacSha256)
                .send()
                .await
        ),
        "NotFoundException"
    );
}

// ------------------------------------------------------------------------------------------ RSA encryption

#[tokio::test]
async fn rsa_ciphertexts_made_with_get_public_key_decrypt_through_kms() {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::{Oaep, RsaPublicKey};

    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let public = RsaPublicKey::from_public_key_der(&public_key(&kms, &id).await).expect("SPKI DER");
    let mut rng = rand::rngs::OsRng;
    for (alg, padding) in [
        (EncryptionAlgorithmSpec::RsaesOaepSha1, Oaep::new::<sha1::Sha1>()),
        (EncryptionAlgorithmSpec::RsaesOaepSha256, Oaep::new::<sha2::Sha256>()),
    ] {
        let ciphertext = public.encrypt(&mut rng, padding, b"made by the rsa crate").unwrap();
        let started = Instant::now();
        let out = kms
            .decrypt()
            .key_id(&id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .expect("Decrypt");
        eprintln!("RSA_2048 {alg:?} Decrypt took {:?}", started.elapsed());
        assert_eq!(out.plaintext.unwrap().into_inner(), b"made by the rsa crate");
        assert_eq!(out.encryption_algorithm, Some(alg));
        assert!(out.key_id.unwrap().ends_with(&id));
    }
}

#[tokio::test]
async fn rsa_encrypt_and_decrypt_round_trip_with_aws_limits_and_errors() {
    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    for (alg, limit) in [
        (EncryptionAlgorithmSpec::RsaesOaepSha1, 214),
        (EncryptionAlgorithmSpec::RsaesOaepSha256, 190),
    ] {
        let plaintext: Vec<u8> = (0..limit).map(|i| i as u8).collect();
        let out = kms
            .encrypt()
            .key_id(&id)
            .plaintext(Blob::new(plaintext.clone()))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .expect("Encrypt at the limit");
        assert_eq!(out.encryption_algorithm, Some(alg.clone()));
        assert!(out.key_id.unwrap().ends_with(&id));
        let ciphertext = out.ciphertext_blob.unwrap().into_inner();
        assert_eq!(ciphertext.len(), 256, "one RSA_2048 block");
        let decrypted = kms
            .decrypt()
            .key_id(&id)
            .ciphertext_blob(Blob::new(ciphertext.clone()))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(decrypted.plaintext.unwrap().into_inner(), plaintext);
        // One byte over the limit.
        let (c, m) = error(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new(vec![7; limit + 1]))
                .encryption_algorithm(alg.clone())
                .send()
                .await,
        );
        assert_eq!(c, "ValidationException");
        assert!(m.contains(&format!("maximum of {limit} bytes")), "{m}");
        // Decrypt without KeyId, or without EncryptionAlgorithm: AWS cannot read the blob.
        assert_eq!(
            code(
                kms.decrypt()
                    .ciphertext_blob(Blob::new(ciphertext.clone()))
                    .encryption_algorithm(alg.clone())
                    .send()
                    .await
            ),
            "InvalidCiphertextException"
        );
        assert_eq!(
            code(
                kms.decrypt()
                    .key_id(&id)
                    .ciphertext_blob(Blob::new(ciphertext.clone()))
                    .send()
                    .await
            ),
            "InvalidCiphertextException"
        );
        let other = if alg == EncryptionAlgorithmSpec::RsaesOaepSha1 {
            EncryptionAlgorithmSpec::RsaesOaepSha256
        } else {
            EncryptionAlgorithmSpec::RsaesOaepSha1
        };
        assert_eq!(
            code(
                kms.decrypt()
                    .key_id(&id)
                    .ciphertext_blob(Blob::new(ciphertext.clone()))
                    .encryption_algorithm(other)
                    .send()
                    .await
            ),
            "InvalidCiphertextException"
        );
    }
    // Encrypt requires an RSAES algorithm with an RSA key...
    let (c, m) = error(kms.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await);
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(m, "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048.");
    // ...and a symmetric key refuses RSAES algorithms.
    let sym = symmetric_key(&kms).await;
    let (c, m) = error(
        kms.encrypt()
            .key_id(&sym)
            .plaintext(Blob::new("x"))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(
        m,
        "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT."
    );
    // Asymmetric keys take no encryption context.
    assert_eq!(
        code(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .encryption_context("a", "b")
                .send()
                .await
        ),
        "ValidationException"
    );
    // A signing RSA key cannot encrypt or decrypt.
    let signing = create(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let (c, m) = error(
        kms.encrypt()
            .key_id(&signing)
            .plaintext(Blob::new("x"))
            .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert!(
        m.ends_with("key usage is SIGN_VERIFY which is not valid for Encrypt."),
        "{m}"
    );
    assert_eq!(
        code(
            kms.decrypt()
                .key_id(&signing)
                .ciphertext_blob(Blob::new(vec![0; 256]))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
    // An ECC key encrypts nothing.
    let ecc = create(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    assert_eq!(
        code(
            kms.encrypt()
                .key_id(&ecc)
                .plaintext(Blob::new("x"))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
    // DryRun, disabled, pending deletion.
    assert_eq!(
        code(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .dry_run(true)
                .send()
                .await
        ),
        "DryRunOperationException"
    );
    kms.disable_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        code(
            kms.encrypt()
                .key_id(&id)
                .plaintext(Blob::new("x"))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .send()
                .await
        ),
        "DisabledException"
    );
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            kms.decrypt()
                .key_id(&id)
                .ciphertext_blob(Blob::new(vec![0; 256]))
                .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
}

/// On a multi-threaded runtime (as the binary runs) the RSA private-key operation goes through
/// `block_in_place`; this test covers that path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_4096_limits_and_timing() {
    let (_server, kms) = setup().await;
    let started = Instant::now();
    let id = create(&kms, KeySpec::Rsa4096, KeyUsageType::EncryptDecrypt).await;
    eprintln!("RSA_4096 CreateKey took {:?}", started.elapsed());
    for (alg, limit) in [
        (EncryptionAlgorithmSpec::RsaesOaepSha1, 470),
        (EncryptionAlgorithmSpec::RsaesOaepSha256, 446),
    ] {
        let ciphertext = kms
            .encrypt()
            .key_id(&id)
            .plaintext(Blob::new(vec![1; limit]))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap()
            .ciphertext_blob
            .unwrap()
            .into_inner();
        assert_eq!(ciphertext.len(), 512);
        let started = Instant::now();
        let plaintext = kms
            .decrypt()
            .key_id(&id)
            .ciphertext_blob(Blob::new(ciphertext))
            .encryption_algorithm(alg.clone())
            .send()
            .await
            .unwrap()
            .plaintext
            .unwrap()
            .into_inner();
        eprintln!("RSA_4096 {alg:?} Decrypt took {:?}", started.elapsed());
        assert_eq!(plaintext, vec![1; limit]);
        assert_eq!(
            code(
                kms.encrypt()
                    .key_id(&id)
                    .plaintext(Blob::new(vec![1; limit + 1]))
                    .encryption_algorithm(alg)
                    .send()
                    .await
            ),
            "ValidationException"
        );
    }
}

#[tokio::test]
async fn re_encrypt_moves_between_symmetric_and_rsa_keys() {
    let (_server, kms) = setup().await;
    let sym = symmetric_key(&kms).await;
    let rsa_a = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let rsa_b = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let sym_blob = kms
        .encrypt()
        .key_id(&sym)
        .plaintext(Blob::new("payload"))
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();

    // symmetric → RSA
    let out = kms
        .re_encrypt()
        .ciphertext_blob(sym_blob)
        .source_encryption_context("purpose", "test")
        .destination_key_id(&rsa_a)
        .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .expect("ReEncrypt symmetric → RSA");
    assert_eq!(
        out.source_encryption_algorithm,
        Some(EncryptionAlgorithmSpec::SymmetricDefault)
    );
    assert_eq!(
        out.destination_encryption_algorithm,
        Some(EncryptionAlgorithmSpec::RsaesOaepSha256)
    );
    assert!(out.source_key_id.unwrap().ends_with(&sym));
    assert!(out.key_id.unwrap().ends_with(&rsa_a));
    let rsa_blob = out.ciphertext_blob.unwrap();
    assert_eq!(rsa_blob.as_ref().len(), 256);

    // RSA → RSA
    let out = kms
        .re_encrypt()
        .ciphertext_blob(rsa_blob.clone())
        .source_key_id(&rsa_a)
        .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .destination_key_id(&rsa_b)
        .destination_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .expect("ReEncrypt RSA → RSA");
    assert_eq!(
        out.destination_encryption_algorithm,
        Some(EncryptionAlgorithmSpec::RsaesOaepSha1)
    );
    let plaintext = kms
        .decrypt()
        .key_id(&rsa_b)
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(plaintext.as_ref(), b"payload");

    // RSA → symmetric, then Decrypt without a KeyId
    let out = kms
        .re_encrypt()
        .ciphertext_blob(rsa_blob.clone())
        .source_key_id(&rsa_a)
        .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .destination_key_id(&sym)
        .destination_encryption_context("k", "v")
        .send()
        .await
        .expect("ReEncrypt RSA → symmetric");
    assert_eq!(
        out.source_encryption_algorithm,
        Some(EncryptionAlgorithmSpec::RsaesOaepSha256)
    );
    assert_eq!(
        out.destination_encryption_algorithm,
        Some(EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let plaintext = kms
        .decrypt()
        .ciphertext_blob(out.ciphertext_blob.unwrap())
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(plaintext.as_ref(), b"payload");

    // The RSA source needs its SourceKeyId and algorithm; the RSA destination its algorithm.
    assert_eq!(
        code(
            kms.re_encrypt()
                .ciphertext_blob(rsa_blob.clone())
                .destination_key_id(&sym)
                .send()
                .await
        ),
        "InvalidCiphertextException"
    );
    assert_eq!(
        code(
            kms.re_encrypt()
                .ciphertext_blob(rsa_blob.clone())
                .source_key_id(&rsa_a)
                .destination_key_id(&sym)
                .send()
                .await
        ),
        "InvalidCiphertextException"
    );
    assert_eq!(
        code(
            kms.re_encrypt()
                .ciphertext_blob(rsa_blob)
                .source_key_id(&rsa_a)
                .source_encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
                .destination_key_id(&rsa_b)
                .send()
                .await
        ),
        "InvalidKeyUsageException"
    );
}

// ------------------------------------------------------------------------------------------------- ECDH

#[tokio::test]
async fn derive_shared_secret_matches_local_ecdh_on_every_nist_curve() {
    use p256::pkcs8::{DecodePublicKey, EncodePublicKey};

    let (_server, kms) = setup().await;
    let mut rng = rand::rngs::OsRng;

    macro_rules! check_curve {
        ($curve:ident, $spec:expr, $len:expr) => {{
            let id = create(&kms, $spec, KeyUsageType::KeyAgreement).await;
            let ours = $curve::SecretKey::random(&mut rng);
            let our_public = ours.public_key().to_public_key_der().unwrap();
            let out = kms
                .derive_shared_secret()
                .key_id(&id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(Blob::new(our_public.as_bytes().to_vec()))
                .send()
                .await
                .expect("DeriveSharedSecret");
            assert_eq!(out.key_agreement_algorithm, Some(KeyAgreementAlgorithmSpec::Ecdh));
            assert_eq!(out.key_origin, Some(OriginType::AwsKms));
            assert!(out.key_id.unwrap().ends_with(&id));
            assert!(out.ciphertext_for_recipient.is_none());
            let secret = out.shared_secret.unwrap().into_inner();
            let theirs = $curve::PublicKey::from_public_key_der(&public_key(&kms, &id).await).unwrap();
            let expected = $curve::ecdh::diffie_hellman(ours.to_nonzero_scalar(), theirs.as_affine());
            assert_eq!(secret.len(), $len);
            assert_eq!(&secret[..], &expected.raw_secret_bytes()[..], "{:?}", $spec);
            id
        }};
    }

    let p256_id = check_curve!(p256, KeySpec::EccNistP256, 32);
    check_curve!(p384, KeySpec::EccNistP384, 48);
    check_curve!(p521, KeySpec::EccNistP521, 66);

    // A peer key on another curve, or not a key at all.
    let p384_peer = p384::SecretKey::random(&mut rng)
        .public_key()
        .to_public_key_der()
        .unwrap();
    for peer in [p384_peer.as_bytes().to_vec(), b"junk".to_vec()] {
        assert_eq!(
            code(
                kms.derive_shared_secret()
                    .key_id(&p256_id)
                    .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                    .public_key(Blob::new(peer))
                    .send()
                    .await
            ),
            "ValidationException"
        );
    }
    let peer = p256::SecretKey::random(&mut rng)
        .public_key()
        .to_public_key_der()
        .unwrap();
    let peer = || Blob::new(peer.as_bytes().to_vec());
    // A Nitro Enclaves recipient is refused by name.
    let (c, m) = error(
        kms.derive_shared_secret()
            .key_id(&p256_id)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(peer())
            .recipient(
                RecipientInfo::builder()
                    .key_encryption_algorithm(KeyEncryptionMechanism::RsaesOaepSha256)
                    .attestation_document(Blob::new(vec![0; 16]))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(c, "UnsupportedOperationException");
    assert!(m.contains("Recipient"), "{m}");
    // A signing key cannot agree.
    let signing = create(&kms, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let (c, m) = error(
        kms.derive_shared_secret()
            .key_id(&signing)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(peer())
            .send()
            .await,
    );
    assert_eq!(c, "InvalidKeyUsageException");
    assert!(
        m.ends_with("key usage is SIGN_VERIFY which is not valid for DeriveSharedSecret."),
        "{m}"
    );
    assert_eq!(
        code(
            kms.derive_shared_secret()
                .key_id(&p256_id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(peer())
                .dry_run(true)
                .send()
                .await
        ),
        "DryRunOperationException"
    );
    kms.disable_key().key_id(&p256_id).send().await.unwrap();
    assert_eq!(
        code(
            kms.derive_shared_secret()
                .key_id(&p256_id)
                .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
                .public_key(peer())
                .send()
                .await
        ),
        "DisabledException"
    );
}

// ------------------------------------------------------------------------------------------ data key pairs

/// Checks that `pkcs8` is the private half of the SPKI `public` for `spec`, with the RustCrypto crates.
fn check_pair(spec: &DataKeyPairSpec, pkcs8: &[u8], public: &[u8]) {
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
    match spec {
        DataKeyPairSpec::Rsa2048 | DataKeyPairSpec::Rsa3072 | DataKeyPairSpec::Rsa4096 => {
            let private = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).expect("RSA PKCS#8");
            let bits = match spec {
                DataKeyPairSpec::Rsa2048 => 2048,
                DataKeyPairSpec::Rsa3072 => 3072,
                _ => 4096,
            };
            assert_eq!(rsa::traits::PublicKeyParts::n(&private).bits(), bits);
            let derived = private.to_public_key().to_public_key_der().unwrap();
            assert_eq!(derived.as_bytes(), public, "{spec:?}");
        }
        DataKeyPairSpec::EccNistP256 => {
            let derived = p256::SecretKey::from_pkcs8_der(pkcs8).unwrap().public_key();
            assert_eq!(derived.to_public_key_der().unwrap().as_bytes(), public);
        }
        DataKeyPairSpec::EccNistP384 => {
            let derived = p384::SecretKey::from_pkcs8_der(pkcs8).unwrap().public_key();
            assert_eq!(derived.to_public_key_der().unwrap().as_bytes(), public);
        }
        DataKeyPairSpec::EccNistP521 => {
            let derived = p521::SecretKey::from_pkcs8_der(pkcs8).unwrap().public_key();
            assert_eq!(derived.to_public_key_der().unwrap().as_bytes(), public);
        }
        DataKeyPairSpec::EccSecgP256K1 => {
            let derived = k256::SecretKey::from_pkcs8_der(pkcs8).unwrap().public_key();
            assert_eq!(derived.to_public_key_der().unwrap().as_bytes(), public);
        }
        other => panic!("unexpected spec {other:?}"),
    }
}

#[tokio::test]
async fn data_key_pairs_of_every_spec_decrypt_to_their_private_key() {
    let (_server, kms) = setup().await;
    let sym = symmetric_key(&kms).await;
    for spec in [
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::Rsa3072,
        DataKeyPairSpec::Rsa4096,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccNistP384,
        DataKeyPairSpec::EccNistP521,
        DataKeyPairSpec::EccSecgP256K1,
    ] {
        let started = Instant::now();
        let out = kms
            .generate_data_key_pair()
            .key_id(&sym)
            .key_pair_spec(spec.clone())
            .encryption_context("owner", "tests")
            .send()
            .await
            .expect("GenerateDataKeyPair");
        eprintln!("GenerateDataKeyPair {spec:?} took {:?}", started.elapsed());
        assert_eq!(out.key_pair_spec, Some(spec.clone()));
        assert!(out.key_id.unwrap().ends_with(&sym));
        let pkcs8 = out.private_key_plaintext.unwrap().into_inner();
        let public = out.public_key.unwrap().into_inner();
        check_pair(&spec, &pkcs8, &public);
        // The ciphertext is an ordinary symmetric ciphertext: Decrypt (with the context) gives the PKCS#8.
        let blob = out.private_key_ciphertext_blob.unwrap();
        let decrypted = kms
            .decrypt()
            .ciphertext_blob(blob.clone())
            .encryption_context("owner", "tests")
            .send()
            .await
            .expect("Decrypt of PrivateKeyCiphertextBlob");
        assert_eq!(decrypted.plaintext.unwrap().into_inner(), pkcs8);
        assert_eq!(
            code(kms.decrypt().ciphertext_blob(blob).send().await),
            "InvalidCiphertextException",
            "the encryption context is bound"
        );
    }

    // Without plaintext: only the ciphertext, which still decrypts to the matching private key.
    for spec in [DataKeyPairSpec::EccNistP256, DataKeyPairSpec::Rsa2048] {
        let out = kms
            .generate_data_key_pair_without_plaintext()
            .key_id(&sym)
            .key_pair_spec(spec.clone())
            .send()
            .await
            .expect("GenerateDataKeyPairWithoutPlaintext");
        assert_eq!(out.key_pair_spec, Some(spec.clone()));
        let public = out.public_key.unwrap().into_inner();
        let pkcs8 = kms
            .decrypt()
            .ciphertext_blob(out.private_key_ciphertext_blob.unwrap())
            .send()
            .await
            .unwrap()
            .plaintext
            .unwrap()
            .into_inner();
        check_pair(&spec, &pkcs8, &public);
    }
}

#[tokio::test]
async fn data_key_pair_errors_follow_aws() {
    let (_server, kms) = setup().await;
    let sym = symmetric_key(&kms).await;
    let (c, m) = error(
        kms.generate_data_key_pair()
            .key_id(&sym)
            .key_pair_spec(DataKeyPairSpec::Sm2)
            .send()
            .await,
    );
    assert_eq!(c, "ValidationException");
    assert!(m.contains("China"), "{m}");
    // Data key pairs come from symmetric encryption keys only.
    let rsa = create(&kms, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let hmac = create(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    for id in [&rsa, &hmac] {
        assert_eq!(
            code(
                kms.generate_data_key_pair()
                    .key_id(id)
                    .key_pair_spec(DataKeyPairSpec::EccNistP256)
                    .send()
                    .await
            ),
            "InvalidKeyUsageException"
        );
    }
    assert_eq!(
        code(
            kms.generate_data_key_pair_without_plaintext()
                .key_id(&sym)
                .key_pair_spec(DataKeyPairSpec::Rsa4096)
                .dry_run(true)
                .send()
                .await
        ),
        "DryRunOperationException"
    );
    assert_eq!(
        code(
            kms.generate_data_key_pair()
                .key_id("alias/missing")
                .key_pair_spec(DataKeyPairSpec::EccNistP256)
                .send()
                .await
        ),
        "NotFoundException"
    );
    // A Nitro Enclaves recipient is refused by name.
    let (c, m) = error(
        kms.generate_data_key_pair()
            .key_id(&sym)
            .key_pair_spec(DataKeyPairSpec::EccNistP256)
            .recipient(
                RecipientInfo::builder()
                    .key_encryption_algorithm(KeyEncryptionMechanism::RsaesOaepSha256)
                    .attestation_document(Blob::new(vec![0; 16]))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(c, "UnsupportedOperationException");
    assert!(m.contains("Recipient"), "{m}");
    kms.disable_key().key_id(&sym).send().await.unwrap();
    assert_eq!(
        code(
            kms.generate_data_key_pair()
                .key_id(&sym)
                .key_pair_spec(DataKeyPairSpec::EccNistP256)
                .send()
                .await
        ),
        "DisabledException"
    );
}

// ------------------------------------------------------------------------------------------------ policies

#[tokio::test]
async fn key_policies_default_put_get_list() {
    let (_server, kms) = setup().await;
    let md = kms.create_key().send().await.unwrap().key_metadata.unwrap();
    let id = md.key_id;
    let account = md.aws_account_id.unwrap();

    let out = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(out.policy_name.as_deref(), Some("default"));
    let policy: serde_json::Value = serde_json::from_str(&out.policy.unwrap()).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Sid"], "Enable IAM User Permissions");
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(statement["Principal"]["AWS"], format!("arn:aws:iam::{account}:root"));
    assert_eq!(statement["Action"], "kms:*");
    assert_eq!(statement["Resource"], "*");
    // PolicyName may be omitted.
    assert!(kms.get_key_policy().key_id(&id).send().await.unwrap().policy.is_some());

    let listed = kms.list_key_policies().key_id(&id).send().await.unwrap();
    assert_eq!(listed.policy_names.unwrap(), vec!["default".to_string()]);
    assert!(!listed.truncated);
    assert!(listed.next_marker.is_none());
    let listed = kms.list_key_policies().key_id(&id).limit(1).send().await.unwrap();
    assert_eq!(listed.policy_names.unwrap().len(), 1);
    assert!(!listed.truncated);

    let document = r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    kms.put_key_policy()
        .key_id(&id)
        .policy_name("default")
        .policy(document)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .expect("PutKeyPolicy");
    let got = kms
        .get_key_policy()
        .key_id(&id)
        .policy_name("default")
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy.as_deref(), Some(document), "returned verbatim");

    // CreateKey's Policy is stored as given.
    let created = kms
        .create_key()
        .policy(document)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let got = kms.get_key_policy().key_id(&created).send().await.unwrap();
    assert_eq!(got.policy.as_deref(), Some(document));
}

#[tokio::test]
async fn key_policy_errors_follow_aws() {
    let (_server, kms) = setup().await;
    let id = symmetric_key(&kms).await;
    let (c, m) = error(kms.get_key_policy().key_id(&id).policy_name("other").send().await);
    assert_eq!(c, "NotFoundException");
    assert!(m.contains("other"), "{m}");
    assert_eq!(
        code(
            kms.put_key_policy()
                .key_id(&id)
                .policy_name("other")
                .policy("{}")
                .send()
                .await
        ),
        "NotFoundException"
    );
    for bad in ["not json", "[1,2]", "{\"Statement\": "] {
        assert_eq!(
            code(
                kms.put_key_policy()
                    .key_id(&id)
                    .policy_name("default")
                    .policy(bad)
                    .send()
                    .await
            ),
            "MalformedPolicyDocumentException",
            "{bad}"
        );
        assert_eq!(
            code(kms.create_key().policy(bad).send().await),
            "MalformedPolicyDocumentException",
            "{bad}"
        );
    }
    // Key policies are managed by key id or ARN only, never through an alias.
    kms.create_alias()
        .alias_name("alias/pol")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(kms.get_key_policy().key_id("alias/pol").send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(
            kms.list_key_policies()
                .key_id("11111111-2222-3333-4444-555555555555")
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(kms.list_key_policies().key_id(&id).marker("garbage").send().await),
        "InvalidMarkerException"
    );
    // Pending deletion: readable, not writable.
    kms.schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert!(kms.get_key_policy().key_id(&id).send().await.is_ok());
    assert_eq!(
        code(kms.put_key_policy().key_id(&id).policy("{}").send().await),
        "KMSInvalidStateException"
    );
}
