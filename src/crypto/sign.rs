//! Real asymmetric signatures, byte-compatible with what AWS KMS `Sign` returns and `Verify` accepts, so a
//! signature made here verifies with OpenSSL / any SDK against the `GetPublicKey` output, and vice versa.
//!
//! - `RSASSA_PSS_SHA_*`: RSASSA-PSS, MGF1 with the same hash, salt length = digest length.
//! - `RSASSA_PKCS1_V1_5_SHA_*`: RSASSA-PKCS1-v1_5 with the DigestInfo prefix.
//! - `ECDSA_SHA_*`: ECDSA, ASN.1 DER `Ecdsa-Sig-Value` (not the fixed-size r||s form).
//! - `ED25519_SHA_512`, `ED25519_PH_SHA_512`: in [`super::ed25519`]; `ML_DSA_SHAKE_256`: in [`super::mldsa`].
//!
//! Both message types go through the crates' *prehash* APIs: a `RAW` message is hashed here first, a
//! `DIGEST` message is taken as the hash (and must have exactly the digest's length). That is exactly KMS's
//! semantics: signing `sha256(m)` as `DIGEST` equals signing `m` as `RAW` with a SHA-256 algorithm.

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

/// Resolves `algorithm` for `spec`: the scheme and hash, or `Unsupported` if AWS would refuse the pairing.
fn resolve(spec: KeySpec, algorithm: &str) -> Result<(Scheme, Hash), CryptoError> {
    if !spec.signing_algorithms().contains(&algorithm) {
        return Err(if spec == KeySpec::Sm2 {
            super::keys::unsupported_sm2()
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
        return super::ed25519::sign(material.bytes(), algorithm, message_type, message);
    }
    if spec.is_ml_dsa() {
        return super::mldsa::sign(spec, material.bytes(), algorithm, message_type, message);
    }
    let (scheme, hash) = resolve(spec, algorithm)?;
    let hashed = prehash(spec, hash, algorithm, message_type, message)?;
    sign_digest(material, scheme, hash, &hashed, EcdsaEncoding::Der)
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
        return super::ed25519::verify(material.bytes(), algorithm, message_type, message, signature);
    }
    if spec.is_ml_dsa() {
        return super::mldsa::verify(spec, material.bytes(), algorithm, message_type, message, signature);
    }
    let (scheme, hash) = resolve(spec, algorithm)?;
    let hashed = prehash(spec, hash, algorithm, message_type, message)?;
    verify_digest(material, scheme, hash, &hashed, signature, EcdsaEncoding::Der)
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
    use crate::crypto::testutil::{openssl, openssl_available, openssl_ok, private_pem, public_pem, TempDir};

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
