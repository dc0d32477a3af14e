//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant.
//!
//! Grants are stored per region in [`Grants`], keyed `<key id>/<grant id>` so one key's grants are a contiguous,
//! ordered range (ListGrants pages cost O(page)). A grant token is an opaque base64url string that encodes the
//! key's account, region and id and the grant id, so RetireGrant by token finds the grant without a scan.
//!
//! Grants are recorded, listed and retired exactly like AWS does, but not yet *enforced*: trent does not check
//! callers' permissions (that comes with strict mode). GrantTokens on cryptographic operations are accepted.

use std::collections::BTreeMap;
use std::ops::Bound;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::dry_run;
use super::errors::KmsError;
use super::state::{self, key_arn, paging, Accept, Scope};
use super::{epoch_secs, request, response, Kms};
use crate::crypto::KeySpec;
use crate::storage::Tracked;

/// `GrantConstraints`, as stored and as returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantConstraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}

/// One grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub grant_id: String,
    pub token: String,
    pub key_id: String,
    pub name: Option<String>,
    pub grantee_principal: Option<String>,
    pub grantee_service_principal: Option<String>,
    pub retiring_principal: Option<String>,
    pub retiring_service_principal: Option<String>,
    pub operations: Vec<String>,
    pub constraints: Option<GrantConstraints>,
    pub issuing_account: String,
    pub creation_ms: i64,
}

/// Every grant of one region, keyed `<key id>/<grant id>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Grants {
    pub by_key: Tracked<GrantRecord>,
}

impl Grants {
    fn slot(key_id: &str, grant_id: &str) -> String {
        format!("{key_id}/{grant_id}")
    }

