//! RSA and ECDSA signatures over a digest, named by what they are ([`Scheme`], [`Hash`], [`EcdsaEncoding`]); each
//! cloud maps its own algorithm names onto these (AWS's in `src/kms/algorithms.rs`, JOSE's in
//! `src/keyvault/keys/crypto.rs`), so a signature made here verifies with OpenSSL or any JOSE library.
//!
//! - [`Scheme::Pss`]: RSASSA-PSS, MGF1 with the same hash, salt length = digest length.
//! - [`Scheme::Pkcs1`]: RSASSA-PKCS1-v1_5 with the DigestInfo prefix; [`sign_unprefixed`] without it.
//! - [`Scheme::Ecdsa`]: ECDSA on the key's curve, ASN.1 DER or fixed-size `r‖s`.
//!
//! Everything goes through the crates' *prehash* APIs: the caller hashes (or is given the hash).

use pkcs8::DecodePrivateKey;
use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256, Sha384, Sha512};
use signature::hazmat::{PrehashSigner, PrehashVerifier};

use super::{CryptoError, KeyMaterial, KeySpec};

/// How `Sign`/`Verify` interpret the message (`MessageType` on the wire; `EXTERNAL_MU` is ML-DSA only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    /// The message itself; it is hashed with the algorithm's hash.
    Raw,
    /// The precomputed hash of the message.
    Digest,
    /// ML-DSA only: the 64-byte message representative μ of FIPS 204 section 6.2.
    ExternalMu,
}

impl MessageType {
    /// Parses the wire string (`"RAW"`, `"DIGEST"`, `"EXTERNAL_MU"`).
    pub fn parse(s: &str) -> Option<MessageType> {
        match s {
            "RAW" => Some(MessageType::Raw),
            "DIGEST" => Some(MessageType::Digest),
            "EXTERNAL_MU" => Some(MessageType::ExternalMu),
            _ => None,
        }
    }

    /// The wire string.
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageType::Raw => "RAW",
            MessageType::Digest => "DIGEST",
            MessageType::ExternalMu => "EXTERNAL_MU",
        }
    }
}

/// The hash a signature is made over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Hash::Sha256 => 32,
            Hash::Sha384 => 48,
            Hash::Sha512 => 64,
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha256 => Sha256::digest(data).to_vec(),
            Hash::Sha384 => Sha384::digest(data).to_vec(),
            Hash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn pss(self) -> Pss {
        match self {
            Hash::Sha256 => Pss::new::<Sha256>(),
            Hash::Sha384 => Pss::new::<Sha384>(),
            Hash::Sha512 => Pss::new::<Sha512>(),
        }
    }

    fn pkcs1(self) -> Pkcs1v15Sign {
        match self {
            Hash::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
            Hash::Sha384 => Pkcs1v15Sign::new::<Sha384>(),
            Hash::Sha512 => Pkcs1v15Sign::new::<Sha512>(),
        }
    }
}

/// A signature scheme, named by what it is (each cloud maps its own algorithm names onto these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// RSASSA-PSS, MGF1 with the signature's hash, salt length = digest length.
    Pss,
    /// RSASSA-PKCS1-v1_5 with the DigestInfo prefix.
    Pkcs1,
    /// ECDSA on the key's curve.
    Ecdsa,
}

/// How an ECDSA signature is encoded: ASN.1 DER `Ecdsa-Sig-Value` (X.509, AWS KMS) or the fixed-size `r‖s` of
/// JOSE (RFC 7518 section 3.4, Azure Key Vault).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcdsaEncoding {
    Der,
    Fixed,
}

/// ECDSA sign of a prehash with the given curve crate; returns the signature in the given encoding.
macro_rules! ecdsa_sign {
    ($curve:ident, $der:expr, $prehash:expr, $encoding:expr) => {{
        let secret = $curve::SecretKey::from_pkcs8_der($der)
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key does not parse: {e}")))?;
        let signing = $curve::ecdsa::SigningKey::from_bytes(&secret.to_bytes())
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key is not a signing key: {e}")))?;
        let sig: $curve::ecdsa::Signature = signing
            .sign_prehash($prehash)
            .map_err(|e| CryptoError::Unsupported(format!("ECDSA signing failed: {e}")))?;
        match $encoding {
            EcdsaEncoding::Der => sig.to_der().as_bytes().to_vec(),
            EcdsaEncoding::Fixed => sig.to_bytes().to_vec(),
        }
    }};
}

/// ECDSA verify of a signature in the given encoding over a prehash with the given curve crate.
macro_rules! ecdsa_verify {
    ($curve:ident, $der:expr, $prehash:expr, $sig:expr, $encoding:expr) => {{
        let secret = $curve::SecretKey::from_pkcs8_der($der)
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key does not parse: {e}")))?;
        let signing = $curve::ecdsa::SigningKey::from_bytes(&secret.to_bytes())
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key is not a signing key: {e}")))?;
        let verifying = $curve::ecdsa::VerifyingKey::from(&signing);
        let parsed = match $encoding {
            EcdsaEncoding::Der => $curve::ecdsa::Signature::from_der($sig),
            EcdsaEncoding::Fixed => $curve::ecdsa::Signature::from_slice($sig),
        };
        match parsed {
            // ECDSA accepts (r, s) and (r, n - s) alike; k256 insists on low-S, AWS (and OpenSSL) do not.
            Ok(sig) => verifying
                .verify_prehash($prehash, &sig.normalize_s().unwrap_or(sig))
                .is_ok(),
            Err(_) => false,
        }
    }};
}

