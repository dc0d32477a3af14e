//! Imported key material (CreateKey Origin=EXTERNAL, GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial) through the official Rust SDK. Key material is generated and wrapped outside trent
//! with the `openssl` CLI (pkeyutl OAEP, `enc -id-aes256-wrap-pad` for the RSA_AES_KEY_WRAP algorithms), and what
//! trent does with imported material is checked independently: MACs recomputed with the `hmac` crate, public keys
//! compared with OpenSSL's, signatures verified by OpenSSL.

mod common;

use std::path::PathBuf;
use std::process::Command;

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{
    AlgorithmSpec, ExpirationModelType, ImportState, ImportType, IncludeKeyMaterial, KeyMaterialState, KeySpec,
    KeyState, KeyUsageType, MacAlgorithmSpec, OriginType, SigningAlgorithmSpec, WrappingKeySpec,
};
use aws_sdk_kms::Client;
use common::{code, error, setup, symmetric_key};

const DAY_SECS: i64 = 86_400;

/// A scratch directory for OpenSSL's files, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let path = std::env::temp_dir().join(format!("trent-import-{}", common::unique("t")));
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.0.join(name), bytes).unwrap();
        self.path(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.0.join(name)).unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").args(args).output().expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random(n: usize) -> Vec<u8> {
    (0..n).map(|_| rand::random::<u8>()).collect()
}

/// Wraps `material` for `public_key_der` (GetParametersForImport's PublicKey) with OpenSSL, as AWS's developer
/// guide does it for each wrapping algorithm.
fn openssl_wrap(dir: &Dir, public_key_der: &[u8], algorithm: &AlgorithmSpec, material: &[u8]) -> Vec<u8> {
    let public = dir.write("wrapping.der", public_key_der);
    let oaep = |input: &str, output: &str, md: &str| {
        openssl(&[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            &public,
            "-in",
            input,
            "-out",
            output,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            &format!("rsa_oaep_md:{md}"),
            "-pkeyopt",
            &format!("rsa_mgf1_md:{md}"),
        ]);
    };
    let material_file = dir.write("material.bin", material);
    match algorithm {
        AlgorithmSpec::RsaesOaepSha1 | AlgorithmSpec::RsaesOaepSha256 => {
            let md = if *algorithm == AlgorithmSpec::RsaesOaepSha1 {
                "sha1"
            } else {
                "sha256"
            };
            oaep(&material_file, &dir.path("wrapped.bin"), md);
            dir.read("wrapped.bin")
        }
        AlgorithmSpec::RsaAesKeyWrapSha1 | AlgorithmSpec::RsaAesKeyWrapSha256 => {
            let md = if *algorithm == AlgorithmSpec::RsaAesKeyWrapSha1 {
                "sha1"
            } else {
                "sha256"
            };
            let aes_key = random(32);
            let aes_file = dir.write("aes.bin", &aes_key);
            openssl(&[
                "enc",
                "-id-aes256-wrap-pad",
                "-K",
                &hex(&aes_key),
                "-iv",
                "A65959A6",
                "-in",
                &material_file,
                "-out",
                &dir.path("kwp.bin"),
            ]);
            oaep(&aes_file, &dir.path("aes.wrapped"), md);
            let mut out = dir.read("aes.wrapped");
            out.extend(dir.read("kwp.bin"));
            out
        }
        other => panic!("no OpenSSL wrapping for {other:?}"),
    }
}

async fn external_key(kms: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = kms
        .create_key()
        .origin(OriginType::External)
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap();
    let meta = out.key_metadata.unwrap();
    assert_eq!(meta.key_state, Some(KeyState::PendingImport));
    assert_eq!(meta.origin, Some(OriginType::External));
    assert!(!meta.enabled);
    meta.key_id
}

/// (public key DER, import token)
async fn parameters(kms: &Client, key: &str, spec: WrappingKeySpec, algorithm: AlgorithmSpec) -> (Vec<u8>, Vec<u8>) {
    let out = kms
        .get_parameters_for_import()
        .key_id(key)
        .wrapping_key_spec(spec)
        .wrapping_algorithm(algorithm)
        .send()
        .await
        .unwrap();
    (
        out.public_key.unwrap().into_inner(),
        out.import_token.unwrap().into_inner(),
    )
}

/// Wraps `material` for `key` with fresh parameters and imports it without expiry; returns the KeyMaterialId.
async fn import(kms: &Client, dir: &Dir, key: &str, algorithm: AlgorithmSpec, material: &[u8]) -> String {
    let (public, token) = parameters(kms, key, WrappingKeySpec::Rsa2048, algorithm.clone()).await;
    let wrapped = openssl_wrap(dir, &public, &algorithm, material);
    let out = kms
        .import_key_material()
        .key_id(key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap();
    out.key_material_id.unwrap()
}

async fn state(kms: &Client, key: &str) -> KeyState {
    let out = kms.describe_key().key_id(key).send().await.unwrap();
    out.key_metadata.unwrap().key_state.unwrap()
}

async fn encrypt(kms: &Client, key: &str, plaintext: &[u8]) -> Vec<u8> {
    let out = kms
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new(plaintext))
        .send()
        .await
        .unwrap();
    out.ciphertext_blob.unwrap().into_inner()
}

