//! JSON Web Keys (RFC 7517/7518) as Key Vault reads and writes them: the public JWK of a stored key (public
//! parts only, base64url without padding, `n` without leading zero bytes, EC coordinates at full field size) and
//! the material of an imported JWK, checked part by part.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use super::model::{curve_name, curve_spec, JsonWebKey, JsonWebKeyIn, KeyType, KeyVersion, Material, OctKey};
use crate::crypto::components::{EcParts, RsaParts};
use crate::crypto::KeyMaterial;
use crate::keyvault::protocol::KeyVaultError;

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url (padding and the standard alphabet tolerated, as the service does); `None` if neither.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .ok()
        .or_else(|| STANDARD.decode(text.trim()).ok())
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes
        .iter()
        .take_while(|b| **b == 0)
        .count()
        .min(bytes.len().saturating_sub(1));
    bytes.drain(..zeros);
    bytes
}

/// The public JWK of a key version, with its `kid`.
pub fn public_jwk(kid: String, v: &KeyVersion) -> Result<JsonWebKey, KeyVaultError> {
    let broken = |e: crate::crypto::CryptoError| KeyVaultError::Internal(format!("stored key is unusable: {e}"));
    let mut jwk = JsonWebKey {
        kid,
        kty: v.kty,
        key_ops: v.key_ops.clone(),
        n: None,
        e: None,
        crv: None,
        x: None,
        y: None,
    };
    match &v.material {
        Material::Asymmetric(m) if v.kty.is_rsa() => {
            let parts = m.rsa_parts(false).map_err(broken)?;
            jwk.n = Some(b64(&strip_leading_zeros(parts.n)));
            jwk.e = Some(b64(&strip_leading_zeros(parts.e)));
        }
        Material::Asymmetric(m) => {
            let parts = m.ec_parts(false).map_err(broken)?;
            jwk.crv = curve_name(m.spec());
            jwk.x = Some(b64(&parts.x));
            jwk.y = Some(b64(&parts.y));
        }
        // A symmetric key has no public part: the JWK names only its type and operations.
        Material::Symmetric(_) => {}
    }
    Ok(jwk)
}

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

/// A required base64url JWK member.
fn part(value: &Option<String>, name: &str) -> Result<Vec<u8>, KeyVaultError> {
    let text = value
        .as_deref()
        .ok_or_else(|| bad(format!("The JSON Web Key is missing the required member '{name}'.")))?;
    unb64(text).ok_or_else(|| bad(format!("The JSON Web Key member '{name}' is not base64url.")))
}

fn optional(value: &Option<String>, name: &str) -> Result<Option<Vec<u8>>, KeyVaultError> {
    value.as_ref().map(|_| part(value, name)).transpose()
}

