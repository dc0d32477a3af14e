//! The newest KMS key specs through the official SDK: ML-DSA (ML_DSA_44/65/87), Ed25519 (ECC_NIST_EDWARDS25519)
//! and ML-KEM (ML_KEM_512/768/1024) with Encapsulate/Decapsulate. Every signature is verified, and every
//! encapsulation made, by an independent implementation holding only the key from GetPublicKey: `fips204` /
//! `fips203` (integritychain) for the lattice schemes, the `openssl` CLI for Ed25519.

mod common;

use std::process::Command;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    EncapsulationAlgorithmSpec, GrantOperation, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec,
};
use aws_sdk_kms::Client;
use common::{code, error, setup};
use sha2::{Digest, Sha512};

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

fn names<T: AsRef<str>>(v: Option<Vec<T>>) -> Vec<String> {
    v.unwrap_or_default().iter().map(|a| a.as_ref().to_string()).collect()
}

/// (algorithm OID, raw subjectPublicKey) of SPKI DER, decoded with the `spki` crate.
fn spki_parts(der: &[u8]) -> (String, Vec<u8>) {
    use spki::der::Decode;
    let info = spki::SubjectPublicKeyInfoRef::from_der(der).expect("GetPublicKey returns SPKI DER");
    assert!(info.algorithm.parameters.is_none(), "absent parameters");
    (
        info.algorithm.oid.to_string(),
        info.subject_public_key.raw_bytes().to_vec(),
    )
}

async fn public_key(kms: &Client, id: &str) -> aws_sdk_kms::operation::get_public_key::GetPublicKeyOutput {
    kms.get_public_key().key_id(id).send().await.expect("GetPublicKey")
}

async fn sign(kms: &Client, id: &str, alg: SigningAlgorithmSpec, mt: MessageType, message: &[u8]) -> Vec<u8> {
    kms.sign()
        .key_id(id)
        .signing_algorithm(alg)
        .message_type(mt)
        .message(Blob::new(message))
        .send()
        .await
        .expect("Sign")
        .signature
        .expect("signature")
        .into_inner()
}

async fn verify_code(
    kms: &Client,
    id: &str,
    alg: SigningAlgorithmSpec,
    mt: MessageType,
    message: &[u8],
    signature: &[u8],
) -> String {
    match kms
        .verify()
        .key_id(id)
        .signing_algorithm(alg)
        .message_type(mt)
        .message(Blob::new(message))
        .signature(Blob::new(signature))
        .send()
        .await
    {
        Ok(out) => {
            assert!(out.signature_valid);
            "valid".to_string()
        }
        result => code(result),
    }
}

// ---------------------------------------------------------------------------------------------------- ML-DSA

/// fips204 verifies `sig` over `msg` (pure ML-DSA, empty context) with the raw public key.
fn fips204_verifies(spec: &KeySpec, pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    use fips204::traits::{SerDes, Verifier};
    macro_rules! run {
        ($m:ident) => {{
            let Ok(sig) = sig.try_into() else { return false };
            let public = fips204::$m::PublicKey::try_from_bytes(pk.try_into().expect("public key size")).unwrap();
            public.verify(msg, &sig, &[])
        }};
    }
    match spec {
        KeySpec::MlDsa44 => run!(ml_dsa_44),
        KeySpec::MlDsa65 => run!(ml_dsa_65),
        _ => run!(ml_dsa_87),
    }
}

/// μ = SHAKE256(SHAKE256(pk, 64) || 0x00 || 0x00 || M, 64) (FIPS 204 section 6.2, empty context), with `sha3`.
fn external_mu(pk: &[u8], message: &[u8]) -> [u8; 64] {
    use sha3::digest::{ExtendableOutput, Update, XofReader};
    let shake = |parts: &[&[u8]]| {
        let mut h = sha3::Shake256::default();
        for p in parts {
            h.update(p);
        }
        let mut out = [0u8; 64];
        h.finalize_xof().read(&mut out);
        out
    };
    let tr = shake(&[pk]);
    shake(&[&tr, &[0, 0], message])
}

