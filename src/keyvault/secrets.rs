//! The secrets plane: one handler per wire operation, named after it. Each takes the parsed request ([`Call`])
//! and works on the selected vault under the service mutex, never across an await.

use std::collections::BTreeMap;
use std::ops::Bound;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::backup;
use super::model::{
    BackupSecretResult, DeletedRecord, DeletedSecretBundle, DeletedSecretItem, ListResult, SecretAttributes,
    SecretAttributesIn, SecretBundle, SecretItem, SecretRecord, SecretRestoreParameters, SecretSetParameters,
    SecretUpdateParameters, VaultState, VersionRecord, RECOVERABLE_DAYS,
};
use super::protocol::{
    check_name, max_results, next_link, truncate, KeyVaultError, ListKind, Query, SkipToken, Target,
};
use super::KeyVault;

/// Largest secret value, in bytes (the service's documented 25 KB).
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
/// Most tags one object may carry.
pub const MAX_TAGS: usize = 15;
const MAX_TAG_NAME_CHARS: usize = 512;
const MAX_TAG_VALUE_CHARS: usize = 256;
const MAX_CONTENT_TYPE_CHARS: usize = 255;

/// One parsed request.
pub struct Call<'a> {
    pub kv: &'a KeyVault,
    pub target: &'a Target,
    pub query: &'a Query,
    pub api_version: &'a str,
    pub body: &'a [u8],
}

type Answer = Result<Response, KeyVaultError>;

fn json<T: serde::Serialize>(value: T) -> Answer {
    Ok((StatusCode::OK, Json(value)).into_response())
}

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, KeyVaultError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        KeyVaultError::BadParameter(format!(
            "The request body is not valid JSON: {}",
            truncate(&e.to_string(), 200)
        ))
    })
}

fn to_epoch(value: Option<f64>, field: &str) -> Result<Option<i64>, KeyVaultError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v.abs() < 1e15 => Ok(Some(v.trunc() as i64)),
        Some(_) => Err(KeyVaultError::BadParameter(format!(
            "Invalid value for attribute '{field}'."
        ))),
    }
}

fn check_tags(
    tags: &Option<std::collections::HashMap<String, String>>,
) -> Result<Option<BTreeMap<String, String>>, KeyVaultError> {
    let Some(tags) = tags else { return Ok(None) };
    if tags.len() > MAX_TAGS {
        return Err(KeyVaultError::BadParameter(format!(
            "The number of tags exceeds the maximum of {MAX_TAGS}."
        )));
    }
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_TAG_NAME_CHARS {
            return Err(KeyVaultError::BadParameter(format!(
                "Tag names must be 1 to {MAX_TAG_NAME_CHARS} characters long."
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(KeyVaultError::BadParameter(format!(
                "Tag values must be at most {MAX_TAG_VALUE_CHARS} characters long."
            )));
        }
    }
    Ok(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
}

fn check_content_type(content_type: &Option<String>) -> Result<(), KeyVaultError> {
    match content_type {
        Some(ct) if ct.chars().count() > MAX_CONTENT_TYPE_CHARS => Err(KeyVaultError::BadParameter(format!(
            "The content type must be at most {MAX_CONTENT_TYPE_CHARS} characters long."
        ))),
        _ => Ok(()),
    }
}

fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn bundle(target: &Target, name: &str, v: &VersionRecord, with_value: bool) -> SecretBundle {
    SecretBundle {
        value: with_value.then(|| v.value.clone()),
        id: target.secret_id(name, &v.version),
        content_type: v.content_type.clone(),
        attributes: SecretAttributes::of(v),
        tags: v.tags.clone(),
    }
}

fn deleted_bundle(target: &Target, d: &DeletedRecord) -> Option<DeletedSecretBundle> {
    let latest = d.secret.latest()?;
    Some(DeletedSecretBundle {
        bundle: bundle(target, &d.secret.name, latest, false),
        recovery_id: target.recovery_id(&d.secret.name),
        deleted_date: d.deleted_date,
        scheduled_purge_date: d.scheduled_purge_date,
    })
}

fn item(id: String, v: &VersionRecord) -> SecretItem {
    SecretItem {
        id,
        attributes: SecretAttributes::of(v),
        tags: v.tags.clone(),
        content_type: v.content_type.clone(),
    }
}

fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// The version a path names, or the latest for an empty/absent version.
fn find<'r>(record: &'r SecretRecord, name: &str, version: Option<&str>) -> Result<&'r VersionRecord, KeyVaultError> {
    match version {
        None | Some("") => record.latest().ok_or_else(|| KeyVaultError::secret_not_found(name)),
        Some(v) => record
            .version(v)
            .ok_or_else(|| KeyVaultError::secret_version_not_found(name, &truncate(v, 64))),
    }
}

// ---------------------------------------------------------------------------------------------------------------

/// `PUT /secrets/{name}` — SetSecret: a new version (32 hex) every time.
pub fn set_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    let params: SecretSetParameters = parse_body(call.body)?;
    let Some(value) = params.value else {
        return Err(KeyVaultError::BadParameter(
            "The parameter 'value' is required.".to_string(),
        ));
    };
    if value.len() > MAX_VALUE_BYTES {
        return Err(KeyVaultError::BadParameter(format!(
            "The secret value exceeds the maximum allowed size of {MAX_VALUE_BYTES} bytes."
        )));
    }
    check_content_type(&params.content_type)?;
    let tags = check_tags(&params.tags)?;
    let attrs = params.attributes.unwrap_or_default();
    let nbf = to_epoch(attrs.nbf, "nbf")?;
    let exp = to_epoch(attrs.exp, "exp")?;
    let now = call.kv.now();
    let version = VersionRecord {
        version: new_version(),
        value,
        content_type: params.content_type,
        tags,
        enabled: attrs.enabled.unwrap_or(true),
        nbf,
        exp,
        created: now,
        updated: now,
    };
    call.kv.with_vault(&call.target.vault, |vault| {
        let k = key(name);
        if let Some(d) = vault.deleted.get(&k) {
            return Err(KeyVaultError::deleted_but_recoverable(&d.secret.name));
        }
        let record = vault.secrets.get_or_insert_with(&k, || SecretRecord {
            name: name.to_string(),
            versions: Vec::new(),
        });
        let out = bundle(call.target, &record.name, &version, true);
        record.versions.push(version);
        json(out)
    })
}

