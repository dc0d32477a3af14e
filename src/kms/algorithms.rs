//! AWS KMS's algorithm names mapped onto [`crate::crypto`]'s typed algorithms: `SigningAlgorithm` with
//! `MessageType` (RAW messages hashed here, DIGEST messages length-checked with AWS's wording) and the RSA
//! `EncryptionAlgorithm`s. Signatures are byte-compatible with what AWS KMS `Sign` returns and `Verify` accepts:
//!
//! - `RSASSA_PSS_SHA_*`: RSASSA-PSS, MGF1 with the same hash, salt length = digest length.
//! - `RSASSA_PKCS1_V1_5_SHA_*`: RSASSA-PKCS1-v1_5 with the DigestInfo prefix.
//! - `ECDSA_SHA_*`: ECDSA, ASN.1 DER `Ecdsa-Sig-Value` (not the fixed-size r||s form).
//! - `ED25519_SHA_512`, `ED25519_PH_SHA_512` and `ML_DSA_SHAKE_256` go to [`crate::crypto::ed25519`] and
//!   [`crate::crypto::mldsa`], which take these names themselves.
//!
//! Signing `sha256(m)` as `DIGEST` equals signing `m` as `RAW` with a SHA-256 algorithm, as on AWS.
//! `RSAES_OAEP_SHA_1`/`_256`: OAEP with the same hash for MGF1 and an empty label; plaintext limits
//! `k - 2·hLen - 2` bytes (214/190 for RSA_2048, 342/318 for RSA_3072, 470/446 for RSA_4096).

use crate::crypto::asym_encrypt::{rsa_decrypt, rsa_encrypt, RsaPadding};
use crate::crypto::sign::{sign_digest, verify_digest, EcdsaEncoding, Hash, MessageType, Scheme};
use crate::crypto::{CryptoError, KeyMaterial, KeySpec};

/// Resolves `algorithm` for `spec`: the scheme and hash, or `Unsupported` if AWS would refuse the pairing.
fn resolve(spec: KeySpec, algorithm: &str) -> Result<(Scheme, Hash), CryptoError> {
    if !spec.signing_algorithms().contains(&algorithm) {
        return Err(if spec == KeySpec::Sm2 {
            crate::crypto::keys::unsupported_sm2()
        } else if spec.signing_algorithms().is_empty() {
            CryptoError::Unsupported(format!("{spec} keys cannot sign or verify"))
        } else {
            CryptoError::Unsupported(format!(
                "signing algorithm {algorithm} is not valid for {spec} keys; valid algorithms: {}",
                spec.signing_algorithms().join(", ")
            ))
        });
    }
    let found = match algorithm {
        "RSASSA_PSS_SHA_256" => (Scheme::Pss, Hash::Sha256),
        "RSASSA_PSS_SHA_384" => (Scheme::Pss, Hash::Sha384),
        "RSASSA_PSS_SHA_512" => (Scheme::Pss, Hash::Sha512),
        "RSASSA_PKCS1_V1_5_SHA_256" => (Scheme::Pkcs1, Hash::Sha256),
        "RSASSA_PKCS1_V1_5_SHA_384" => (Scheme::Pkcs1, Hash::Sha384),
        "RSASSA_PKCS1_V1_5_SHA_512" => (Scheme::Pkcs1, Hash::Sha512),
        "ECDSA_SHA_256" => (Scheme::Ecdsa, Hash::Sha256),
        "ECDSA_SHA_384" => (Scheme::Ecdsa, Hash::Sha384),
        "ECDSA_SHA_512" => (Scheme::Ecdsa, Hash::Sha512),
        other => {
            return Err(CryptoError::Unsupported(format!(
                "signing algorithm {other} is not supported"
            )))
        }
    };
    Ok(found)
}

