//! Multi-Region keys: ReplicateKey and UpdatePrimaryRegion, the `MultiRegionConfiguration` of KeyMetadata, and
//! the bookkeeping that keeps related keys in step.
//!
//! A set of related multi-Region keys shares one key id (`mrk-` + 32 hex digits); each key lives in its own
//! region's [`RegionStore`](super::state::RegionStore) and carries the same [`MultiRegionInfo`] (primary region,
//! replica regions). The primary is the source of the shared properties — key spec, usage, origin, every material
//! version and the automatic rotation settings. Replicas catch up lazily: [`sync`] runs whenever a multi-Region key
//! is looked up ([`super::state::resolve`]), first letting the primary perform its due automatic rotations, then
//! copying any material version (and its rotation log entry) the replica lacks. Material only ever grows, so a
//! replica that has not been looked up yet is behind but never wrong, and every ciphertext of any related key
//! decrypts in every region that holds the key.
//!
//! Deletion follows AWS: a replica is deleted on its own schedule; a primary with replicas waits in
//! `PendingReplicaDeletion` and its waiting period starts when its last replica is deleted ([`forget_removed`],
//! called by [`super::state::Store`] when a sweep removes a multi-Region key).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::keys::KeyMetadata;
use super::state::{self, key_arn, Accept, KeyRecord, KeyState, MultiRegionInfo, Origin, Scope, Store};
use super::tags::{validate_tags, Tag};
use super::{request, response, Kms};

const DAY_MS: i64 = 86_400_000;

/// A new multi-Region key id: `mrk-` and 32 lowercase hex digits.
pub fn new_key_id() -> String {
    format!("mrk-{}", uuid::Uuid::new_v4().simple())
}

/// True when `s` is a multi-Region key id.
pub fn is_multi_region_id(s: &str) -> bool {
    s.strip_prefix("mrk-")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// The multi-Region side of a new primary key created in `region`.
pub fn new_primary(region: &str) -> MultiRegionInfo {
    MultiRegionInfo {
        primary_region: region.to_string(),
        replica_regions: BTreeSet::new(),
    }
}

/// True for a multi-Region replica key.
pub fn is_replica(key: &KeyRecord) -> bool {
    key.multi_region
        .as_ref()
        .is_some_and(|m| m.primary_region != key.region)
}

/// True for a multi-Region primary key that still has replicas.
pub fn has_replicas(key: &KeyRecord) -> bool {
    key.multi_region
        .as_ref()
        .is_some_and(|m| m.primary_region == key.region && !m.replica_regions.is_empty())
}

/// Refuses an operation AWS allows only on the primary key of a multi-Region key (rotation settings, on-demand
/// rotation): UnsupportedOperationException for a replica.
pub fn require_not_replica(key: &KeyRecord, what: &str) -> Result<(), KmsError> {
    match &key.multi_region {
        Some(info) if info.primary_region != key.region => Err(KmsError::Unsupported(format!(
            "{} is a multi-Region replica key. {what} is supported only on the primary key, {}.",
            key.arn(),
            key_arn(&info.primary_region, &key.account_id, &key.key_id)
        ))),
        _ => Ok(()),
    }
}

/// The primary key of the multi-Region replica `key_id` in `scope`; None for a primary or a single-Region key.
pub(super) fn primary_record<'a>(store: &'a Store, scope: &Scope, key_id: &str) -> Option<&'a KeyRecord> {
    let key = store
        .regions
        .get(&store_key(&scope.account_id, &scope.region))?
        .keys
        .get(key_id)?;
    let info = key.multi_region.as_ref().filter(|m| m.primary_region != key.region)?;
    store
        .regions
        .get(&store_key(&scope.account_id, &info.primary_region))?
        .keys
        .get(key_id)
}

