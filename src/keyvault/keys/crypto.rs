//! The cryptographic operations of a key version: encrypt, decrypt, wrapKey, unwrapKey, sign and verify. JOSE
//! algorithm names (RFC 7518 and Key Vault's additions) are mapped here onto [`crate::crypto`]'s typed
//! algorithms; the key must be usable (enabled, within nbf/exp), allow the operation (`key_ops`) and fit the
//! algorithm, checked in that order.
//!
//! Sign and verify take a digest, as the service does; ECDSA signatures are the fixed-size `r‖s` of JOSE.

use super::jwk::{b64, unb64};
use super::model::{KeyOperationParameters, KeyOperationResult, KeyVerifyResult, KeyVersion, Material};
use crate::crypto::asym_encrypt::{rsa_decrypt, rsa_encrypt, RsaPadding};
use crate::crypto::sign::{
    sign_digest, sign_unprefixed, verify_digest, verify_unprefixed, EcdsaEncoding, Hash, Scheme,
};
use crate::crypto::{cipher, CryptoError, KeyMaterial, KeySpec};
use crate::keyvault::endpoint::KeyOperation;
use crate::keyvault::protocol::{truncate, KeyVaultError, ObjectKind};
use crate::keyvault::Cx;

type Answer<T> = Result<T, KeyVaultError>;

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

/// What an encryption algorithm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    Rsa(RsaPadding),
    /// AES-GCM with a key of this many bytes.
    Gcm(usize),
    /// AES-CBC with a key of this many bytes, PKCS#7-padded or not.
    Cbc(usize, bool),
    /// AES key wrap with a key of this many bytes (`None`: any size), RFC 5649 padding or not.
    KeyWrap(Option<usize>, bool),
}

fn cipher_of(alg: &str) -> Option<Cipher> {
    Some(match alg {
        "RSA1_5" => Cipher::Rsa(RsaPadding::Pkcs1v15),
        "RSA-OAEP" => Cipher::Rsa(RsaPadding::OaepSha1),
        "RSA-OAEP-256" => Cipher::Rsa(RsaPadding::OaepSha256),
        "A128GCM" => Cipher::Gcm(16),
        "A192GCM" => Cipher::Gcm(24),
        "A256GCM" => Cipher::Gcm(32),
        "A128CBC" => Cipher::Cbc(16, false),
        "A192CBC" => Cipher::Cbc(24, false),
        "A256CBC" => Cipher::Cbc(32, false),
        "A128CBCPAD" => Cipher::Cbc(16, true),
        "A192CBCPAD" => Cipher::Cbc(24, true),
        "A256CBCPAD" => Cipher::Cbc(32, true),
        "A128KW" => Cipher::KeyWrap(Some(16), false),
        "A192KW" => Cipher::KeyWrap(Some(24), false),
        "A256KW" => Cipher::KeyWrap(Some(32), false),
        "CKM_AES_KEY_WRAP" => Cipher::KeyWrap(None, false),
        "CKM_AES_KEY_WRAP_PAD" => Cipher::KeyWrap(None, true),
        _ => return None,
    })
}

/// The signature algorithm of a request: known and served, or a clear 400. `HS*` (Managed HSM HMAC keys) is named
/// as not served.
fn signature_alg(alg: &str) -> Answer<Option<(Scheme, Hash, Option<KeySpec>)>> {
    if alg == "RSNULL" {
        return Ok(None);
    }
    if let Some(found) = signature_of(alg) {
        return Ok(Some(found));
    }
    if matches!(alg, "HS256" | "HS384" | "HS512") {
        return Err(bad(format!(
            "Algorithm {alg} is not supported by trent: HMAC signatures of Managed HSM keys are not emulated."
        )));
    }
    Err(bad(format!("Invalid algorithm: '{}'.", truncate(alg, 32))))
}

