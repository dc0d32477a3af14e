//! Secure key release (`POST /keys/{name}/{version}/release`) and key attestation.
//!
//! A release policy (Azure's SKR policy grammar, versions 1.0.x) names attestation authorities and claim conditions:
//! `{"version": "1.0.0", "anyOf": [{"authority": "https://…", "allOf": [{"claim": "x-ms-attestation-type",
//! "equals": "sevsnpvm"}]}]}`; groups nest with `anyOf`/`allOf`. A release succeeds when the `target` attestation
//! token (a JWT) was issued by one of the authorities (`iss`), is valid on the server clock (`nbf`/`exp`), and its
//! claims satisfy that authority's conditions (dotted claim names reach into objects). trent has no attestation
//! service's signing keys, so it does not verify the token's signature, as it accepts any bearer token; it checks
//! everything else.
//!
//! The released key is wrapped for the token's runtime key (`x-ms-runtime.keys`, an RSA JWK) the way the service
//! does it (`enc`: CKM_RSA_AES_KEY_WRAP, RSA_AES_KEY_WRAP_256 or _384): a fresh AES-256 key encrypted with
//! RSA-OAEP (SHA-1, SHA-256, SHA-384), then the key's PKCS#8 (or raw AES) bytes wrapped with AES-KWP under it. The
//! answer is a JWS (ES256, certificate in `x5c`) whose payload carries the request and the key bundle with
//! `key_hsm`, as the service answers (GO recording TestReleaseKey/KV.json).

use serde_json::{json, Value};

use super::jwk::{b64, unb64};
use super::model::{KeyReleaseParameters, Material, ValueResult};
use crate::crypto::asym_encrypt::{rsa_encrypt_to_parts, RsaPadding};
use crate::crypto::sign::{sign_digest, EcdsaEncoding, Hash, Scheme};
use crate::crypto::{cipher, random_bytes};
use crate::keyvault::protocol::{body::check_name, truncate, KeyVaultError, ObjectKind};
use crate::keyvault::Cx;

type Answer<T> = Result<T, KeyVaultError>;

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

/// A condition group: all of, or any of, its members.
#[derive(Debug, Clone, PartialEq)]
enum Group {
    AllOf(Vec<Condition>),
    AnyOf(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    Equals { claim: String, value: Value },
    Group(Group),
}

/// A parsed release policy: per authority, its condition group.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDoc {
    any: bool,
    authorities: Vec<(String, Group)>,
}

fn group_of(object: &serde_json::Map<String, Value>, depth: usize) -> Answer<Option<Group>> {
    if depth > 8 {
        return Err(bad("The release policy nests condition groups too deeply."));
    }
    let parse_list = |list: &Value| -> Answer<Vec<Condition>> {
        let list = list
            .as_array()
            .ok_or_else(|| bad("anyOf and allOf in a release policy are arrays."))?;
        list.iter().map(|c| condition_of(c, depth + 1)).collect()
    };
    match (object.get("allOf"), object.get("anyOf")) {
        (Some(all), None) => Ok(Some(Group::AllOf(parse_list(all)?))),
        (None, Some(any)) => Ok(Some(Group::AnyOf(parse_list(any)?))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(bad("A release policy group has either anyOf or allOf, not both.")),
    }
}

fn condition_of(value: &Value, depth: usize) -> Answer<Condition> {
    let object = value
        .as_object()
        .ok_or_else(|| bad("A release policy condition is an object."))?;
    if let Some(group) = group_of(object, depth)? {
        return Ok(Condition::Group(group));
    }
    let claim = object
        .get("claim")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("A release policy condition names a 'claim'."))?;
    let value = object.get("equals").ok_or_else(|| {
        bad(format!(
            "The condition on claim '{}' has no 'equals' value (the operator trent evaluates).",
            truncate(claim, 64)
        ))
    })?;
    Ok(Condition::Equals {
        claim: claim.to_string(),
        value: value.clone(),
    })
}