async fn decrypt(kms: &Client, blob: &[u8]) -> Vec<u8> {
    let out = kms.decrypt().ciphertext_blob(Blob::new(blob)).send().await.unwrap();
    out.plaintext.unwrap().into_inner()
}

async fn advance_days(server: &trent::Server, days: i64) {
    let res = reqwest::Client::new()
        .post(format!("{}/_parlel/clock", server.kms_endpoint()))
        .header("content-type", "application/json")
        .body(format!("{{\"advanceDays\": {days}}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}

fn now_secs(server: &trent::Server) -> i64 {
    server.clock().now_secs()
}

#[tokio::test]
async fn a_symmetric_key_imported_with_openssl_encrypts_decrypts_and_re_encrypts() {
    let (server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    // Without material: no crypto, no enabling.
    assert_eq!(
        code(kms.encrypt().key_id(&key).plaintext(Blob::new("x")).send().await),
        "KMSInvalidStateException"
    );
    let (c, m) = error(kms.enable_key().key_id(&key).send().await);
    assert_eq!(c, "KMSInvalidStateException");
    assert!(m.ends_with("is pending import."), "{m}");
    assert_eq!(
        code(kms.disable_key().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert!(meta.expiration_model.is_none() && meta.valid_to.is_none() && meta.current_key_material_id.is_none());

    let out = kms
        .get_parameters_for_import()
        .key_id(&key)
        .wrapping_key_spec(WrappingKeySpec::Rsa3072)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    assert!(out.key_id.unwrap().ends_with(&key));
    let valid_to = out.parameters_valid_to.unwrap().secs();
    assert!((valid_to - now_secs(&server) - DAY_SECS).abs() <= 5, "{valid_to}");
    let public = out.public_key.unwrap().into_inner();
    // A real SubjectPublicKeyInfo: OpenSSL reads a 3072-bit RSA key.
    let text = openssl(&[
        "pkey",
        "-pubin",
        "-inform",
        "DER",
        "-in",
        &dir.write("p.der", &public),
        "-noout",
        "-text",
    ]);
    assert!(String::from_utf8_lossy(&text).contains("3072 bit"));
    let material = random(32);
    let wrapped = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &material);
    let imported = kms
        .import_key_material()
        .key_id(&key)
        .import_token(out.import_token.unwrap())
        .encrypted_key_material(Blob::new(wrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap();
    let id = imported.key_material_id.unwrap();
    assert_eq!(id.len(), 64);
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state, Some(KeyState::Enabled));
    assert_eq!(
        meta.expiration_model,
        Some(ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert!(meta.valid_to.is_none());
    assert_eq!(meta.current_key_material_id.as_deref(), Some(id.as_str()));

    let blob = encrypt(&kms, &key, b"bring your own key").await;
    assert_eq!(decrypt(&kms, &blob).await, b"bring your own key");
    let other = symmetric_key(&kms).await;
    let moved = kms
        .re_encrypt()
        .ciphertext_blob(Blob::new(blob))
        .destination_key_id(&other)
        .send()
        .await
        .unwrap();
    let back = kms
        .re_encrypt()
        .ciphertext_blob(moved.ciphertext_blob.unwrap())
        .destination_key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(back.key_id.unwrap().ends_with(&key));
    assert_eq!(
        decrypt(&kms, back.ciphertext_blob.unwrap().as_ref()).await,
        b"bring your own key"
    );
    // Imported keys can be disabled and enabled like any other once they have material.
    kms.disable_key().key_id(&key).send().await.unwrap();
    kms.enable_key().key_id(&key).send().await.unwrap();
}

#[tokio::test]
async fn every_wrapping_algorithm_and_key_size_imports_an_hmac_key_whose_macs_match_our_own() {
    use hmac::{Hmac, Mac};
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    for (algorithm, wrapping_spec) in [
        (AlgorithmSpec::RsaesOaepSha1, WrappingKeySpec::Rsa2048),
        (AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa3072),
        (AlgorithmSpec::RsaAesKeyWrapSha1, WrappingKeySpec::Rsa2048),
        (AlgorithmSpec::RsaAesKeyWrapSha256, WrappingKeySpec::Rsa4096),
    ] {
        let key = external_key(&kms, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
        let (public, token) = parameters(&kms, &key, wrapping_spec.clone(), algorithm.clone()).await;
        let material = random(48); // HMAC_256 accepts 32..64 bytes
        let wrapped = openssl_wrap(&dir, &public, &algorithm, &material);
        kms.import_key_material()
            .key_id(&key)
            .import_token(Blob::new(token))
            .encrypted_key_material(Blob::new(wrapped))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?} {wrapping_spec:?}: {e:?}"));
        let mac = kms
            .generate_mac()
            .key_id(&key)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new("message"))
            .send()
            .await
            .unwrap()
            .mac
            .unwrap()
            .into_inner();
        let mut ours = Hmac::<sha2::Sha256>::new_from_slice(&material).unwrap();
        ours.update(b"message");
        assert_eq!(mac, ours.finalize().into_bytes().to_vec(), "{algorithm:?}");
    }
}

#[tokio::test]
async fn imported_ecc_and_rsa_private_keys_give_our_public_keys_and_signatures_openssl_verifies() {
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    for (spec, genpkey, algorithm, signing) in [
        (
            KeySpec::EccNistP256,
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            AlgorithmSpec::RsaesOaepSha256,
            SigningAlgorithmSpec::EcdsaSha256,
        ),
        (
            KeySpec::EccNistP521,
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            AlgorithmSpec::RsaAesKeyWrapSha256,
            SigningAlgorithmSpec::EcdsaSha512,
        ),
        (
            KeySpec::Rsa2048,
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            AlgorithmSpec::RsaAesKeyWrapSha1,
            SigningAlgorithmSpec::RsassaPssSha256,
        ),
    ] {
        let pem = dir.path("private.pem");
        let mut args = vec!["genpkey"];
        args.extend(genpkey.iter().copied());
        args.extend(["-out", pem.as_str()]);
        openssl(&args);
        let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &pem, "-outform", "DER"]);
        let spki = openssl(&["pkey", "-in", &pem, "-pubout", "-outform", "DER"]);
        let key = external_key(&kms, spec.clone(), KeyUsageType::SignVerify).await;
        assert_eq!(
            code(kms.get_public_key().key_id(&key).send().await),
            "KMSInvalidStateException"
        );
        import(&kms, &dir, &key, algorithm, &pkcs8).await;
        let public = kms.get_public_key().key_id(&key).send().await.unwrap();
        assert_eq!(public.public_key.unwrap().into_inner(), spki, "{spec:?}");
        let signature = kms
            .sign()
            .key_id(&key)
            .message(Blob::new("signed by an imported key"))
            .signing_algorithm(signing.clone())
            .send()
            .await
            .unwrap()
            .signature
            .unwrap()
            .into_inner();
        let message = dir.write("message.txt", b"signed by an imported key");
        let sig = dir.write("sig.bin", &signature);
        let public_pem = dir.path("public.pem");
        openssl(&["pkey", "-in", &pem, "-pubout", "-out", &public_pem]);
        let digest = if signing == SigningAlgorithmSpec::EcdsaSha512 {
            "-sha512"
        } else {
            "-sha256"
        };
        let mut verify = vec![
            "dgst",
            digest,
            "-verify",
            public_pem.as_str(),
            "-signature",
            sig.as_str(),
        ];
        if signing == SigningAlgorithmSpec::RsassaPssSha256 {
            verify.extend(["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]);
        }
        verify.push(message.as_str());
        let out = openssl(&verify);
        assert!(String::from_utf8_lossy(&out).contains("Verified OK"), "{spec:?}");
    }
}

#[tokio::test]
async fn material_expires_on_the_clock_and_the_same_material_brings_the_key_back() {
    let (server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let material = random(32);
    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha1).await;
    let wrapped = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha1, &material);
    let import_with = |valid_to: Option<i64>, model: Option<ExpirationModelType>, token: Vec<u8>| {
        let mut req = kms
            .import_key_material()
            .key_id(&key)
            .import_token(Blob::new(token))
            .encrypted_key_material(Blob::new(wrapped.clone()));
        if let Some(at) = valid_to {
            req = req.valid_to(DateTime::from_secs(at));
        }
        if let Some(model) = model {
            req = req.expiration_model(model);
        }
        req.send()
    };
    // KEY_MATERIAL_EXPIRES (the default) needs a ValidTo; DOES_NOT_EXPIRE refuses one; ValidTo is in the next
    // 365 days.
    let now = now_secs(&server);
    assert_eq!(
        code(import_with(None, None, token.clone()).await),
        "ValidationException"
    );
    assert_eq!(
        code(
            import_with(
                Some(now + DAY_SECS),
                Some(ExpirationModelType::KeyMaterialDoesNotExpire),
                token.clone()
            )
            .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(import_with(Some(now - 10), None, token.clone()).await),
        "ValidationException"
    );
    assert_eq!(
        code(import_with(Some(now + 366 * DAY_SECS), None, token.clone()).await),
        "ValidationException"
    );
    let valid_to = now + 2 * DAY_SECS;
    import_with(Some(valid_to), None, token.clone()).await.unwrap();
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state, Some(KeyState::Enabled));
    assert_eq!(meta.expiration_model, Some(ExpirationModelType::KeyMaterialExpires));
    assert_eq!(meta.valid_to.unwrap().secs(), valid_to);
    let listed = kms
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(
        listed[0].expiration_model,
        Some(ExpirationModelType::KeyMaterialExpires)
    );
    assert_eq!(listed[0].valid_to.unwrap().secs(), valid_to);
    let blob = encrypt(&kms, &key, b"until further notice").await;

    advance_days(&server, 3).await;
    assert_eq!(state(&kms, &key).await, KeyState::PendingImport);
    let (c, m) = error(kms.decrypt().ciphertext_blob(Blob::new(blob.clone())).send().await);
    assert_eq!(c, "KMSInvalidStateException");
    assert!(m.ends_with("is pending import."), "{m}");
    // The 24-hour import token has expired too.
    assert_eq!(
        code(import_with(None, Some(ExpirationModelType::KeyMaterialDoesNotExpire), token).await),
        "ExpiredImportTokenException"
    );
    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let rewrapped = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &material);
    kms.import_key_material()
        .key_id(&key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(rewrapped))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap();
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state, Some(KeyState::Enabled));
    assert!(meta.valid_to.is_none());
    assert_eq!(decrypt(&kms, &blob).await, b"until further notice");
}

#[tokio::test]
async fn deleted_material_comes_back_only_as_the_same_material() {
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let material = random(32);
    let id = import(&kms, &dir, &key, AlgorithmSpec::RsaAesKeyWrapSha256, &material).await;
    let blob = encrypt(&kms, &key, b"kept").await;

    let out = kms.delete_imported_key_material().key_id(&key).send().await.unwrap();
    assert!(out.key_id.unwrap().ends_with(&key));
    assert_eq!(out.key_material_id.as_deref(), Some(id.as_str()));
    assert_eq!(state(&kms, &key).await, KeyState::PendingImport);
    assert_eq!(
        code(kms.decrypt().ciphertext_blob(Blob::new(blob.clone())).send().await),
        "KMSInvalidStateException"
    );
    // Other material is refused; the same material, wrapped anew, restores the key and its ciphertexts.
    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let other = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &random(32));
    let (c, m) = error(
        kms.import_key_material()
            .key_id(&key)
            .import_token(Blob::new(token.clone()))
            .encrypted_key_material(Blob::new(other))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
            .await,
    );
    assert_eq!(c, "IncorrectKeyMaterialException", "{m}");
    // A 16-byte key does not fit SYMMETRIC_DEFAULT.
    let short = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &random(16));
    assert_eq!(
        code(
            kms.import_key_material()
                .key_id(&key)
                .import_token(Blob::new(token.clone()))
                .encrypted_key_material(Blob::new(short))
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
                .await
        ),
        "IncorrectKeyMaterialException"
    );
    let same = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &material);
    let again = kms
        .import_key_material()
        .key_id(&key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(same))
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap();
    assert_eq!(again.key_material_id.as_deref(), Some(id.as_str()));
    assert_eq!(state(&kms, &key).await, KeyState::Enabled);
    assert_eq!(decrypt(&kms, &blob).await, b"kept");

    // Cancelling the deletion of a key without its material leaves it waiting for the import.
    kms.delete_imported_key_material().key_id(&key).send().await.unwrap();
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    kms.cancel_key_deletion().key_id(&key).send().await.unwrap();
    assert_eq!(state(&kms, &key).await, KeyState::PendingImport);

    // Keys KMS made itself have nothing to import or delete.
    let native = symmetric_key(&kms).await;
    for result in [
        code(kms.delete_imported_key_material().key_id(&native).send().await),
        code(
            kms.get_parameters_for_import()
                .key_id(&native)
                .wrapping_key_spec(WrappingKeySpec::Rsa2048)
                .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
                .send()
                .await,
        ),
    ] {
        assert_eq!(result, "UnsupportedOperationException");
    }
}

#[tokio::test]
async fn tokens_ciphertexts_and_wrapping_choices_are_checked() {
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let other = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let material = random(32);
    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let (other_public, other_token) =
        parameters(&kms, &other, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let attempt = |token: Vec<u8>, wrapped: Vec<u8>| {
        kms.import_key_material()
            .key_id(&key)
            .import_token(Blob::new(token))
            .encrypted_key_material(Blob::new(wrapped))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
    };
    let good = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &material);
    // Another key's token; a token trent never issued.
    assert_eq!(
        code(attempt(other_token.clone(), good.clone()).await),
        "InvalidImportTokenException"
    );
    let mut forged = token.clone();
    forged[20] ^= 1;
    assert_eq!(code(attempt(forged, good.clone()).await), "InvalidImportTokenException");
    // Wrapped for another key's public key, or with another algorithm than the token's.
    let foreign = openssl_wrap(&dir, &other_public, &AlgorithmSpec::RsaesOaepSha256, &material);
    assert_eq!(
        code(attempt(token.clone(), foreign).await),
        "InvalidCiphertextException"
    );
    let sha1 = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha1, &material);
    assert_eq!(code(attempt(token.clone(), sha1).await), "InvalidCiphertextException");
    attempt(token, good).await.unwrap();

    // Wrapping choices AWS refuses.
    let rsa_key = external_key(&kms, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let p521 = external_key(&kms, KeySpec::EccNistP521, KeyUsageType::SignVerify).await;
    for (target, spec, algorithm) in [
        (&rsa_key, WrappingKeySpec::Rsa4096, AlgorithmSpec::RsaesOaepSha256),
        (&p521, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha1),
        (&other, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesPkcs1V15),
        (&other, WrappingKeySpec::Sm2, AlgorithmSpec::RsaesOaepSha256),
        (&other, WrappingKeySpec::Rsa2048, AlgorithmSpec::Sm2Pke),
    ] {
        let (c, m) = error(
            kms.get_parameters_for_import()
                .key_id(target)
                .wrapping_key_spec(spec.clone())
                .wrapping_algorithm(algorithm.clone())
                .send()
                .await,
        );
        assert_eq!(c, "ValidationException", "{spec:?} {algorithm:?}: {m}");
    }
    // ImportType and KeyMaterialId belong to symmetric keys.
    let (public, token) = parameters(&kms, &p521, WrappingKeySpec::Rsa3072, AlgorithmSpec::RsaesOaepSha256).await;
    assert_eq!(
        code(
            kms.import_key_material()
                .key_id(&p521)
                .import_token(Blob::new(token))
                .encrypted_key_material(Blob::new(openssl_wrap(
                    &dir,
                    &public,
                    &AlgorithmSpec::RsaesOaepSha256,
                    &[1; 32]
                )))
                .import_type(ImportType::NewKeyMaterial)
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
                .await
        ),
        "ValidationException"
    );
}

#[tokio::test]
async fn new_key_material_rotates_a_symmetric_key_on_demand() {
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let first = random(32);
    let second = random(32);
    let first_id = import(&kms, &dir, &key, AlgorithmSpec::RsaesOaepSha256, &first).await;
    let old = encrypt(&kms, &key, b"first").await;
    // Nothing pending yet: nothing to rotate to. Automatic rotation is not for imported material.
    assert_eq!(
        code(kms.rotate_key_on_demand().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    let (c, m) = error(kms.enable_key_rotation().key_id(&key).send().await);
    assert_eq!(c, "UnsupportedOperationException");
    assert!(
        m.ends_with("origin is EXTERNAL which is not valid for this operation."),
        "{m}"
    );

    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let second_id = kms
        .import_key_material()
        .key_id(&key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(openssl_wrap(
            &dir,
            &public,
            &AlgorithmSpec::RsaesOaepSha256,
            &second,
        )))
        .import_type(ImportType::NewKeyMaterial)
        .key_material_description("second key material")
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap()
        .key_material_id
        .unwrap();
    assert_ne!(first_id, second_id);
    let listed = kms
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0].key_material_id.as_deref(), Some(first_id.as_str()));
    assert_eq!(listed[0].key_material_state, Some(KeyMaterialState::Current));
    assert_eq!(listed[0].import_state, Some(ImportState::Imported));
    assert_eq!(
        listed[0].expiration_model,
        Some(ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert!(listed[0].valid_to.is_none() && listed[0].rotation_date.is_none());
    assert_eq!(listed[1].key_material_id.as_deref(), Some(second_id.as_str()));
    assert_eq!(listed[1].key_material_state, Some(KeyMaterialState::PendingRotation));
    assert_eq!(
        listed[1].key_material_description.as_deref(),
        Some("second key material")
    );
    assert!(listed[1].rotation_date.is_none());
    // Still the first material until the rotation.
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.current_key_material_id.as_deref(), Some(first_id.as_str()));

    kms.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.current_key_material_id.as_deref(), Some(second_id.as_str()));
    let new = encrypt(&kms, &key, b"second").await;
    assert_eq!(decrypt(&kms, &old).await, b"first");
    assert_eq!(decrypt(&kms, &new).await, b"second");
    let rotations = kms
        .list_key_rotations()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(rotations.len(), 1);
    assert_eq!(rotations[0].key_material_id.as_deref(), Some(second_id.as_str()));
    assert_eq!(rotations[0].key_material_state, Some(KeyMaterialState::Current));
    assert!(rotations[0].rotation_date.is_some());

    // Deleting the older material by id takes the key to PendingImport until it is reimported by that id.
    kms.delete_imported_key_material()
        .key_id(&key)
        .key_material_id(&first_id)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&kms, &key).await, KeyState::PendingImport);
    let listed = kms
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    assert_eq!(listed[0].import_state, Some(ImportState::PendingImport));
    assert_eq!(listed[1].import_state, Some(ImportState::Imported));
    let (public, token) = parameters(&kms, &key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let wrapped_first = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &first);
    // The id must name this material.
    assert_eq!(
        code(
            kms.import_key_material()
                .key_id(&key)
                .import_token(Blob::new(token.clone()))
                .encrypted_key_material(Blob::new(wrapped_first.clone()))
                .import_type(ImportType::ExistingKeyMaterial)
                .key_material_id(&second_id)
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
                .await
        ),
        "IncorrectKeyMaterialException"
    );
    kms.import_key_material()
        .key_id(&key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(wrapped_first))
        .import_type(ImportType::ExistingKeyMaterial)
        .key_material_id(&first_id)
        .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&kms, &key).await, KeyState::Enabled);
    assert_eq!(decrypt(&kms, &old).await, b"first");
}

