//! ML-DSA (FIPS 204) for the `ML_DSA_44/65/87` key specs, through RustCrypto's `ml-dsa` crate.
//!
//! Material is PKCS#8 DER in the seed-only form of the IETF LAMPS ML-DSA draft (the 32-byte `xi` seed of
//! `ML-DSA.KeyGen_internal`, `[0] IMPLICIT OCTET STRING`); the public key is SubjectPublicKeyInfo DER with the
//! NIST OIDs `id-ml-dsa-44/65/87` (2.16.840.1.101.3.4.3.17–19) and the raw public key as the BIT STRING.
//!
//! The one KMS signing algorithm `ML_DSA_SHAKE_256` is pure ML-DSA with an empty context (not HashML-DSA):
//! - `MessageType=RAW`: the message itself (the model caps it at 4096 bytes).
//! - `MessageType=EXTERNAL_MU`: the 64-byte message representative μ = SHAKE256(SHAKE256(pk, 64) || 0x00 ||
//!   0x00 || M, 64) of FIPS 204 section 6.2, computed by the caller; the signature equals a RAW signature of M.
//! - `MessageType=DIGEST` is refused, as AWS does.
//!
//! Signing is hedged (fresh randomness per signature), as FIPS 204 recommends.

use ml_dsa::common::getrandom::SysRng;
use ml_dsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, Signature, SigningKey};

use super::sign::MessageType;
use super::{random_bytes, CryptoError, KeySpec};

/// The signing algorithm of ML-DSA keys.
pub const ML_DSA_SHAKE_256: &str = "ML_DSA_SHAKE_256";

/// Runs `$body` with `$p` bound to the ml-dsa parameter set of `$spec`, or returns `Unsupported`.
macro_rules! with_params {
    ($spec:expr, $p:ident => $body:expr) => {
        match $spec {
            KeySpec::MlDsa44 => {
                type $p = MlDsa44;
                $body
            }
            KeySpec::MlDsa65 => {
                type $p = MlDsa65;
                $body
            }
            KeySpec::MlDsa87 => {
                type $p = MlDsa87;
                $body
            }
            other => Err(CryptoError::Unsupported(format!("{other} is not an ML-DSA key spec"))),
        }
    };
}

fn parse_error(spec: KeySpec, e: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(format!(
        "key material is not a PKCS#8 {spec} private key (seed form): {e}"
    ))
}

fn encode_error(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(format!("cannot encode the ML-DSA key: {e}"))
}

/// PKCS#8 DER (seed-only form) of a fresh ML-DSA key of `spec` from the OS CSPRNG.
pub(crate) fn generate(spec: KeySpec) -> Result<Vec<u8>, CryptoError> {
    let mut seed = random_bytes(32);
    let result = with_params!(spec, P => {
        let xi = ml_dsa::Seed::try_from(seed.as_slice())
            .map_err(|_| CryptoError::InvalidKey("an ML-DSA seed is 32 bytes".into()))?;
        let key = SigningKey::<P>::from_seed(&xi);
        key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(encode_error)
    });
    zeroize::Zeroize::zeroize(&mut seed);
    result
}

/// Parses PKCS#8 DER (seed-only form, the spec's OID) and re-encodes it canonically.
pub(crate) fn canonical(spec: KeySpec, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    with_params!(spec, P => {
        let key = SigningKey::<P>::from_pkcs8_der(der).map_err(|e| parse_error(spec, e))?;
        key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(encode_error)
    })
}

/// SubjectPublicKeyInfo DER of the key.
pub(crate) fn public_key_der(spec: KeySpec, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    with_params!(spec, P => {
        let key = SigningKey::<P>::from_pkcs8_der(der).map_err(|e| parse_error(spec, e))?;
        key.expanded_key().verifying_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the public key: {e}")))
    })
}

/// The message rules of `ML_DSA_SHAKE_256`, with AWS's messages; `true` when `message` is μ.
fn check_message(
    spec: KeySpec,
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
) -> Result<bool, CryptoError> {
    if algorithm != ML_DSA_SHAKE_256 {
        return Err(CryptoError::Unsupported(format!(
            "signing algorithm {algorithm} is not valid for ML-DSA keys; valid algorithms: {ML_DSA_SHAKE_256}"
        )));
    }
    match message_type {
        MessageType::Raw => Ok(false),
        MessageType::ExternalMu if message.len() == 64 => Ok(true),
        MessageType::ExternalMu => Err(CryptoError::InvalidDigest(format!(
            "External Mu is invalid length for algorithm {algorithm}."
        ))),
        MessageType::Digest => Err(CryptoError::InvalidInput(format!(
            "Message type DIGEST is incompatible with key spec {spec}."
        ))),
    }
}