/// What a signature algorithm is: the scheme, the hash, and (ECDSA) the curve it needs.
fn signature_of(alg: &str) -> Option<(Scheme, Hash, Option<KeySpec>)> {
    Some(match alg {
        "RS256" => (Scheme::Pkcs1, Hash::Sha256, None),
        "RS384" => (Scheme::Pkcs1, Hash::Sha384, None),
        "RS512" => (Scheme::Pkcs1, Hash::Sha512, None),
        "PS256" => (Scheme::Pss, Hash::Sha256, None),
        "PS384" => (Scheme::Pss, Hash::Sha384, None),
        "PS512" => (Scheme::Pss, Hash::Sha512, None),
        "ES256" => (Scheme::Ecdsa, Hash::Sha256, Some(KeySpec::EccNistP256)),
        "ES384" => (Scheme::Ecdsa, Hash::Sha384, Some(KeySpec::EccNistP384)),
        "ES512" => (Scheme::Ecdsa, Hash::Sha512, Some(KeySpec::EccNistP521)),
        "ES256K" => (Scheme::Ecdsa, Hash::Sha256, Some(KeySpec::EccSecgP256k1)),
        _ => return None,
    })
}

/// The wire name of an operation, as `key_ops` and the service's messages spell it.
fn op_name(op: KeyOperation) -> &'static str {
    match op {
        KeyOperation::Encrypt => "encrypt",
        KeyOperation::Decrypt => "decrypt",
        KeyOperation::WrapKey => "wrapKey",
        KeyOperation::UnwrapKey => "unwrapKey",
        KeyOperation::Sign => "sign",
        KeyOperation::Verify => "verify",
        KeyOperation::Release => "release",
    }
}

/// The checks every operation makes on the version before touching the key: enabled, inside nbf/exp, and the
/// operation in `key_ops` (403 `KeyOperationForbidden`, "Operation X is not permitted on this key.").
pub fn check_usable(v: &KeyVersion, op: &str, now: i64) -> Answer<()> {
    if !v.enabled {
        return Err(KeyVaultError::disabled(ObjectKind::Key, op));
    }
    if v.nbf.is_some_and(|nbf| now < nbf) {
        return Err(KeyVaultError::Forbidden {
            message: format!("Operation {op} is not allowed on a key that is not yet valid."),
            inner: Some("KeyNotYetValid"),
        });
    }
    if v.exp.is_some_and(|exp| now >= exp) {
        return Err(KeyVaultError::Forbidden {
            message: format!("Operation {op} is not allowed on an expired key."),
            inner: Some("KeyExpired"),
        });
    }
    if !v.key_ops.iter().any(|o| o == op) {
        return Err(KeyVaultError::Forbidden {
            message: format!("Operation {op} is not permitted on this key."),
            inner: Some("KeyOperationForbidden"),
        });
    }
    Ok(())
}

fn required(value: &Option<String>, member: &str) -> Answer<Vec<u8>> {
    let text = value
        .as_deref()
        .ok_or_else(|| bad(format!("The parameter '{member}' is required.")))?;
    unb64(text).ok_or_else(|| bad(format!("The parameter '{member}' is not base64url.")))
}

fn optional(value: &Option<String>, member: &str) -> Answer<Option<Vec<u8>>> {
    value.as_ref().map(|_| required(value, member)).transpose()
}

fn unfit(alg: &str, v: &KeyVersion) -> KeyVaultError {
    bad(format!(
        "Algorithm {} is not supported for key type {}.",
        truncate(alg, 32),
        v.kty.as_str()
    ))
}

fn crypto_error(e: CryptoError) -> KeyVaultError {
    match e {
        CryptoError::InvalidCiphertext => bad("The ciphertext is invalid or was not made with this key and algorithm."),
        CryptoError::InvalidKey(m) => KeyVaultError::Internal(format!("stored key is unusable: {m}")),
        CryptoError::InvalidDigest(m) | CryptoError::Unsupported(m) | CryptoError::InvalidInput(m) => bad(m),
    }
}

fn rsa_material<'a>(alg: &str, v: &'a KeyVersion) -> Answer<&'a KeyMaterial> {
    match &v.material {
        Material::Asymmetric(m) if v.kty.is_rsa() => Ok(m),
        _ => Err(unfit(alg, v)),
    }
}