/// Parses and checks a release policy document (UTF-8 JSON).
pub fn parse_policy(data: &str) -> Answer<PolicyDoc> {
    let doc: Value =
        serde_json::from_str(data).map_err(|e| bad(format!("The release policy is not valid JSON: {e}")))?;
    let object = doc
        .as_object()
        .ok_or_else(|| bad("The release policy is a JSON object."))?;
    match object.get("version").and_then(Value::as_str) {
        Some(v) if v.starts_with("1.0") => {}
        Some(v) => {
            return Err(bad(format!(
                "Unsupported release policy version: '{}'.",
                truncate(v, 16)
            )))
        }
        None => return Err(bad("The release policy has no 'version'.")),
    }
    let (any, list) = match (object.get("anyOf"), object.get("allOf")) {
        (Some(l), None) => (true, l),
        (None, Some(l)) => (false, l),
        _ => return Err(bad("The release policy has either anyOf or allOf at its top level.")),
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("anyOf and allOf in a release policy are arrays."))?;
    let mut authorities = Vec::new();
    for entry in list {
        let object = entry
            .as_object()
            .ok_or_else(|| bad("A release policy entry is an object."))?;
        let authority = object
            .get("authority")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Every top-level release policy entry names an 'authority'."))?;
        let group = group_of(object, 1)?.ok_or_else(|| bad("An authority entry has anyOf or allOf conditions."))?;
        authorities.push((authority.trim_end_matches('/').to_string(), group));
    }
    if authorities.is_empty() {
        return Err(bad("The release policy names no authority."));
    }
    Ok(PolicyDoc { any, authorities })
}

fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(claims, |v, part| v.get(part))
}

fn holds(condition: &Condition, claims: &Value) -> bool {
    match condition {
        Condition::Equals { claim: name, value } => claim(claims, name).is_some_and(|c| {
            c == value
                || matches!((c, value), (Value::String(a), Value::String(b)) if a.eq_ignore_ascii_case(b) && (a == "true" || a == "false"))
        }),
        Condition::Group(group) => group_holds(group, claims),
    }
}

fn group_holds(group: &Group, claims: &Value) -> bool {
    match group {
        Group::AllOf(list) => list.iter().all(|c| holds(c, claims)),
        Group::AnyOf(list) => list.iter().any(|c| holds(c, claims)),
    }
}

impl PolicyDoc {
    /// Whether a token issued by `issuer` with `claims` satisfies the policy.
    fn allows(&self, issuer: &str, claims: &Value) -> bool {
        let issuer = issuer.trim_end_matches('/');
        let mut results = self
            .authorities
            .iter()
            .map(|(authority, group)| authority.eq_ignore_ascii_case(issuer) && group_holds(group, claims));
        if self.any {
            results.any(|ok| ok)
        } else {
            results.all(|ok| ok)
        }
    }
}

/// The claims of a compact JWT (signature not verified, see the module doc).
fn token_claims(token: &str) -> Answer<Value> {
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_signature)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("The target must be an attestation token (a JWT)."));
    };
    let bytes = unb64(payload).ok_or_else(|| bad("The target attestation token is not base64url."))?;
    let claims: Value =
        serde_json::from_slice(&bytes).map_err(|_| bad("The target attestation token's claims are not JSON."))?;
    if !claims.is_object() {
        return Err(bad("The target attestation token's claims are not a JSON object."));
    }
    Ok(claims)
}