/// The hash to sign: the message hashed (`Raw`) or the message itself after a length check (`Digest`).
fn prehash(
    spec: KeySpec,
    hash: Hash,
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    match message_type {
        MessageType::Raw => Ok(hash.digest(message)),
        MessageType::Digest if message.len() == hash.output_len() => Ok(message.to_vec()),
        // The message AWS returns (as a ValidationException).
        MessageType::Digest => Err(CryptoError::InvalidDigest(format!(
            "Digest is invalid length for algorithm {algorithm}."
        ))),
        // EXTERNAL_MU is ML-DSA's (mldsa.rs); AWS's wording for a message type the key spec does not take.
        MessageType::ExternalMu => Err(CryptoError::InvalidInput(format!(
            "Message type EXTERNAL_MU is incompatible with key spec {spec}."
        ))),
    }
}

/// Signs `message` with `material` using the AWS `algorithm` (e.g. `"RSASSA_PSS_SHA_256"`, `"ECDSA_SHA_384"`;
/// Ed25519 and ML-DSA keys go to [`super::ed25519`] and [`super::mldsa`], which have their own message rules).
/// Errors: `Unsupported` for an algorithm not valid for the key spec, `InvalidDigest` for a `Digest` message of
/// the wrong length, `InvalidKey` for unusable stored material.
pub fn sign(
    material: &KeyMaterial,
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let spec = material.spec();
    if spec == KeySpec::EccNistEdwards25519 {
        return crate::crypto::ed25519::sign(material.bytes(), algorithm, message_type, message);
    }
    if spec.is_ml_dsa() {
        return crate::crypto::mldsa::sign(spec, material.bytes(), algorithm, message_type, message);
    }
    let (scheme, hash) = resolve(spec, algorithm)?;
    let hashed = prehash(spec, hash, algorithm, message_type, message)?;
    sign_digest(material, scheme, hash, &hashed, EcdsaEncoding::Der)
}

/// Verifies `signature` over `message`. `Ok(false)` for a signature that is wrong, garbled or of the wrong
/// length; errors only for the same caller mistakes as [`sign`] (bad algorithm, bad digest length, bad key).
pub fn verify(
    material: &KeyMaterial,
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let spec = material.spec();
    if spec == KeySpec::EccNistEdwards25519 {
        return crate::crypto::ed25519::verify(material.bytes(), algorithm, message_type, message, signature);
    }
    if spec.is_ml_dsa() {
        return crate::crypto::mldsa::verify(spec, material.bytes(), algorithm, message_type, message, signature);
    }
    let (scheme, hash) = resolve(spec, algorithm)?;
    let hashed = prehash(spec, hash, algorithm, message_type, message)?;
    verify_digest(material, scheme, hash, &hashed, signature, EcdsaEncoding::Der)
}

/// The OAEP padding of an AWS RSA `EncryptionAlgorithm` for `spec`.
fn rsa_padding(spec: KeySpec, algorithm: &str) -> Result<RsaPadding, CryptoError> {
    let padding = match algorithm {
        "RSAES_OAEP_SHA_1" => Some(RsaPadding::OaepSha1),
        "RSAES_OAEP_SHA_256" => Some(RsaPadding::OaepSha256),
        _ => None,
    };
    match padding {
        Some(padding) if spec.is_rsa() => Ok(padding),
        _ if spec == KeySpec::Sm2 => Err(crate::crypto::keys::unsupported_sm2()),
        _ if spec.is_rsa() => Err(CryptoError::Unsupported(format!(
            "encryption algorithm {algorithm} is not valid for {spec} keys; valid algorithms: {}",
            spec.encryption_algorithms().join(", ")
        ))),
        _ => Err(CryptoError::Unsupported(format!(
            "{spec} keys cannot encrypt with RSA OAEP ({algorithm})"
        ))),
    }
}

/// The largest plaintext `algorithm` can encrypt under an RSA key of `spec` (e.g. 190 for RSA_2048 with
/// `RSAES_OAEP_SHA_256`).
pub fn max_plaintext_len(spec: KeySpec, algorithm: &str) -> Result<usize, CryptoError> {
    let padding = rsa_padding(spec, algorithm)?;
    Ok(padding.max_plaintext_len(spec.rsa_bits().unwrap_or(0) / 8))
}

