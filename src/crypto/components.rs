//! Key material as its mathematical components (big-endian unsigned integers and curve points), the form key
//! formats such as JWK carry: RSA `n, e, d, p, q, dp, dq, qi` and EC `x, y, d`. Building material from components
//! checks that they form one consistent key; a mismatch is [`CryptoError::InvalidKey`] naming the part.

use p256::elliptic_curve::sec1::ToEncodedPoint;
use pkcs8::EncodePrivateKey;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, RsaPrivateKey};

use super::{CryptoError, KeyMaterial, KeySpec};

/// The parts of an RSA key. Public keys have only `n` and `e`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RsaParts {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
    pub d: Option<Vec<u8>>,
    pub p: Option<Vec<u8>>,
    pub q: Option<Vec<u8>>,
    pub dp: Option<Vec<u8>>,
    pub dq: Option<Vec<u8>>,
    pub qi: Option<Vec<u8>>,
}

/// The parts of an EC key: the public point (field-size coordinates) and the private scalar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcParts {
    pub x: Vec<u8>,
    pub y: Vec<u8>,
    pub d: Option<Vec<u8>>,
}

fn invalid(what: &str) -> CryptoError {
    CryptoError::InvalidKey(what.to_string())
}

fn uint(bytes: &[u8]) -> BigUint {
    BigUint::from_bytes_be(bytes)
}

/// The RSA key sizes material can hold (the RSA key specs).
fn rsa_spec(bits: usize) -> Result<KeySpec, CryptoError> {
    match bits {
        2048 => Ok(KeySpec::Rsa2048),
        3072 => Ok(KeySpec::Rsa3072),
        4096 => Ok(KeySpec::Rsa4096),
        other => Err(CryptoError::Unsupported(format!(
            "RSA keys of {other} bits are not supported (2048, 3072 or 4096)"
        ))),
    }
}

fn der_of(key: &RsaPrivateKey) -> Result<Vec<u8>, CryptoError> {
    key.to_pkcs8_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the key: {e}")))
}

macro_rules! ec_point {
    ($curve:ident, $der:expr) => {{
        use pkcs8::DecodePrivateKey;
        let secret = $curve::SecretKey::from_pkcs8_der($der)
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key does not parse: {e}")))?;
        let point = secret.public_key().to_encoded_point(false);
        let x = point.x().map(|x| x.to_vec()).unwrap_or_default();
        let y = point.y().map(|y| y.to_vec()).unwrap_or_default();
        (x, y, secret.to_bytes().to_vec())
    }};
}

macro_rules! ec_from_parts {
    ($curve:ident, $spec:expr, $parts:expr) => {{
        let d = $parts
            .d
            .as_deref()
            .ok_or_else(|| invalid("the private key (d) is missing"))?;
        let secret =
            $curve::SecretKey::from_slice(d).map_err(|_| invalid("d is not a valid private key for the curve"))?;
        let point = secret.public_key().to_encoded_point(false);
        let (x, y) = (point.x().map(|v| v.to_vec()), point.y().map(|v| v.to_vec()));
        if x.as_deref() != Some(&$parts.x[..]) || y.as_deref() != Some(&$parts.y[..]) {
            return Err(invalid("the public point (x, y) does not match the private key (d)"));
        }
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the key: {e}")))?;
        KeyMaterial::from_bytes($spec, der.as_bytes())
    }};
}

impl KeyMaterial {
    /// A fresh RSA key of `bits` (2048, 3072, 4096) with public exponent `exponent` (odd, at least 3). Blocking.
    pub fn generate_rsa(bits: usize, exponent: u64) -> Result<KeyMaterial, CryptoError> {
        let spec = rsa_spec(bits)?;
        if exponent < 3 || exponent.is_multiple_of(2) {
            return Err(CryptoError::InvalidInput(format!(
                "the RSA public exponent must be odd and at least 3, not {exponent}"
            )));
        }
        let key = RsaPrivateKey::new_with_exp(&mut rand::rngs::OsRng, bits, &BigUint::from(exponent))
            .map_err(|e| CryptoError::InvalidKey(format!("RSA key generation failed: {e}")))?;
        KeyMaterial::from_bytes(spec, &der_of(&key)?)
    }

    /// RSA material from its parts: `n`, `e`, `d` and (optionally, checked when given) `p`, `q`, `dp`, `dq`, `qi`.
    pub fn from_rsa_parts(parts: &RsaParts) -> Result<KeyMaterial, CryptoError> {
        let d = parts
            .d
            .as_deref()
            .ok_or_else(|| invalid("the private exponent (d) is missing"))?;
        let primes = match (&parts.p, &parts.q) {
            (Some(p), Some(q)) => vec![uint(p), uint(q)],
            (None, None) => Vec::new(),
            _ => return Err(invalid("p and q must be given together")),
        };
        let n = uint(&parts.n);
        let spec = rsa_spec(n.bits())?;
        let mut key = RsaPrivateKey::from_components(n, uint(&parts.e), uint(d), primes)
            .map_err(|e| CryptoError::InvalidKey(format!("the RSA parts do not form a key: {e}")))?;
        key.validate()
            .map_err(|e| CryptoError::InvalidKey(format!("the RSA parts do not form a key: {e}")))?;
        key.precompute()
            .map_err(|e| CryptoError::InvalidKey(format!("the RSA parts do not form a key: {e}")))?;
        let checks = [
            ("dp", parts.dp.as_deref(), key.dp().cloned()),
            ("dq", parts.dq.as_deref(), key.dq().cloned()),
            ("qi", parts.qi.as_deref(), key.crt_coefficient()),
        ];
        for (name, given, computed) in checks {
            if let Some(given) = given {
                if computed.as_ref() != Some(&uint(given)) {
                    return Err(CryptoError::InvalidKey(format!(
                        "{name} does not match the other RSA parts"
                    )));
                }
            }
        }
        KeyMaterial::from_bytes(spec, &der_of(&key)?)
    }