/// `GET /secrets/{name}[/{version}]` — GetSecret (latest when the version is empty).
pub fn get_secret(call: &Call, name: &str, version: Option<&str>) -> Answer {
    check_name(name)?;
    call.kv.with_vault(&call.target.vault, |vault| {
        let record = vault
            .secrets
            .get(&key(name))
            .ok_or_else(|| KeyVaultError::secret_not_found(name))?;
        let v = find(record, name, version)?;
        if !v.enabled {
            return Err(KeyVaultError::secret_disabled("get"));
        }
        json(bundle(call.target, &record.name, v, true))
    })
}

/// `PATCH /secrets/{name}/{version}` — UpdateSecret: content type, attributes and tags of one version.
pub fn update_secret(call: &Call, name: &str, version: Option<&str>) -> Answer {
    check_name(name)?;
    let params: SecretUpdateParameters = parse_body(call.body)?;
    check_content_type(&params.content_type)?;
    let tags = check_tags(&params.tags)?;
    let attrs: SecretAttributesIn = params.attributes.unwrap_or_default();
    let nbf = to_epoch(attrs.nbf, "nbf")?;
    let exp = to_epoch(attrs.exp, "exp")?;
    let now = call.kv.now();
    call.kv.with_vault(&call.target.vault, |vault| {
        let record = vault
            .secrets
            .get_mut(&key(name))
            .ok_or_else(|| KeyVaultError::secret_not_found(name))?;
        let wanted = find(record, name, version)?.version.clone();
        let stored_name = record.name.clone();
        let v = record
            .version_mut(&wanted)
            .ok_or_else(|| KeyVaultError::secret_not_found(name))?;
        if let Some(ct) = params.content_type {
            v.content_type = Some(ct);
        }
        if tags.is_some() {
            v.tags = tags;
        }
        if let Some(enabled) = attrs.enabled {
            v.enabled = enabled;
        }
        if nbf.is_some() {
            v.nbf = nbf;
        }
        if exp.is_some() {
            v.exp = exp;
        }
        v.updated = now;
        json(bundle(call.target, &stored_name, v, false))
    })
}

/// `DELETE /secrets/{name}` — DeleteSecret: soft delete of every version.
pub fn delete_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    let now = call.kv.now();
    call.kv.with_vault(&call.target.vault, |vault| {
        let record = vault
            .secrets
            .remove(&key(name))
            .ok_or_else(|| KeyVaultError::secret_not_found(name))?;
        let deleted = DeletedRecord {
            secret: record,
            deleted_date: now,
            scheduled_purge_date: now + RECOVERABLE_DAYS * 86_400,
        };
        let out = deleted_bundle(call.target, &deleted);
        vault.deleted.insert(key(name), deleted);
        match out {
            Some(out) => json(out),
            None => Err(KeyVaultError::secret_not_found(name)),
        }
    })
}