#[tokio::test]
async fn ml_dsa_keys_sign_raw_and_external_mu_verifiable_by_fips204() {
    let (_server, kms) = setup().await;
    for (spec, oid, pk_len, sig_len) in [
        (KeySpec::MlDsa44, "2.16.840.1.101.3.4.3.17", 1312, 2420),
        (KeySpec::MlDsa65, "2.16.840.1.101.3.4.3.18", 1952, 3309),
        (KeySpec::MlDsa87, "2.16.840.1.101.3.4.3.19", 2592, 4627),
    ] {
        let id = create(&kms, spec.clone(), KeyUsageType::SignVerify).await;
        let md = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        assert_eq!(md.key_spec, Some(spec.clone()));
        assert_eq!(md.key_usage, Some(KeyUsageType::SignVerify));
        assert_eq!(names(md.signing_algorithms), vec!["ML_DSA_SHAKE_256"]);
        assert!(md.encryption_algorithms.is_none() && md.encapsulation_algorithms.is_none());

        let public = public_key(&kms, &id).await;
        assert_eq!(public.key_spec, Some(spec.clone()));
        assert_eq!(names(public.signing_algorithms), vec!["ML_DSA_SHAKE_256"]);
        let (found_oid, pk) = spki_parts(&public.public_key.unwrap().into_inner());
        assert_eq!((found_oid.as_str(), pk.len()), (oid, pk_len), "{spec:?}");

        let message = b"post-quantum message for ML-DSA";
        let raw = sign(
            &kms,
            &id,
            SigningAlgorithmSpec::MlDsaShake256,
            MessageType::Raw,
            message,
        )
        .await;
        assert_eq!(raw.len(), sig_len, "{spec:?}");
        assert!(
            fips204_verifies(&spec, &pk, message, &raw),
            "fips204 rejects the {spec:?} RAW signature"
        );
        assert!(!fips204_verifies(&spec, &pk, b"another message", &raw));

        // EXTERNAL_MU: μ computed here; the signature is an ordinary signature of the message.
        let mu = external_mu(&pk, message);
        let by_mu = sign(
            &kms,
            &id,
            SigningAlgorithmSpec::MlDsaShake256,
            MessageType::ExternalMu,
            &mu,
        )
        .await;
        assert!(
            fips204_verifies(&spec, &pk, message, &by_mu),
            "fips204 rejects the {spec:?} EXTERNAL_MU signature"
        );

        let alg = || SigningAlgorithmSpec::MlDsaShake256;
        assert_eq!(
            verify_code(&kms, &id, alg(), MessageType::Raw, message, &by_mu).await,
            "valid"
        );
        assert_eq!(
            verify_code(&kms, &id, alg(), MessageType::ExternalMu, &mu, &raw).await,
            "valid"
        );
        let mut tampered = message.to_vec();
        tampered[0] ^= 1;
        assert_eq!(
            verify_code(&kms, &id, alg(), MessageType::Raw, &tampered, &raw).await,
            "KMSInvalidSignatureException"
        );
        let mut bad_sig = raw.clone();
        bad_sig[10] ^= 1;
        assert_eq!(
            verify_code(&kms, &id, alg(), MessageType::Raw, message, &bad_sig).await,
            "KMSInvalidSignatureException"
        );
    }
}