#[tokio::test]
async fn a_generated_symmetric_key_names_its_current_material_as_list_key_rotations_does() {
    let (_server, kms) = setup().await;
    let key = symmetric_key(&kms).await;
    let current = |kms: Client, key: String| async move {
        let meta = kms
            .describe_key()
            .key_id(&key)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap();
        meta.current_key_material_id.unwrap()
    };
    let first = current(kms.clone(), key.clone()).await;
    assert_eq!(first.len(), 64);
    kms.rotate_key_on_demand().key_id(&key).send().await.unwrap();
    let second = current(kms.clone(), key.clone()).await;
    assert_ne!(first, second);
    let listed = kms
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap()
        .rotations
        .unwrap();
    let ids: Vec<_> = listed.iter().map(|r| r.key_material_id.clone().unwrap()).collect();
    assert_eq!(ids, [first, second.clone()]);
    assert_eq!(listed[1].key_material_state, Some(KeyMaterialState::Current));
    // Asymmetric keys have no CurrentKeyMaterialId.
    let ecc = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    assert!(ecc.key_metadata.unwrap().current_key_material_id.is_none());
}

#[tokio::test]
async fn imported_material_survives_a_restart_on_a_data_directory_and_deleted_material_stays_gone() {
    use hmac::{Hmac, Mac};
    let dir = Dir::new();
    let data = dir.0.join("data");
    let config = || trent::Config {
        data_dir: Some(data.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config()).await.unwrap();
    let kms = common::client_in(&server, "us-east-1");
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let hmac_key = external_key(&kms, KeySpec::Hmac512, KeyUsageType::GenerateVerifyMac).await;
    let material = random(32);
    let hmac_material = random(64);
    let id = import(&kms, &dir, &key, AlgorithmSpec::RsaesOaepSha256, &material).await;
    import(&kms, &dir, &hmac_key, AlgorithmSpec::RsaesOaepSha1, &hmac_material).await;
    kms.delete_imported_key_material()
        .key_id(&hmac_key)
        .send()
        .await
        .unwrap();
    let blob = encrypt(&kms, &key, b"durable").await;
    server.stop().await;

    let server = trent::Server::start(config()).await.unwrap();
    let kms = common::client_in(&server, "us-east-1");
    assert_eq!(decrypt(&kms, &blob).await, b"durable");
    let meta = kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.current_key_material_id.as_deref(), Some(id.as_str()));
    // The deleted HMAC material is still gone, and only the same material brings the key back.
    assert_eq!(state(&kms, &hmac_key).await, KeyState::PendingImport);
    let (public, token) = parameters(
        &kms,
        &hmac_key,
        WrappingKeySpec::Rsa2048,
        AlgorithmSpec::RsaesOaepSha256,
    )
    .await;
    let other = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaesOaepSha256, &random(64));
    let attempt = |wrapped: Vec<u8>| {
        kms.import_key_material()
            .key_id(&hmac_key)
            .import_token(Blob::new(token.clone()))
            .encrypted_key_material(Blob::new(wrapped))
            .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
            .send()
    };
    assert_eq!(code(attempt(other).await), "IncorrectKeyMaterialException");
    attempt(openssl_wrap(
        &dir,
        &public,
        &AlgorithmSpec::RsaesOaepSha256,
        &hmac_material,
    ))
    .await
    .unwrap();
    let mac = kms
        .generate_mac()
        .key_id(&hmac_key)
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .message(Blob::new("after restart"))
        .send()
        .await
        .unwrap()
        .mac
        .unwrap()
        .into_inner();
    let mut ours = Hmac::<sha2::Sha512>::new_from_slice(&hmac_material).unwrap();
    ours.update(b"after restart");
    assert_eq!(mac, ours.finalize().into_bytes().to_vec());
    server.stop().await;
}