/// A hedged ML-DSA signature of `message` (RAW) or of the message whose representative μ is `message`.
pub(crate) fn sign(
    spec: KeySpec,
    der: &[u8],
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let is_mu = check_message(spec, algorithm, message_type, message)?;
    with_params!(spec, P => {
        let key = SigningKey::<P>::from_pkcs8_der(der).map_err(|e| parse_error(spec, e))?;
        let expanded = key.expanded_key();
        let signature = if is_mu {
            let mu = ml_dsa::common::array::Array::try_from(message)
                .map_err(|_| CryptoError::InvalidInput("mu must be 64 bytes".into()))?;
            expanded.sign_mu_randomized(&mu, &mut SysRng)
        } else {
            expanded.sign_randomized(message, &[], &mut SysRng)
        }
        .map_err(|e| CryptoError::Unsupported(format!("ML-DSA signing failed: {e}")))?;
        Ok(signature.encode().to_vec())
    })
}

/// Whether `signature` is valid; `Ok(false)` for a wrong or malformed signature.
pub(crate) fn verify(
    spec: KeySpec,
    der: &[u8],
    algorithm: &str,
    message_type: MessageType,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let is_mu = check_message(spec, algorithm, message_type, message)?;
    with_params!(spec, P => {
        let key = SigningKey::<P>::from_pkcs8_der(der).map_err(|e| parse_error(spec, e))?;
        let verifying = key.expanded_key().verifying_key();
        let Ok(signature) = Signature::<P>::try_from(signature) else {
            return Ok(false);
        };
        Ok(if is_mu {
            let mu = ml_dsa::common::array::Array::try_from(message)
                .map_err(|_| CryptoError::InvalidInput("mu must be 64 bytes".into()))?;
            verifying.verify_mu(&mu, &signature)
        } else {
            verifying.verify_with_context(message, &[], &signature)
        })
    })
}

#[cfg(test)]
mod tests {
    use fips204::traits::{KeyGen, SerDes, Signer as _, Verifier as _};
    use sha3::digest::{ExtendableOutput, Update, XofReader};

    use super::*;
    use crate::crypto::KeyMaterial;

    const SPECS: [KeySpec; 3] = [KeySpec::MlDsa44, KeySpec::MlDsa65, KeySpec::MlDsa87];
    const MESSAGE: &[u8] = b"trent signs this with ML-DSA; fips204 checks it.\n";

    fn shake256_64(parts: &[&[u8]]) -> [u8; 64] {
        let mut h = sha3::Shake256::default();
        for p in parts {
            h.update(p);
        }
        let mut out = [0u8; 64];
        h.finalize_xof().read(&mut out);
        out
    }

    /// μ of FIPS 204 section 6.2 for pure ML-DSA with an empty context, computed with the `sha3` crate.
    fn external_mu(pk: &[u8], message: &[u8]) -> [u8; 64] {
        let tr = shake256_64(&[pk]);
        shake256_64(&[&tr, &[0, 0], message])
    }

    /// (OID, raw public key) of SPKI DER, decoded with the `spki` crate.
    fn spki_parts(der: &[u8]) -> (String, Vec<u8>) {
        use spki::der::Decode;
        let info = spki::SubjectPublicKeyInfoRef::from_der(der).expect("SPKI DER");
        assert!(info.algorithm.parameters.is_none());
        (
            info.algorithm.oid.to_string(),
            info.subject_public_key.raw_bytes().to_vec(),
        )
    }

    /// fips204 (integritychain): verifies `sig` over `msg` with the raw public key; signs `msg` with the key of
    /// `seed`, returning (its signature, its public key bytes).
    fn fips204_check(spec: KeySpec, pk: &[u8], msg: &[u8], sig: &[u8], seed: &[u8; 32]) -> (bool, Vec<u8>, Vec<u8>) {
        macro_rules! run {
            ($m:ident) => {{
                let Ok(sig_arr) = sig.try_into() else {
                    return (false, vec![], vec![]);
                };
                let public = fips204::$m::PublicKey::try_from_bytes(pk.try_into().unwrap()).unwrap();
                let ok = public.verify(msg, &sig_arr, &[]);
                let (their_pk, their_sk) = fips204::$m::KG::keygen_from_seed(seed);
                let theirs = their_sk.try_sign(msg, &[]).unwrap();
                (ok, theirs.to_vec(), their_pk.into_bytes().to_vec())
            }};
        }
        match spec {
            KeySpec::MlDsa44 => run!(ml_dsa_44),
            KeySpec::MlDsa65 => run!(ml_dsa_65),
            _ => run!(ml_dsa_87),
        }
    }

    fn seed_in(pkcs8: &[u8]) -> [u8; 32] {
        assert_eq!(
            &pkcs8[pkcs8.len() - 34..pkcs8.len() - 32],
            &[0x80, 0x20],
            "[0] IMPLICIT OCTET STRING (32)"
        );
        pkcs8[pkcs8.len() - 32..].try_into().unwrap()
    }

