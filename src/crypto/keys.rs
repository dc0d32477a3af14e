//! Key specs (the AWS `KeySpec` strings) and the secret key material behind a KMS key.
//!
//! Material is stored in one canonical byte form per family so it can be persisted and re-imported without
//! ambiguity: symmetric keys are 32 raw bytes, HMAC keys raw key bytes, asymmetric keys PKCS#8 DER (ML-DSA and
//! ML-KEM in the seed-only form, see [`super::mldsa`] and [`super::kem`]). Every
//! asymmetric operation re-parses the DER; that costs microseconds next to the RSA operation itself and keeps
//! [`KeyMaterial`] a plain, serializable value.

use std::fmt;

use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use super::{random_bytes, CryptoError};

/// A KMS key spec, serialized as the AWS wire string (`"SYMMETRIC_DEFAULT"`, `"RSA_2048"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KeySpec {
    /// AES-256-GCM, the default KMS key.
    #[serde(rename = "SYMMETRIC_DEFAULT")]
    SymmetricDefault,
    /// RSA with a 2048-bit modulus.
    #[serde(rename = "RSA_2048")]
    Rsa2048,
    /// RSA with a 3072-bit modulus.
    #[serde(rename = "RSA_3072")]
    Rsa3072,
    /// RSA with a 4096-bit modulus.
    #[serde(rename = "RSA_4096")]
    Rsa4096,
    /// ECC on NIST P-256 (secp256r1).
    #[serde(rename = "ECC_NIST_P256")]
    EccNistP256,
    /// ECC on NIST P-384 (secp384r1).
    #[serde(rename = "ECC_NIST_P384")]
    EccNistP384,
    /// ECC on NIST P-521 (secp521r1).
    #[serde(rename = "ECC_NIST_P521")]
    EccNistP521,
    /// ECC on secp256k1 (signing only, as in AWS).
    #[serde(rename = "ECC_SECG_P256K1")]
    EccSecgP256k1,
    /// HMAC with SHA-224 (28-byte generated key).
    #[serde(rename = "HMAC_224")]
    Hmac224,
    /// HMAC with SHA-256 (32-byte generated key).
    #[serde(rename = "HMAC_256")]
    Hmac256,
    /// HMAC with SHA-384 (48-byte generated key).
    #[serde(rename = "HMAC_384")]
    Hmac384,
    /// HMAC with SHA-512 (64-byte generated key).
    #[serde(rename = "HMAC_512")]
    Hmac512,
    /// SM2 (China regions only in AWS). Known to the API, but trent cannot generate or use such material.
    #[serde(rename = "SM2")]
    Sm2,
    /// ML-DSA-44 (FIPS 204), signing only.
    #[serde(rename = "ML_DSA_44")]
    MlDsa44,
    /// ML-DSA-65 (FIPS 204), signing only.
    #[serde(rename = "ML_DSA_65")]
    MlDsa65,
    /// ML-DSA-87 (FIPS 204), signing only.
    #[serde(rename = "ML_DSA_87")]
    MlDsa87,
    /// Ed25519 (RFC 8032) on edwards25519, signing only: pure Ed25519 and Ed25519ph.
    #[serde(rename = "ECC_NIST_EDWARDS25519")]
    EccNistEdwards25519,
    /// ML-KEM-512 (FIPS 203), key encapsulation.
    #[serde(rename = "ML_KEM_512")]
    MlKem512,
    /// ML-KEM-768 (FIPS 203), key encapsulation.
    #[serde(rename = "ML_KEM_768")]
    MlKem768,
    /// ML-KEM-1024 (FIPS 203), key encapsulation.
    #[serde(rename = "ML_KEM_1024")]
    MlKem1024,
}

const RSA_SIGNING: &[&str] = &[
    "RSASSA_PKCS1_V1_5_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_512",
];
const RSA_ENCRYPTION: &[&str] = &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];