#[tokio::test]
async fn ml_dsa_message_rules_and_errors() {
    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::MlDsa44, KeyUsageType::SignVerify).await;
    let sign_with = |alg: SigningAlgorithmSpec, mt: MessageType, msg: Vec<u8>| {
        kms.sign()
            .key_id(&id)
            .signing_algorithm(alg)
            .message_type(mt)
            .message(Blob::new(msg))
            .send()
    };
    // RAW up to 4096 bytes; more is the model's ValidationException.
    assert!(
        sign_with(SigningAlgorithmSpec::MlDsaShake256, MessageType::Raw, vec![7; 4096])
            .await
            .is_ok()
    );
    assert_eq!(
        code(sign_with(SigningAlgorithmSpec::MlDsaShake256, MessageType::Raw, vec![7; 4097]).await),
        "ValidationException"
    );
    // DIGEST is not an ML-DSA message type; EXTERNAL_MU must be 64 bytes.
    assert_eq!(
        error(sign_with(SigningAlgorithmSpec::MlDsaShake256, MessageType::Digest, vec![1; 64]).await),
        (
            "ValidationException".to_string(),
            "Message type DIGEST is incompatible with key spec ML_DSA_44.".to_string()
        )
    );
    for len in [32, 63, 65] {
        assert_eq!(
            error(
                sign_with(
                    SigningAlgorithmSpec::MlDsaShake256,
                    MessageType::ExternalMu,
                    vec![1; len]
                )
                .await
            ),
            (
                "ValidationException".to_string(),
                "External Mu is invalid length for algorithm ML_DSA_SHAKE_256.".to_string()
            ),
            "{len}"
        );
    }
    // An algorithm of another spec: InvalidKeyUsageException with AWS's wording.
    let (c, message) = error(sign_with(SigningAlgorithmSpec::EcdsaSha256, MessageType::Raw, b"m".to_vec()).await);
    assert_eq!(c, "InvalidKeyUsageException");
    assert_eq!(
        message,
        "Algorithm ECDSA_SHA_256 is incompatible with key spec ML_DSA_44."
    );
    // ML-DSA is SIGN_VERIFY only.
    for usage in [
        KeyUsageType::EncryptDecrypt,
        KeyUsageType::KeyAgreement,
        KeyUsageType::EncapsulateDecapsulate,
    ] {
        let result = kms
            .create_key()
            .key_spec(KeySpec::MlDsa65)
            .key_usage(usage)
            .send()
            .await;
        assert_eq!(code(result), "ValidationException");
    }
    // Disabled keys do not sign.
    kms.disable_key().key_id(&id).send().await.unwrap();
    assert_eq!(
        code(sign_with(SigningAlgorithmSpec::MlDsaShake256, MessageType::Raw, b"m".to_vec()).await),
        "DisabledException"
    );
}

// ---------------------------------------------------------------------------------------------------- Ed25519