#[tokio::test]
async fn key_states_follow_the_aws_table_for_external_keys() {
    let (_server, kms) = setup().await;
    let dir = Dir::new();
    let key = external_key(&kms, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    // Automatic rotation: the origin is refused before the (PendingImport) state.
    for result in [
        error(kms.enable_key_rotation().key_id(&key).send().await),
        error(kms.disable_key_rotation().key_id(&key).send().await),
    ] {
        assert_eq!(result.0, "UnsupportedOperationException", "{}", result.1);
        assert!(result
            .1
            .ends_with("origin is EXTERNAL which is not valid for this operation."));
    }
    // Deleting material that is not there has no effect.
    let out = kms.delete_imported_key_material().key_id(&key).send().await.unwrap();
    assert!(out.key_material_id.is_none());
    assert_eq!(state(&kms, &key).await, KeyState::PendingImport);
    // A key pending deletion takes (and loses) material without leaving PendingDeletion.
    kms.schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    import(&kms, &dir, &key, AlgorithmSpec::RsaesOaepSha256, &random(32)).await;
    assert_eq!(state(&kms, &key).await, KeyState::PendingDeletion);
    kms.delete_imported_key_material().key_id(&key).send().await.unwrap();
    assert_eq!(state(&kms, &key).await, KeyState::PendingDeletion);
}

// ------------------------------------------------------------------------------- multi-Region imported keys

/// Imports `material` into `key` with `model` (and `valid_to` secs for KEY_MATERIAL_EXPIRES) and `import_type`.
async fn import_with(
    kms: &Client,
    dir: &Dir,
    key: &str,
    material: &[u8],
    valid_to: Option<i64>,
    import_type: Option<ImportType>,
) -> Result<String, (String, String)> {
    let (public, token) = parameters(kms, key, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaesOaepSha256).await;
    let wrapped = openssl_wrap(dir, &public, &AlgorithmSpec::RsaesOaepSha256, material);
    let mut request = kms
        .import_key_material()
        .key_id(key)
        .import_token(Blob::new(token))
        .encrypted_key_material(Blob::new(wrapped))
        .set_import_type(import_type);
    request = match valid_to {
        Some(secs) => request
            .expiration_model(ExpirationModelType::KeyMaterialExpires)
            .valid_to(DateTime::from_secs(secs)),
        None => request.expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire),
    };
    match request.send().await {
        Ok(out) => Ok(out.key_material_id.unwrap()),
        Err(e) => Err(error::<(), _, _>(Err(e))),
    }
}