impl KeySpec {
    /// Every spec, in the order of the AWS model.
    pub const ALL: [KeySpec; 20] = [
        KeySpec::Rsa2048,
        KeySpec::Rsa3072,
        KeySpec::Rsa4096,
        KeySpec::EccNistP256,
        KeySpec::EccNistP384,
        KeySpec::EccNistP521,
        KeySpec::EccSecgP256k1,
        KeySpec::SymmetricDefault,
        KeySpec::Hmac224,
        KeySpec::Hmac256,
        KeySpec::Hmac384,
        KeySpec::Hmac512,
        KeySpec::Sm2,
        KeySpec::MlDsa44,
        KeySpec::MlDsa65,
        KeySpec::MlDsa87,
        KeySpec::EccNistEdwards25519,
        KeySpec::MlKem512,
        KeySpec::MlKem768,
        KeySpec::MlKem1024,
    ];

    /// The value of the deprecated `CustomerMasterKeySpec` output member, whose enum stops at SM2: `None` for
    /// the ML-DSA, Ed25519 and ML-KEM specs.
    pub fn customer_master_key_spec(&self) -> Option<&'static str> {
        (!(self.is_ml_dsa() || self.is_ml_kem() || *self == KeySpec::EccNistEdwards25519)).then(|| self.as_str())
    }

    /// The AWS wire string of this spec.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            KeySpec::Rsa2048 => "RSA_2048",
            KeySpec::Rsa3072 => "RSA_3072",
            KeySpec::Rsa4096 => "RSA_4096",
            KeySpec::EccNistP256 => "ECC_NIST_P256",
            KeySpec::EccNistP384 => "ECC_NIST_P384",
            KeySpec::EccNistP521 => "ECC_NIST_P521",
            KeySpec::EccSecgP256k1 => "ECC_SECG_P256K1",
            KeySpec::Hmac224 => "HMAC_224",
            KeySpec::Hmac256 => "HMAC_256",
            KeySpec::Hmac384 => "HMAC_384",
            KeySpec::Hmac512 => "HMAC_512",
            KeySpec::Sm2 => "SM2",
            KeySpec::MlDsa44 => "ML_DSA_44",
            KeySpec::MlDsa65 => "ML_DSA_65",
            KeySpec::MlDsa87 => "ML_DSA_87",
            KeySpec::EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
            KeySpec::MlKem512 => "ML_KEM_512",
            KeySpec::MlKem768 => "ML_KEM_768",
            KeySpec::MlKem1024 => "ML_KEM_1024",
        }
    }

    /// Parses an AWS wire string (exact, case-sensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<KeySpec> {
        KeySpec::ALL.into_iter().find(|spec| spec.as_str() == s)
    }

    /// True for the RSA specs.
    pub fn is_rsa(&self) -> bool {
        matches!(self, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096)
    }

    /// True for the elliptic-curve specs trent implements (not SM2).
    pub fn is_ecc(&self) -> bool {
        matches!(
            self,
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::EccSecgP256k1
        )
    }

    /// True for the HMAC specs.
    pub fn is_hmac(&self) -> bool {
        matches!(
            self,
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512
        )
    }

    /// True for the ML-DSA specs.
    pub fn is_ml_dsa(&self) -> bool {
        matches!(self, KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87)
    }

    /// True for the ML-KEM specs.
    pub fn is_ml_kem(&self) -> bool {
        matches!(self, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024)
    }

    /// True for the specs whose material is a key pair trent can use, i.e. that have a public key (not SM2).
    pub fn has_public_key(&self) -> bool {
        self.is_rsa() || self.is_ecc() || self.is_ml_dsa() || self.is_ml_kem() || *self == KeySpec::EccNistEdwards25519
    }

    /// RSA modulus size in bits, `None` for non-RSA specs.
    pub fn rsa_bits(&self) -> Option<usize> {
        match self {
            KeySpec::Rsa2048 => Some(2048),
            KeySpec::Rsa3072 => Some(3072),
            KeySpec::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// Length in bytes of a generated HMAC key, `None` for non-HMAC specs.
    pub fn hmac_key_len(&self) -> Option<usize> {
        match self {
            KeySpec::Hmac224 => Some(28),
            KeySpec::Hmac256 => Some(32),
            KeySpec::Hmac384 => Some(48),
            KeySpec::Hmac512 => Some(64),
            _ => None,
        }
    }

    /// The `KeyUsage` values AWS accepts for this spec (`CreateKey` validation).
    pub fn key_usages(&self) -> &'static [&'static str] {
        match self {
            KeySpec::SymmetricDefault => &["ENCRYPT_DECRYPT"],
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &["ENCRYPT_DECRYPT", "SIGN_VERIFY"],
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 => &["SIGN_VERIFY", "KEY_AGREEMENT"],
            KeySpec::EccSecgP256k1 => &["SIGN_VERIFY"],
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => &["GENERATE_VERIFY_MAC"],
            KeySpec::Sm2 => &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"],
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 | KeySpec::EccNistEdwards25519 => &["SIGN_VERIFY"],
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => &["ENCAPSULATE_DECAPSULATE"],
        }
    }

    /// The `SigningAlgorithms` DescribeKey lists for a `SIGN_VERIFY` key of this spec, in AWS order.
    pub fn signing_algorithms(&self) -> &'static [&'static str] {
        match self {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => RSA_SIGNING,
            KeySpec::EccNistP256 | KeySpec::EccSecgP256k1 => &["ECDSA_SHA_256"],
            KeySpec::EccNistP384 => &["ECDSA_SHA_384"],
            KeySpec::EccNistP521 => &["ECDSA_SHA_512"],
            KeySpec::Sm2 => &["SM2DSA"],
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &["ML_DSA_SHAKE_256"],
            KeySpec::EccNistEdwards25519 => &["ED25519_SHA_512", "ED25519_PH_SHA_512"],
            _ => &[],
        }
    }

    /// The `EncryptionAlgorithms` DescribeKey lists for an `ENCRYPT_DECRYPT` key of this spec.
    pub fn encryption_algorithms(&self) -> &'static [&'static str] {
        match self {
            KeySpec::SymmetricDefault => &["SYMMETRIC_DEFAULT"],
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => RSA_ENCRYPTION,
            KeySpec::Sm2 => &["SM2PKE"],
            _ => &[],
        }
    }

    /// The `MacAlgorithms` DescribeKey lists for a `GENERATE_VERIFY_MAC` key of this spec.
    pub fn mac_algorithms(&self) -> &'static [&'static str] {
        match self {
            KeySpec::Hmac224 => &["HMAC_SHA_224"],
            KeySpec::Hmac256 => &["HMAC_SHA_256"],
            KeySpec::Hmac384 => &["HMAC_SHA_384"],
            KeySpec::Hmac512 => &["HMAC_SHA_512"],
            _ => &[],
        }
    }

    /// The `EncapsulationAlgorithms` DescribeKey lists for an `ENCAPSULATE_DECAPSULATE` key of this spec.
    pub fn encapsulation_algorithms(&self) -> &'static [&'static str] {
        if self.is_ml_kem() {
            &["ML_KEM"]
        } else {
            &[]
        }
    }

    /// The `KeyAgreementAlgorithms` DescribeKey lists for a `KEY_AGREEMENT` key of this spec.
    pub fn key_agreement_algorithms(&self) -> &'static [&'static str] {
        match self {
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 | KeySpec::Sm2 => &["ECDH"],
            _ => &[],
        }
    }
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Secret key material of one key (version). Symmetric: 32 raw bytes; HMAC: raw key bytes; RSA/ECC: PKCS#8
/// DER private key. Serializes as `{"spec": "...", "bytes": "<base64>"}`; zeroized on drop; `Debug` never
/// prints the bytes. Deserializing trusts the stored bytes (our own persisted state); untrusted input goes
/// through [`KeyMaterial::from_bytes`], which validates.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeyMaterial {
    spec: KeySpec,
    #[serde(serialize_with = "ser_b64", deserialize_with = "de_b64")]
    bytes: Vec<u8>,
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("spec", &self.spec)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

