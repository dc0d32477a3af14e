//! The only module that touches cryptographic primitives: key material, the symmetric ciphertext envelope,
//! asymmetric signatures, RSA OAEP encryption, HMAC, ECDH and the wrapping of imported key material.
//!
//! Why a single module: everything here is built from the vetted RustCrypto crates (aes-gcm, rsa, p256/p384/
//! p521/k256, sha1/sha2, hmac) and nothing else — no hand-written primitives. Keeping them behind one small,
//! string-keyed API (algorithm names are the AWS wire strings) lets the service layers stay free of crypto
//! details, and lets the tests here check every output against an independent implementation (OpenSSL).
//!
//! Nothing in this module panics on caller-supplied input: malformed blobs, keys, digests and signatures all
//! come back as a [`CryptoError`] (or `Ok(false)` for a signature/MAC that does not verify).

pub mod agreement;
pub mod asym_encrypt;
pub mod certificate;
pub mod cipher;
pub mod components;
pub mod ed25519;
pub mod envelope;
pub mod kem;
pub mod keys;
pub mod mac;
pub mod mldsa;
pub mod sign;
#[cfg(test)]
pub(crate) mod testutil;
pub mod wrap;
pub mod x509;

pub use keys::{KeyMaterial, KeySpec};

use rand::RngCore;

/// Every failure of a cryptographic operation. The service layer maps these onto its own wire errors.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// Any envelope / ciphertext parse or authentication failure (deliberately uninformative).
    #[error("invalid ciphertext")]
    InvalidCiphertext,
    /// A `DIGEST` message whose length does not match the algorithm's digest length.
    #[error("{0}")]
    InvalidDigest(String),
    /// The operation or algorithm is not valid for this key spec (or not implemented, e.g. SM2).
    #[error("{0}")]
    Unsupported(String),
    /// Key material bytes that do not parse or do not match the key spec.
    #[error("{0}")]
    InvalidKey(String),
    /// Caller input that is well-formed but unusable with this key: an RSA OAEP plaintext that is too long,
    /// a peer public key that does not parse or is on another curve.
    #[error("{0}")]
    InvalidInput(String),
}

/// `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut out);
    out
}

/// SHA-256 of `data`: the integrity digest of non-secret formats (e.g. Key Vault backup blobs).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_has_the_requested_length_and_varies() {
        assert_eq!(random_bytes(0).len(), 0);
        let a = random_bytes(32);
        let b = random_bytes(32);
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