/// RotateKeyOnDemand of a multi-Region primary key with imported material: the material pending rotation must
/// have been imported into every replica first (AWS's `PENDING_MULTI_REGION_IMPORT_AND_ROTATION`), since KMS
/// never copies imported material. KMSInvalidStateException names the replicas that lack it.
pub(super) fn require_replicas_hold_pending(store: &Store, scope: &Scope, key_id: &str) -> Result<(), KmsError> {
    let Some(primary) = store
        .regions
        .get(&store_key(&scope.account_id, &scope.region))
        .and_then(|r| r.keys.get(key_id))
    else {
        return Ok(());
    };
    let (Some(info), Some(pending)) = (
        primary
            .multi_region
            .as_ref()
            .filter(|_| primary.origin == Origin::External),
        primary.import.as_ref().and_then(|i| i.pending.as_ref()),
    ) else {
        return Ok(());
    };
    let lacking: Vec<&str> = info
        .replica_regions
        .iter()
        .filter(|region| {
            let replica = store
                .regions
                .get(&store_key(&scope.account_id, region))
                .and_then(|r| r.keys.get(key_id));
            replica
                .and_then(|k| k.import.as_ref())
                .and_then(|i| i.pending.as_ref())
                .is_none_or(|p| p.info.key_material_id != pending.info.key_material_id)
        })
        .map(String::as_str)
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    Err(KmsError::InvalidState(format!(
        "{} has key material {} in PENDING_MULTI_REGION_IMPORT_AND_ROTATION state. Import it into the replica keys \
         in {} before rotating on demand.",
        primary.arn(),
        pending.info.key_material_id,
        lacking.join(", ")
    )))
}

/// AWS's `MultiRegionKey`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionKey {
    pub arn: String,
    pub region: String,
}

/// AWS's `MultiRegionConfiguration`, as DescribeKey shows it on the primary and on every replica.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MultiRegionConfiguration {
    pub multi_region_key_type: &'static str,
    pub primary_key: MultiRegionKey,
    pub replica_keys: Vec<MultiRegionKey>,
}

/// The `MultiRegionConfiguration` of `key`; None for a single-Region key.
pub fn configuration(key: &KeyRecord) -> Option<MultiRegionConfiguration> {
    let info = key.multi_region.as_ref()?;
    let entry = |region: &str| MultiRegionKey {
        arn: key_arn(region, &key.account_id, &key.key_id),
        region: region.to_string(),
    };
    Some(MultiRegionConfiguration {
        multi_region_key_type: if info.primary_region == key.region {
            "PRIMARY"
        } else {
            "REPLICA"
        },
        primary_key: entry(&info.primary_region),
        replica_keys: info.replica_regions.iter().map(|r| entry(r)).collect(),
    })
}

fn scope_of(account: &str, region: &str) -> Scope {
    Scope {
        account_id: account.to_string(),
        region: region.to_string(),
    }
}

fn store_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

/// Every region of a set of related keys, primary first.
fn related_regions(info: &MultiRegionInfo) -> Vec<String> {
    std::iter::once(info.primary_region.clone())
        .chain(info.replica_regions.iter().cloned())
        .collect()
}

/// Writes `info` into every related key of `account`/`key_id` in `regions` (those that exist).
fn set_info(store: &mut Store, account: &str, key_id: &str, regions: &[String], info: &MultiRegionInfo) {
    for region in regions {
        if let Some(key) = store
            .regions
            .get_mut(&store_key(account, region))
            .and_then(|r| r.keys.get_mut(key_id))
        {
            key.multi_region = Some(info.clone());
        }
    }
}