/// Encrypts with the public half of an RSA `material` (OAEP, random padding). Too long a plaintext →
/// [`CryptoError::InvalidInput`]; a non-RSA key or an unknown algorithm → [`CryptoError::Unsupported`].
pub fn encrypt(material: &KeyMaterial, algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let spec = material.spec();
    let max = max_plaintext_len(spec, algorithm)?;
    if plaintext.len() > max {
        return Err(CryptoError::InvalidInput(format!(
            "plaintext is {} bytes; {spec} with this algorithm encrypts at most {max} bytes",
            plaintext.len()
        )));
    }
    rsa_encrypt(material, rsa_padding(spec, algorithm)?, plaintext)
}

/// Decrypts an OAEP ciphertext; one not exactly one modulus long, made for another key or with another
/// algorithm → [`CryptoError::InvalidCiphertext`].
pub fn decrypt(material: &KeyMaterial, algorithm: &str, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    rsa_decrypt(material, rsa_padding(material.spec(), algorithm)?, ciphertext)
}

#[cfg(test)]
mod signing_tests {
    use super::*;
    use crate::crypto::testutil::{openssl, openssl_available, openssl_ok, private_pem, public_pem, TempDir};
    use sha2::{Digest, Sha256, Sha384, Sha512};

    const MESSAGE: &[u8] = b"trent signs this message; OpenSSL checks it.\n";

