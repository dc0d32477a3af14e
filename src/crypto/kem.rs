//! ML-KEM (FIPS 203) for the `ML_KEM_512/768/1024` key specs: key material, the public key AWS returns, and
//! KMS's `Encapsulate` / `Decapsulate` (algorithm `ML_KEM`), all through RustCrypto's `ml-kem` crate.
//!
//! Material is stored as PKCS#8 DER in the seed-only form of the IETF LAMPS ML-KEM draft (the 64-byte
//! `d || z` seed of FIPS 203 `ML-KEM.KeyGen_internal`, `[0] IMPLICIT OCTET STRING`), the compact canonical form
//! from which the whole key pair follows. The public key is SubjectPublicKeyInfo DER with the NIST OIDs
//! `id-alg-ml-kem-512/768/1024` (2.16.840.1.101.3.4.4.1–3) and the raw encapsulation key as the BIT STRING.
//!
//! Decapsulation follows FIPS 203 exactly, implicit rejection included: a ciphertext of the right length that
//! was altered or made for another key gives a pseudo-random 32-byte secret, not an error, as in AWS. Only a
//! ciphertext of the wrong length is an error ([`CryptoError::InvalidCiphertext`]).

use ml_kem::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use ml_kem::{Decapsulate, DecapsulationKey, Encapsulate, MlKem1024, MlKem512, MlKem768};

use super::{random_bytes, CryptoError, KeyMaterial, KeySpec};

/// The one encapsulation algorithm of ML-KEM keys (AWS `EncapsulationAlgorithmSpec`).
pub const ML_KEM: &str = "ML_KEM";

/// Runs `$body` with `$p` bound to the ml-kem parameter set of `$spec`, or returns `Unsupported`.
macro_rules! with_params {
    ($spec:expr, $p:ident => $body:expr) => {
        match $spec {
            KeySpec::MlKem512 => {
                type $p = MlKem512;
                $body
            }
            KeySpec::MlKem768 => {
                type $p = MlKem768;
                $body
            }
            KeySpec::MlKem1024 => {
                type $p = MlKem1024;
                $body
            }
            other => Err(CryptoError::Unsupported(format!("{other} is not an ML-KEM key spec"))),
        }
    };
}

fn seed_of(bytes: &[u8]) -> Result<ml_kem::Seed, CryptoError> {
    ml_kem::Seed::try_from(bytes).map_err(|_| CryptoError::InvalidKey("an ML-KEM seed is 64 bytes".into()))
}

fn pkcs8_error(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(format!("cannot encode the ML-KEM key: {e}"))
}

/// PKCS#8 DER (seed-only form) of a fresh ML-KEM key of `spec` from the OS CSPRNG.
pub(crate) fn generate(spec: KeySpec) -> Result<Vec<u8>, CryptoError> {
    let mut seed = random_bytes(64);
    let result = with_params!(spec, P => {
        let key = DecapsulationKey::<P>::from_seed(seed_of(&seed)?);
        key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(pkcs8_error)
    });
    zeroize::Zeroize::zeroize(&mut seed);
    result
}

/// Parses PKCS#8 DER (seed-only form, the spec's OID) and re-encodes it canonically.
pub(crate) fn canonical(spec: KeySpec, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    with_params!(spec, P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(der).map_err(|e| {
            CryptoError::InvalidKey(format!("key material is not a PKCS#8 {spec} private key (seed form): {e}"))
        })?;
        key.to_pkcs8_der().map(|d| d.as_bytes().to_vec()).map_err(pkcs8_error)
    })
}

/// SubjectPublicKeyInfo DER of the encapsulation key.
pub(crate) fn public_key_der(spec: KeySpec, der: &[u8]) -> Result<Vec<u8>, CryptoError> {
    with_params!(spec, P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(der)
            .map_err(|e| CryptoError::InvalidKey(format!("stored ML-KEM key does not parse: {e}")))?;
        key.encapsulation_key()
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the public key: {e}")))
    })
}

fn check_algorithm(material: &KeyMaterial, algorithm: &str) -> Result<(), CryptoError> {
    let spec = material.spec();
    if !spec.is_ml_kem() {
        return Err(CryptoError::Unsupported(format!(
            "{spec} keys cannot encapsulate or decapsulate"
        )));
    }
    if algorithm != ML_KEM {
        return Err(CryptoError::Unsupported(format!(
            "encapsulation algorithm {algorithm} is not valid for {spec} keys; valid algorithms: {ML_KEM}"
        )));
    }
    Ok(())
}