/// Brings the multi-Region key `key_id` of `scope` in step with its primary: the primary performs its due
/// automatic rotations, then a replica receives every material version, rotation log entry and rotation setting
/// it lacks. Imported material is never copied: a replica of an EXTERNAL key only learns which versions the
/// primary has (`import::follow_primary`) and imports them itself. Records are only touched (and so marked
/// changed) when something differs. No-op for single-Region keys.
pub(super) fn sync(store: &mut Store, scope: &Scope, key_id: &str, now_ms: i64) {
    if !is_multi_region_id(key_id) {
        return;
    }
    let here = store_key(&scope.account_id, &scope.region);
    let Some(info) = store
        .regions
        .get(&here)
        .and_then(|r| r.keys.get(key_id))
        .and_then(|k| k.multi_region.clone())
    else {
        return;
    };
    let primary_at = store_key(&scope.account_id, &info.primary_region);
    let Some(primary_region) = store.regions.get_mut(&primary_at) else {
        return;
    };
    primary_region.rotate_if_due(key_id, now_ms);
    let targets: Vec<String> = if scope.region == info.primary_region {
        info.replica_regions.iter().cloned().collect()
    } else {
        vec![scope.region.clone()]
    };
    // First look (reads only, nothing cloned): which replicas lack material versions, rotation log entries or
    // the rotation settings. Usually none, and then nothing is copied or marked changed.
    let Some(primary_region) = store.regions.get(&primary_at) else {
        return;
    };
    let Some(primary) = primary_region.keys.get(key_id) else {
        return;
    };
    let prefix = format!("{key_id}/");
    let log_slots: Vec<&String> = primary_region
        .rotations
        .entries
        .range(prefix.clone()..)
        .take_while(|(slot, _)| slot.starts_with(&prefix))
        .map(|(slot, _)| slot)
        .collect();
    let imported = primary.origin == Origin::External;
    let no_import = super::import::ImportInfo::default();
    let primary_import = primary.import.as_ref().unwrap_or(&no_import);
    let mut work = Vec::new();
    for region in &targets {
        let Some(replica_region) = store.regions.get(&store_key(&scope.account_id, region)) else {
            continue;
        };
        let Some(replica) = replica_region.keys.get(key_id) else {
            continue;
        };
        let have = replica.materials.len();
        let rotation_differs = match (&replica.rotation, &primary.rotation) {
            (None, None) => false,
            (Some(a), Some(b)) => a.period_days != b.period_days || a.next_rotation_ms != b.next_rotation_ms,
            _ => true,
        };
        let missing: Vec<String> = log_slots
            .iter()
            .filter(|slot| !replica_region.rotations.entries.contains_key(slot.as_str()))
            .map(|slot| slot.to_string())
            .collect();
        let behind = if imported {
            super::import::must_follow(replica, primary_import)
        } else {
            have < primary.materials.len() || rotation_differs
        };
        if behind || !missing.is_empty() {
            work.push((region.clone(), have, missing));
        }
    }
    if work.is_empty() {
        return;
    }
    let from = work.iter().map(|(_, have, _)| *have).min().unwrap_or(0);
    let materials: Vec<_> = if imported {
        Vec::new()
    } else {
        primary.materials.iter().skip(from).cloned().collect()
    };
    let primary_import = imported.then(|| primary_import.clone());
    let rotation = primary.rotation.clone();
    let entries: std::collections::BTreeMap<String, super::rotations::RotationEntry> = work
        .iter()
        .flat_map(|(_, _, missing)| missing.iter())
        .filter_map(|slot| {
            primary_region
                .rotations
                .entries
                .get(slot)
                .map(|e| (slot.clone(), e.clone()))
        })
        .collect();
    for (region, have, missing) in work {
        let Some(replica_region) = store.regions.get_mut(&store_key(&scope.account_id, &region)) else {
            continue;
        };
        if let Some(replica) = replica_region.keys.get_mut(key_id) {
            if let Some(primary_import) = &primary_import {
                super::import::follow_primary(replica, primary_import);
            } else {
                replica.materials.extend(materials.iter().skip(have - from).cloned());
                replica.rotation = rotation.clone();
            }
        }
        for slot in missing {
            if let Some(entry) = entries.get(&slot) {
                replica_region.rotations.entries.insert(slot, entry.clone());
            }
        }
    }
}