async fn multi_region_external_key(kms: &Client) -> String {
    let meta = kms
        .create_key()
        .origin(OriginType::External)
        .multi_region(true)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert!(meta.key_id.starts_with("mrk-"));
    meta.key_id
}

#[tokio::test]
async fn a_replica_of_an_imported_multi_region_key_takes_the_same_material_by_its_own_import() {
    let server = common::server().await;
    let us = common::client_in(&server, "us-east-1");
    let eu = common::client_in(&server, "eu-west-1");
    let dir = Dir::new();
    let id = multi_region_external_key(&us).await;
    let material = random(32);
    let primary_material_id = import(&us, &dir, &id, AlgorithmSpec::RsaesOaepSha256, &material).await;
    let blob = encrypt(&us, &id, b"written in us-east-1").await;

    // The replica is created without material: PendingImport, EXTERNAL, the primary's key id.
    let out = us
        .replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .expect("ReplicateKey of an imported multi-Region key");
    let md = out.replica_key_metadata.unwrap();
    assert_eq!(md.origin, Some(OriginType::External));
    assert_eq!(md.key_id, id);
    let md = eu
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(md.key_state, Some(KeyState::PendingImport));
    assert_eq!(md.origin, Some(OriginType::External));
    assert!(!md.enabled);
    let (c, m) = error(eu.decrypt().ciphertext_blob(Blob::new(blob.clone())).send().await);
    assert_eq!(c, "KMSInvalidStateException");
    assert!(m.contains("pending import"), "{m}");

    // Other material is refused, whatever the ImportType; the primary's material is accepted.
    for import_type in [None, Some(ImportType::NewKeyMaterial)] {
        let (c, _) = import_with(&eu, &dir, &id, &random(32), None, import_type)
            .await
            .unwrap_err();
        assert_eq!(c, "IncorrectKeyMaterialException");
    }
    assert_eq!(state(&eu, &id).await, KeyState::PendingImport);
    let valid_to = now_secs(&server) + 10 * DAY_SECS;
    let replica_material_id = import_with(&eu, &dir, &id, &material, Some(valid_to), None)
        .await
        .unwrap();
    assert_eq!(
        replica_material_id, primary_material_id,
        "the same material has the same KeyMaterialId"
    );
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);

    // Interoperable both ways.
    assert_eq!(decrypt(&eu, &blob).await, b"written in us-east-1");
    let from_eu = encrypt(&eu, &id, b"written in eu-west-1").await;
    assert_eq!(decrypt(&us, &from_eu).await, b"written in eu-west-1");

    // Each key has its own expiration.
    let primary_md = us
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let replica_md = eu
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        primary_md.expiration_model,
        Some(ExpirationModelType::KeyMaterialDoesNotExpire)
    );
    assert_eq!(primary_md.valid_to, None);
    assert_eq!(
        replica_md.expiration_model,
        Some(ExpirationModelType::KeyMaterialExpires)
    );
    assert_eq!(replica_md.valid_to.map(|t| t.secs()), Some(valid_to));

    // Deleting the primary's material leaves the replica usable, and reimporting restores the primary.
    us.delete_imported_key_material().key_id(&id).send().await.unwrap();
    assert_eq!(state(&us, &id).await, KeyState::PendingImport);
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);
    assert_eq!(decrypt(&eu, &blob).await, b"written in us-east-1");
    import(&us, &dir, &id, AlgorithmSpec::RsaesOaepSha256, &material).await;
    assert_eq!(state(&us, &id).await, KeyState::Enabled);

    // The replica's material expires on its own; the primary is unaffected.
    advance_days(&server, 11).await;
    assert_eq!(state(&eu, &id).await, KeyState::PendingImport);
    assert_eq!(state(&us, &id).await, KeyState::Enabled);
    assert_eq!(decrypt(&us, &from_eu).await, b"written in eu-west-1");
    import(&eu, &dir, &id, AlgorithmSpec::RsaesOaepSha256, &material).await;
    assert_eq!(decrypt(&eu, &blob).await, b"written in us-east-1");
}

