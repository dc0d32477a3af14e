//! Aliases: CreateAlias, UpdateAlias, ListAliases, DeleteAlias.
//!
//! An alias lives in one account and region, names exactly one key of that account and region, and is
//! recorded twice — in the region's alias map and in its key's alias set — so both listings page in O(page).

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, alias_arn, paging, Accept, AliasRecord, KeyRef, Scope, Store};
use super::{epoch_secs, request, response, Kms};

/// Checks an alias name as AWS does beyond the model's pattern.
fn validate_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") {
        return Err(KmsError::Validation(
            "Alias must start with the prefix \"alias/\". Please see \
             https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
                .into(),
        ));
    }
    if name.starts_with("alias/aws/") {
        // AWS answers this without a message.
        return Err(KmsError::NotAuthorized(String::new()));
    }
    if name.contains(':') {
        return Err(KmsError::Validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    if name.len() <= "alias/".len() {
        return Err(KmsError::InvalidAliasName(format!("Alias name {name} is not valid")));
    }
    Ok(())
}

/// Resolves the target key of CreateAlias/UpdateAlias: a key id or key ARN of the caller's account and region,
/// not pending deletion. Returns the key id.
fn target_key(store: &mut Store, scope: &Scope, target: &str, now: i64) -> Result<String, KmsError> {
    if matches!(state::parse_key_ref(target)?, KeyRef::Alias { .. }) {
        return Err(KmsError::Validation("Aliases must refer to keys. Not aliases".into()));
    }
    let (key_scope, key_id) = state::resolve(store, scope, target, Accept::KeyOnly, now)?;
    if key_scope != *scope {
        return Err(KmsError::NotFound(format!(
            "Key '{}' does not exist",
            state::key_arn(&key_scope.region, &key_scope.account_id, &key_id)
        )));
    }
    let region = store.region(scope, now);
    if let Some(key) = region.keys.get(&key_id) {
        key.require_not_pending_deletion()?;
    }
    Ok(key_id)
}

fn not_found(scope: &Scope, name: &str) -> KmsError {
    KmsError::NotFound(format!(
        "Alias {} is not found.",
        alias_arn(&scope.region, &scope.account_id, name)
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasTargetRequest {
    alias_name: String,
    target_key_id: String,
}

pub fn create_alias(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: AliasTargetRequest = request(input)?;
    validate_alias_name(&req.alias_name)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    if store.region(scope, now).aliases.contains_key(&req.alias_name) {
        return Err(KmsError::AlreadyExists(format!(
            "An alias with the name {} already exists",
            alias_arn(&scope.region, &scope.account_id, &req.alias_name)
        )));
    }
    let key_id = target_key(&mut store, scope, &req.target_key_id, now)?;
    let region = store.region(scope, now);
    if let Some(key) = region.keys.get_mut(&key_id) {
        key.aliases.insert(req.alias_name.clone());
    }
    region.aliases.insert(
        req.alias_name.clone(),
        AliasRecord {
            name: req.alias_name,
            target_key_id: key_id,
            creation_ms: now,
            last_updated_ms: now,
        },
    );
    Ok(Value::Null)
}

pub fn update_alias(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: AliasTargetRequest = request(input)?;
    validate_alias_name(&req.alias_name)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    if !store.region(scope, now).aliases.contains_key(&req.alias_name) {
        return Err(not_found(scope, &req.alias_name));
    }
    let key_id = target_key(&mut store, scope, &req.target_key_id, now)?;
    let region = store.region(scope, now);
    let Some(alias) = region.aliases.get_mut(&req.alias_name) else {
        return Err(not_found(scope, &req.alias_name));
    };
    let old = std::mem::replace(&mut alias.target_key_id, key_id.clone());
    alias.last_updated_ms = now;
    if let Some(old_key) = region.keys.get_mut(&old) {
        old_key.aliases.remove(&req.alias_name);
    }
    if let Some(new_key) = region.keys.get_mut(&key_id) {
        new_key.aliases.insert(req.alias_name);
    }
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteAliasRequest {
    alias_name: String,
}

pub fn delete_alias(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: DeleteAliasRequest = request(input)?;
    validate_alias_name(&req.alias_name)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    let Some(alias) = region.aliases.remove(&req.alias_name) else {
        return Err(not_found(scope, &req.alias_name));
    };
    if let Some(key) = region.keys.get_mut(&alias.target_key_id) {
        key.aliases.remove(&alias.name);
    }
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesRequest {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct AliasListEntry {
    alias_name: String,
    alias_arn: String,
    target_key_id: String,
    creation_date: f64,
    last_updated_date: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListAliasesResponse {
    aliases: Vec<AliasListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_aliases(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListAliasesRequest = request(input)?;
    let size = paging::size(req.limit, 50, 100);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let filter = match req.key_id.as_deref() {
        Some(key) => Some(state::resolve(&mut store, scope, key, Accept::KeyOnly, now)?),
        None => None,
    };
    let entry = |a: &AliasRecord| AliasListEntry {
        alias_name: a.name.clone(),
        alias_arn: alias_arn(&scope.region, &scope.account_id, &a.name),
        target_key_id: a.target_key_id.clone(),
        creation_date: epoch_secs(a.creation_ms),
        last_updated_date: epoch_secs(a.last_updated_ms),
    };
    let (aliases, next_marker) = match filter {
        Some((key_scope, key_id)) => {
            let region = store.region(&key_scope, now);
            let Some(key) = region.keys.get(&key_id) else {
                return Ok(Value::Null);
            };
            let all = &region.aliases;
            paging::page(
                key.aliases
                    .range((start, Bound::Unbounded))
                    .filter_map(|name| all.get(name).map(|a| (name, entry(a)))),
                size,
            )
        }
        None => {
            let region = store.region(scope, now);
            paging::page(
                region
                    .aliases
                    .range((start, Bound::Unbounded))
                    .map(|(n, a)| (n, entry(a))),
                size,
            )
        }
    };
    drop(store);
    response(&ListAliasesResponse {
        aliases,
        truncated: next_marker.is_some(),
        next_marker,
    })
}