fn aes_key<'a>(alg: &str, v: &'a KeyVersion, size: Option<usize>) -> Answer<&'a [u8]> {
    match &v.material {
        Material::Symmetric(k) if size.is_none_or(|s| s == k.0.len()) => Ok(&k.0),
        Material::Symmetric(k) => Err(bad(format!(
            "Algorithm {} needs a {}-bit key; this key has {} bits.",
            truncate(alg, 32),
            size.unwrap_or(0) * 8,
            k.0.len() * 8
        ))),
        Material::Asymmetric(_) => Err(unfit(alg, v)),
    }
}

/// The result of an operation: `kid` is the version's full id.
fn result(kid: String, value: Vec<u8>) -> KeyOperationResult {
    KeyOperationResult {
        kid,
        value: b64(&value),
        iv: None,
        tag: None,
        aad: None,
    }
}

/// Runs encrypt/decrypt/wrapKey/unwrapKey with `alg` on `v`.
fn transform(
    op: KeyOperation,
    alg: &str,
    v: &KeyVersion,
    p: &KeyOperationParameters,
    kid: String,
) -> Answer<KeyOperationResult> {
    let cipher = cipher_of(alg).ok_or_else(|| bad(format!("Invalid algorithm: '{}'.", truncate(alg, 32))))?;
    let wrapping = matches!(op, KeyOperation::WrapKey | KeyOperation::UnwrapKey);
    let forward = matches!(op, KeyOperation::Encrypt | KeyOperation::WrapKey);
    let value = required(&p.value, "value")?;
    match cipher {
        Cipher::Rsa(padding) => {
            let m = rsa_material(alg, v)?;
            let out = if forward {
                rsa_encrypt(m, padding, &value)
            } else {
                rsa_decrypt(m, padding, &value)
            };
            Ok(result(kid, out.map_err(crypto_error)?))
        }
        Cipher::KeyWrap(size, padded) => {
            if !wrapping {
                return Err(bad(format!(
                    "Algorithm {alg} is a key wrap algorithm: use wrapKey and unwrapKey."
                )));
            }
            let kek = aes_key(alg, v, size)?;
            let out = if forward {
                cipher::key_wrap(kek, &value, padded)
            } else {
                cipher::key_unwrap(kek, &value, padded)
            };
            Ok(result(kid, out.map_err(crypto_error)?))
        }
        Cipher::Gcm(size) => {
            if wrapping {
                return Err(bad(format!(
                    "Algorithm {alg} cannot wrap keys: use encrypt and decrypt."
                )));
            }
            let key = aes_key(alg, v, Some(size))?;
            let aad = optional(&p.aad, "aad")?.unwrap_or_default();
            if forward {
                let iv = match optional(&p.iv, "iv")? {
                    Some(iv) => iv,
                    None => crate::crypto::random_bytes(cipher::GCM_IV_LEN),
                };
                let (ciphertext, tag) = cipher::gcm_encrypt(key, &iv, &aad, &value).map_err(crypto_error)?;
                Ok(KeyOperationResult {
                    iv: Some(b64(&iv)),
                    tag: Some(b64(&tag)),
                    aad: p.aad.as_ref().map(|_| b64(&aad)),
                    ..result(kid, ciphertext)
                })
            } else {
                let iv = required(&p.iv, "iv")?;
                let tag = required(&p.tag, "tag")?;
                Ok(result(
                    kid,
                    cipher::gcm_decrypt(key, &iv, &aad, &value, &tag).map_err(crypto_error)?,
                ))
            }
        }
        Cipher::Cbc(size, padded) => {
            if wrapping {
                return Err(bad(format!(
                    "Algorithm {alg} cannot wrap keys: use encrypt and decrypt."
                )));
            }
            let key = aes_key(alg, v, Some(size))?;
            let iv = required(&p.iv, "iv")?;
            let out = if forward {
                cipher::cbc_encrypt(key, &iv, &value, padded)
            } else {
                cipher::cbc_decrypt(key, &iv, &value, padded)
            };
            let out = out.map_err(crypto_error)?;
            Ok(KeyOperationResult {
                iv: forward.then(|| b64(&iv)),
                ..result(kid, out)
            })
        }
    }
}