/// A fresh 32-byte shared secret and its encapsulation (ciphertext) under the key's public key:
/// `(shared_secret, ciphertext)`. The ciphertext is 768, 1088 or 1568 bytes for ML-KEM-512/768/1024.
pub fn encapsulate(material: &KeyMaterial, algorithm: &str) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    check_algorithm(material, algorithm)?;
    with_params!(material.spec(), P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(material.bytes())
            .map_err(|e| CryptoError::InvalidKey(format!("stored ML-KEM key does not parse: {e}")))?;
        let (ciphertext, shared) = key.encapsulation_key().encapsulate();
        Ok((shared.to_vec(), ciphertext.to_vec()))
    })
}

/// The 32-byte shared secret of `ciphertext`. A ciphertext of the wrong length for the spec →
/// [`CryptoError::InvalidCiphertext`]; any other ciphertext yields a secret (FIPS 203 implicit rejection).
pub fn decapsulate(material: &KeyMaterial, algorithm: &str, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check_algorithm(material, algorithm)?;
    with_params!(material.spec(), P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(material.bytes())
            .map_err(|e| CryptoError::InvalidKey(format!("stored ML-KEM key does not parse: {e}")))?;
        let shared = key
            .decapsulate_slice(ciphertext)
            .map_err(|_| CryptoError::InvalidCiphertext)?;
        Ok(shared.to_vec())
    })
}

