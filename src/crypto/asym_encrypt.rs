//! RSA OAEP encryption for KMS `Encrypt` / `Decrypt` with RSA keys (`RSAES_OAEP_SHA_1`, `RSAES_OAEP_SHA_256`).
//!
//! AWS uses the same hash for OAEP and MGF1 and an empty label, which is `rsa::Oaep::new::<H>()`. Ciphertexts
//! are raw RSA blocks (modulus-sized), so anything encrypted with the public key from `GetPublicKey` by any
//! standard library decrypts here, and vice versa. Plaintext limits follow from the padding:
//! `k - 2·hLen - 2` bytes — 214/190 (RSA_2048), 342/318 (RSA_3072), 470/446 (RSA_4096) for SHA-1/SHA-256.

use pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha1::Sha1;
use sha2::Sha256;

use super::{CryptoError, KeyMaterial, KeySpec};

#[derive(Clone, Copy)]
enum OaepHash {
    Sha1,
    Sha256,
}

impl OaepHash {
    fn len(self) -> usize {
        match self {
            OaepHash::Sha1 => 20,
            OaepHash::Sha256 => 32,
        }
    }

    fn padding(self) -> Oaep {
        match self {
            OaepHash::Sha1 => Oaep::new::<Sha1>(),
            OaepHash::Sha256 => Oaep::new::<Sha256>(),
        }
    }
}

fn resolve(spec: KeySpec, algorithm: &str) -> Result<OaepHash, CryptoError> {
    let hash = match algorithm {
        "RSAES_OAEP_SHA_1" => Some(OaepHash::Sha1),
        "RSAES_OAEP_SHA_256" => Some(OaepHash::Sha256),
        _ => None,
    };
    match hash {
        Some(hash) if spec.is_rsa() => Ok(hash),
        _ if spec == KeySpec::Sm2 => Err(super::keys::unsupported_sm2()),
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
    let hash = resolve(spec, algorithm)?;
    let modulus_bytes = spec.rsa_bits().unwrap_or(0) / 8;
    Ok(modulus_bytes.saturating_sub(2 * hash.len() + 2))
}

fn encrypt_to(key: &RsaPublicKey, spec: KeySpec, hash: OaepHash, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let max = key.size().saturating_sub(2 * hash.len() + 2);
    if plaintext.len() > max {
        return Err(CryptoError::InvalidInput(format!(
            "plaintext is {} bytes; {spec} with this algorithm encrypts at most {max} bytes",
            plaintext.len()
        )));
    }
    key.encrypt(&mut rand::rngs::OsRng, hash.padding(), plaintext)
        .map_err(|e| CryptoError::InvalidInput(format!("RSA encryption failed: {e}")))
}

/// Encrypts `plaintext` with the public half of an RSA `material` (OAEP, random padding: never the same
/// output twice). Too long a plaintext → [`CryptoError::InvalidInput`]; a non-RSA key or an unknown
/// algorithm → [`CryptoError::Unsupported`].
pub fn encrypt(material: &KeyMaterial, algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let hash = resolve(material.spec(), algorithm)?;
    let key = RsaPublicKey::from(material.rsa_private_key()?);
    encrypt_to(&key, material.spec(), hash, plaintext)
}

/// Encrypts to an RSA public key given as SubjectPublicKeyInfo DER (a `GetPublicKey` result, or a client's
/// key); the key size must be one of the RSA key specs. Unparseable or non-RSA keys → `InvalidInput`.
pub fn encrypt_to_public_key(spki_der: &[u8], algorithm: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = RsaPublicKey::from_public_key_der(spki_der)
        .map_err(|e| CryptoError::InvalidInput(format!("public key is not a DER RSA SubjectPublicKeyInfo: {e}")))?;
    let spec = match key.n().bits() {
        2048 => KeySpec::Rsa2048,
        3072 => KeySpec::Rsa3072,
        4096 => KeySpec::Rsa4096,
        bits => {
            return Err(CryptoError::InvalidInput(format!(
                "{bits}-bit RSA public keys are not supported"
            )))
        }
    };
    let hash = resolve(spec, algorithm)?;
    encrypt_to(&key, spec, hash, plaintext)
}

/// Decrypts an OAEP ciphertext with an RSA `material`. A ciphertext that is not exactly one modulus long,
/// was made for another key or with another algorithm → [`CryptoError::InvalidCiphertext`].
pub fn decrypt(material: &KeyMaterial, algorithm: &str, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let hash = resolve(material.spec(), algorithm)?;
    let key = material.rsa_private_key()?;
    if ciphertext.len() != key.size() {
        return Err(CryptoError::InvalidCiphertext);
    }
    key.decrypt_blinded(&mut rand::rngs::OsRng, hash.padding(), ciphertext)
        .map_err(|_| CryptoError::InvalidCiphertext)
}

/// An RSA encryption padding, named by what it is (each cloud maps its own algorithm names onto these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaPadding {
    /// RSAES-PKCS1-v1_5.
    Pkcs1v15,
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
    OaepSha1,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    OaepSha256,
    /// RSAES-OAEP with SHA-384 and MGF1-SHA-384.
    OaepSha384,
}