/// `GET /secrets` — GetSecrets: one item per secret (base id, latest version's attributes), paged by name.
pub fn get_secrets(call: &Call) -> Answer {
    let max = max_results(call.query)?;
    let after = match call.query.get("$skiptoken") {
        Some(t) if !t.is_empty() => Some(SkipToken::decode(t, ListKind::Secrets)?.key),
        _ => None,
    };
    call.kv.with_vault(&call.target.vault, |vault| {
        let (value, more) = page(&vault.secrets, after.as_deref(), max, |r| {
            r.latest().map(|v| item(call.target.secret_base_id(&r.name), v))
        });
        let next = more.map(|last| {
            let token = SkipToken {
                kind: ListKind::Secrets,
                offset: 0,
                key: last,
            };
            next_link(call.target, "/secrets", call.api_version, &token, max)
        });
        json(ListResult { value, next_link: next })
    })
}

/// `GET /secrets/{name}/versions` — GetSecretVersions: every version, oldest first, paged by position.
/// An unknown name lists nothing (as the service does).
pub fn get_secret_versions(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    let max = max_results(call.query)?;
    let start = match call.query.get("$skiptoken") {
        Some(t) if !t.is_empty() => {
            let token = SkipToken::decode(t, ListKind::Versions)?;
            if token.key != key(name) {
                return Err(KeyVaultError::BadParameter(
                    "The specified $skiptoken is invalid.".to_string(),
                ));
            }
            token.offset
        }
        _ => 0,
    };
    call.kv.with_vault(&call.target.vault, |vault| {
        let Some(record) = vault.secrets.get(&key(name)) else {
            return json(ListResult::<SecretItem> {
                value: Vec::new(),
                next_link: None,
            });
        };
        let rest = record.versions.get(start..).unwrap_or(&[]);
        let value: Vec<SecretItem> = rest
            .iter()
            .take(max)
            .map(|v| item(call.target.secret_id(&record.name, &v.version), v))
            .collect();
        let next = (rest.len() > max).then(|| {
            let token = SkipToken {
                kind: ListKind::Versions,
                offset: start + max,
                key: key(name),
            };
            next_link(
                call.target,
                &format!("/secrets/{}/versions", record.name),
                call.api_version,
                &token,
                max,
            )
        });
        json(ListResult { value, next_link: next })
    })
}

/// `POST /secrets/{name}/backup` — BackupSecret: every version in one opaque blob.
pub fn backup_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    call.kv.with_vault(&call.target.vault, |vault| {
        let record = vault
            .secrets
            .get(&key(name))
            .ok_or_else(|| KeyVaultError::secret_not_found(name))?;
        json(BackupSecretResult {
            value: backup::encode_wire(record),
        })
    })
}

/// `POST /secrets/restore` — RestoreSecret: the secret with all its versions, from a backup blob.
pub fn restore_secret(call: &Call) -> Answer {
    let params: SecretRestoreParameters = parse_body(call.body)?;
    let Some(blob) = params.value else {
        return Err(KeyVaultError::BadParameter(
            "The parameter 'value' is required.".to_string(),
        ));
    };
    let record = backup::decode_wire(&blob)
        .map_err(|_| KeyVaultError::BadParameter("Backup blob contains invalid or corrupt version.".to_string()))?;
    call.kv.with_vault(&call.target.vault, |vault| {
        let k = key(&record.name);
        if vault.deleted.contains_key(&k) {
            return Err(KeyVaultError::deleted_but_recoverable(&record.name));
        }
        if vault.secrets.contains_key(&k) {
            return Err(KeyVaultError::Conflict {
                message: format!("Secret {} already exists.", record.name),
                inner: None,
            });
        }
        let latest = record.latest().map(|v| bundle(call.target, &record.name, v, false));
        vault.secrets.insert(k, record);
        match latest {
            Some(b) => json(b),
            None => Err(KeyVaultError::BadParameter(
                "Backup blob contains invalid or corrupt version.".to_string(),
            )),
        }
    })
}

/// `GET /deletedsecrets` — GetDeletedSecrets, paged by name.
pub fn get_deleted_secrets(call: &Call) -> Answer {
    let max = max_results(call.query)?;
    let after = match call.query.get("$skiptoken") {
        Some(t) if !t.is_empty() => Some(SkipToken::decode(t, ListKind::Deleted)?.key),
        _ => None,
    };
    call.kv.with_vault(&call.target.vault, |vault| {
        let (value, more) = page(&vault.deleted, after.as_deref(), max, |d| {
            d.secret.latest().map(|v| DeletedSecretItem {
                item: item(call.target.secret_base_id(&d.secret.name), v),
                recovery_id: call.target.recovery_id(&d.secret.name),
                deleted_date: d.deleted_date,
                scheduled_purge_date: d.scheduled_purge_date,
            })
        });
        let next = more.map(|last| {
            let token = SkipToken {
                kind: ListKind::Deleted,
                offset: 0,
                key: last,
            };
            next_link(call.target, "/deletedsecrets", call.api_version, &token, max)
        });
        json(ListResult { value, next_link: next })
    })
}

