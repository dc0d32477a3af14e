//! ECDH for KMS `DeriveSharedSecret` (`KeyAgreementAlgorithm: ECDH`).
//!
//! KMS returns the raw shared secret — the x-coordinate of `d·Q` as a fixed-length field element (32, 48 or
//! 66 bytes for P-256/P-384/P-521) with no KDF applied — and takes the peer's public key as X.509
//! SubjectPublicKeyInfo DER. As in AWS, only the NIST curves take part (secp256k1 keys are signing-only).
//! The peer point is validated by the curve crate (on-curve, not identity) when its SPKI is decoded.

use pkcs8::{DecodePrivateKey, DecodePublicKey};

use super::{CryptoError, KeyMaterial, KeySpec};

macro_rules! ecdh {
    ($curve:ident, $spec:expr, $der:expr, $peer:expr) => {{
        let secret = $curve::SecretKey::from_pkcs8_der($der)
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key does not parse: {e}")))?;
        let peer = $curve::PublicKey::from_public_key_der($peer).map_err(|_| {
            CryptoError::InvalidInput(format!(
                "the peer public key is not a DER-encoded SubjectPublicKeyInfo of a {} public key",
                $spec
            ))
        })?;
        let shared = $curve::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
        shared.raw_secret_bytes().to_vec()
    }};
}

/// The raw ECDH shared secret between our ECC `material` and the peer's SPKI DER public key. `algorithm` must
/// be `"ECDH"` and the key one of the NIST curves (else `Unsupported`); a peer key that does not parse or is
/// on another curve → `InvalidInput`.
pub fn derive_shared_secret(
    material: &KeyMaterial,
    algorithm: &str,
    peer_public_key_der: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let spec = material.spec();
    if !spec.key_agreement_algorithms().contains(&algorithm) {
        return Err(if spec == KeySpec::Sm2 {
            super::keys::unsupported_sm2()
        } else if spec.key_agreement_algorithms().is_empty() {
            CryptoError::Unsupported(format!("{spec} keys cannot be used for key agreement"))
        } else {
            CryptoError::Unsupported(format!("key agreement algorithm {algorithm} is not valid; use ECDH"))
        });
    }
    let bytes = material.bytes();
    let secret = match spec {
        KeySpec::EccNistP256 => ecdh!(p256, spec, bytes, peer_public_key_der),
        KeySpec::EccNistP384 => ecdh!(p384, spec, bytes, peer_public_key_der),
        KeySpec::EccNistP521 => ecdh!(p521, spec, bytes, peer_public_key_der),
        KeySpec::Sm2 => return Err(super::keys::unsupported_sm2()),
        other => {
            return Err(CryptoError::Unsupported(format!(
                "{other} keys cannot be used for key agreement"
            )))
        }
    };
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testutil::{openssl_available, openssl_ok, private_pem, public_pem, TempDir};

    /// Both sides independently: our secret (our key × openssl's peer key) equals openssl's
    /// `pkeyutl -derive` (openssl's peer key × our public key), for every NIST curve.
    #[test]
    fn shared_secret_matches_openssl_and_is_symmetric() {
        let have_openssl = openssl_available("agreement::shared_secret_matches_openssl");
        let dir = TempDir::new();
        for (spec, curve, len) in [
            (KeySpec::EccNistP256, "P-256", 32),
            (KeySpec::EccNistP384, "P-384", 48),
            (KeySpec::EccNistP521, "P-521", 66),
        ] {
            let a = KeyMaterial::generate(spec).unwrap();
            let b = KeyMaterial::generate(spec).unwrap();
            let ab = derive_shared_secret(&a, "ECDH", &b.public_key_der().unwrap()).unwrap();
            let ba = derive_shared_secret(&b, "ECDH", &a.public_key_der().unwrap()).unwrap();
            assert_eq!(ab.len(), len);
            assert_eq!(ab, ba);
            if have_openssl {
                let curve_opt = format!("ec_paramgen_curve:{curve}");
                openssl_ok(
                    &dir,
                    &[
                        "genpkey",
                        "-algorithm",
                        "EC",
                        "-pkeyopt",
                        &curve_opt,
                        "-out",
                        "peer.pem",
                    ],
                );
                openssl_ok(
                    &dir,
                    &[
                        "pkey", "-in", "peer.pem", "-pubout", "-outform", "DER", "-out", "peer.der",
                    ],
                );
                openssl_ok(&dir, &["pkey", "-in", "peer.pem", "-pubout", "-out", "peerpub.pem"]);
                let ours = derive_shared_secret(&a, "ECDH", &dir.read("peer.der")).unwrap();
                let our_pub = public_pem(&dir, "ours", &a.public_key_der().unwrap());
                openssl_ok(
                    &dir,
                    &[
                        "pkeyutl", "-derive", "-inkey", "peer.pem", "-peerkey", &our_pub, "-out", "s.bin",
                    ],
                );
                assert_eq!(ours, dir.read("s.bin"), "{spec}");
                // and our private key in openssl's hands agrees too
                let our_priv = private_pem(&dir, "ourpriv", a.bytes());
                openssl_ok(
                    &dir,
                    &[
                        "pkeyutl",
                        "-derive",
                        "-inkey",
                        &our_priv,
                        "-peerkey",
                        "peerpub.pem",
                        "-out",
                        "t.bin",
                    ],
                );
                assert_eq!(ours, dir.read("t.bin"), "{spec}");
            }
        }
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        let p384 = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let err = derive_shared_secret(&p256, "ECDH", &p384.public_key_der().unwrap()).unwrap_err();
        assert!(matches!(err, CryptoError::InvalidInput(_)), "{err}");
        assert!(matches!(
            derive_shared_secret(&p256, "ECDH", b"junk"),
            Err(CryptoError::InvalidInput(_))
        ));
        assert!(matches!(
            derive_shared_secret(&p256, "ECDHE", &p256.public_key_der().unwrap()),
            Err(CryptoError::Unsupported(_))
        ));
        let k1 = KeyMaterial::generate(KeySpec::EccSecgP256k1).unwrap();
        assert!(matches!(
            derive_shared_secret(&k1, "ECDH", &k1.public_key_der().unwrap()),
            Err(CryptoError::Unsupported(_))
        ));
        let hmac = KeyMaterial::generate(KeySpec::Hmac256).unwrap();
        assert!(matches!(
            derive_shared_secret(&hmac, "ECDH", &p256.public_key_der().unwrap()),
            Err(CryptoError::Unsupported(_))
        ));
    }
}