impl RsaPadding {
    /// The largest plaintext for a modulus of `modulus_bytes`.
    pub fn max_plaintext_len(self, modulus_bytes: usize) -> usize {
        match self {
            RsaPadding::Pkcs1v15 => modulus_bytes.saturating_sub(11),
            RsaPadding::OaepSha1 => modulus_bytes.saturating_sub(2 * 20 + 2),
            RsaPadding::OaepSha256 => modulus_bytes.saturating_sub(2 * 32 + 2),
            RsaPadding::OaepSha384 => modulus_bytes.saturating_sub(2 * 48 + 2),
        }
    }
}

/// Encrypts `plaintext` with the public half of an RSA `material`. Too long a plaintext → `InvalidInput`.
pub fn rsa_encrypt(material: &KeyMaterial, padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    rsa_encrypt_to(&RsaPublicKey::from(material.rsa_private_key()?), padding, plaintext)
}

/// Encrypts `plaintext` to an RSA public key given as its modulus and exponent (big-endian), of any size the
/// `rsa` crate accepts (1024 to 16384 bits).
pub fn rsa_encrypt_to_parts(n: &[u8], e: &[u8], padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = RsaPublicKey::new(rsa::BigUint::from_bytes_be(n), rsa::BigUint::from_bytes_be(e))
        .map_err(|e| CryptoError::InvalidInput(format!("the RSA public key is invalid: {e}")))?;
    rsa_encrypt_to(&key, padding, plaintext)
}

fn rsa_encrypt_to(key: &RsaPublicKey, padding: RsaPadding, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let max = padding.max_plaintext_len(key.size());
    if plaintext.len() > max {
        return Err(CryptoError::InvalidInput(format!(
            "the plaintext is {} bytes; this key and padding encrypt at most {max} bytes",
            plaintext.len()
        )));
    }
    let mut rng = rand::rngs::OsRng;
    let out = match padding {
        RsaPadding::Pkcs1v15 => key.encrypt(&mut rng, rsa::Pkcs1v15Encrypt, plaintext),
        RsaPadding::OaepSha1 => key.encrypt(&mut rng, Oaep::new::<Sha1>(), plaintext),
        RsaPadding::OaepSha256 => key.encrypt(&mut rng, Oaep::new::<Sha256>(), plaintext),
        RsaPadding::OaepSha384 => key.encrypt(&mut rng, Oaep::new::<sha2::Sha384>(), plaintext),
    };
    out.map_err(|e| CryptoError::InvalidInput(format!("RSA encryption failed: {e}")))
}

/// Decrypts an RSA ciphertext; one that is not one modulus long or does not unpad is `InvalidCiphertext`.
pub fn rsa_decrypt(material: &KeyMaterial, padding: RsaPadding, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = material.rsa_private_key()?;
    if ciphertext.len() != key.size() {
        return Err(CryptoError::InvalidCiphertext);
    }
    let mut rng = rand::rngs::OsRng;
    let out = match padding {
        RsaPadding::Pkcs1v15 => key.decrypt_blinded(&mut rng, rsa::Pkcs1v15Encrypt, ciphertext),
        RsaPadding::OaepSha1 => key.decrypt_blinded(&mut rng, Oaep::new::<Sha1>(), ciphertext),
        RsaPadding::OaepSha256 => key.decrypt_blinded(&mut rng, Oaep::new::<Sha256>(), ciphertext),
        RsaPadding::OaepSha384 => key.decrypt_blinded(&mut rng, Oaep::new::<sha2::Sha384>(), ciphertext),
    };
    out.map_err(|_| CryptoError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
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
            let again = encrypt_to_public_key(&key.public_key_der().unwrap(), alg, &plaintext).unwrap();
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
        assert!(matches!(
            encrypt_to_public_key(&p256.public_key_der().unwrap(), "RSAES_OAEP_SHA_1", b"x"),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(matches!(
            encrypt_to_public_key(b"junk", "RSAES_OAEP_SHA_1", b"x"),
            Err(CryptoError::InvalidInput(_))
        ));
        let err = max_plaintext_len(KeySpec::Rsa2048, "SYMMETRIC_DEFAULT").unwrap_err();
        assert!(err.to_string().contains("RSAES_OAEP_SHA_256"), "{err}");
    }
}