/// Ciphertext length in bytes of an ML-KEM spec (`None` for other specs).
pub fn ciphertext_len(spec: KeySpec) -> Option<usize> {
    match spec {
        KeySpec::MlKem512 => Some(768),
        KeySpec::MlKem768 => Some(1088),
        KeySpec::MlKem1024 => Some(1568),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use fips203::traits::{Decaps, Encaps, KeyGen, SerDes};

    use super::*;

    const SPECS: [KeySpec; 3] = [KeySpec::MlKem512, KeySpec::MlKem768, KeySpec::MlKem1024];

    /// Splits SPKI DER into (algorithm OID DER bytes, subjectPublicKey bits) with the `spki` crate.
    fn spki_parts(der: &[u8]) -> (String, Vec<u8>) {
        use spki::der::Decode;
        let info = spki::SubjectPublicKeyInfoRef::from_der(der).expect("SPKI DER");
        assert!(info.algorithm.parameters.is_none(), "ML-KEM SPKI has no parameters");
        (
            info.algorithm.oid.to_string(),
            info.subject_public_key.raw_bytes().to_vec(),
        )
    }

    fn oid_of(spec: KeySpec) -> &'static str {
        match spec {
            KeySpec::MlKem512 => "2.16.840.1.101.3.4.4.1",
            KeySpec::MlKem768 => "2.16.840.1.101.3.4.4.2",
            _ => "2.16.840.1.101.3.4.4.3",
        }
    }

    /// fips203 (integritychain) encapsulates to trent's public key; returns (shared secret, ciphertext).
    fn fips203_encapsulate(spec: KeySpec, ek: &[u8]) -> (Vec<u8>, Vec<u8>) {
        macro_rules! enc {
            ($m:ident) => {{
                let ek = fips203::$m::EncapsKey::try_from_bytes(ek.try_into().unwrap()).unwrap();
                let (ssk, ct) = ek.try_encaps().unwrap();
                (ssk.into_bytes().to_vec(), ct.into_bytes().to_vec())
            }};
        }
        match spec {
            KeySpec::MlKem512 => enc!(ml_kem_512),
            KeySpec::MlKem768 => enc!(ml_kem_768),
            _ => enc!(ml_kem_1024),
        }
    }

    /// fips203 regenerates the key pair from the seed in trent's PKCS#8 and decapsulates `ct`; also returns
    /// fips203's encapsulation key bytes.
    fn fips203_from_seed(spec: KeySpec, seed: &[u8], ct: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let d: [u8; 32] = seed[..32].try_into().unwrap();
        let z: [u8; 32] = seed[32..].try_into().unwrap();
        macro_rules! dec {
            ($m:ident) => {{
                let (ek, dk) = fips203::$m::KG::keygen_from_seed(d, z);
                let ct = fips203::$m::CipherText::try_from_bytes(ct.try_into().unwrap()).unwrap();
                let ssk = dk.try_decaps(&ct).unwrap();
                (ssk.into_bytes().to_vec(), ek.into_bytes().to_vec())
            }};
        }
        match spec {
            KeySpec::MlKem512 => dec!(ml_kem_512),
            KeySpec::MlKem768 => dec!(ml_kem_768),
            _ => dec!(ml_kem_1024),
        }
    }

    /// The 64-byte seed inside trent's seed-only PKCS#8: the last 64 bytes, after the `[0]` tag and length.
    fn seed_in(pkcs8: &[u8]) -> Vec<u8> {
        let seed = &pkcs8[pkcs8.len() - 64..];
        assert_eq!(
            &pkcs8[pkcs8.len() - 66..pkcs8.len() - 64],
            &[0x80, 0x40],
            "[0] IMPLICIT OCTET STRING (64)"
        );
        seed.to_vec()
    }

    #[test]
    fn every_spec_interoperates_with_fips203_both_ways() {
        for spec in SPECS {
            let key = KeyMaterial::generate(spec).unwrap();
            let (oid, ek) = spki_parts(&key.public_key_der().unwrap());
            assert_eq!(oid, oid_of(spec), "{spec}");

            // fips203 encapsulates to our public key; trent decapsulates.
            let (theirs, ct) = fips203_encapsulate(spec, &ek);
            assert_eq!(ct.len(), ciphertext_len(spec).unwrap());
            assert_eq!(decapsulate(&key, ML_KEM, &ct).unwrap(), theirs, "{spec}");

            // trent encapsulates; fips203, holding the same seed, decapsulates.
            let (ours, ct) = encapsulate(&key, ML_KEM).unwrap();
            assert_eq!(ours.len(), 32);
            assert_eq!(ct.len(), ciphertext_len(spec).unwrap(), "{spec}");
            let (recovered, their_ek) = fips203_from_seed(spec, &seed_in(key.bytes()), &ct);
            assert_eq!(recovered, ours, "{spec}");
            assert_eq!(
                their_ek, ek,
                "the same seed gives the same encapsulation key in fips203"
            );

            // Two encapsulations differ.
            let (again, ct2) = encapsulate(&key, ML_KEM).unwrap();
            assert_ne!((&again, &ct2), (&ours, &ct));
        }
    }

    #[test]
    fn altered_ciphertexts_give_implicit_rejection_and_wrong_lengths_fail() {
        let key = KeyMaterial::generate(KeySpec::MlKem768).unwrap();
        let (secret, ct) = encapsulate(&key, ML_KEM).unwrap();
        let mut bad = ct.clone();
        bad[10] ^= 0x01;
        let rejected = decapsulate(&key, ML_KEM, &bad).unwrap();
        assert_eq!(rejected.len(), 32);
        assert_ne!(rejected, secret);
        // Implicit rejection is deterministic: the same bad ciphertext gives the same value.
        assert_eq!(decapsulate(&key, ML_KEM, &bad).unwrap(), rejected);
        // Another key of the same spec: a secret, but not ours.
        let other = KeyMaterial::generate(KeySpec::MlKem768).unwrap();
        assert_ne!(decapsulate(&other, ML_KEM, &ct).unwrap(), secret);
        for len in [0, 1, 767, 1087, 1089, 1568] {
            assert!(matches!(
                decapsulate(&key, ML_KEM, &vec![7u8; len]),
                Err(CryptoError::InvalidCiphertext)
            ));
        }
    }

    #[test]
    fn wrong_algorithm_or_spec_is_unsupported() {
        let key = KeyMaterial::generate(KeySpec::MlKem512).unwrap();
        assert!(matches!(encapsulate(&key, "ECDH"), Err(CryptoError::Unsupported(_))));
        assert!(matches!(
            decapsulate(&key, "ml_kem", &[0; 768]),
            Err(CryptoError::Unsupported(_))
        ));
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(matches!(encapsulate(&p256, ML_KEM), Err(CryptoError::Unsupported(_))));
    }

    #[test]
    fn material_is_the_seed_form_and_import_validates() {
        for spec in SPECS {
            let key = KeyMaterial::generate(spec).unwrap();
            assert_eq!(
                key.bytes().len(),
                86,
                "{spec}: 22-byte PKCS#8 header + [0] 64-byte seed"
            );
            let again = KeyMaterial::from_bytes(spec, key.bytes()).unwrap();
            assert_eq!(again.bytes(), key.bytes());
            assert_eq!(again.public_key_der().unwrap(), key.public_key_der().unwrap());
        }
        let k512 = KeyMaterial::generate(KeySpec::MlKem512).unwrap();
        assert!(
            KeyMaterial::from_bytes(KeySpec::MlKem768, k512.bytes()).is_err(),
            "OID of another spec"
        );
        assert!(KeyMaterial::from_bytes(KeySpec::MlKem512, &k512.bytes()[..80]).is_err());
        assert!(
            KeyMaterial::from_bytes(KeySpec::MlKem512, &[0u8; 64]).is_err(),
            "a bare seed is not PKCS#8"
        );
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(KeyMaterial::from_bytes(KeySpec::MlKem1024, p256.bytes()).is_err());
    }
}