    /// EC material of `spec` (an ECC spec) from its private scalar, checked against the public point.
    pub fn from_ec_parts(spec: KeySpec, parts: &EcParts) -> Result<KeyMaterial, CryptoError> {
        match spec {
            KeySpec::EccNistP256 => ec_from_parts!(p256, spec, parts),
            KeySpec::EccNistP384 => ec_from_parts!(p384, spec, parts),
            KeySpec::EccNistP521 => ec_from_parts!(p521, spec, parts),
            KeySpec::EccSecgP256k1 => ec_from_parts!(k256, spec, parts),
            other => Err(CryptoError::Unsupported(format!("{other} is not an EC key spec"))),
        }
    }

    /// The parts of an RSA key; with `private`, the private parts too.
    pub fn rsa_parts(&self, private: bool) -> Result<RsaParts, CryptoError> {
        let key = self.rsa_private_key()?;
        let mut parts = RsaParts {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
            ..Default::default()
        };
        if private {
            let primes = key.primes();
            parts.d = Some(key.d().to_bytes_be());
            parts.p = primes.first().map(|p| p.to_bytes_be());
            parts.q = primes.get(1).map(|q| q.to_bytes_be());
            parts.dp = key.dp().map(|v| v.to_bytes_be());
            parts.dq = key.dq().map(|v| v.to_bytes_be());
            parts.qi = key.crt_coefficient().map(|v| v.to_bytes_be());
        }
        Ok(parts)
    }

    /// The parts of an EC key; with `private`, the scalar `d` too.
    pub fn ec_parts(&self, private: bool) -> Result<EcParts, CryptoError> {
        let (x, y, d) = match self.spec() {
            KeySpec::EccNistP256 => ec_point!(p256, self.bytes()),
            KeySpec::EccNistP384 => ec_point!(p384, self.bytes()),
            KeySpec::EccNistP521 => ec_point!(p521, self.bytes()),
            KeySpec::EccSecgP256k1 => ec_point!(k256, self.bytes()),
            other => return Err(CryptoError::Unsupported(format!("{other} is not an EC key spec"))),
        };
        Ok(EcParts {
            x,
            y,
            d: private.then_some(d),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_parts_round_trip_and_mismatches_are_refused() {
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        let parts = m.rsa_parts(true).unwrap();
        assert_eq!(parts.e, vec![1, 0, 1]);
        assert_ne!(parts.n[0], 0, "n has no leading zero byte");
        let back = KeyMaterial::from_rsa_parts(&parts).unwrap();
        assert_eq!(back.public_key_der().unwrap(), m.public_key_der().unwrap());
        let without_primes = RsaParts {
            p: None,
            q: None,
            dp: None,
            dq: None,
            qi: None,
            ..parts.clone()
        };
        assert!(KeyMaterial::from_rsa_parts(&without_primes).is_ok());
        let mut wrong = parts.clone();
        wrong.dp = Some(vec![1, 2, 3]);
        assert!(KeyMaterial::from_rsa_parts(&wrong)
            .unwrap_err()
            .to_string()
            .contains("dp"));
        let mut wrong = parts;
        if let Some(d) = wrong.d.as_mut() {
            d[10] ^= 1;
        }
        assert!(KeyMaterial::from_rsa_parts(&wrong).is_err());
        let e3 = KeyMaterial::generate_rsa(2048, 3).unwrap();
        assert_eq!(e3.rsa_parts(false).unwrap().e, vec![3]);
        assert!(KeyMaterial::generate_rsa(1024, 65537).is_err());
    }

    #[test]
    fn ec_parts_round_trip_and_mismatches_are_refused() {
        for (spec, len) in [
            (KeySpec::EccNistP256, 32),
            (KeySpec::EccNistP384, 48),
            (KeySpec::EccNistP521, 66),
            (KeySpec::EccSecgP256k1, 32),
        ] {
            let m = KeyMaterial::generate(spec).unwrap();
            let parts = m.ec_parts(true).unwrap();
            assert_eq!((parts.x.len(), parts.y.len()), (len, len), "{spec}");
            let back = KeyMaterial::from_ec_parts(spec, &parts).unwrap();
            assert_eq!(back.bytes(), m.bytes());
            let mut wrong = parts.clone();
            wrong.x[0] ^= 1;
            assert!(KeyMaterial::from_ec_parts(spec, &wrong).is_err(), "{spec}");
            assert!(m.ec_parts(false).unwrap().d.is_none());
        }
    }
}