    /// One key's grants, in grant-id order, starting after `after` (a slot) when given.
    fn of_key<'a>(
        &'a self,
        key_id: &str,
        after: Bound<String>,
    ) -> impl Iterator<Item = (&'a String, &'a GrantRecord)> + 'a {
        let prefix = format!("{key_id}/");
        let start = match after {
            Bound::Unbounded => Bound::Included(prefix.clone()),
            other => other,
        };
        self.by_key
            .range((start, Bound::Unbounded))
            .take_while(move |(slot, _)| slot.starts_with(&prefix))
    }

    /// Removes every grant of `key_id` (the key was deleted). Costs O(grants of the key).
    pub fn remove_key(&mut self, key_id: &str) {
        let slots: Vec<String> = self.of_key(key_id, Bound::Unbounded).map(|(s, _)| s.clone()).collect();
        for slot in slots {
            self.by_key.remove(&slot);
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// Grant operations every key accepts (they take no encryption context, so constraints do not apply).
const MANAGEMENT: [&str; 3] = ["CreateGrant", "DescribeKey", "RetireGrant"];

/// The grant operations a key of this kind supports, as AWS checks them at CreateGrant.
fn allowed_operations(symmetric: bool, usage: &str) -> Vec<&'static str> {
    let specific: &[&str] = match (usage, symmetric) {
        ("ENCRYPT_DECRYPT", true) => &[
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "ReEncryptFrom",
            "ReEncryptTo",
        ],
        ("ENCRYPT_DECRYPT", false) => &["Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"],
        ("SIGN_VERIFY", _) => &["Sign", "Verify", "GetPublicKey"],
        ("GENERATE_VERIFY_MAC", _) => &["GenerateMac", "VerifyMac"],
        ("KEY_AGREEMENT", _) => &["DeriveSharedSecret", "GetPublicKey"],
        ("ENCAPSULATE_DECAPSULATE", _) => &["Encapsulate", "Decapsulate", "GetPublicKey"],
        _ => &[],
    };
    MANAGEMENT.iter().chain(specific).copied().collect()
}

const TOKEN_PREFIX: &str = "trent-grant-v1";

fn new_token(scope: &Scope, key_id: &str, grant_id: &str) -> String {
    let nonce = hex(&crate::crypto::random_bytes(32));
    let payload = format!(
        "{TOKEN_PREFIX}\n{}\n{}\n{key_id}\n{grant_id}\n{nonce}",
        scope.account_id, scope.region
    );
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
}

/// (scope of the key, key id, grant id) a token stands for; anything trent did not issue → InvalidGrantToken.
fn parse_token(token: &str) -> Result<(Scope, String, String), KmsError> {
    let invalid = || KmsError::InvalidGrantToken("Invalid grant token".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parts: Vec<&str> = text.split('\n').collect();
    let [prefix, account, region, key_id, grant_id, _nonce] = parts.as_slice() else {
        return Err(invalid());
    };
    if *prefix != TOKEN_PREFIX || !is_grant_id(grant_id) {
        return Err(invalid());
    }
    let scope = Scope {
        account_id: account.to_string(),
        region: region.to_string(),
    };
    Ok((scope, key_id.to_string(), grant_id.to_string()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Grant ids are 64 lowercase hex digits, as KMS issues them.
fn is_grant_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn require_grant_id(s: &str) -> Result<(), KmsError> {
    if is_grant_id(s) {
        Ok(())
    } else {
        Err(KmsError::InvalidGrantId(format!("Invalid grant ID {s}")))
    }
}

fn grant_not_found(grant_id: &str) -> KmsError {
    KmsError::NotFound(format!("Grant ID {grant_id} not found"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateGrantRequest {
    key_id: String,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
    operations: Vec<String>,
    constraints: Option<GrantConstraints>,
    #[allow(dead_code)]
    grant_tokens: Option<Vec<String>>,
    name: Option<String>,
    dry_run: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateGrantResponse {
    grant_id: String,
    grant_token: String,
}

pub fn create_grant(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CreateGrantRequest = request(input)?;
    if req.grantee_principal.is_none() && req.grantee_service_principal.is_none() {
        return Err(KmsError::Validation(
            "You must specify either GranteePrincipal or GranteeServicePrincipal.".into(),
        ));
    }
    if req.operations.is_empty() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must \
             have length greater than or equal to 1"
                .into(),
        ));
    }
    if let Some(c) = &req.constraints {
        for context in [&c.encryption_context_equals, &c.encryption_context_subset]
            .into_iter()
            .flatten()
        {
            if context.len() > 8 || context.values().any(|v| v.chars().count() > 384) {
                return Err(KmsError::Validation(
                    "Each grant constraint can include up to 8 encryption context pairs, and each value at most \
                     384 characters."
                        .into(),
                ));
            }
        }
    }
    // Listed back in the caller's order (duplicates dropped); compared as a set for idempotency.
    let mut operations: Vec<String> = Vec::with_capacity(req.operations.len());
    for op in &req.operations {
        if !operations.contains(op) {
            operations.push(op.clone());
        }
    }
    let sorted = |ops: &[String]| {
        let mut v = ops.to_vec();
        v.sort();
        v
    };
    let wanted_ops = sorted(&operations);
    let constraints = req.constraints.clone().filter(|c| *c != GrantConstraints::default());
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOrForeignArn, now)?;
    let region = store.region(&key_scope, now);
    let key = region.keys.get(&key_id).ok_or_else(|| {
        KmsError::NotFound(format!(
            "Key '{}' does not exist",
            key_arn(&key_scope.region, &key_scope.account_id, &key_id)
        ))
    })?;
    // CreateGrant works on Enabled and Disabled keys; a key pending deletion refuses it.
    key.require_not_pending_deletion()?;
    let symmetric = key.key_spec == KeySpec::SymmetricDefault;
    let allowed = allowed_operations(symmetric, &key.key_usage);
    if let Some(bad) = operations.iter().find(|op| !allowed.contains(&op.as_str())) {
        return Err(KmsError::Validation(format!(
            "Grant operation {bad} is not valid for {}: its key spec is {} and its key usage is {}.",
            key.arn(),
            key.key_spec.as_str(),
            key.key_usage
        )));
    }
    if constraints.is_some() && !symmetric && operations.iter().any(|op| !MANAGEMENT.contains(&op.as_str())) {
        return Err(KmsError::Validation(format!(
            "Encryption context grant constraints are not supported for cryptographic operations with {}: \
             operations with asymmetric and HMAC KMS keys do not take an encryption context.",
            key.arn()
        )));
    }
    dry_run(req.dry_run)?;
    // Idempotent by name: the same name and parameters return the existing grant.
    if let Some(name) = &req.name {
        let same = region.grants.of_key(&key_id, Bound::Unbounded).find(|(_, g)| {
            g.name.as_deref() == Some(name.as_str())
                && g.grantee_principal == req.grantee_principal
                && g.grantee_service_principal == req.grantee_service_principal
                && g.retiring_principal == req.retiring_principal
                && g.retiring_service_principal == req.retiring_service_principal
                && sorted(&g.operations) == wanted_ops
                && g.constraints == constraints
        });
        if let Some((_, g)) = same {
            let out = CreateGrantResponse {
                grant_id: g.grant_id.clone(),
                grant_token: g.token.clone(),
            };
            drop(store);
            return response(&out);
        }
    }
    let grant_id = hex(&crate::crypto::random_bytes(32));
    let token = new_token(&key_scope, &key_id, &grant_id);
    let record = GrantRecord {
        grant_id: grant_id.clone(),
        token: token.clone(),
        key_id: key_id.clone(),
        name: req.name,
        grantee_principal: req.grantee_principal,
        grantee_service_principal: req.grantee_service_principal,
        retiring_principal: req.retiring_principal,
        retiring_service_principal: req.retiring_service_principal,
        operations,
        constraints,
        issuing_account: format!("arn:aws:iam::{}:root", scope.account_id),
        creation_ms: now,
    };
    region.grants.by_key.insert(Grants::slot(&key_id, &grant_id), record);
    drop(store);
    response(&CreateGrantResponse {
        grant_id,
        grant_token: token,
    })
}

/// AWS's `GrantListEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GrantListEntry {
    key_id: String,
    grant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    creation_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    grantee_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grantee_service_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retiring_principal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retiring_service_principal: Option<String>,
    issuing_account: String,
    operations: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    constraints: Option<GrantConstraints>,
}

fn entry(key_scope: &Scope, g: &GrantRecord) -> GrantListEntry {
    GrantListEntry {
        key_id: key_arn(&key_scope.region, &key_scope.account_id, &g.key_id),
        grant_id: g.grant_id.clone(),
        name: g.name.clone(),
        creation_date: epoch_secs(g.creation_ms),
        grantee_principal: g.grantee_principal.clone(),
        grantee_service_principal: g.grantee_service_principal.clone(),
        retiring_principal: g.retiring_principal.clone(),
        retiring_service_principal: g.retiring_service_principal.clone(),
        issuing_account: g.issuing_account.clone(),
        operations: g.operations.clone(),
        constraints: g.constraints.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListGrantsResponse {
    grants: Vec<GrantListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListGrantsRequest {
    key_id: String,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    grantee_service_principal: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list_grants(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListGrantsRequest = request(input)?;
    let size = paging::size(req.limit, 50, 100);
    let start = paging::start(req.marker.as_deref())?;
    if let Some(id) = &req.grant_id {
        require_grant_id(id)?;
    }
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOrForeignArn, now)?;
    let region = store.region(&key_scope, now);
    if let Bound::Excluded(last) = &start {
        if !last.starts_with(&format!("{key_id}/")) {
            return Err(KmsError::InvalidMarker(format!(
                "Invalid marker: {}",
                req.marker.as_deref().unwrap_or_default()
            )));
        }
    }
    let wanted = |g: &GrantRecord| {
        req.grant_id.as_ref().is_none_or(|id| &g.grant_id == id)
            && req
                .grantee_principal
                .as_ref()
                .is_none_or(|p| g.grantee_principal.as_ref() == Some(p))
            && req
                .grantee_service_principal
                .as_ref()
                .is_none_or(|p| g.grantee_service_principal.as_ref() == Some(p))
    };
    let (grants, next_marker) = match &req.grant_id {
        // One grant: a direct lookup.
        Some(id) => {
            let slot = Grants::slot(&key_id, id);
            let found = region
                .grants
                .by_key
                .get(&slot)
                .filter(|g| wanted(g) && start == Bound::Unbounded)
                .map(|g| entry(&key_scope, g));
            (found.into_iter().collect(), None)
        }
        None => paging::page(
            region
                .grants
                .of_key(&key_id, start)
                .filter(|(_, g)| wanted(g))
                .map(|(slot, g)| (slot, entry(&key_scope, g))),
            size,
        ),
    };
    drop(store);
    response(&ListGrantsResponse {
        grants,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRetirableGrantsRequest {
    retiring_principal: Option<String>,
    retiring_service_principal: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

/// Grants of the caller's region whose retiring principal matches, across all of the region's keys.
pub fn list_retirable_grants(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListRetirableGrantsRequest = request(input)?;
    if req.retiring_principal.is_none() && req.retiring_service_principal.is_none() {
        return Err(KmsError::Validation(
            "You must specify either RetiringPrincipal or RetiringServicePrincipal.".into(),
        ));
    }
    let size = paging::size(req.limit, 50, 100);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    let (grants, next_marker) = paging::page(
        region
            .grants
            .by_key
            .range((start, Bound::Unbounded))
            .filter(|(_, g)| {
                req.retiring_principal
                    .as_ref()
                    .is_none_or(|p| g.retiring_principal.as_ref() == Some(p))
                    && req
                        .retiring_service_principal
                        .as_ref()
                        .is_none_or(|p| g.retiring_service_principal.as_ref() == Some(p))
            })
            .map(|(slot, g)| (slot, entry(scope, g))),
        size,
    );
    drop(store);
    response(&ListGrantsResponse {
        grants,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RetireGrantRequest {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub fn retire_grant(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: RetireGrantRequest = request(input)?;
    let now = kms.now_ms();
    let (key_scope, key_id, grant_id, token) = match (&req.grant_token, &req.key_id, &req.grant_id) {
        (Some(token), _, _) => {
            let (key_scope, key_id, grant_id) = parse_token(token)?;
            if key_scope.region != scope.region {
                return Err(KmsError::InvalidGrantToken("Invalid grant token".into()));
            }
            if req.grant_id.as_ref().is_some_and(|g| *g != grant_id) {
                return Err(KmsError::InvalidGrantId(
                    "The grant ID does not match the grant that the grant token identifies.".into(),
                ));
            }
            (key_scope, key_id, grant_id, Some(token.clone()))
        }
        (None, Some(key), Some(grant_id)) => {
            require_grant_id(grant_id)?;
            let mut store = kms.lock();
            let (key_scope, key_id) = state::resolve(&mut store, scope, key, Accept::KeyOrForeignArn, now)?;
            (key_scope, key_id, grant_id.clone(), None)
        }
        _ => {
            return Err(KmsError::InvalidGrantToken(
                "Grant token OR (grant ID, key ID) must be specified".into(),
            ))
        }
    };
    let mut store = kms.lock();
    let region = store.region(&key_scope, now);
    let slot = Grants::slot(&key_id, &grant_id);
    match region.grants.by_key.get(&slot) {
        None => return Err(grant_not_found(&grant_id)),
        Some(g) if token.as_ref().is_some_and(|t| *t != g.token) => {
            return Err(KmsError::InvalidGrantToken("Invalid grant token".into()));
        }
        Some(_) => {}
    }
    dry_run(req.dry_run)?;
    region.grants.by_key.remove(&slot);
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RevokeGrantRequest {
    key_id: String,
    grant_id: String,
    dry_run: Option<bool>,
}

pub fn revoke_grant(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: RevokeGrantRequest = request(input)?;
    require_grant_id(&req.grant_id)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOrForeignArn, now)?;
    let region = store.region(&key_scope, now);
    let slot = Grants::slot(&key_id, &req.grant_id);
    if !region.grants.by_key.contains_key(&slot) {
        return Err(grant_not_found(&req.grant_id));
    }
    dry_run(req.dry_run)?;
    region.grants.by_key.remove(&slot);
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let scope = Scope {
            account_id: "000000000000".into(),
            region: "eu-west-1".into(),
        };
        let gid = "a".repeat(64);
        let token = new_token(&scope, "k", &gid);
        assert!(token.len() > 100);
        let (s, k, g) = parse_token(&token).unwrap();
        assert_eq!((s, k.as_str(), g), (scope, "k", gid));
        for bad in [
            "",
            "!!!",
            "dHJlbnQ",
            &base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("a\nb"),
        ] {
            assert_eq!(
                parse_token(bad).unwrap_err().code(),
                "InvalidGrantTokenException",
                "{bad}"
            );
        }
    }
}