#[tokio::test]
async fn imported_multi_region_keys_rotate_on_demand_once_every_replica_holds_the_new_material() {
    let server = common::server().await;
    let us = common::client_in(&server, "us-east-1");
    let eu = common::client_in(&server, "eu-west-1");
    let dir = Dir::new();
    let id = multi_region_external_key(&us).await;
    let first = random(32);
    import(&us, &dir, &id, AlgorithmSpec::RsaesOaepSha256, &first).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    import(&eu, &dir, &id, AlgorithmSpec::RsaesOaepSha256, &first).await;
    let old_blob = encrypt(&us, &id, b"first material").await;

    // New material goes into the primary first; a replica cannot take new material of its own.
    let second = random(32);
    let second_id = import_with(&us, &dir, &id, &second, None, Some(ImportType::NewKeyMaterial))
        .await
        .unwrap();
    let (c, _) = import_with(&eu, &dir, &id, &random(32), None, Some(ImportType::NewKeyMaterial))
        .await
        .unwrap_err();
    assert_eq!(c, "IncorrectKeyMaterialException");
    let (c, m) = error(us.rotate_key_on_demand().key_id(&id).send().await);
    assert_eq!(c, "KMSInvalidStateException");
    assert!(m.contains("eu-west-1"), "{m}");
    assert_eq!(
        import_with(&eu, &dir, &id, &second, None, None).await.unwrap(),
        second_id,
        "the replica takes the primary's new material"
    );
    us.rotate_key_on_demand()
        .key_id(&id)
        .send()
        .await
        .expect("RotateKeyOnDemand");

    // The rotation reaches the replica: new ciphertexts decrypt in both regions, old ones too.
    let new_blob = encrypt(&us, &id, b"second material").await;
    assert_eq!(decrypt(&eu, &new_blob).await, b"second material");
    assert_eq!(decrypt(&eu, &old_blob).await, b"first material");
    let replica_md = eu
        .describe_key()
        .key_id(&id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(replica_md.key_state, Some(KeyState::Enabled));
    assert_eq!(replica_md.current_key_material_id.as_deref(), Some(second_id.as_str()));
    let from_eu = encrypt(&eu, &id, b"eu on the second material").await;
    assert_eq!(decrypt(&us, &from_eu).await, b"eu on the second material");

    // Material pending rotation deleted from the primary is gone from the replica too.
    let third = random(32);
    let third_id = import_with(&us, &dir, &id, &third, None, Some(ImportType::NewKeyMaterial))
        .await
        .unwrap();
    import_with(&eu, &dir, &id, &third, None, None).await.unwrap();
    us.delete_imported_key_material()
        .key_id(&id)
        .key_material_id(&third_id)
        .send()
        .await
        .unwrap();
    let listed = eu
        .list_key_rotations()
        .key_id(&id)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .rotations
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| r.key_material_id)
        .collect();
    assert!(ids.contains(&second_id), "{ids:?}");
    assert!(!ids.contains(&third_id), "{ids:?}");
}