fn ser_b64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn de_b64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    use base64::Engine;
    let mut text = String::deserialize(d)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom);
    text.zeroize();
    decoded
}

/// PKCS#8 DER of a freshly generated EC secret key of the given curve crate.
macro_rules! ec_generate {
    ($curve:ident) => {{
        let secret = $curve::SecretKey::random(&mut rand::rngs::OsRng);
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the generated key: {e}")))?;
        der.as_bytes().to_vec()
    }};
}

/// Parses PKCS#8 DER as an EC secret key of the given curve crate and re-encodes it canonically.
macro_rules! ec_canonical {
    ($curve:ident, $bytes:expr, $spec:expr) => {{
        let secret = $curve::SecretKey::from_pkcs8_der($bytes)
            .map_err(|e| CryptoError::InvalidKey(format!("key material is not a PKCS#8 {} private key: {e}", $spec)))?;
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the key: {e}")))?;
        der.as_bytes().to_vec()
    }};
}

/// SubjectPublicKeyInfo DER of the EC key (PKCS#8 DER) of the given curve crate.
macro_rules! ec_public_der {
    ($curve:ident, $bytes:expr) => {{
        let secret = $curve::SecretKey::from_pkcs8_der($bytes)
            .map_err(|e| CryptoError::InvalidKey(format!("stored EC key does not parse: {e}")))?;
        let der = secret
            .public_key()
            .to_public_key_der()
            .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the public key: {e}")))?;
        der.as_bytes().to_vec()
    }};
}