    fn dgst_flag(algorithm: &str) -> &'static str {
        if algorithm.ends_with("256") {
            "-sha256"
        } else if algorithm.ends_with("384") {
            "-sha384"
        } else {
            "-sha512"
        }
    }

    fn sigopts(algorithm: &str) -> Vec<&'static str> {
        if algorithm.starts_with("RSASSA_PSS") {
            vec!["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
        } else {
            vec![]
        }
    }

    /// Verifies `signature` over MESSAGE with `openssl dgst -verify`.
    fn openssl_verifies(dir: &TempDir, pub_pem: &str, algorithm: &str, signature: &[u8]) -> bool {
        dir.write("msg", MESSAGE);
        dir.write("sig.bin", signature);
        let mut args = vec![
            "dgst",
            dgst_flag(algorithm),
            "-verify",
            pub_pem,
            "-signature",
            "sig.bin",
        ];
        args.extend(sigopts(algorithm));
        args.push("msg");
        let (ok, text) = openssl(dir, &args);
        ok && text.contains("Verified OK")
    }

    /// Has openssl sign MESSAGE with the private key.
    fn openssl_sign(dir: &TempDir, priv_pem: &str, algorithm: &str) -> Vec<u8> {
        dir.write("msg", MESSAGE);
        let mut args = vec!["dgst", dgst_flag(algorithm), "-sign", priv_pem, "-out", "ossl.sig"];
        args.extend(sigopts(algorithm));
        args.push("msg");
        openssl_ok(dir, &args);
        dir.read("ossl.sig")
    }

    fn digest_of(algorithm: &str, data: &[u8]) -> Vec<u8> {
        match dgst_flag(algorithm) {
            "-sha256" => Sha256::digest(data).to_vec(),
            "-sha384" => Sha384::digest(data).to_vec(),
            _ => Sha512::digest(data).to_vec(),
        }
    }

    /// Every algorithm of the spec: RAW and DIGEST signatures verified by openssl, openssl's signatures
    /// verified by us, tampering detected. One key per spec.
    fn check_spec(spec: KeySpec) {
        let started = std::time::Instant::now();
        let key = KeyMaterial::generate(spec).unwrap();
        eprintln!("{spec}: keygen {:?}", started.elapsed());
        let have_openssl = openssl_available(&format!("sign::{spec}"));
        let dir = TempDir::new();
        let (pub_pem, priv_pem) = if have_openssl {
            (
                public_pem(&dir, "pub", &key.public_key_der().unwrap()),
                private_pem(&dir, "priv", key.bytes()),
            )
        } else {
            (String::new(), String::new())
        };
        assert!(!spec.signing_algorithms().is_empty());
        for &alg in spec.signing_algorithms() {
            let raw = sign(&key, alg, MessageType::Raw, MESSAGE).unwrap();
            let digest = digest_of(alg, MESSAGE);
            let pre = sign(&key, alg, MessageType::Digest, &digest).unwrap();
            for sig in [&raw, &pre] {
                assert!(
                    verify(&key, alg, MessageType::Raw, MESSAGE, sig).unwrap(),
                    "{spec} {alg}"
                );
                assert!(
                    verify(&key, alg, MessageType::Digest, &digest, sig).unwrap(),
                    "{spec} {alg}"
                );
                assert!(!verify(&key, alg, MessageType::Raw, b"another message", sig).unwrap());
                let mut bad = sig.clone();
                let last = bad.len() - 1;
                bad[last] ^= 0x01;
                assert!(
                    !verify(&key, alg, MessageType::Raw, MESSAGE, &bad).unwrap(),
                    "{spec} {alg} tampered"
                );
                assert!(!verify(&key, alg, MessageType::Raw, MESSAGE, &bad[..last]).unwrap());
            }
            assert!(!verify(&key, alg, MessageType::Raw, MESSAGE, b"").unwrap());
            assert!(!verify(&key, alg, MessageType::Raw, MESSAGE, &[0x30; 9]).unwrap());
            // DIGEST of the wrong length
            let short = &digest[..digest.len() - 1];
            let err = sign(&key, alg, MessageType::Digest, short).unwrap_err();
            assert!(matches!(err, CryptoError::InvalidDigest(_)), "{err}");
            assert_eq!(
                err.to_string(),
                format!("Digest is invalid length for algorithm {alg}.")
            );
            let mut long = digest.clone();
            long.push(0);
            assert!(matches!(
                sign(&key, alg, MessageType::Digest, &long),
                Err(CryptoError::InvalidDigest(_))
            ));
            assert!(matches!(
                verify(&key, alg, MessageType::Digest, short, &raw),
                Err(CryptoError::InvalidDigest(_))
            ));
            if have_openssl {
                assert!(
                    openssl_verifies(&dir, &pub_pem, alg, &raw),
                    "openssl rejects {spec} {alg} RAW"
                );
                assert!(
                    openssl_verifies(&dir, &pub_pem, alg, &pre),
                    "openssl rejects {spec} {alg} DIGEST"
                );
                let mut bad = raw.clone();
                bad[4] ^= 0x40;
                assert!(!openssl_verifies(&dir, &pub_pem, alg, &bad));
                let theirs = openssl_sign(&dir, &priv_pem, alg);
                assert!(
                    verify(&key, alg, MessageType::Raw, MESSAGE, &theirs).unwrap(),
                    "{spec} {alg} openssl sig"
                );
            }
        }
        eprintln!("{spec}: all algorithms {:?}", started.elapsed());
    }

    #[test]
    fn rsa_2048_all_algorithms_interoperate_with_openssl() {
        check_spec(KeySpec::Rsa2048);
    }

    #[test]
    fn rsa_3072_all_algorithms_interoperate_with_openssl() {
        check_spec(KeySpec::Rsa3072);
    }

    #[test]
    fn rsa_4096_all_algorithms_interoperate_with_openssl() {
        check_spec(KeySpec::Rsa4096);
    }

    #[test]
    fn ecc_all_curves_interoperate_with_openssl() {
        for spec in [
            KeySpec::EccNistP256,
            KeySpec::EccNistP384,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
        ] {
            check_spec(spec);
        }
    }

    #[test]
    fn ecdsa_signatures_are_der() {
        let key = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let sig = sign(&key, "ECDSA_SHA_384", MessageType::Raw, MESSAGE).unwrap();
        assert_eq!(sig[0], 0x30, "DER SEQUENCE");
        assert!(sig.len() <= 104 && sig.len() > 96, "{}", sig.len());
    }

    #[test]
    fn high_s_secp256k1_signatures_verify_like_aws() {
        let key = KeyMaterial::generate(KeySpec::EccSecgP256k1).unwrap();
        let der = sign(&key, "ECDSA_SHA_256", MessageType::Raw, MESSAGE).unwrap();
        let sig = k256::ecdsa::Signature::from_der(&der).unwrap();
        let flipped = k256::ecdsa::Signature::from_scalars(sig.r().to_bytes(), (-*sig.s()).to_bytes()).unwrap();
        let (low, high) = match flipped.normalize_s() {
            Some(_) => (sig, flipped),
            None => (flipped, sig),
        };
        for s in [low, high] {
            let der = s.to_der();
            assert!(verify(&key, "ECDSA_SHA_256", MessageType::Raw, MESSAGE, der.as_bytes()).unwrap());
        }
    }

    #[test]
    fn wrong_algorithm_or_key_is_unsupported() {
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        for alg in ["ECDSA_SHA_384", "RSASSA_PSS_SHA_256", "SM2DSA", "NOPE", ""] {
            let err = sign(&p256, alg, MessageType::Raw, MESSAGE).unwrap_err();
            assert!(matches!(err, CryptoError::Unsupported(_)), "{alg}: {err}");
            assert!(err.to_string().contains("ECDSA_SHA_256"), "{err}");
            assert!(matches!(
                verify(&p256, alg, MessageType::Raw, MESSAGE, b"x"),
                Err(CryptoError::Unsupported(_))
            ));
        }
        let aes = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        assert!(matches!(
            sign(&aes, "ECDSA_SHA_256", MessageType::Raw, MESSAGE),
            Err(CryptoError::Unsupported(_))
        ));
        let hmac = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        assert!(matches!(
            sign(&hmac, "HMAC_SHA_256", MessageType::Raw, MESSAGE),
            Err(CryptoError::Unsupported(_))
        ));
        assert_eq!(MessageType::parse("DIGEST"), Some(MessageType::Digest));
        assert_eq!(MessageType::parse("EXTERNAL_MU"), Some(MessageType::ExternalMu));
        assert_eq!(MessageType::parse("external_mu"), None);
        let err = sign(&p256, "ECDSA_SHA_256", MessageType::ExternalMu, &[0; 64]).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidInput(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "Message type EXTERNAL_MU is incompatible with key spec ECC_NIST_P256."
        );
        for mt in [MessageType::Raw, MessageType::Digest, MessageType::ExternalMu] {
            assert_eq!(MessageType::parse(mt.as_str()), Some(mt));
        }
    }
}