/// Signs a precomputed `digest` (of `hash`'s length) with `scheme`. RSA schemes need an RSA key, ECDSA an EC key;
/// the signature is randomised (PSS salt, ECDSA nonce), never the same twice.
pub fn sign_digest(
    material: &KeyMaterial,
    scheme: Scheme,
    hash: Hash,
    digest: &[u8],
    encoding: EcdsaEncoding,
) -> Result<Vec<u8>, CryptoError> {
    let spec = material.spec();
    if digest.len() != hash.output_len() {
        return Err(CryptoError::InvalidDigest(format!(
            "the digest is {} bytes; {hash:?} digests are {} bytes",
            digest.len(),
            hash.output_len()
        )));
    }
    let signature = match scheme {
        Scheme::Pss | Scheme::Pkcs1 => {
            let key: RsaPrivateKey = material.rsa_private_key()?;
            let result = if scheme == Scheme::Pss {
                key.sign_with_rng(&mut rand::rngs::OsRng, hash.pss(), digest)
            } else {
                key.sign_with_rng(&mut rand::rngs::OsRng, hash.pkcs1(), digest)
            };
            result.map_err(|e| CryptoError::Unsupported(format!("RSA signing failed: {e}")))?
        }
        Scheme::Ecdsa => match spec {
            KeySpec::EccNistP256 => ecdsa_sign!(p256, material.bytes(), digest, encoding),
            KeySpec::EccNistP384 => ecdsa_sign!(p384, material.bytes(), digest, encoding),
            KeySpec::EccNistP521 => ecdsa_sign!(p521, material.bytes(), digest, encoding),
            KeySpec::EccSecgP256k1 => ecdsa_sign!(k256, material.bytes(), digest, encoding),
            other => return Err(CryptoError::Unsupported(format!("{other} keys cannot sign with ECDSA"))),
        },
    };
    Ok(signature)
}

/// Verifies `signature` over a precomputed `digest`; `Ok(false)` for a wrong, garbled or wrongly sized signature.
pub fn verify_digest(
    material: &KeyMaterial,
    scheme: Scheme,
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
    encoding: EcdsaEncoding,
) -> Result<bool, CryptoError> {
    let spec = material.spec();
    if digest.len() != hash.output_len() {
        return Err(CryptoError::InvalidDigest(format!(
            "the digest is {} bytes; {hash:?} digests are {} bytes",
            digest.len(),
            hash.output_len()
        )));
    }
    let ok = match scheme {
        Scheme::Pss | Scheme::Pkcs1 => {
            let key = RsaPublicKey::from(material.rsa_private_key()?);
            if scheme == Scheme::Pss {
                key.verify(hash.pss(), digest, signature).is_ok()
            } else {
                key.verify(hash.pkcs1(), digest, signature).is_ok()
            }
        }
        Scheme::Ecdsa => match spec {
            KeySpec::EccNistP256 => ecdsa_verify!(p256, material.bytes(), digest, signature, encoding),
            KeySpec::EccNistP384 => ecdsa_verify!(p384, material.bytes(), digest, signature, encoding),
            KeySpec::EccNistP521 => ecdsa_verify!(p521, material.bytes(), digest, signature, encoding),
            KeySpec::EccSecgP256k1 => ecdsa_verify!(k256, material.bytes(), digest, signature, encoding),
            other => return Err(CryptoError::Unsupported(format!("{other} keys cannot verify ECDSA"))),
        },
    };
    Ok(ok)
}

/// RSASSA-PKCS1-v1_5 over `data` as given, without a DigestInfo prefix (JOSE's `RSNULL`): the caller has encoded
/// what is signed. `data` may be at most the modulus length minus 11 bytes.
pub fn sign_unprefixed(material: &KeyMaterial, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = material.rsa_private_key()?;
    key.sign_with_rng(&mut rand::rngs::OsRng, Pkcs1v15Sign::new_unprefixed(), data)
        .map_err(|e| CryptoError::InvalidInput(format!("RSA signing failed: {e}")))
}

/// Verifies a [`sign_unprefixed`] signature.
pub fn verify_unprefixed(material: &KeyMaterial, data: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
    let key = RsaPublicKey::from(material.rsa_private_key()?);
    Ok(key.verify(Pkcs1v15Sign::new_unprefixed(), data, signature).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both ECDSA encodings round-trip and are not taken for each other; a digest of the wrong length is refused.
    #[test]
    fn ecdsa_encodings_and_digest_lengths() {
        let key = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let digest = Hash::Sha384.digest(b"m");
        let fixed = sign_digest(&key, Scheme::Ecdsa, Hash::Sha384, &digest, EcdsaEncoding::Fixed).unwrap();
        let der = sign_digest(&key, Scheme::Ecdsa, Hash::Sha384, &digest, EcdsaEncoding::Der).unwrap();
        assert_eq!(fixed.len(), 96);
        assert_eq!(der[0], 0x30);
        for (sig, enc) in [(&fixed, EcdsaEncoding::Fixed), (&der, EcdsaEncoding::Der)] {
            assert!(verify_digest(&key, Scheme::Ecdsa, Hash::Sha384, &digest, sig, enc).unwrap());
        }
        assert!(!verify_digest(&key, Scheme::Ecdsa, Hash::Sha384, &digest, &der, EcdsaEncoding::Fixed).unwrap());
        assert!(!verify_digest(&key, Scheme::Ecdsa, Hash::Sha384, &digest, &fixed, EcdsaEncoding::Der).unwrap());
        assert!(matches!(
            sign_digest(&key, Scheme::Ecdsa, Hash::Sha256, &digest, EcdsaEncoding::Fixed),
            Err(CryptoError::InvalidDigest(_))
        ));
    }
}