/// `openssl pkeyutl -verify -rawin` (pure Ed25519) with the SPKI from GetPublicKey.
fn openssl_ed25519_verifies(spki_der: &[u8], message: &[u8], signature: &[u8]) -> Option<bool> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("NOTICE: `openssl` not found; skipping the OpenSSL Ed25519 cross-check");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("trent-kms-pq-{}", common::unique("ed")));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pub.der"), spki_der).unwrap();
    std::fs::write(dir.join("msg"), message).unwrap();
    std::fs::write(dir.join("sig"), signature).unwrap();
    let out = Command::new("openssl")
        .args([
            "pkeyutl", "-verify", "-rawin", "-pubin", "-keyform", "DER", "-inkey", "pub.der", "-in", "msg", "-sigfile",
            "sig",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    Some(out.status.success() && text.contains("Signature Verified Successfully"))
}

#[tokio::test]
async fn ed25519_keys_sign_verifiable_by_openssl_and_follow_the_message_type_rules() {
    let (_server, kms) = setup().await;
    let id = create(&kms, KeySpec::EccNistEdwards25519, KeyUsageType::SignVerify).await;
    let md = kms
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_spec, Some(KeySpec::EccNistEdwards25519));
    assert_eq!(
        names(md.signing_algorithms),
        vec!["ED25519_SHA_512", "ED25519_PH_SHA_512"]
    );

    let public = public_key(&kms, &id).await;
    let spki = public.public_key.unwrap().into_inner();
    let (oid, raw_pk) = spki_parts(&spki);
    assert_eq!((oid.as_str(), raw_pk.len()), ("1.3.101.112", 32));

    let message = b"an Edwards-curve message";
    let pure = sign(
        &kms,
        &id,
        SigningAlgorithmSpec::Ed25519Sha512,
        MessageType::Raw,
        message,
    )
    .await;
    assert_eq!(pure.len(), 64);
    if let Some(ok) = openssl_ed25519_verifies(&spki, message, &pure) {
        assert!(ok, "openssl rejects the Ed25519 signature");
        let mut bad = pure.clone();
        bad[0] ^= 1;
        assert_eq!(openssl_ed25519_verifies(&spki, message, &bad), Some(false));
    }
    // Pure Ed25519 is deterministic.
    assert_eq!(
        sign(
            &kms,
            &id,
            SigningAlgorithmSpec::Ed25519Sha512,
            MessageType::Raw,
            message
        )
        .await,
        pure
    );

    // Ed25519ph over a caller's SHA-512 digest: KMS prehashes those 64 bytes once more.
    let digest = Sha512::digest(message).to_vec();
    let ph = sign(
        &kms,
        &id,
        SigningAlgorithmSpec::Ed25519PhSha512,
        MessageType::Digest,
        &digest,
    )
    .await;
    {
        use ed25519_dalek::pkcs8::DecodePublicKey;
        let vk = ed25519_dalek::VerifyingKey::from_public_key_der(&spki).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&ph).unwrap();
        vk.verify_prehashed(Sha512::new().chain_update(&digest), None, &sig)
            .expect("Ed25519ph over the 64 digest bytes");
        assert!(vk
            .verify_prehashed(Sha512::new().chain_update(message), None, &sig)
            .is_err());
    }
    let ph_alg = || SigningAlgorithmSpec::Ed25519PhSha512;
    assert_eq!(
        verify_code(&kms, &id, ph_alg(), MessageType::Digest, &digest, &ph).await,
        "valid"
    );
    assert_eq!(
        verify_code(
            &kms,
            &id,
            SigningAlgorithmSpec::Ed25519Sha512,
            MessageType::Raw,
            message,
            &pure
        )
        .await,
        "valid"
    );
    assert_eq!(
        verify_code(
            &kms,
            &id,
            SigningAlgorithmSpec::Ed25519Sha512,
            MessageType::Raw,
            b"other",
            &pure
        )
        .await,
        "KMSInvalidSignatureException"
    );
    let mut other_digest = digest.clone();
    other_digest[63] ^= 1;
    assert_eq!(
        verify_code(&kms, &id, ph_alg(), MessageType::Digest, &other_digest, &ph).await,
        "KMSInvalidSignatureException"
    );

    // ED25519_SHA_512 takes RAW only, ED25519_PH_SHA_512 DIGEST only (64 bytes); ECDSA is another spec's.
    let try_sign = |alg: SigningAlgorithmSpec, mt: MessageType, msg: Vec<u8>| {
        kms.sign()
            .key_id(&id)
            .signing_algorithm(alg)
            .message_type(mt)
            .message(Blob::new(msg))
            .send()
    };
    for (alg, mt, msg, expected) in [
        (
            SigningAlgorithmSpec::Ed25519Sha512,
            MessageType::Digest,
            digest.clone(),
            "Message type DIGEST is incompatible with algorithm ED25519_SHA_512.",
        ),
        (
            SigningAlgorithmSpec::Ed25519PhSha512,
            MessageType::Raw,
            message.to_vec(),
            "Message type RAW is incompatible with algorithm ED25519_PH_SHA_512.",
        ),
        (
            SigningAlgorithmSpec::Ed25519PhSha512,
            MessageType::Digest,
            digest[..32].to_vec(),
            "Digest is invalid length for algorithm ED25519_PH_SHA_512.",
        ),
        (
            SigningAlgorithmSpec::Ed25519Sha512,
            MessageType::ExternalMu,
            digest.clone(),
            "Message type EXTERNAL_MU is incompatible with algorithm ED25519_SHA_512.",
        ),
    ] {
        let result = try_sign(alg.clone(), mt.clone(), msg).await;
        assert_eq!(
            error(result),
            ("ValidationException".to_string(), expected.to_string()),
            "{alg:?} {mt:?}"
        );
    }
    assert_eq!(
        code(try_sign(SigningAlgorithmSpec::EcdsaSha256, MessageType::Raw, message.to_vec()).await),
        "InvalidKeyUsageException"
    );
    let result = kms
        .create_key()
        .key_spec(KeySpec::EccNistEdwards25519)
        .key_usage(KeyUsageType::KeyAgreement)
        .send()
        .await;
    assert_eq!(code(result), "ValidationException");
}