/// The RSA runtime key of the token: `x-ms-runtime.keys[*]`, the first RSA key (`n`, `e`).
fn runtime_key(claims: &Value) -> Answer<(String, Vec<u8>, Vec<u8>)> {
    let keys = claim(claims, "x-ms-runtime.keys")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad("The target attestation token has no runtime key (x-ms-runtime.keys) to release the key to.")
        })?;
    for key in keys {
        if key.get("kty").and_then(Value::as_str) != Some("RSA") {
            continue;
        }
        let (Some(n), Some(e)) = (
            key.get("n").and_then(Value::as_str).and_then(unb64),
            key.get("e").and_then(Value::as_str).and_then(unb64),
        ) else {
            continue;
        };
        let kid = key.get("kid").and_then(Value::as_str).unwrap_or_default().to_string();
        return Ok((kid, n, e));
    }
    Err(bad(
        "The target attestation token has no RSA runtime key (x-ms-runtime.keys) to release the key to.",
    ))
}

/// The compact JWS of `payload`, signed by the service's release identity.
fn jws(cx: &Cx, payload: &Value) -> Answer<String> {
    let identity = cx.kv.release_identity()?;
    let header = json!({
        "alg": "ES256",
        "typ": "JWT",
        "x5c": [base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &identity.certificate_der)],
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(payload.to_string().as_bytes())
    );
    let digest = Hash::Sha256.digest(signing_input.as_bytes());
    let signature = sign_digest(
        &identity.key,
        Scheme::Ecdsa,
        Hash::Sha256,
        &digest,
        EcdsaEncoding::Fixed,
    )
    .map_err(|e| KeyVaultError::Internal(format!("signing the release token failed: {e}")))?;
    Ok(format!("{signing_input}.{}", b64(&signature)))
}

/// `POST /keys/{name}[/{version}]/release` — release: the exportable key, wrapped for the attested environment.
pub fn release(cx: &Cx, name: &str, version: Option<&str>, params: KeyReleaseParameters) -> Answer<ValueResult> {
    check_name(name)?;
    let target = params
        .target
        .filter(|t| !t.is_empty())
        .ok_or_else(|| bad("The parameter 'target' is required."))?;
    let enc = params.enc.unwrap_or_else(|| "CKM_RSA_AES_KEY_WRAP".to_string());
    let padding = match enc.as_str() {
        "CKM_RSA_AES_KEY_WRAP" => RsaPadding::OaepSha1,
        "RSA_AES_KEY_WRAP_256" => RsaPadding::OaepSha256,
        "RSA_AES_KEY_WRAP_384" => RsaPadding::OaepSha384,
        other => {
            return Err(bad(format!(
                "Invalid key encryption algorithm (enc): '{}'.",
                truncate(other, 32)
            )))
        }
    };
    let now = cx.kv.now();
    let (bundle, key_bytes, claims) = cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        let v = record.find(version)?;
        if !v.enabled {
            return Err(KeyVaultError::disabled(ObjectKind::Key, "release"));
        }
        let Some(policy) = v.release_policy.as_ref().filter(|_| v.exportable) else {
            return Err(KeyVaultError::Forbidden {
                message: "Operation release is not permitted on this key: it is not exportable or has no release \
                          policy."
                    .to_string(),
                inner: Some("KeyOperationForbidden"),
            });
        };
        let doc = parse_policy(&policy.data)?;
        let claims = token_claims(&target)?;
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default();
        let live = claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| now < exp)
            && claims.get("nbf").and_then(Value::as_i64).is_none_or(|nbf| now >= nbf);
        if !live || !doc.allows(issuer, &claims) {
            return Err(KeyVaultError::Forbidden {
                message: "Target environment attestation statement cannot be verified: the attestation token does not \
                          satisfy the key's release policy (issuer, claims or validity)."
                    .to_string(),
                inner: Some("AccessDenied"),
            });
        }
        let bytes = match &v.material {
            Material::Asymmetric(m) => m.bytes().to_vec(),
            Material::Symmetric(k) => k.0.clone(),
        };
        Ok((super::bundle(cx.target, &record.name, v)?, bytes, claims))
    })?;
    let (runtime_kid, n, e) = runtime_key(&claims)?;
    let transfer_key = random_bytes(32);
    let mut ciphertext = rsa_encrypt_to_parts(&n, &e, padding, &transfer_key)
        .map_err(|e| bad(format!("The runtime key cannot receive the key: {e}")))?;
    let wrapped = cipher::key_wrap(&transfer_key, &key_bytes, true)
        .map_err(|e| KeyVaultError::Internal(format!("wrapping the released key failed: {e}")))?;
    ciphertext.extend_from_slice(&wrapped);
    let key_hsm = json!({
        "schema_version": "1.0",
        "header": {"kid": runtime_kid, "alg": "dir", "enc": enc},
        "ciphertext": b64(&ciphertext),
    });
    let mut bundle = serde_json::to_value(&bundle)
        .map_err(|e| KeyVaultError::Internal(format!("encoding the released key failed: {e}")))?;
    bundle["key"]["key_hsm"] = Value::String(b64(key_hsm.to_string().as_bytes()));
    let payload = json!({
        "request": {"api-version": "2025-07-01", "enc": enc, "kid": bundle["key"]["kid"], "nonce": params.nonce},
        "response": {"key": bundle},
    });
    Ok(ValueResult {
        value: jws(cx, &payload)?,
    })
}