/// The key type and material of an imported JWK; `hsm` (the request's `Hsm` flag) makes RSA and EC keys HSM keys.
/// Only keys with their private parts can be imported.
pub fn import(jwk: &JsonWebKeyIn, hsm: bool) -> Result<(KeyType, Material), KeyVaultError> {
    let kty_name = jwk
        .kty
        .as_deref()
        .ok_or_else(|| bad("The JSON Web Key is missing the required member 'kty'."))?;
    let kty = KeyType::parse(kty_name).ok_or_else(|| {
        bad(format!(
            "Invalid key type (kty): '{}'.",
            crate::keyvault::protocol::truncate(kty_name, 32)
        ))
    })?;
    let invalid = |e: crate::crypto::CryptoError| bad(format!("The JSON Web Key is not a valid key: {e}"));
    if kty.is_rsa() {
        let parts = RsaParts {
            n: part(&jwk.n, "n")?,
            e: part(&jwk.e, "e")?,
            d: Some(part(&jwk.d, "d")?),
            p: optional(&jwk.p, "p")?,
            q: optional(&jwk.q, "q")?,
            dp: optional(&jwk.dp, "dp")?,
            dq: optional(&jwk.dq, "dq")?,
            qi: optional(&jwk.qi, "qi")?,
        };
        let material = KeyMaterial::from_rsa_parts(&parts).map_err(invalid)?;
        let kty = if hsm { KeyType::RsaHsm } else { kty };
        return Ok((kty, Material::Asymmetric(material)));
    }
    if kty.is_ec() {
        let crv = jwk
            .crv
            .as_deref()
            .ok_or_else(|| bad("The JSON Web Key is missing the required member 'crv'."))?;
        let spec = curve_spec(crv).ok_or_else(|| {
            bad(format!(
                "Invalid curve name (crv): '{}'.",
                crate::keyvault::protocol::truncate(crv, 32)
            ))
        })?;
        let parts = EcParts {
            x: part(&jwk.x, "x")?,
            y: part(&jwk.y, "y")?,
            d: Some(part(&jwk.d, "d")?),
        };
        let material = KeyMaterial::from_ec_parts(spec, &parts).map_err(invalid)?;
        let kty = if hsm { KeyType::EcHsm } else { kty };
        return Ok((kty, Material::Asymmetric(material)));
    }
    let k = part(&jwk.k, "k")?;
    if ![16, 24, 32].contains(&k.len()) {
        return Err(bad(format!("Invalid key size: '{}'", k.len() * 8)));
    }
    let kty = if hsm { KeyType::OctHsm } else { kty };
    Ok((kty, Material::Symmetric(OctKey(k))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeySpec;

    fn version(kty: KeyType, material: Material) -> KeyVersion {
        KeyVersion {
            managed: false,
            version: "v".into(),
            kty,
            material,
            key_ops: vec!["sign".into()],
            enabled: true,
            nbf: None,
            exp: None,
            created: 0,
            updated: 0,
            tags: None,
            exportable: false,
            release_policy: None,
        }
    }

    #[test]
    fn exported_public_parts_import_back_with_the_private_parts() {
        let m = KeyMaterial::generate(KeySpec::EccNistP384).unwrap();
        let jwk = public_jwk("kid".into(), &version(KeyType::Ec, Material::Asymmetric(m.clone()))).unwrap();
        assert_eq!(jwk.crv, Some("P-384"));
        let d = m.ec_parts(true).unwrap().d.unwrap();
        let input = JsonWebKeyIn {
            kty: Some("EC".into()),
            crv: Some("P-384".into()),
            x: jwk.x.clone(),
            y: jwk.y.clone(),
            d: Some(b64(&d)),
            ..Default::default()
        };
        let (kty, material) = import(&input, true).unwrap();
        assert_eq!(kty, KeyType::EcHsm);
        let Material::Asymmetric(back) = material else { panic!() };
        assert_eq!(back.bytes(), m.bytes());
        let mut wrong = input.clone();
        wrong.crv = Some("P-256".into());
        assert_eq!(
            import(&wrong, false).unwrap_err().status_and_code(),
            (400, "BadParameter")
        );
        let mut public_only = input;
        public_only.d = None;
        assert!(import(&public_only, false).unwrap_err().to_string().contains("'d'"));
    }

    #[test]
    fn rsa_jwk_has_no_leading_zero_and_padding_is_tolerated() {
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let parts = m.rsa_parts(true).unwrap();
        let jwk = public_jwk("kid".into(), &version(KeyType::Rsa, Material::Asymmetric(m.clone()))).unwrap();
        assert_eq!(jwk.e.as_deref(), Some("AQAB"));
        let mut n = vec![0u8];
        n.extend_from_slice(&parts.n);
        let input = JsonWebKeyIn {
            kty: Some("RSA".into()),
            n: Some(STANDARD.encode(&n)),
            e: Some("AQAB".into()),
            d: parts.d.as_deref().map(b64),
            p: parts.p.as_deref().map(b64),
            q: parts.q.as_deref().map(b64),
            ..Default::default()
        };
        let (_, material) = import(&input, false).unwrap();
        let Material::Asymmetric(back) = material else { panic!() };
        assert_eq!(back.public_key_der().unwrap(), m.public_key_der().unwrap());
        assert_eq!(unb64(jwk.n.as_deref().unwrap()).unwrap(), parts.n);
    }
}