    #[test]
    fn every_spec_interoperates_with_fips204() {
        for (spec, oid, pk_len, sig_len) in [
            (KeySpec::MlDsa44, "2.16.840.1.101.3.4.3.17", 1312, 2420),
            (KeySpec::MlDsa65, "2.16.840.1.101.3.4.3.18", 1952, 3309),
            (KeySpec::MlDsa87, "2.16.840.1.101.3.4.3.19", 2592, 4627),
        ] {
            let key = KeyMaterial::generate(spec).unwrap();
            assert_eq!(key.bytes().len(), 54, "{spec}: seed-only PKCS#8");
            let (found_oid, pk) = spki_parts(&key.public_key_der().unwrap());
            assert_eq!((found_oid.as_str(), pk.len()), (oid, pk_len), "{spec}");
            let seed = seed_in(key.bytes());

            // RAW: trent signs, fips204 verifies; fips204 (same seed) signs, trent verifies.
            let raw = sign(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, MESSAGE).unwrap();
            assert_eq!(raw.len(), sig_len, "{spec}");
            let (ok, theirs, their_pk) = fips204_check(spec, &pk, MESSAGE, &raw, &seed);
            assert!(ok, "fips204 rejects trent's {spec} signature");
            assert_eq!(
                their_pk, pk,
                "{spec}: the same seed gives the same public key in fips204"
            );
            assert!(verify(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, MESSAGE, &theirs).unwrap());

            // EXTERNAL_MU: μ computed independently; the signature is a valid RAW signature of the message.
            let mu = external_mu(&pk, MESSAGE);
            let by_mu = sign(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::ExternalMu, &mu).unwrap();
            let (ok, _, _) = fips204_check(spec, &pk, MESSAGE, &by_mu, &seed);
            assert!(ok, "fips204 rejects trent's {spec} EXTERNAL_MU signature");
            assert!(verify(
                spec,
                key.bytes(),
                ML_DSA_SHAKE_256,
                MessageType::ExternalMu,
                &mu,
                &theirs
            )
            .unwrap());
            assert!(verify(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, MESSAGE, &by_mu).unwrap());

            // Tampering: message, signature, truncation; and hedging: two signatures differ.
            let mut bad = raw.clone();
            bad[100] ^= 0x01;
            assert!(!verify(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, MESSAGE, &bad).unwrap());
            let (ok, _, _) = fips204_check(spec, &pk, MESSAGE, &bad, &seed);
            assert!(!ok);
            assert!(!verify(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, b"other", &raw).unwrap());
            assert!(!verify(
                spec,
                key.bytes(),
                ML_DSA_SHAKE_256,
                MessageType::Raw,
                MESSAGE,
                &raw[1..]
            )
            .unwrap());
            let mut other_mu = mu;
            other_mu[0] ^= 1;
            assert!(!verify(
                spec,
                key.bytes(),
                ML_DSA_SHAKE_256,
                MessageType::ExternalMu,
                &other_mu,
                &raw
            )
            .unwrap());
            let again = sign(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, MESSAGE).unwrap();
            assert_ne!(again, raw, "hedged signing");
        }
    }

    #[test]
    fn message_type_and_algorithm_rules_follow_aws() {
        let key = KeyMaterial::generate(KeySpec::MlDsa44).unwrap();
        let spec = KeySpec::MlDsa44;
        let err = sign(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Digest, &[0; 64]).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidInput(_)), "{err}");
        assert_eq!(
            err.to_string(),
            "Message type DIGEST is incompatible with key spec ML_DSA_44."
        );
        for len in [0, 32, 63, 65] {
            let err = sign(
                spec,
                key.bytes(),
                ML_DSA_SHAKE_256,
                MessageType::ExternalMu,
                &vec![1; len],
            )
            .unwrap_err();
            assert!(matches!(err, CryptoError::InvalidDigest(_)), "{err}");
        }
        assert!(matches!(
            sign(spec, key.bytes(), "ECDSA_SHA_256", MessageType::Raw, MESSAGE),
            Err(CryptoError::Unsupported(_))
        ));
        // An empty RAW message is a message like any other.
        let sig = sign(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, b"").unwrap();
        assert!(verify(spec, key.bytes(), ML_DSA_SHAKE_256, MessageType::Raw, b"", &sig).unwrap());
    }

    #[test]
    fn import_checks_the_key() {
        for spec in SPECS {
            let key = KeyMaterial::generate(spec).unwrap();
            let again = KeyMaterial::from_bytes(spec, key.bytes()).unwrap();
            assert_eq!(again.bytes(), key.bytes());
            assert_eq!(again.public_key_der().unwrap(), key.public_key_der().unwrap());
        }
        let k44 = KeyMaterial::generate(KeySpec::MlDsa44).unwrap();
        assert!(KeyMaterial::from_bytes(KeySpec::MlDsa65, k44.bytes()).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::MlDsa44, &[0; 32]).is_err());
        let mlkem = KeyMaterial::generate(KeySpec::MlKem512).unwrap();
        assert!(KeyMaterial::from_bytes(KeySpec::MlDsa44, mlkem.bytes()).is_err());
    }
}