/// Called after sweeps removed the multi-Region keys `removed` (their deletion dates passed): drops them from
/// their relatives' configuration, and starts the waiting period of a primary in `PendingReplicaDeletion` whose
/// last replica is now gone — from that replica's deletion date, so the outcome does not depend on when the
/// sweep ran.
pub(super) fn forget_removed(store: &mut Store, removed: Vec<KeyRecord>) {
    for gone in removed {
        let Some(info) = &gone.multi_region else { continue };
        let account = &gone.account_id;
        let mut remaining = info.clone();
        remaining.replica_regions.remove(&gone.region);
        if info.primary_region == gone.region {
            // A primary is deleted only once it has no replicas; nothing left to update.
            continue;
        }
        let regions: Vec<String> = related_regions(&remaining);
        set_info(store, account, &gone.key_id, &regions, &remaining);
        if !remaining.replica_regions.is_empty() {
            continue;
        }
        let Some(primary_region) = store.regions.get_mut(&store_key(account, &remaining.primary_region)) else {
            continue;
        };
        let Some(primary) = primary_region.keys.get_mut(&gone.key_id) else {
            continue;
        };
        if primary.state != KeyState::PendingReplicaDeletion {
            continue;
        }
        let days = primary.pending_window_days.unwrap_or(30);
        let at = gone.deletion_ms.unwrap_or(0) + days * DAY_MS;
        primary.state = KeyState::PendingDeletion;
        primary.deletion_ms = Some(at);
        primary_region.deletions.insert((at, gone.key_id.clone()));
    }
}

/// Checks the multi-Region records of an imported or loaded region store (`region` is its region name): every
/// multi-Region key has an `mrk-` id and is the primary or one of the replicas its configuration names.
pub(super) fn check_records(store: &super::state::RegionStore, region: &str) -> Result<(), String> {
    for key in store.keys.values() {
        let Some(info) = &key.multi_region else { continue };
        if !is_multi_region_id(&key.key_id) {
            return Err(format!("{} is multi-Region but its id is not an mrk- id", key.arn()));
        }
        if info.primary_region != region && !info.replica_regions.contains(region) {
            return Err(format!(
                "{} is in {region}, which its multi-Region configuration does not name",
                key.arn()
            ));
        }
        if info.replica_regions.contains(&info.primary_region) {
            return Err(format!(
                "{} names {} as primary and replica",
                key.arn(),
                info.primary_region
            ));
        }
    }
    Ok(())
}

/// The AWS partition a region belongs to (replicas stay in their primary's partition).
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