/// `GET /deletedsecrets/{name}` — GetDeletedSecret.
pub fn get_deleted_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    call.kv.with_vault(&call.target.vault, |vault| {
        vault
            .deleted
            .get(&key(name))
            .and_then(|d| deleted_bundle(call.target, d))
            .map(json)
            .unwrap_or_else(|| Err(KeyVaultError::deleted_secret_not_found(name)))
    })
}

/// `DELETE /deletedsecrets/{name}` — PurgeDeletedSecret: 204.
pub fn purge_deleted_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    call.kv
        .with_vault(&call.target.vault, |vault| match vault.deleted.remove(&key(name)) {
            Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
            None => Err(KeyVaultError::deleted_secret_not_found(name)),
        })
}

/// `POST /deletedsecrets/{name}/recover` — RecoverDeletedSecret: every version back.
pub fn recover_deleted_secret(call: &Call, name: &str) -> Answer {
    check_name(name)?;
    call.kv.with_vault(&call.target.vault, |vault| {
        let k = key(name);
        let deleted = vault
            .deleted
            .remove(&k)
            .ok_or_else(|| KeyVaultError::deleted_secret_not_found(name))?;
        let out = deleted
            .secret
            .latest()
            .map(|v| bundle(call.target, &deleted.secret.name, v, false));
        vault.secrets.insert(k, deleted.secret);
        match out {
            Some(out) => json(out),
            None => Err(KeyVaultError::deleted_secret_not_found(name)),
        }
    })
}

/// Up to `max` mapped entries after `after` (exclusive), and the key to continue after when more remain.
fn page<V, T>(
    map: &BTreeMap<String, V>,
    after: Option<&str>,
    max: usize,
    mut f: impl FnMut(&V) -> Option<T>,
) -> (Vec<T>, Option<String>) {
    let lower = match after {
        Some(a) => Bound::Excluded(a.to_string()),
        None => Bound::Unbounded,
    };
    let mut out = Vec::with_capacity(max);
    let mut last = None;
    let mut iter = map.range((lower, Bound::Unbounded));
    for (k, v) in iter.by_ref() {
        if let Some(t) = f(v) {
            out.push(t);
            last = Some(k.clone());
            if out.len() == max {
                break;
            }
        }
    }
    let more = out.len() == max && iter.next().is_some();
    (out, if more { last } else { None })
}

/// Counts for the control API: (secrets, versions, deleted).
pub fn counts(vault: &VaultState) -> (usize, usize, usize) {
    let versions = vault.secrets.values().map(|r| r.versions.len()).sum();
    (vault.secrets.len(), versions, vault.deleted.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    fn target() -> Target {
        Target {
            authority: "127.0.0.1:4594".into(),
            vault: crate::keyvault::protocol::DEFAULT_VAULT.into(),
            base_url: "http://127.0.0.1:4594".into(),
        }
    }

    fn record(name: &str) -> SecretRecord {
        SecretRecord {
            name: name.to_string(),
            versions: vec![VersionRecord {
                version: format!("{:032x}", 1),
                value: "v".into(),
                content_type: None,
                tags: None,
                enabled: true,
                nbf: None,
                exp: None,
                created: 0,
                updated: 0,
            }],
        }
    }

    /// A page deep into 50 000 secrets costs about what the first page costs: the skiptoken seeks the map.
    #[test]
    fn list_pages_cost_o_page() {
        let kv = KeyVault::new(Clock::new());
        let target = target();
        kv.with_vault(&target.vault, |v| {
            for i in 0..50_000 {
                let name = format!("s{i:06}");
                v.secrets.insert(name.clone(), record(&name));
            }
        });
        let token = SkipToken {
            kind: ListKind::Secrets,
            offset: 0,
            key: "s049000".into(),
        };
        let raw = format!("api-version=7.4&maxresults=25&$skiptoken={}", token.encode());
        let query = Query::parse(Some(&raw));
        let call = Call {
            kv: &kv,
            target: &target,
            query: &query,
            api_version: "7.4",
            body: &[],
        };
        let started = std::time::Instant::now();
        for _ in 0..100 {
            let response = get_secrets(&call).unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let per_page = started.elapsed() / 100;
        assert!(per_page < std::time::Duration::from_millis(5), "{per_page:?} per page");
    }
}