/// `GET /keys/{name}[/{version}]/attestation` — GetKeyAttestation. A vault answers as the service does (NET
/// recording KeyClientLiveTests/GetKeyAttestationNonExisting.json); Managed HSM attestation is an HSM vendor's
/// signed statement that trent cannot make, and it says so.
pub fn get_key_attestation(cx: &Cx, name: &str, _version: Option<&str>) -> Answer<Value> {
    check_name(name)?;
    if !cx.target.managed_hsm {
        return Err(bad("Method GET does not allow operation 'attestation'"));
    }
    Err(KeyVaultError::NotImplemented(
        "trent does not implement key attestation: a Managed HSM's attestation is signed by its HSM vendor's keys, \
         which an emulator cannot produce."
            .to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"version":"1.0.0","anyOf":[{"authority":"https://att.example/","allOf":[
        {"claim":"x-ms-attestation-type","equals":"sevsnpvm"},
        {"anyOf":[{"claim":"x-ms-compliance-status","equals":"azure-compliant-cvm"},{"claim":"debug","equals":false}]}]}]}"#;

    #[test]
    fn policies_parse_and_evaluate() {
        let doc = parse_policy(POLICY).unwrap();
        let ok = json!({"x-ms-attestation-type": "sevsnpvm", "debug": false});
        assert!(doc.allows("https://att.example", &ok));
        assert!(!doc.allows("https://other.example", &ok));
        assert!(!doc.allows(
            "https://att.example",
            &json!({"x-ms-attestation-type": "tdx", "debug": false})
        ));
        assert!(!doc.allows(
            "https://att.example",
            &json!({"x-ms-attestation-type": "sevsnpvm", "debug": true})
        ));
        let nested = json!({"x-ms-attestation-type": "sevsnpvm", "x-ms-compliance-status": "azure-compliant-cvm"});
        assert!(doc.allows("https://att.example/", &nested));
        let dotted = parse_policy(r#"{"version":"1.0.2","allOf":[{"authority":"a","allOf":[{"claim":"x-ms-isolation-tee.x-ms-attestation-type","equals":"sevsnpvm"}]}]}"#).unwrap();
        assert!(dotted.allows(
            "a",
            &json!({"x-ms-isolation-tee": {"x-ms-attestation-type": "sevsnpvm"}})
        ));
        for bad in [
            "",
            "[]",
            r#"{"anyOf":[]}"#,
            r#"{"version":"2.0","anyOf":[{"authority":"a","anyOf":[]}]}"#,
            r#"{"version":"1.0.0","anyOf":[{"allOf":[]}]}"#,
            r#"{"version":"1.0.0","anyOf":[{"authority":"a","allOf":[{"claim":"c","greater":1}]}]}"#,
        ] {
            assert!(parse_policy(bad).is_err(), "{bad}");
        }
    }
}
