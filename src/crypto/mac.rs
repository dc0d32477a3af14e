//! HMAC for KMS `GenerateMac` / `VerifyMac` (RFC 2104 via the `hmac` crate).
//!
//! Each HMAC key spec has exactly one MAC algorithm (`HMAC_256` ↔ `HMAC_SHA_256`, ...), as in AWS; any other
//! pairing is [`CryptoError::Unsupported`]. Verification recomputes the tag and compares in constant time
//! (`Mac::verify_slice`), so timing does not reveal how many leading bytes of a guessed tag were right.

use hmac::{Hmac, Mac};
use sha2::{Sha224, Sha256, Sha384, Sha512};

use super::{CryptoError, KeyMaterial};

fn check(material: &KeyMaterial, algorithm: &str) -> Result<(), CryptoError> {
    let spec = material.spec();
    if spec.mac_algorithms().contains(&algorithm) {
        return Ok(());
    }
    Err(if spec.mac_algorithms().is_empty() {
        CryptoError::Unsupported(format!("{spec} keys cannot generate or verify MACs"))
    } else {
        CryptoError::Unsupported(format!(
            "MAC algorithm {algorithm} is not valid for {spec} keys; valid algorithms: {}",
            spec.mac_algorithms().join(", ")
        ))
    })
}

/// Runs `f` with an HMAC instance of the algorithm, keyed with the material and fed the message.
macro_rules! with_mac {
    ($algorithm:expr, $key:expr, $message:expr, |$mac:ident| $body:expr) => {
        match $algorithm {
            "HMAC_SHA_224" => with_mac!(@one Sha224, $key, $message, |$mac| $body),
            "HMAC_SHA_256" => with_mac!(@one Sha256, $key, $message, |$mac| $body),
            "HMAC_SHA_384" => with_mac!(@one Sha384, $key, $message, |$mac| $body),
            "HMAC_SHA_512" => with_mac!(@one Sha512, $key, $message, |$mac| $body),
            other => Err(CryptoError::Unsupported(format!("MAC algorithm {other} is not supported"))),
        }
    };
    (@one $hash:ty, $key:expr, $message:expr, |$mac:ident| $body:expr) => {{
        let mut $mac = <Hmac<$hash> as Mac>::new_from_slice($key)
            .map_err(|_| CryptoError::InvalidKey("HMAC key material is unusable".into()))?;
        $mac.update($message);
        Ok($body)
    }};
}

/// The HMAC tag of `message` under `material` with the AWS `algorithm` (`"HMAC_SHA_256"`, ...): 28, 32, 48
/// or 64 bytes.
pub fn generate(material: &KeyMaterial, algorithm: &str, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    check(material, algorithm)?;
    compute(algorithm, material.bytes(), message)
}

/// The tag under a raw key; the algorithm is not checked against a key spec.
fn compute(algorithm: &str, key: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    with_mac!(algorithm, key, message, |mac| mac.finalize().into_bytes().to_vec())
}

/// Whether `mac` is the tag of `message` (constant-time comparison). `Ok(false)` for any wrong tag, including
/// one of the wrong length.
pub fn verify(material: &KeyMaterial, algorithm: &str, message: &[u8], mac: &[u8]) -> Result<bool, CryptoError> {
    check(material, algorithm)?;
    with_mac!(algorithm, material.bytes(), message, |m| m.verify_slice(mac).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testutil::{hex, openssl_available, openssl_ok, TempDir};
    use crate::crypto::KeySpec;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Every spec: tags verified, tampering detected, and the tag equal to `openssl dgst -mac HMAC`'s.
    #[test]
    fn every_spec_matches_openssl() {
        let specs = [
            (KeySpec::Hmac224, "HMAC_SHA_224", "sha224", 28),
            (KeySpec::Hmac256, "HMAC_SHA_256", "sha256", 32),
            (KeySpec::Hmac384, "HMAC_SHA_384", "sha384", 48),
            (KeySpec::Hmac512, "HMAC_SHA_512", "sha512", 64),
        ];
        let have_openssl = openssl_available("mac::every_spec_matches_openssl");
        let dir = TempDir::new();
        let message = b"The quick brown fox jumps over the lazy dog";
        for (spec, alg, md, len) in specs {
            let key = KeyMaterial::generate(spec).unwrap();
            let tag = generate(&key, alg, message).unwrap();
            assert_eq!(tag.len(), len);
            assert!(verify(&key, alg, message, &tag).unwrap());
            assert!(!verify(&key, alg, b"another message", &tag).unwrap());
            let mut bad = tag.clone();
            bad[0] ^= 1;
            assert!(!verify(&key, alg, message, &bad).unwrap());
            assert!(!verify(&key, alg, message, &tag[..len - 1]).unwrap());
            assert!(!verify(&key, alg, message, b"").unwrap());
            if have_openssl {
                dir.write("msg", message);
                let hexkey = format!("hexkey:{}", hex(key.bytes()));
                let digest = format!("-{md}");
                openssl_ok(
                    &dir,
                    &[
                        "dgst", &digest, "-mac", "HMAC", "-macopt", &hexkey, "-binary", "-out", "mac.bin", "msg",
                    ],
                );
                assert_eq!(dir.read("mac.bin"), tag, "{alg}");
            }
        }
    }

    #[test]
    fn rfc4231_test_case_7() {
        // RFC 4231 §4.8. Its 131-byte key is beyond every AWS import range (and no RFC 4231 key fits them),
        // so the known-answer check goes through `compute` directly.
        let key = [0xaa_u8; 131];
        let data = b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.";
        let got = compute("HMAC_SHA_256", &key, data);
        assert_eq!(
            got.unwrap(),
            unhex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
        );
    }

    #[test]
    fn imported_key_and_wrong_algorithms() {
        // An imported (non-generated-length) key survives a serde round trip unchanged.
        let key = KeyMaterial::from_bytes(KeySpec::Hmac256, &[7u8; 40]).unwrap();
        let back: KeyMaterial = serde_json::from_value(serde_json::to_value(&key).unwrap()).unwrap();
        assert_eq!(
            generate(&key, "HMAC_SHA_256", b"m").unwrap(),
            generate(&back, "HMAC_SHA_256", b"m").unwrap()
        );
        for alg in ["HMAC_SHA_384", "HMAC_SHA_224", "SYMMETRIC_DEFAULT", ""] {
            let err = generate(&key, alg, b"m").unwrap_err();
            assert!(matches!(err, CryptoError::Unsupported(_)), "{alg}");
            assert!(err.to_string().contains("HMAC_SHA_256"), "{err}");
            assert!(verify(&key, alg, b"m", b"t").is_err());
        }
        let aes = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        assert!(matches!(
            generate(&aes, "HMAC_SHA_256", b"m"),
            Err(CryptoError::Unsupported(_))
        ));
    }
}