impl KeyMaterial {
    /// Generates fresh material for `spec` from the OS CSPRNG. Blocking: RSA-4096 takes a second or more, so
    /// async callers should use `spawn_blocking`. `Sm2` → [`CryptoError::Unsupported`].
    pub fn generate(spec: KeySpec) -> Result<KeyMaterial, CryptoError> {
        let bytes = match spec {
            KeySpec::SymmetricDefault => random_bytes(32),
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                random_bytes(spec.hmac_key_len().unwrap_or(32))
            }
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let bits = spec.rsa_bits().unwrap_or(2048);
                let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
                    .map_err(|e| CryptoError::InvalidKey(format!("RSA key generation failed: {e}")))?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the generated key: {e}")))?;
                der.as_bytes().to_vec()
            }
            KeySpec::EccNistP256 => ec_generate!(p256),
            KeySpec::EccNistP384 => ec_generate!(p384),
            KeySpec::EccNistP521 => ec_generate!(p521),
            KeySpec::EccSecgP256k1 => ec_generate!(k256),
            KeySpec::Sm2 => return Err(unsupported_sm2()),
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => super::mldsa::generate(spec)?,
            KeySpec::EccNistEdwards25519 => super::ed25519::generate()?,
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => super::kem::generate(spec)?,
        };
        Ok(KeyMaterial { spec, bytes })
    }

    /// Validates imported material and stores it in canonical form. Symmetric: exactly 32 bytes. HMAC: the
    /// AWS import ranges (HMAC_224 28–64, HMAC_256 32–64, HMAC_384 48–128, HMAC_512 64–128 bytes). RSA: a
    /// PKCS#8 DER private key with exactly the spec's modulus size. ECC: a PKCS#8 DER private key on the
    /// spec's curve. Asymmetric keys are re-encoded (canonical PKCS#8), so `bytes()` may differ from the input.
    pub fn from_bytes(spec: KeySpec, bytes: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let canonical = match spec {
            KeySpec::SymmetricDefault => {
                if bytes.len() != 32 {
                    return Err(CryptoError::InvalidKey(format!(
                        "SYMMETRIC_DEFAULT key material must be 32 bytes, got {}",
                        bytes.len()
                    )));
                }
                bytes.to_vec()
            }
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                let (min, max) = match spec {
                    KeySpec::Hmac224 => (28, 64),
                    KeySpec::Hmac256 => (32, 64),
                    KeySpec::Hmac384 => (48, 128),
                    _ => (64, 128),
                };
                if bytes.len() < min || bytes.len() > max {
                    return Err(CryptoError::InvalidKey(format!(
                        "{spec} key material must be {min} to {max} bytes, got {}",
                        bytes.len()
                    )));
                }
                bytes.to_vec()
            }
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let key = RsaPrivateKey::from_pkcs8_der(bytes).map_err(|e| {
                    CryptoError::InvalidKey(format!("key material is not a PKCS#8 RSA private key: {e}"))
                })?;
                let bits = key.n().bits();
                if Some(bits) != spec.rsa_bits() {
                    return Err(CryptoError::InvalidKey(format!(
                        "key material is a {bits}-bit RSA key, but the key spec is {spec}"
                    )));
                }
                key.validate()
                    .map_err(|e| CryptoError::InvalidKey(format!("RSA private key is inconsistent: {e}")))?;
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the key: {e}")))?;
                der.as_bytes().to_vec()
            }
            KeySpec::EccNistP256 => ec_canonical!(p256, bytes, spec),
            KeySpec::EccNistP384 => ec_canonical!(p384, bytes, spec),
            KeySpec::EccNistP521 => ec_canonical!(p521, bytes, spec),
            KeySpec::EccSecgP256k1 => ec_canonical!(k256, bytes, spec),
            KeySpec::Sm2 => return Err(unsupported_sm2()),
            // PKCS#8 DER: the seed-only form of the IETF drafts for ML-DSA/ML-KEM, RFC 8410 for Ed25519.
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => super::mldsa::canonical(spec, bytes)?,
            KeySpec::EccNistEdwards25519 => super::ed25519::canonical(bytes)?,
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => super::kem::canonical(spec, bytes)?,
        };
        Ok(KeyMaterial { spec, bytes: canonical })
    }

    /// The spec this material belongs to.
    pub fn spec(&self) -> KeySpec {
        self.spec
    }

    /// The raw stored bytes (see the type docs for the form). Secret: never log them.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER (what KMS `GetPublicKey` returns). RSA/ECC only;
    /// symmetric and HMAC specs → [`CryptoError::Unsupported`].
    pub fn public_key_der(&self) -> Result<Vec<u8>, CryptoError> {
        match self.spec {
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
                let key = self.rsa_private_key()?;
                let der = key
                    .to_public_key()
                    .to_public_key_der()
                    .map_err(|e| CryptoError::InvalidKey(format!("cannot encode the public key: {e}")))?;
                Ok(der.as_bytes().to_vec())
            }
            KeySpec::EccNistP256 => Ok(ec_public_der!(p256, &self.bytes)),
            KeySpec::EccNistP384 => Ok(ec_public_der!(p384, &self.bytes)),
            KeySpec::EccNistP521 => Ok(ec_public_der!(p521, &self.bytes)),
            KeySpec::EccSecgP256k1 => Ok(ec_public_der!(k256, &self.bytes)),
            KeySpec::Sm2 => Err(unsupported_sm2()),
            KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => {
                super::mldsa::public_key_der(self.spec, &self.bytes)
            }
            KeySpec::EccNistEdwards25519 => super::ed25519::public_key_der(&self.bytes),
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
                super::kem::public_key_der(self.spec, &self.bytes)
            }
            KeySpec::SymmetricDefault | KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                Err(CryptoError::Unsupported(format!(
                    "{} keys have no public key",
                    self.spec
                )))
            }
        }
    }

    /// The RSA private key (RSA specs only).
    pub(crate) fn rsa_private_key(&self) -> Result<RsaPrivateKey, CryptoError> {
        if !self.spec.is_rsa() {
            return Err(CryptoError::Unsupported(format!(
                "{} is not an RSA key spec",
                self.spec
            )));
        }
        RsaPrivateKey::from_pkcs8_der(&self.bytes)
            .map_err(|e| CryptoError::InvalidKey(format!("stored RSA key does not parse: {e}")))
    }
}