#[tokio::test]
async fn an_imported_ecc_multi_region_key_and_its_replica_share_one_public_key() {
    let server = common::server().await;
    let us = common::client_in(&server, "us-east-1");
    let eu = common::client_in(&server, "eu-west-1");
    let dir = Dir::new();
    let id = us
        .create_key()
        .origin(OriginType::External)
        .multi_region(true)
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let pem = dir.path("p256.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &pem,
    ]);
    let pkcs8 = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &pem, "-outform", "DER"]);
    let spki = openssl(&["pkey", "-in", &pem, "-pubout", "-outform", "DER"]);
    import(&us, &dir, &id, AlgorithmSpec::RsaAesKeyWrapSha256, &pkcs8).await;
    us.replicate_key()
        .key_id(&id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    assert_eq!(state(&eu, &id).await, KeyState::PendingImport);
    assert_eq!(
        code(eu.get_public_key().key_id(&id).send().await),
        "KMSInvalidStateException"
    );
    // Another P-256 key is not the primary's material.
    let other = dir.path("other.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &other,
    ]);
    let other = openssl(&["pkcs8", "-topk8", "-nocrypt", "-in", &other, "-outform", "DER"]);
    let (public, token) = parameters(&eu, &id, WrappingKeySpec::Rsa2048, AlgorithmSpec::RsaAesKeyWrapSha256).await;
    let wrapped = openssl_wrap(&dir, &public, &AlgorithmSpec::RsaAesKeyWrapSha256, &other);
    assert_eq!(
        code(
            eu.import_key_material()
                .key_id(&id)
                .import_token(Blob::new(token))
                .encrypted_key_material(Blob::new(wrapped))
                .expiration_model(ExpirationModelType::KeyMaterialDoesNotExpire)
                .send()
                .await
        ),
        "IncorrectKeyMaterialException"
    );
    import(&eu, &dir, &id, AlgorithmSpec::RsaAesKeyWrapSha256, &pkcs8).await;
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);
    for kms in [&us, &eu] {
        let public = kms.get_public_key().key_id(&id).send().await.unwrap();
        assert_eq!(public.public_key.unwrap().into_inner(), spki);
    }
    // Signed in the replica's region, verified by OpenSSL with the primary material's public key.
    let message = b"signed by the replica";
    let signature = eu
        .sign()
        .key_id(&id)
        .message(Blob::new(message))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap()
        .into_inner();
    let public_pem = dir.path("p256.pub.pem");
    openssl(&["pkey", "-in", &pem, "-pubout", "-out", &public_pem]);
    let msg = dir.write("msg.bin", message);
    let sig = dir.write("sig.bin", &signature);
    let out = openssl(&["dgst", "-sha256", "-verify", &public_pem, "-signature", &sig, &msg]);
    assert!(String::from_utf8_lossy(&out).contains("Verified OK"));
}