/// Fails unless `key` is Enabled or Disabled (the states in which AWS replicates or re-homes a key).
fn require_enabled_or_disabled(key: &KeyRecord) -> Result<(), KmsError> {
    match key.state {
        KeyState::Enabled | KeyState::Disabled => Ok(()),
        KeyState::PendingDeletion => Err(key.pending_deletion()),
        other => Err(key.invalid_state(other)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReplicateKeyRequest {
    key_id: String,
    replica_region: String,
    policy: Option<String>,
    description: Option<String>,
    tags: Option<Vec<Tag>>,
    #[allow(dead_code)] // accepted as AWS does; trent does not evaluate policies, so there is no lockout to bypass
    bypass_policy_lockout_safety_check: Option<bool>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReplicateKeyResponse {
    replica_key_metadata: KeyMetadata,
    replica_policy: String,
    replica_tags: Vec<Tag>,
}

/// ReplicateKey: a replica of a multi-Region primary key in another region of the same account, with the same
/// key id, spec, usage, origin, every material version and the rotation settings; its own description, policy
/// and tags.
pub fn replicate_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ReplicateKeyRequest = request(input)?;
    if let Some(policy) = &req.policy {
        super::policies::validate_policy(policy)?;
    }
    let tags = validate_tags(req.tags.as_deref().unwrap_or_default())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let Some(info) = key.multi_region.clone() else {
        return Err(KmsError::Unsupported(format!(
            "{} is not a multi-Region key. You can replicate only multi-Region primary keys.",
            key.arn()
        )));
    };
    if info.primary_region != key.region {
        return Err(KmsError::Unsupported(format!(
            "{} is a multi-Region replica key. You can replicate only the primary key, {}.",
            key.arn(),
            key_arn(&info.primary_region, &key.account_id, &key.key_id)
        )));
    }
    require_enabled_or_disabled(key)?;
    if !matches!(key.origin, Origin::AwsKms | Origin::External) {
        return Err(KmsError::unsupported(format!(
            "ReplicateKey of a key with Origin {}",
            key.origin.as_str()
        )));
    }
    let region = req.replica_region;
    if region == key.region {
        return Err(KmsError::Validation(format!(
            "The replica region {region} must be different from the primary key's region {}.",
            key.region
        )));
    }
    if partition(&region) != partition(&key.region) {
        return Err(KmsError::Validation(format!(
            "The replica region {region} is not in the same AWS partition as the primary key's region {}.",
            key.region
        )));
    }
    let replica_arn = key_arn(&region, &key.account_id, &key.key_id);
    if info.replica_regions.contains(&region) {
        return Err(KmsError::AlreadyExists(format!("{replica_arn} already exists")));
    }
    let mut new_info = info.clone();
    new_info.replica_regions.insert(region.clone());
    // Imported material is not copied: the replica starts without material, PendingImport, and takes the
    // primary's material by its own GetParametersForImport and ImportKeyMaterial.
    let external = key.origin == Origin::External;
    let mut replica = KeyRecord {
        key_id: key.key_id.clone(),
        account_id: key.account_id.clone(),
        region: region.clone(),
        creation_ms: now,
        description: req.description.unwrap_or_default(),
        key_usage: key.key_usage.clone(),
        key_spec: key.key_spec,
        state: if external {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        },
        deletion_ms: None,
        pending_window_days: None,
        policy: req
            .policy
            .unwrap_or_else(|| super::keys::default_policy(&key.account_id)),
        tags,
        aliases: BTreeSet::new(),
        rotation: key.rotation.clone(),
        materials: if external { Vec::new() } else { key.materials.clone() },
        origin: key.origin,
        multi_region: Some(new_info.clone()),
        custom_key_store_id: None,
        import: None,
    };
    if let Some(primary_import) = key.import.as_ref().filter(|_| external) {
        super::import::follow_primary(&mut replica, primary_import);
    }
    let key_id = key.key_id.clone();
    let primary_scope = scope_of(&key.account_id, &key.region);
    let log: Vec<(String, super::rotations::RotationEntry)> = {
        let prefix = format!("{key_id}/");
        store
            .region(&primary_scope, now)
            .rotations
            .entries
            .range(prefix.clone()..)
            .take_while(|(slot, _)| slot.starts_with(&prefix))
            .map(|(slot, entry)| (slot.clone(), entry.clone()))
            .collect()
    };
    let replica_scope = scope_of(&replica.account_id, &region);
    let target = store.region(&replica_scope, now);
    if target.keys.contains_key(&key_id) {
        return Err(KmsError::AlreadyExists(format!("{replica_arn} already exists")));
    }
    for (slot, entry) in log {
        target.rotations.entries.insert(slot, entry);
    }
    let mut metadata = KeyMetadata::of(&replica);
    // Replication is complete when trent answers, and DescribeKey shows the replica Enabled (PendingImport for
    // imported material) from then on; the response reports the state AWS reports while it copies the key.
    metadata.key_state = KeyState::Creating.as_str();
    metadata.enabled = false;
    let out = ReplicateKeyResponse {
        replica_key_metadata: metadata,
        replica_policy: replica.policy.clone(),
        replica_tags: replica
            .tags
            .iter()
            .map(|(k, v)| Tag {
                tag_key: k.clone(),
                tag_value: v.clone(),
            })
            .collect(),
    };
    target.keys.insert(key_id.clone(), replica);
    let regions = related_regions(&new_info);
    set_info(&mut store, &primary_scope.account_id, &key_id, &regions, &new_info);
    drop(store);
    response(&out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdatePrimaryRegionRequest {
    key_id: String,
    primary_region: String,
}

/// UpdatePrimaryRegion: the replica in `PrimaryRegion` becomes the primary, the former primary a replica.
pub fn update_primary_region(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: UpdatePrimaryRegionRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let Some(info) = key.multi_region.clone() else {
        return Err(KmsError::Unsupported(format!(
            "{} is not a multi-Region key. UpdatePrimaryRegion is supported only on multi-Region primary keys.",
            key.arn()
        )));
    };
    if info.primary_region != key.region {
        return Err(KmsError::Unsupported(format!(
            "{} is a multi-Region replica key. Call UpdatePrimaryRegion with the primary key, {}.",
            key.arn(),
            key_arn(&info.primary_region, &key.account_id, &key.key_id)
        )));
    }
    require_enabled_or_disabled(key)?;
    let account = key.account_id.clone();
    let key_id = key.key_id.clone();
    let new_primary = req.primary_region;
    if !info.replica_regions.contains(&new_primary) {
        return Err(KmsError::NotFound(format!(
            "Key '{}' does not exist",
            key_arn(&new_primary, &account, &key_id)
        )));
    }
    {
        let target = store.region(&scope_of(&account, &new_primary), now);
        let Some(replica) = target.keys.get(&key_id) else {
            return Err(KmsError::NotFound(format!(
                "Key '{}' does not exist",
                key_arn(&new_primary, &account, &key_id)
            )));
        };
        require_enabled_or_disabled(replica)?;
    }
    let mut swapped = MultiRegionInfo {
        primary_region: new_primary.clone(),
        replica_regions: info.replica_regions.clone(),
    };
    swapped.replica_regions.remove(&new_primary);
    swapped.replica_regions.insert(info.primary_region.clone());
    let regions = related_regions(&swapped);
    set_info(&mut store, &account, &key_id, &regions, &swapped);
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::call;
    use super::*;
    use crate::aws::{AwsJsonService, RequestContext};
    use crate::clock::Clock;

    fn ctx(region: &str) -> RequestContext {
        RequestContext {
            region: region.to_string(),
            ..RequestContext::default()
        }
    }

    #[tokio::test]
    async fn export_and_import_keep_related_keys_and_refuse_inconsistent_ones() {
        use crate::http::control::Control;
        let kms = Kms::new(Clock::new());
        let key = call(&kms, "CreateKey", json!({"MultiRegion": true})).await;
        let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        call(
            &kms,
            "ReplicateKey",
            json!({"KeyId": key_id, "ReplicaRegion": "eu-west-1"}),
        )
        .await;
        let document = kms.export();
        let fresh = Kms::new(Clock::new());
        fresh.import(&serde_json::to_vec(&document).unwrap()).unwrap();
        let replica = fresh
            .call(ctx("eu-west-1"), "DescribeKey", json!({"KeyId": key_id}))
            .await
            .unwrap();
        assert_eq!(
            replica["KeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"]["Region"],
            "us-east-1"
        );

        // The replica stored in a region its configuration does not name.
        let mut bad = document.clone();
        let regions = bad["state"]["regions"].as_object_mut().unwrap();
        let eu = regions.remove("000000000000/eu-west-1").unwrap();
        let mut moved = eu.clone();
        moved["keys"][&key_id]["region"] = json!("ap-south-1");
        regions.insert("000000000000/ap-south-1".into(), moved);
        let err = fresh.import(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
        assert!(err.contains("does not name"), "{err}");
    }

    #[tokio::test]
    async fn an_imported_replica_awaiting_or_holding_material_survives_export_and_import() {
        use base64::Engine;

        use crate::crypto::wrap::{client_wrap, Algorithm};
        use crate::http::control::Control;
        let b64 = &base64::engine::general_purpose::STANDARD;
        let kms = Kms::new(Clock::new());
        let key = call(&kms, "CreateKey", json!({"MultiRegion": true, "Origin": "EXTERNAL"})).await;
        let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        let material = crate::crypto::random_bytes(32);
        let import = |ctx: RequestContext| {
            let (kms, key_id, material) = (kms.clone(), key_id.clone(), material.clone());
            async move {
                let params = kms
                    .call(
                        ctx.clone(),
                        "GetParametersForImport",
                        json!({"KeyId": key_id, "WrappingAlgorithm": "RSAES_OAEP_SHA_256", "WrappingKeySpec": "RSA_2048"}),
                    )
                    .await
                    .unwrap();
                let der = b64.decode(params["PublicKey"].as_str().unwrap()).unwrap();
                let wrapped = client_wrap(&der, Algorithm::OaepSha256, &material);
                kms.call(
                    ctx,
                    "ImportKeyMaterial",
                    json!({"KeyId": key_id, "ImportToken": params["ImportToken"],
                           "EncryptedKeyMaterial": b64.encode(wrapped),
                           "ExpirationModel": "KEY_MATERIAL_DOES_NOT_EXPIRE"}),
                )
                .await
                .unwrap()
            }
        };
        import(ctx("us-east-1")).await;
        call(
            &kms,
            "ReplicateKey",
            json!({"KeyId": key_id, "ReplicaRegion": "eu-west-1"}),
        )
        .await;
        let described = |kms: std::sync::Arc<Kms>| {
            let key_id = key_id.clone();
            async move {
                let out = kms
                    .call(ctx("eu-west-1"), "DescribeKey", json!({"KeyId": key_id}))
                    .await
                    .unwrap();
                out["KeyMetadata"]["KeyState"].as_str().unwrap_or_default().to_string()
            }
        };
        // Awaiting its material: the state document holds no material for the replica and reads back.
        let fresh = Kms::new(Clock::new());
        fresh.import(&serde_json::to_vec(&kms.export()).unwrap()).unwrap();
        assert_eq!(described(fresh.clone()).await, "PendingImport");
        import(ctx("eu-west-1")).await;
        assert_eq!(described(kms.clone()).await, "Enabled");
        let fresh = Kms::new(Clock::new());
        fresh.import(&serde_json::to_vec(&kms.export()).unwrap()).unwrap();
        assert_eq!(described(fresh).await, "Enabled");
    }

    #[test]
    fn multi_region_ids() {
        let id = new_key_id();
        assert!(is_multi_region_id(&id), "{id}");
        assert_eq!(id.len(), 36);
        assert!(!is_multi_region_id("mrk-ABCDEF0123456789abcdef0123456789"));
        assert!(!is_multi_region_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_multi_region_id("mrk-123"));
        assert!(state::is_key_id(&id));
    }

    #[tokio::test]
    async fn replica_outputs_are_members_of_the_model_and_material_follows_the_primary() {
        let clock = Clock::new();
        let kms = Kms::new(clock.clone());
        let key = call(&kms, "CreateKey", json!({"MultiRegion": true})).await;
        let key_id = key["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        assert_eq!(
            key["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"],
            "PRIMARY"
        );
        let out = call(
            &kms,
            "ReplicateKey",
            json!({"KeyId": key_id, "ReplicaRegion": "eu-west-1", "Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        )
        .await;
        assert_eq!(out["ReplicaKeyMetadata"]["KeyState"], "Creating");
        assert_eq!(out["ReplicaTags"][0]["TagKey"], "a");
        call(
            &kms,
            "EnableKeyRotation",
            json!({"KeyId": key_id, "RotationPeriodInDays": 90}),
        )
        .await;
        clock.advance_ms(91 * DAY_MS);
        // The replica is looked up first: the primary's automatic rotation reaches it anyway.
        let replica = kms
            .call(ctx("eu-west-1"), "DescribeKey", json!({"KeyId": key_id}))
            .await
            .unwrap();
        assert_eq!(
            replica["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"],
            "REPLICA"
        );
        let store = kms.lock();
        let primary = &store.regions["000000000000/us-east-1"].keys[&key_id];
        let replica = &store.regions["000000000000/eu-west-1"].keys[&key_id];
        assert_eq!(primary.materials.len(), 2);
        assert_eq!(replica.materials.len(), 2);
        assert_eq!(primary.materials[1].bytes(), replica.materials[1].bytes());
    }
}