fn asymmetric_for_signature<'a>(alg: &str, v: &'a KeyVersion, curve: Option<KeySpec>) -> Answer<&'a KeyMaterial> {
    let Material::Asymmetric(m) = &v.material else {
        return Err(unfit(alg, v));
    };
    match curve {
        None if v.kty.is_rsa() => Ok(m),
        Some(spec) if v.kty.is_ec() && m.spec() == spec => Ok(m),
        Some(_) if v.kty.is_ec() => Err(bad(format!(
            "Algorithm {alg} is not supported for curve {}.",
            super::model::curve_name(m.spec()).unwrap_or("?")
        ))),
        _ => Err(unfit(alg, v)),
    }
}

fn digest_length(hash: Hash, digest: &[u8], alg: &str) -> Answer<()> {
    if digest.len() != hash.output_len() {
        return Err(bad(format!(
            "Invalid digest length for algorithm {alg}: expected {} bytes, got {}.",
            hash.output_len(),
            digest.len()
        )));
    }
    Ok(())
}

/// `POST /keys/{name}/{version}/{encrypt|decrypt|wrapkey|unwrapkey|sign}` — the operations that answer a
/// `KeyOperationResult`.
pub fn key_operation(
    cx: &Cx,
    name: &str,
    version: Option<&str>,
    op: KeyOperation,
    params: KeyOperationParameters,
) -> Answer<KeyOperationResult> {
    crate::keyvault::protocol::body::check_name(name)?;
    let alg = params
        .alg
        .clone()
        .ok_or_else(|| bad("The parameter 'alg' is required."))?;
    let now = cx.kv.now();
    // Only the lookup and the checks hold the service lock; the cryptography runs on a copy of the version.
    let (v, kid) = cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        let v = record.find(version)?;
        check_usable(v, op_name(op), now)?;
        let kid = cx.target.object_id(ObjectKind::Key, &record.name, &v.version);
        Ok::<_, KeyVaultError>((v.clone(), kid))
    })?;
    let v = &v;
    if op != KeyOperation::Sign {
        return transform(op, &alg, v, &params, kid);
    }
    let digest = required(&params.value, "value")?;
    let Some((scheme, hash, curve)) = signature_alg(&alg)? else {
        // RSNULL: PKCS#1 v1.5 over the value as given (the caller encoded the DigestInfo, or none).
        let m = asymmetric_for_signature(&alg, v, None)?;
        return Ok(result(kid, sign_unprefixed(m, &digest).map_err(crypto_error)?));
    };
    let m = asymmetric_for_signature(&alg, v, curve)?;
    digest_length(hash, &digest, &alg)?;
    let signature = sign_digest(m, scheme, hash, &digest, EcdsaEncoding::Fixed).map_err(crypto_error)?;
    Ok(result(kid, signature))
}

/// `POST /keys/{name}/{version}/verify` — verify: `{value: true|false}` for the signature over the digest.
pub fn verify(cx: &Cx, name: &str, version: Option<&str>, params: KeyOperationParameters) -> Answer<KeyVerifyResult> {
    crate::keyvault::protocol::body::check_name(name)?;
    let alg = params
        .alg
        .clone()
        .ok_or_else(|| bad("The parameter 'alg' is required."))?;
    let algorithm = signature_alg(&alg)?;
    let digest = required(&params.digest, "digest")?;
    let signature = required(&params.value, "value")?;
    let now = cx.kv.now();
    let v = cx.with_vault(|vault| {
        let v = vault.keys.get(name)?.find(version)?;
        check_usable(v, "verify", now)?;
        Ok::<_, KeyVaultError>(v.clone())
    })?;
    let v = &v;
    let Some((scheme, hash, curve)) = algorithm else {
        let m = asymmetric_for_signature(&alg, v, None)?;
        let value = verify_unprefixed(m, &digest, &signature).map_err(crypto_error)?;
        return Ok(KeyVerifyResult { value });
    };
    let m = asymmetric_for_signature(&alg, v, curve)?;
    digest_length(hash, &digest, &alg)?;
    let value = verify_digest(m, scheme, hash, &digest, &signature, EcdsaEncoding::Fixed).map_err(crypto_error)?;
    Ok(KeyVerifyResult { value })
}