/// Runs `openssl` with `args` in `dir`; (success, stdout).
fn openssl_in(dir: &std::path::Path, args: &[&str]) -> (bool, Vec<u8>) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    (out.status.success(), out.stdout)
}

#[tokio::test]
async fn ed25519_data_key_pairs_sign_with_openssl_and_verify_with_their_public_key() {
    use aws_sdk_kms::types::DataKeyPairSpec;

    let (_server, kms) = setup().await;
    let sym = create(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let out = kms
        .generate_data_key_pair()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistEdwards25519)
        .encryption_context("purpose", "ed25519")
        .send()
        .await
        .expect("GenerateDataKeyPair ECC_NIST_EDWARDS25519");
    assert_eq!(out.key_pair_spec, Some(DataKeyPairSpec::EccNistEdwards25519));
    let public = out.public_key.unwrap().into_inner();
    let plaintext = out.private_key_plaintext.unwrap().into_inner();
    // SPKI with id-Ed25519 (RFC 8410) and a 32-byte key; the private key is PKCS#8 with the same OID.
    let (oid, raw) = spki_parts(&public);
    assert_eq!((oid.as_str(), raw.len()), ("1.3.101.112", 32));
    let info = {
        use spki::der::Decode;
        pkcs8::PrivateKeyInfo::from_der(&plaintext).expect("PKCS#8 DER")
    };
    assert_eq!(info.algorithm.oid.to_string(), "1.3.101.112");
    // The ciphertext decrypts (with the context) to the same PKCS#8.
    let private = kms
        .decrypt()
        .ciphertext_blob(out.private_key_ciphertext_blob.unwrap())
        .encryption_context("purpose", "ed25519")
        .send()
        .await
        .expect("Decrypt of PrivateKeyCiphertextBlob")
        .plaintext
        .unwrap()
        .into_inner();
    assert_eq!(private, plaintext);

    // Without plaintext: the ciphertext decrypts to the private key of the returned public key.
    let without = kms
        .generate_data_key_pair_without_plaintext()
        .key_id(&sym)
        .key_pair_spec(DataKeyPairSpec::EccNistEdwards25519)
        .send()
        .await
        .expect("GenerateDataKeyPairWithoutPlaintext ECC_NIST_EDWARDS25519");
    assert_eq!(without.key_pair_spec, Some(DataKeyPairSpec::EccNistEdwards25519));
    let other_public = without.public_key.unwrap().into_inner();
    assert_ne!(other_public, public, "every pair is fresh");
    let other_private = kms
        .decrypt()
        .ciphertext_blob(without.private_key_ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap()
        .into_inner();

    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("NOTICE: `openssl` not found; skipping the OpenSSL Ed25519 data key pair check");
        return;
    }
    let dir = std::env::temp_dir().join(format!("trent-kms-pq-{}", common::unique("edpair")));
    std::fs::create_dir_all(&dir).unwrap();
    let message = b"signed outside KMS with a data key pair";
    std::fs::write(dir.join("msg"), message).unwrap();
    let mut signatures = Vec::new();
    for (n, (private, public)) in [(&private, &public), (&other_private, &other_public)]
        .into_iter()
        .enumerate()
    {
        let key = format!("key{n}.der");
        std::fs::write(dir.join(&key), private).unwrap();
        // OpenSSL reads the private key and derives exactly the public key trent returned.
        let (ok, derived) = openssl_in(
            &dir,
            &["pkey", "-inform", "DER", "-in", &key, "-pubout", "-outform", "DER"],
        );
        assert!(ok, "openssl reads the PKCS#8 Ed25519 private key");
        assert_eq!(&derived, public, "pair {n}");
        // OpenSSL signs with it; the signature verifies against the returned public key, and only for the message.
        let (ok, signature) = openssl_in(
            &dir,
            &[
                "pkeyutl", "-sign", "-rawin", "-keyform", "DER", "-inkey", &key, "-in", "msg",
            ],
        );
        assert!(ok, "openssl signs with the data key pair's private key");
        assert_eq!(signature.len(), 64);
        assert_eq!(
            openssl_ed25519_verifies(public, message, &signature),
            Some(true),
            "pair {n}"
        );
        assert_eq!(
            openssl_ed25519_verifies(public, b"another message", &signature),
            Some(false)
        );
        signatures.push(signature);
    }
    assert_eq!(
        openssl_ed25519_verifies(&other_public, message, &signatures[0]),
        Some(false),
        "a signature of one pair does not verify with the other's public key"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // ML-KEM pairs: the model lists them, but AWS does not document the private key format; trent refuses them.
    for spec in [
        DataKeyPairSpec::MlKem512,
        DataKeyPairSpec::MlKem768,
        DataKeyPairSpec::MlKem1024,
    ] {
        let (c, m) = error(
            kms.generate_data_key_pair()
                .key_id(&sym)
                .key_pair_spec(spec.clone())
                .send()
                .await,
        );
        assert_eq!(c, "UnsupportedOperationException", "{spec:?}");
        assert!(m.contains(spec.as_str()), "{m}");
    }
}

// ---------------------------------------------------------------------------------------------------- ML-KEM

/// fips203 encapsulates to the raw encapsulation key: (shared secret, ciphertext).
fn fips203_encapsulate(spec: &KeySpec, ek: &[u8]) -> (Vec<u8>, Vec<u8>) {
    use fips203::traits::{Encaps, SerDes};
    macro_rules! run {
        ($m:ident) => {{
            let ek = fips203::$m::EncapsKey::try_from_bytes(ek.try_into().expect("key size")).unwrap();
            let (ssk, ct) = ek.try_encaps().unwrap();
            (ssk.into_bytes().to_vec(), ct.into_bytes().to_vec())
        }};
    }
    match spec {
        KeySpec::MlKem512 => run!(ml_kem_512),
        KeySpec::MlKem768 => run!(ml_kem_768),
        _ => run!(ml_kem_1024),
    }
}

async fn decapsulate(kms: &Client, id: &str, ciphertext: &[u8]) -> Result<Vec<u8>, String> {
    match kms
        .decapsulate()
        .key_id(id)
        .encapsulation_algorithm(EncapsulationAlgorithmSpec::MlKem)
        .shared_secret_ciphertext_blob(Blob::new(ciphertext))
        .send()
        .await
    {
        Ok(out) => {
            assert_eq!(out.encapsulation_algorithm, Some(EncapsulationAlgorithmSpec::MlKem));
            Ok(out.shared_secret.expect("SharedSecret").into_inner())
        }
        result => Err(code(result)),
    }
}

#[tokio::test]
async fn ml_kem_keys_decapsulate_what_fips203_encapsulates_and_round_trip() {
    let (_server, kms) = setup().await;
    for (spec, oid, ek_len, ct_len) in [
        (KeySpec::MlKem512, "2.16.840.1.101.3.4.4.1", 800, 768),
        (KeySpec::MlKem768, "2.16.840.1.101.3.4.4.2", 1184, 1088),
        (KeySpec::MlKem1024, "2.16.840.1.101.3.4.4.3", 1568, 1568),
    ] {
        let id = create(&kms, spec.clone(), KeyUsageType::EncapsulateDecapsulate).await;
        let md = kms
            .describe_key()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        assert_eq!(md.key_spec, Some(spec.clone()));
        assert_eq!(md.key_usage, Some(KeyUsageType::EncapsulateDecapsulate));
        assert_eq!(names(md.encapsulation_algorithms), vec!["ML_KEM"]);
        assert!(md.signing_algorithms.is_none() && md.encryption_algorithms.is_none());

        let public = public_key(&kms, &id).await;
        assert_eq!(public.key_usage, Some(KeyUsageType::EncapsulateDecapsulate));
        assert_eq!(names(public.encapsulation_algorithms), vec!["ML_KEM"]);
        let (found_oid, ek) = spki_parts(&public.public_key.unwrap().into_inner());
        assert_eq!((found_oid.as_str(), ek.len()), (oid, ek_len), "{spec:?}");

        // A peer with only the public key (fips203) encapsulates; KMS decapsulates the same secret.
        let (theirs, ct) = fips203_encapsulate(&spec, &ek);
        assert_eq!(decapsulate(&kms, &id, &ct).await.unwrap(), theirs, "{spec:?}");

        // KMS encapsulates; KMS decapsulates.
        let out = kms
            .encapsulate()
            .key_id(&id)
            .encapsulation_algorithm(EncapsulationAlgorithmSpec::MlKem)
            .send()
            .await
            .expect("Encapsulate");
        assert!(out.key_id.unwrap().ends_with(&id));
        assert_eq!(out.encapsulation_algorithm, Some(EncapsulationAlgorithmSpec::MlKem));
        let secret = out.shared_secret.unwrap().into_inner();
        let ct = out.shared_secret_ciphertext_blob.unwrap().into_inner();
        assert_eq!((secret.len(), ct.len()), (32, ct_len), "{spec:?}");
        assert_eq!(decapsulate(&kms, &id, &ct).await.unwrap(), secret);

        // Implicit rejection: an altered ciphertext still "decapsulates", to another value.
        let mut altered = ct.clone();
        altered[5] ^= 0x80;
        let rejected = decapsulate(&kms, &id, &altered).await.unwrap();
        assert_eq!(rejected.len(), 32);
        assert_ne!(rejected, secret);
        // The wrong length is InvalidCiphertextException.
        assert_eq!(
            decapsulate(&kms, &id, &ct[..ct.len() - 1]).await.unwrap_err(),
            "InvalidCiphertextException"
        );
    }
}

#[tokio::test]
async fn ml_kem_usage_errors_and_grants() {
    let (_server, kms) = setup().await;
    let kem = create(&kms, KeySpec::MlKem768, KeyUsageType::EncapsulateDecapsulate).await;
    let signer = create(&kms, KeySpec::MlDsa44, KeyUsageType::SignVerify).await;

    // Encapsulate with a signing key; Sign with an ML-KEM key.
    let result = kms
        .encapsulate()
        .key_id(&signer)
        .encapsulation_algorithm(EncapsulationAlgorithmSpec::MlKem)
        .send()
        .await;
    let (c, message) = error(result);
    assert_eq!(c, "InvalidKeyUsageException");
    assert!(
        message.ends_with("key usage is SIGN_VERIFY which is not valid for Encapsulate."),
        "{message}"
    );
    let result = kms
        .sign()
        .key_id(&kem)
        .signing_algorithm(SigningAlgorithmSpec::MlDsaShake256)
        .message(Blob::new(b"m".to_vec()))
        .send()
        .await;
    assert_eq!(code(result), "InvalidKeyUsageException");
    for usage in [KeyUsageType::SignVerify, KeyUsageType::EncryptDecrypt] {
        let result = kms
            .create_key()
            .key_spec(KeySpec::MlKem512)
            .key_usage(usage)
            .send()
            .await;
        assert_eq!(code(result), "ValidationException");
    }
    // DryRun.
    let result = kms
        .encapsulate()
        .key_id(&kem)
        .encapsulation_algorithm(EncapsulationAlgorithmSpec::MlKem)
        .dry_run(true)
        .send()
        .await;
    assert_eq!(code(result), "DryRunOperationException");

    // Grants: Encapsulate/Decapsulate/GetPublicKey are this usage's operations; Sign is not.
    kms.create_grant()
        .key_id(&kem)
        .grantee_principal("arn:aws:iam::000000000000:role/peer")
        .operations(GrantOperation::Encapsulate)
        .operations(GrantOperation::Decapsulate)
        .operations(GrantOperation::GetPublicKey)
        .send()
        .await
        .expect("CreateGrant");
    let result = kms
        .create_grant()
        .key_id(&kem)
        .grantee_principal("arn:aws:iam::000000000000:role/peer")
        .operations(GrantOperation::Sign)
        .send()
        .await;
    assert_eq!(code(result), "ValidationException");

    // Pending deletion: KMSInvalidStateException.
    kms.schedule_key_deletion()
        .key_id(&kem)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        decapsulate(&kms, &kem, &[0; 1088]).await.unwrap_err(),
        "KMSInvalidStateException"
    );
}