pub(crate) fn unsupported_sm2() -> CryptoError {
    CryptoError::Unsupported("SM2 key material is not supported by trent".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_strings_round_trip_through_parse_and_serde() {
        for spec in KeySpec::ALL {
            assert_eq!(KeySpec::parse(spec.as_str()), Some(spec));
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(json, format!("\"{}\"", spec.as_str()));
            assert_eq!(serde_json::from_str::<KeySpec>(&json).unwrap(), spec);
        }
        assert_eq!(KeySpec::parse("symmetric_default"), None);
        assert_eq!(KeySpec::parse("ML_DSA_44"), Some(KeySpec::MlDsa44));
        assert_eq!(KeySpec::parse("ml_kem_512"), None);
    }

    #[test]
    fn algorithm_lists_match_aws() {
        assert_eq!(KeySpec::SymmetricDefault.encryption_algorithms(), ["SYMMETRIC_DEFAULT"]);
        assert_eq!(
            KeySpec::Rsa3072.encryption_algorithms(),
            ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
        );
        assert_eq!(KeySpec::Rsa4096.signing_algorithms().len(), 6);
        assert_eq!(KeySpec::EccSecgP256k1.signing_algorithms(), ["ECDSA_SHA_256"]);
        assert_eq!(KeySpec::EccNistP521.signing_algorithms(), ["ECDSA_SHA_512"]);
        assert_eq!(KeySpec::Hmac384.mac_algorithms(), ["HMAC_SHA_384"]);
        assert_eq!(KeySpec::EccNistP384.key_agreement_algorithms(), ["ECDH"]);
        assert!(KeySpec::EccSecgP256k1.key_agreement_algorithms().is_empty());
        assert!(KeySpec::SymmetricDefault.signing_algorithms().is_empty());
    }

    #[test]
    fn generated_material_has_the_documented_shape() {
        assert_eq!(
            KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap().bytes().len(),
            32
        );
        for (spec, len) in [
            (KeySpec::Hmac224, 28),
            (KeySpec::Hmac256, 32),
            (KeySpec::Hmac384, 48),
            (KeySpec::Hmac512, 64),
        ] {
            let m = KeyMaterial::generate(spec).unwrap();
            assert_eq!(m.bytes().len(), len);
            assert!(m.public_key_der().is_err());
        }
        for spec in [
            KeySpec::EccNistP256,
            KeySpec::EccNistP384,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
        ] {
            let m = KeyMaterial::generate(spec).unwrap();
            let again = KeyMaterial::from_bytes(spec, m.bytes()).unwrap();
            assert_eq!(again.bytes(), m.bytes());
            assert_eq!(again.public_key_der().unwrap(), m.public_key_der().unwrap());
        }
        assert!(matches!(
            KeyMaterial::generate(KeySpec::Sm2),
            Err(CryptoError::Unsupported(_))
        ));
    }

    #[test]
    fn from_bytes_rejects_wrong_material() {
        assert!(KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0; 31]).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0; 32]).is_ok());
        assert!(KeyMaterial::from_bytes(KeySpec::Hmac256, &[0; 31]).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::Hmac256, &[0; 64]).is_ok());
        assert!(KeyMaterial::from_bytes(KeySpec::Hmac256, &[0; 65]).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::Hmac512, &[0; 128]).is_ok());
        assert!(KeyMaterial::from_bytes(KeySpec::Rsa2048, b"garbage").is_err());
        let p256 = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(KeyMaterial::from_bytes(KeySpec::EccNistP384, p256.bytes()).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::EccSecgP256k1, p256.bytes()).is_err());
        assert!(KeyMaterial::from_bytes(KeySpec::Rsa2048, p256.bytes()).is_err());
    }

    #[test]
    fn rsa_import_checks_the_modulus_size() {
        let m = KeyMaterial::generate(KeySpec::Rsa2048).unwrap();
        assert!(KeyMaterial::from_bytes(KeySpec::Rsa2048, m.bytes()).is_ok());
        let err = KeyMaterial::from_bytes(KeySpec::Rsa3072, m.bytes()).unwrap_err();
        assert!(err.to_string().contains("2048-bit"), "{err}");
        assert!(KeyMaterial::from_bytes(KeySpec::EccNistP256, m.bytes()).is_err());
    }

    #[test]
    fn debug_hides_bytes_and_serde_round_trips() {
        let m = KeyMaterial::from_bytes(KeySpec::SymmetricDefault, &[0xAB; 32]).unwrap();
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("171") && !dbg.to_lowercase().contains("ab, "), "{dbg}");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["spec"], "SYMMETRIC_DEFAULT");
        assert!(json["bytes"].is_string());
        let back: KeyMaterial = serde_json::from_value(json).unwrap();
        assert_eq!(back.bytes(), m.bytes());
        assert_eq!(back.spec(), KeySpec::SymmetricDefault);
    }

    /// Timing only (`cargo test --lib rsa_keygen_timing -- --ignored --nocapture`): RSA key generation is
    /// the one slow operation here, and its time varies a lot from key to key.
    #[test]
    #[ignore]
    fn rsa_keygen_timing() {
        for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
            let mut times = Vec::new();
            for _ in 0..5 {
                let t = std::time::Instant::now();
                KeyMaterial::generate(spec).unwrap();
                times.push(t.elapsed());
            }
            times.sort();
            eprintln!("{spec}: min {:?} median {:?} max {:?}", times[0], times[2], times[4]);
        }
    }
}
