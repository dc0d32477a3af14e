//! X.509 identities trent signs with (rcgen, ECDSA P-256): today the key that signs Key Vault's key-release
//! tokens, presented in their `x5c` header so that any JOSE library can verify them.

use super::{CryptoError, KeyMaterial, KeySpec};

/// A signing key and the self-signed certificate (DER) that vouches for it.
pub struct SigningIdentity {
    pub key: KeyMaterial,
    pub certificate_der: Vec<u8>,
}

/// A fresh P-256 key and a self-signed certificate for `common_name`, valid for ten years from now.
pub fn signing_identity(common_name: &str) -> Result<SigningIdentity, CryptoError> {
    let fail = |what: &str| {
        let what = what.to_string();
        move |e: rcgen::Error| CryptoError::InvalidKey(format!("{what}: {e}"))
    };
    let key = rcgen::KeyPair::generate().map_err(fail("generating the signing key"))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(fail("certificate parameters"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name.to_string());
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let now = time_now();
    params.not_before = now;
    params.not_after = now + std::time::Duration::from_secs(10 * 365 * 86_400);
    let certificate = params.self_signed(&key).map_err(fail("signing the certificate"))?;
    let material = KeyMaterial::from_bytes(KeySpec::EccNistP256, &key.serialize_der())?;
    Ok(SigningIdentity {
        key: material,
        certificate_der: certificate.der().to_vec(),
    })
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_signs_with_its_certificates_key() {
        let id = signing_identity("trent test").unwrap();
        assert!(id.certificate_der.len() > 100);
        let spki = id.key.public_key_der().unwrap();
        let found = id.certificate_der.windows(spki.len()).any(|w| w == spki.as_slice());
        assert!(found, "the certificate carries the key's SubjectPublicKeyInfo");
    }
}
