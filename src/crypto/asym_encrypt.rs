//! RSA encryption with a typed padding ([`RsaPadding`]): PKCS#1 v1.5 and OAEP with SHA-1, SHA-256 or SHA-384 (the
//! same hash for MGF1, an empty label). Ciphertexts are raw RSA blocks (modulus-sized), so anything encrypted with
//! the public key by any standard library decrypts here, and vice versa. Each cloud maps its names onto
//! [`RsaPadding`] (AWS's `RSAES_OAEP_SHA_*` in `src/kms/algorithms.rs`, JOSE's `RSA-OAEP*` in the keys plane).

use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha1::Sha1;
use sha2::Sha256;

use super::{CryptoError, KeyMaterial};

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