#[cfg(test)]
mod encryption_tests {
    use super::*;
    use crate::crypto::testutil::{openssl_available, openssl_ok, private_pem, public_pem, TempDir};

    const ALGS: [(&str, &str); 2] = [("RSAES_OAEP_SHA_1", "sha1"), ("RSAES_OAEP_SHA_256", "sha256")];

    /// One key per size: our ciphertexts decrypted by `openssl pkeyutl`, openssl's decrypted by us, the
    /// documented plaintext limits enforced exactly.
    fn check_spec(spec: KeySpec, limits: [usize; 2]) {
        let key = KeyMaterial::generate(spec).unwrap();
        let have_openssl = openssl_available(&format!("asym_encrypt::{spec}"));
        let dir = TempDir::new();
        let (pub_pem, priv_pem) = if have_openssl {
            (
                public_pem(&dir, "pub", &key.public_key_der().unwrap()),
                private_pem(&dir, "priv", key.bytes()),
            )
        } else {
            (String::new(), String::new())
        };
        for ((alg, md), limit) in ALGS.into_iter().zip(limits) {
            assert_eq!(max_plaintext_len(spec, alg).unwrap(), limit, "{spec} {alg}");
            let plaintext: Vec<u8> = (0..limit).map(|i| (i * 7 + 3) as u8).collect();
            let ct = encrypt(&key, alg, &plaintext).unwrap();
            assert_eq!(ct.len(), spec.rsa_bits().unwrap() / 8);
            assert_eq!(decrypt(&key, alg, &ct).unwrap(), plaintext);
            let again = encrypt(&key, alg, &plaintext).unwrap();
            assert_ne!(again, ct, "OAEP is randomized");
            assert_eq!(decrypt(&key, alg, &again).unwrap(), plaintext);
            let too_long = vec![1u8; limit + 1];
            assert!(matches!(
                encrypt(&key, alg, &too_long),
                Err(CryptoError::InvalidInput(_))
            ));
            // wrong algorithm, tampering, truncation
            let other = if alg == "RSAES_OAEP_SHA_1" {
                "RSAES_OAEP_SHA_256"
            } else {
                "RSAES_OAEP_SHA_1"
            };
            assert!(matches!(decrypt(&key, other, &ct), Err(CryptoError::InvalidCiphertext)));
            let mut bad = ct.clone();
            bad[10] ^= 1;
            assert!(matches!(decrypt(&key, alg, &bad), Err(CryptoError::InvalidCiphertext)));
            assert!(matches!(
                decrypt(&key, alg, &ct[1..]),
                Err(CryptoError::InvalidCiphertext)
            ));
            assert!(matches!(decrypt(&key, alg, b""), Err(CryptoError::InvalidCiphertext)));
            if have_openssl {
                let oaep_md = format!("rsa_oaep_md:{md}");
                let mgf1_md = format!("rsa_mgf1_md:{md}");
                let opts = [
                    "-pkeyopt",
                    "rsa_padding_mode:oaep",
                    "-pkeyopt",
                    &oaep_md,
                    "-pkeyopt",
                    &mgf1_md,
                ];
                dir.write("ct.bin", &ct);
                let mut args = vec![
                    "pkeyutl", "-decrypt", "-inkey", &priv_pem, "-in", "ct.bin", "-out", "pt.bin",
                ];
                args.extend(opts);
                openssl_ok(&dir, &args);
                assert_eq!(dir.read("pt.bin"), plaintext, "openssl decrypts our {spec} {alg}");
                dir.write("msg.bin", b"from openssl");
                let mut args = vec![
                    "pkeyutl", "-encrypt", "-pubin", "-inkey", &pub_pem, "-in", "msg.bin", "-out", "oct.bin",
                ];
                args.extend(opts);
                openssl_ok(&dir, &args);
                assert_eq!(
                    decrypt(&key, alg, &dir.read("oct.bin")).unwrap(),
                    b"from openssl",
                    "{spec} {alg}"
                );
            }
        }
    }

    #[test]
    fn rsa_2048_oaep_interoperates_with_openssl() {
        check_spec(KeySpec::Rsa2048, [214, 190]);
    }

    #[test]
    fn rsa_3072_oaep_interoperates_with_openssl() {
        check_spec(KeySpec::Rsa3072, [342, 318]);
    }

    #[test]
    fn rsa_4096_oaep_interoperates_with_openssl() {
        check_spec(KeySpec::Rsa4096, [470, 446]);
    }

    #[test]
    fn wrong_keys_and_algorithms_are_unsupported() {
        let aes = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        assert!(matches!(
            encrypt(&aes, "RSAES_OAEP_SHA_256", b"x"),
            Err(CryptoError::Unsupported(_))
        ));
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(matches!(
            decrypt(&p256, "RSAES_OAEP_SHA_1", &[0; 256]),
            Err(CryptoError::Unsupported(_))
        ));
        let err = max_plaintext_len(KeySpec::Rsa2048, "SYMMETRIC_DEFAULT").unwrap_err();
        assert!(err.to_string().contains("RSAES_OAEP_SHA_256"), "{err}");
    }
}
