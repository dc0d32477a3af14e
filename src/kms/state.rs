//! The records KMS keeps — keys with every version of their material, aliases — scoped per (account, region),
//! and the lookups every operation shares: identifier parsing (key id, key ARN, alias name, alias ARN), key
//! states, lazy deletion, paging.
//!
//! Everything here is plain data behind one `std::sync::Mutex` ([`super::Kms`]); all records derive
//! Serialize/Deserialize so a storage backend can persist them as they are.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::errors::KmsError;
use crate::aws::RequestContext;
use crate::crypto::{KeyMaterial, KeySpec};
use crate::storage::{self, Tracked};

/// AWS's `KeyState` values: every state of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Creating,
    Enabled,
    Disabled,
    PendingDeletion,
    /// Origin=EXTERNAL key without (or with expired) key material.
    PendingImport,
    /// A multi-Region primary key waiting for its replicas to be deleted.
    PendingReplicaDeletion,
    /// A key in a custom key store that is not connected.
    Unavailable,
    Updating,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
        }
    }
}

/// Automatic rotation settings of a symmetric key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rotation {
    pub period_days: i64,
    /// When the next automatic rotation is due (epoch ms, on the server clock).
    pub next_rotation_ms: i64,
}

/// One KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub account_id: String,
    pub region: String,
    /// Epoch milliseconds.
    pub creation_ms: i64,
    pub description: String,
    pub key_usage: String,
    pub key_spec: KeySpec,
    pub state: KeyState,
    pub deletion_ms: Option<i64>,
    pub pending_window_days: Option<i64>,
    pub policy: String,
    pub tags: BTreeMap<String, String>,
    /// Names of the aliases pointing at this key (kept in step with [`RegionStore::aliases`]).
    pub aliases: BTreeSet<String>,
    pub rotation: Option<Rotation>,
    /// Every material version; the index is the version, the last one is current. Never shrinks, so every
    /// ciphertext ever produced stays decryptable.
    pub materials: Vec<KeyMaterial>,
    /// Where the key material comes from.
    #[serde(default)]
    pub origin: Origin,
    /// Multi-Region keys: the primary's region and the replicas' (replication.rs). None for single-Region keys.
    #[serde(default)]
    pub multi_region: Option<MultiRegionInfo>,
    /// The custom key store that holds the key (custom_key_stores.rs).
    #[serde(default)]
    pub custom_key_store_id: Option<String>,
    /// Imported key material bookkeeping (import.rs); None unless Origin is EXTERNAL.
    #[serde(default)]
    pub import: Option<super::import::ImportInfo>,
}

/// AWS's `OriginType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    #[default]
    #[serde(rename = "AWS_KMS")]
    AwsKms,
    #[serde(rename = "EXTERNAL")]
    External,
    #[serde(rename = "AWS_CLOUDHSM")]
    AwsCloudHsm,
    #[serde(rename = "EXTERNAL_KEY_STORE")]
    ExternalKeyStore,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::AwsKms => "AWS_KMS",
            Origin::External => "EXTERNAL",
            Origin::AwsCloudHsm => "AWS_CLOUDHSM",
            Origin::ExternalKeyStore => "EXTERNAL_KEY_STORE",
        }
    }
}

/// The multi-Region side of a key: every related key (primary and replicas) has the same key id and material
/// and lives in its own region's store.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MultiRegionInfo {
    pub primary_region: String,
    pub replica_regions: BTreeSet<String>,
}

impl KeyRecord {
    pub fn arn(&self) -> String {
        key_arn(&self.region, &self.account_id, &self.key_id)
    }

    /// The current material and its version. Imported material that is missing (never imported, deleted or
    /// expired) → KMSInvalidStateException (pending import).
    pub fn current_material(&self) -> Result<(u32, &KeyMaterial), KmsError> {
        if self.import.is_some() && self.materials.is_empty() {
            return Err(self.invalid_state(KeyState::PendingImport));
        }
        let version = self
            .materials
            .len()
            .checked_sub(1)
            .ok_or_else(|| KmsError::Internal(format!("{} has no key material", self.arn())))?;
        let material = self
            .materials
            .get(version)
            .ok_or_else(|| KmsError::Internal(format!("{} has no key material", self.arn())))?;
        if !self.material_present(version) {
            return Err(self.invalid_state(KeyState::PendingImport));
        }
        Ok((u32::try_from(version).unwrap_or(u32::MAX), material))
    }

    /// Material `version` (as a ciphertext envelope names it), unless it is imported material that was deleted or
    /// has expired.
    pub fn material_at(&self, version: usize) -> Option<&KeyMaterial> {
        self.materials.get(version).filter(|_| self.material_present(version))
    }

    fn material_present(&self, version: usize) -> bool {
        self.import.as_ref().is_none_or(|i| i.is_imported(version))
    }

    /// Fails unless the key is Enabled: Disabled → DisabledException, PendingDeletion → KMSInvalidStateException.
    pub fn require_enabled(&self) -> Result<(), KmsError> {
        match self.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(KmsError::Disabled(format!("{} is disabled.", self.arn()))),
            KeyState::PendingDeletion => Err(self.pending_deletion()),
            other => Err(self.invalid_state(other)),
        }
    }

    /// Fails only for a key pending deletion (operations that accept Enabled and Disabled keys).
    pub fn require_not_pending_deletion(&self) -> Result<(), KmsError> {
        match self.state {
            KeyState::PendingDeletion => Err(self.pending_deletion()),
            KeyState::PendingReplicaDeletion => Err(self.invalid_state(KeyState::PendingReplicaDeletion)),
            _ => Ok(()),
        }
    }

    /// KMSInvalidStateException for a key in `state` (AWS's wording: "<arn> is pending import.").
    pub fn invalid_state(&self, state: KeyState) -> KmsError {
        let words = match state {
            KeyState::Creating => "being created",
            KeyState::Enabled => "enabled",
            KeyState::Disabled => "disabled",
            KeyState::PendingDeletion => "pending deletion",
            KeyState::PendingImport => "pending import",
            KeyState::PendingReplicaDeletion => "pending replica deletion",
            KeyState::Unavailable => "unavailable",
            KeyState::Updating => "being updated",
        };
        KmsError::InvalidState(format!("{} is {words}.", self.arn()))
    }

    pub fn pending_deletion(&self) -> KmsError {
        KmsError::InvalidState(format!("{} is pending deletion.", self.arn()))
    }

    /// Fails with InvalidKeyUsageException unless the key's usage is `usage`.
    pub fn require_usage(&self, usage: &str, operation: &str) -> Result<(), KmsError> {
        if self.key_usage == usage {
            Ok(())
        } else {
            Err(KmsError::InvalidKeyUsage(format!(
                "{} key usage is {} which is not valid for {operation}.",
                self.arn(),
                self.key_usage
            )))
        }
    }
}

/// One alias.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: String,
    pub target_key_id: String,
    pub creation_ms: i64,
    pub last_updated_ms: i64,
}

/// Everything of one (account, region).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RegionStore {
    pub keys: Tracked<KeyRecord>,
    pub aliases: Tracked<AliasRecord>,
    /// (deletion time ms, key id) of every key pending deletion, so expired keys are found without a scan.
    pub deletions: BTreeSet<(i64, String)>,
    /// Grants of this region's keys (grants.rs).
    #[serde(default)]
    pub grants: super::grants::Grants,
    /// Every rotation of this region's keys, on demand and automatic (rotations.rs).
    #[serde(default)]
    pub rotations: super::rotations::RotationLog,
    /// Custom key stores of this account and region (custom_key_stores.rs).
    #[serde(default)]
    pub custom_key_stores: Tracked<super::custom_key_stores::CustomKeyStoreRecord>,
}

impl RegionStore {
    /// Holds nothing and has no change storage has yet to take: the region's entry can go.
    pub fn is_pristine(&self) -> bool {
        let clean = |empty: bool, dirty: bool| empty && !dirty;
        clean(self.keys.is_empty(), self.keys.is_dirty())
            && clean(self.aliases.is_empty(), self.aliases.is_dirty())
            && self.deletions.is_empty()
            && clean(self.grants.by_key.is_empty(), self.grants.by_key.is_dirty())
            && clean(self.rotations.entries.is_empty(), self.rotations.entries.is_dirty())
            && clean(self.custom_key_stores.is_empty(), self.custom_key_stores.is_dirty())
    }

    /// Removes every key whose deletion date has passed (and its aliases). Costs O(expired). Returns the removed
    /// multi-Region keys, whose relatives in other regions must learn of it (replication.rs).
    pub fn sweep(&mut self, now_ms: i64) -> Vec<KeyRecord> {
        let mut removed_multi_region = Vec::new();
        while let Some(first) = self.deletions.first().cloned() {
            if first.0 > now_ms {
                break;
            }
            self.deletions.remove(&first);
            let due = self
                .keys
                .get(&first.1)
                .is_some_and(|k| k.state == KeyState::PendingDeletion && k.deletion_ms == Some(first.0));
            if due {
                if let Some(key) = self.keys.remove(&first.1) {
                    for alias in &key.aliases {
                        self.aliases.remove(alias);
                    }
                    self.grants.remove_key(&key.key_id);
                    self.rotations.remove_key(&key.key_id);
                    if key.multi_region.is_some() {
                        removed_multi_region.push(key);
                    }
                }
            }
        }
        removed_multi_region
    }

    /// Performs automatic rotations that have come due for `key_id` (lazily, on access).
    pub fn rotate_if_due(&mut self, key_id: &str, now_ms: i64) {
        // Look first without marking the record changed: on the hot path nothing is due.
        let due = self
            .keys
            .get(key_id)
            .and_then(|k| k.rotation.as_ref())
            .is_some_and(|r| r.next_rotation_ms <= now_ms);
        if !due {
            return;
        }
        let Some(key) = self.keys.get_mut(key_id) else { return };
        // AWS does not rotate disabled keys or keys pending deletion; it catches up once they are enabled again.
        if key.state != KeyState::Enabled {
            return;
        }
        // A multi-Region replica gets its new material from its primary (replication::sync), never its own.
        if super::replication::is_replica(key) {
            return;
        }
        let Some(rotation) = key.rotation.as_mut() else { return };
        let period_ms = rotation.period_days.max(1) * 86_400_000;
        let mut rounds = 0;
        while rotation.next_rotation_ms <= now_ms && rounds < 64 {
            match KeyMaterial::generate(key.key_spec) {
                Ok(material) => {
                    let id = super::import::material_id(&key.key_id, material.bytes());
                    key.materials.push(material);
                    let version = key.materials.len().saturating_sub(1);
                    let kind = super::rotations::RotationType::Automatic;
                    self.rotations
                        .record_with_id(&key.key_id, version, kind, rotation.next_rotation_ms, id);
                }
                Err(e) => {
                    tracing::warn!(error = %e, key = %key.key_id, "automatic rotation failed");
                    return;
                }
            }
            rotation.next_rotation_ms += period_ms;
            rounds += 1;
        }
        if rotation.next_rotation_ms <= now_ms {
            // Far in the past (clock jumped years): catch the schedule up without generating more versions.
            let behind = (now_ms - rotation.next_rotation_ms) / period_ms + 1;
            rotation.next_rotation_ms += behind * period_ms;
        }
    }
}

/// All KMS state of one server.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Store {
    /// Keyed by `<account>/<region>`.
    pub regions: BTreeMap<String, RegionStore>,
}

/// Where a request lives: an account and a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub account_id: String,
    pub region: String,
}

impl Scope {
    pub fn of(ctx: &RequestContext) -> Scope {
        Scope {
            account_id: ctx.account_id.clone(),
            region: ctx.region.clone(),
        }
    }

    fn store_key(&self) -> String {
        format!("{}/{}", self.account_id, self.region)
    }
}

impl RegionStore {
    /// Every persisted collection of a region, under its record-key name (`<account>/<region>/<name>/<entry>`):
    /// the storage layer drains, loads and rewrites records only through this list. A new `Tracked` collection of
    /// RegionStore MUST be added here, or it is lost on restart. (`deletions` and `KeyRecord::aliases` are derived
    /// indexes, rebuilt on load by `check_and_rebuild`.)
    pub fn collections<V: storage::Visitor>(&mut self, scope: &str, v: &mut V) -> Result<(), storage::StorageError> {
        v.collection(scope, "keys", &mut self.keys)?;
        v.collection(scope, "aliases", &mut self.aliases)?;
        v.collection(scope, "grants", &mut self.grants.by_key)?;
        v.collection(scope, "rotations", &mut self.rotations.entries)?;
        v.collection(scope, "custom_key_stores", &mut self.custom_key_stores)?;
        Ok(())
    }
}

/// KMS records as the storage layer sees them: every region's [`RegionStore::collections`].
impl storage::Persisted for Store {
    fn visit<V: storage::Visitor>(&mut self, visitor: &mut V) -> Result<(), storage::StorageError> {
        for (scope, region) in self.regions.iter_mut() {
            region.collections(scope, visitor)?;
        }
        Ok(())
    }

    fn load_record(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let (scope, collection, name) = storage::split_key(key, 2)
            .ok_or_else(|| "the key is not <account>/<region>/<collection>/<name>".to_string())?;
        let mut one = storage::LoadOne {
            collection,
            name,
            bytes,
            found: false,
        };
        let region = self.regions.entry(scope.to_string()).or_default();
        region.collections(scope, &mut one).map_err(|e| e.to_string())?;
        if !one.found {
            return Err(format!("unknown collection \"{collection}\""));
        }
        Ok(())
    }

    fn finish_load(&mut self) -> Result<(), String> {
        self.check_and_rebuild()
    }
}

impl Store {
    /// Drops the entry of `scope` when it holds nothing (after a request was persisted): reads never leave state.
    pub fn forget_if_pristine(&mut self, scope: &Scope) {
        let key = scope.store_key();
        if self.regions.get(&key).is_some_and(RegionStore::is_pristine) {
            self.regions.remove(&key);
        }
    }

    /// The region store of `scope`, with expired keys swept as of `now_ms` — in every region, since deleting a
    /// multi-Region replica can start its primary's deletion window in another region. O(regions) when none is due.
    pub fn region(&mut self, scope: &Scope, now_ms: i64) -> &mut RegionStore {
        self.sweep_all(now_ms);
        self.regions.entry(scope.store_key()).or_default()
    }

    fn sweep_all(&mut self, now_ms: i64) {
        loop {
            let mut removed = Vec::new();
            for region in self.regions.values_mut() {
                if region.deletions.first().is_some_and(|(at, _)| *at <= now_ms) {
                    removed.extend(region.sweep(now_ms));
                }
            }
            if removed.is_empty() {
                return;
            }
            // May schedule a primary whose deletion date has already passed: sweep again.
            super::replication::forget_removed(self, removed);
        }
    }

    pub fn key_count(&self) -> usize {
        self.regions.values().map(|r| r.keys.len()).sum()
    }

    pub fn alias_count(&self) -> usize {
        self.regions.values().map(|r| r.aliases.len()).sum()
    }

    /// Checks a store read from an imported document and rebuilds its derived indexes (the deletion index and
    /// every key's alias set), so the store is exactly as the handlers keep it. The error names what is wrong.
    pub fn check_and_rebuild(&mut self) -> Result<(), String> {
        for (scope_key, region) in &mut self.regions {
            let (account, region_name) = scope_key
                .split_once('/')
                .filter(|(a, r)| !a.is_empty() && !r.is_empty() && !r.contains('/'))
                .ok_or_else(|| format!("region key \"{scope_key}\" is not \"<account>/<region>\""))?;
            region.check_and_rebuild(account, region_name)?;
        }
        Ok(())
    }
}

impl RegionStore {
    /// The deletion index as it follows from the keys: one entry per key pending deletion.
    pub fn deletion_index(&self) -> BTreeSet<(i64, String)> {
        self.keys
            .values()
            .filter(|k| k.state == KeyState::PendingDeletion)
            .filter_map(|k| k.deletion_ms.map(|at| (at, k.key_id.clone())))
            .collect()
    }

    fn check_and_rebuild(&mut self, account: &str, region: &str) -> Result<(), String> {
        let at = |key_id: &str| key_arn(region, account, key_id);
        for (id, key) in self.keys.iter_mut() {
            if *id != key.key_id {
                return Err(format!("key entry \"{id}\" holds key \"{}\"", key.key_id));
            }
            if !is_key_id(id) {
                return Err(format!("key id \"{id}\" is not a key id (a UUID)"));
            }
            if key.account_id != account || key.region != region {
                return Err(format!(
                    "key {id} says it belongs to {}/{} but is stored under {account}/{region}",
                    key.account_id, key.region
                ));
            }
            // An EXTERNAL key has no material until it is imported (import.rs).
            if key.materials.is_empty() && key.origin != Origin::External {
                return Err(format!("{} has no key material", at(id)));
            }
            super::import::check_record(key).map_err(|e| format!("{} {e}", at(id)))?;
            for (version, material) in key.materials.iter().enumerate() {
                if material.spec() != key.key_spec {
                    return Err(format!(
                        "{} material version {version} is {}, the key is {}",
                        at(id),
                        material.spec(),
                        key.key_spec
                    ));
                }
                KeyMaterial::from_bytes(material.spec(), material.bytes())
                    .map_err(|e| format!("{} material version {version} is invalid: {e}", at(id)))?;
            }
            if key.state == KeyState::PendingDeletion && key.deletion_ms.is_none() {
                return Err(format!("{} is PendingDeletion without a deletion date", at(id)));
            }
            if let Some(rotation) = &key.rotation {
                if rotation.period_days < 1 {
                    return Err(format!(
                        "{} has a rotation period of {} days",
                        at(id),
                        rotation.period_days
                    ));
                }
            }
            key.aliases.clear();
        }
        for (name, alias) in &self.aliases {
            if *name != alias.name || !name.starts_with("alias/") {
                return Err(format!("alias entry \"{name}\" holds alias \"{}\"", alias.name));
            }
            let target = self
                .keys
                .get_mut(&alias.target_key_id)
                .ok_or_else(|| format!("alias {name} targets key {}, which does not exist", alias.target_key_id))?;
            target.aliases.insert(name.clone());
        }
        for (slot, grant) in &self.grants.by_key {
            if *slot != format!("{}/{}", grant.key_id, grant.grant_id) {
                return Err(format!(
                    "grant entry \"{slot}\" holds grant {}/{}",
                    grant.key_id, grant.grant_id
                ));
            }
            if !self.keys.contains_key(&grant.key_id) {
                return Err(format!(
                    "grant {} is of key {}, which does not exist",
                    grant.grant_id, grant.key_id
                ));
            }
        }
        for (slot, entry) in &self.rotations.entries {
            if *slot != format!("{}/{:010}", entry.key_id, entry.version) {
                return Err(format!(
                    "rotation entry \"{slot}\" holds {}/{}",
                    entry.key_id, entry.version
                ));
            }
            let versions = self
                .keys
                .get(&entry.key_id)
                .map(|k| k.materials.len())
                .ok_or_else(|| format!("rotation {slot} is of key {}, which does not exist", entry.key_id))?;
            if entry.version >= versions {
                return Err(format!(
                    "rotation {slot} names material version {}, the key has {versions}",
                    entry.version
                ));
            }
        }
        super::replication::check_records(self, region)?;
        super::custom_key_stores::check_records(self)?;
        self.deletions = self.deletion_index();
        Ok(())
    }
}

pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

pub fn alias_arn(region: &str, account: &str, alias_name: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{alias_name}")
}

/// Which identifiers an operation accepts for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Key id, key ARN, alias name, alias ARN (cryptographic operations, DescribeKey, GetPublicKey).
    AnyIdentifier,
    /// Key id or key ARN of the caller's own account only (key management operations).
    KeyOnly,
    /// Key id or key ARN, which may name another account's key (GetKeyRotationStatus).
    KeyOrForeignArn,
}

/// An identifier as the caller wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    Key { scope: Option<Scope>, key_id: String },
    Alias { scope: Option<Scope>, name: String },
}

/// Parses a `KeyId` parameter. ARNs must be KMS key or alias ARNs.
pub fn parse_key_ref(input: &str) -> Result<KeyRef, KmsError> {
    if let Some(rest) = input.strip_prefix("arn:") {
        // arn:<partition>:kms:<region>:<account>:<resource>
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [_partition, service, region, account, resource] = parts.as_slice() else {
            return Err(KmsError::InvalidArn(format!("Invalid arn {input}")));
        };
        if *service != "kms" || region.is_empty() || account.is_empty() {
            return Err(KmsError::InvalidArn(format!("Invalid arn {input}")));
        }
        let scope = Some(Scope {
            account_id: account.to_string(),
            region: region.to_string(),
        });
        if let Some(key_id) = resource.strip_prefix("key/") {
            return Ok(KeyRef::Key {
                scope,
                key_id: key_id.to_string(),
            });
        }
        if resource.starts_with("alias/") {
            return Ok(KeyRef::Alias {
                scope,
                name: resource.to_string(),
            });
        }
        return Err(KmsError::InvalidArn(format!("Invalid arn {input}")));
    }
    if input.starts_with("alias/") {
        return Ok(KeyRef::Alias {
            scope: None,
            name: input.to_string(),
        });
    }
    Ok(KeyRef::Key {
        scope: None,
        key_id: input.to_string(),
    })
}

/// True when `s` is a key id as KMS issues them (a UUID, or `mrk-` and 32 hex digits for multi-Region keys).
pub fn is_key_id(s: &str) -> bool {
    (uuid::Uuid::try_parse(s).is_ok() && s.len() == 36) || super::replication::is_multi_region_id(s)
}

/// Resolves a `KeyId` parameter to (scope of the key, key id), checking the key exists (after lazy deletion).
/// A key ARN may name another account (cross-account use), but never another region than the request's.
pub fn resolve(
    store: &mut Store,
    ctx: &Scope,
    input: &str,
    accept: Accept,
    now_ms: i64,
) -> Result<(Scope, String), KmsError> {
    let key_ref = parse_key_ref(input)?;
    let (scope, key_id) = match key_ref {
        KeyRef::Key { scope, key_id } => {
            let scope = scope.unwrap_or_else(|| ctx.clone());
            if scope.region != ctx.region {
                return Err(KmsError::NotFound(format!("Invalid arn {}", scope.region)));
            }
            if accept == Accept::KeyOnly && scope.account_id != ctx.account_id {
                // Another account's key cannot be managed from here; AWS does not reveal whether it exists.
                return Err(KmsError::NotFound(format!(
                    "Key '{}' does not exist",
                    key_arn(&scope.region, &scope.account_id, &key_id)
                )));
            }
            (scope, key_id)
        }
        KeyRef::Alias { scope, name } => {
            if accept != Accept::AnyIdentifier {
                return Err(KmsError::NotFound(format!("Invalid keyId '{input}'")));
            }
            let scope = scope.unwrap_or_else(|| ctx.clone());
            if scope.region != ctx.region {
                return Err(KmsError::NotFound(format!("Invalid arn {}", scope.region)));
            }
            let region = store.region(&scope, now_ms);
            let Some(alias) = region.aliases.get(&name) else {
                return Err(KmsError::NotFound(format!(
                    "Alias {} is not found.",
                    alias_arn(&scope.region, &scope.account_id, &name)
                )));
            };
            let target = alias.target_key_id.clone();
            (scope, target)
        }
    };
    if !is_key_id(&key_id) {
        return Err(KmsError::NotFound(format!("Invalid keyId '{key_id}'")));
    }
    let region = store.region(&scope, now_ms);
    if !region.keys.contains_key(&key_id) {
        return Err(KmsError::NotFound(format!(
            "Key '{}' does not exist",
            key_arn(&scope.region, &scope.account_id, &key_id)
        )));
    }
    region.rotate_if_due(&key_id, now_ms);
    if region
        .keys
        .get(&key_id)
        .is_some_and(|k| super::import::has_expired(k, now_ms))
    {
        if let Some(key) = region.keys.get_mut(&key_id) {
            super::import::expire_due(key, now_ms);
        }
    }
    super::replication::sync(store, &scope, &key_id, now_ms);
    Ok((scope, key_id))
}

/// Resolves and returns the key record mutably.
pub fn key_mut<'a>(
    store: &'a mut Store,
    ctx: &Scope,
    input: &str,
    accept: Accept,
    now_ms: i64,
) -> Result<&'a mut KeyRecord, KmsError> {
    let (scope, key_id) = resolve(store, ctx, input, accept, now_ms)?;
    let arn = key_arn(&scope.region, &scope.account_id, &key_id);
    store
        .region(&scope, now_ms)
        .keys
        .get_mut(&key_id)
        .ok_or_else(|| KmsError::NotFound(format!("Key '{arn}' does not exist")))
}

/// Resolves and returns the key record for reading: the record is not marked changed, so an operation that only
/// reads its key (Encrypt, Sign, DescribeKey …) never reaches storage.
pub fn key_ref<'a>(
    store: &'a mut Store,
    ctx: &Scope,
    input: &str,
    accept: Accept,
    now_ms: i64,
) -> Result<&'a KeyRecord, KmsError> {
    let (scope, key_id) = resolve(store, ctx, input, accept, now_ms)?;
    let arn = key_arn(&scope.region, &scope.account_id, &key_id);
    store
        .region(&scope, now_ms)
        .keys
        .get(&key_id)
        .ok_or_else(|| KmsError::NotFound(format!("Key '{arn}' does not exist")))
}

/// Paging: an opaque marker naming the last item returned, and the page size an operation allows.
pub mod paging {
    use super::*;

    /// Encodes the last returned sort key as a marker.
    pub fn marker(last: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("trent:{last}"))
    }

    /// The lower bound a marker stands for; a marker trent did not issue → InvalidMarkerException.
    pub fn start(marker: Option<&str>) -> Result<Bound<String>, KmsError> {
        let Some(marker) = marker else {
            return Ok(Bound::Unbounded);
        };
        let invalid = || KmsError::InvalidMarker(format!("Invalid marker: {marker}"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(marker)
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let last = text.strip_prefix("trent:").ok_or_else(invalid)?;
        Ok(Bound::Excluded(last.to_string()))
    }

    /// The page size: `limit` (already validated 1..=1000 by the model) clamped to the operation's maximum.
    pub fn size(limit: Option<i64>, default: usize, max: usize) -> usize {
        limit
            .map(|l| usize::try_from(l).unwrap_or(default).clamp(1, max))
            .unwrap_or(default)
    }

    /// Takes one page from an ordered iterator of (sort key, item): the items, and the marker when more remain.
    pub fn page<'a, T: 'a>(mut items: impl Iterator<Item = (&'a String, T)>, size: usize) -> (Vec<T>, Option<String>) {
        let mut out = Vec::with_capacity(size.min(1000));
        let mut last: Option<&String> = None;
        for _ in 0..size {
            match items.next() {
                Some((k, v)) => {
                    last = Some(k);
                    out.push(v);
                }
                None => return (out, None),
            }
        }
        let more = items.next().is_some();
        (out, if more { last.map(|l| marker(l)) } else { None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_parse() {
        assert_eq!(
            parse_key_ref("alias/x").unwrap(),
            KeyRef::Alias {
                scope: None,
                name: "alias/x".into()
            }
        );
        match parse_key_ref("arn:aws:kms:eu-west-1:111122223333:key/abc").unwrap() {
            KeyRef::Key { scope: Some(s), key_id } => {
                assert_eq!(s.region, "eu-west-1");
                assert_eq!(s.account_id, "111122223333");
                assert_eq!(key_id, "abc");
            }
            other => panic!("{other:?}"),
        }
        match parse_key_ref("arn:aws:kms:eu-west-1:111122223333:alias/a/b").unwrap() {
            KeyRef::Alias { name, .. } => assert_eq!(name, "alias/a/b"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_key_ref("arn:aws:s3:::bucket").unwrap_err().code(),
            "InvalidArnException"
        );
    }

    #[test]
    fn the_store_round_trips_through_serde() {
        let mut store = Store::default();
        let scope = Scope {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
        };
        let region = store.region(&scope, 0);
        region.keys.insert(
            "k".into(),
            KeyRecord {
                key_id: "k".into(),
                account_id: scope.account_id.clone(),
                region: scope.region.clone(),
                creation_ms: 1,
                description: "d".into(),
                key_usage: "ENCRYPT_DECRYPT".into(),
                key_spec: KeySpec::SymmetricDefault,
                state: KeyState::PendingDeletion,
                deletion_ms: Some(5),
                pending_window_days: Some(7),
                policy: "{}".into(),
                tags: BTreeMap::from([("a".to_string(), "b".to_string())]),
                aliases: BTreeSet::from(["alias/x".to_string()]),
                rotation: Some(Rotation {
                    period_days: 90,
                    next_rotation_ms: 9,
                }),
                materials: vec![KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap()],
                origin: Origin::AwsKms,
                multi_region: None,
                custom_key_store_id: None,
                import: None,
            },
        );
        region.deletions.insert((5, "k".into()));
        let text = serde_json::to_string(&store).unwrap();
        let mut back: Store = serde_json::from_str(&text).unwrap();
        let key = &back.regions["000000000000/us-east-1"].keys["k"];
        assert_eq!(
            key.materials[0].bytes(),
            store.regions["000000000000/us-east-1"].keys["k"].materials[0].bytes()
        );
        assert_eq!(key.state, KeyState::PendingDeletion);
        // The deletion index survives too: sweeping after the date removes the key.
        assert!(back.region(&scope, 6).keys.is_empty());
    }

    #[test]
    fn an_imported_store_gets_its_indexes_rebuilt_and_bad_ones_are_refused() {
        let id = "11111111-2222-3333-4444-555555555555";
        let key = KeyRecord {
            key_id: id.into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            creation_ms: 1,
            description: String::new(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_spec: KeySpec::SymmetricDefault,
            state: KeyState::PendingDeletion,
            deletion_ms: Some(50),
            pending_window_days: Some(7),
            policy: "{}".into(),
            tags: BTreeMap::new(),
            // Stale: the alias map below is what counts.
            aliases: BTreeSet::from(["alias/stale".to_string()]),
            rotation: None,
            materials: vec![KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap()],
            origin: Origin::AwsKms,
            multi_region: None,
            custom_key_store_id: None,
            import: None,
        };
        let mut region = RegionStore::default();
        region.keys.insert(id.into(), key);
        region.aliases.insert(
            "alias/a".into(),
            AliasRecord {
                name: "alias/a".into(),
                target_key_id: id.into(),
                creation_ms: 1,
                last_updated_ms: 1,
            },
        );
        region.deletions.insert((7, "gone".into()));
        let mut store = Store::default();
        store.regions.insert("000000000000/us-east-1".into(), region);
        store.check_and_rebuild().unwrap();
        let region = &store.regions["000000000000/us-east-1"];
        assert_eq!(region.keys[id].aliases, BTreeSet::from(["alias/a".to_string()]));
        assert_eq!(region.deletions, BTreeSet::from([(50, id.to_string())]));

        // Stored under another scope than the key says.
        let region = store.regions.remove("000000000000/us-east-1").unwrap();
        store.regions.insert("000000000000/eu-west-1".into(), region);
        assert!(store.check_and_rebuild().unwrap_err().contains("stored under"));
        let region = store.regions.remove("000000000000/eu-west-1").unwrap();
        store.regions.insert("no-slash".into(), region);
        assert!(store.check_and_rebuild().unwrap_err().contains("no-slash"));
    }

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = paging::marker("abc");
        assert_eq!(paging::start(Some(&m)).unwrap(), Bound::Excluded("abc".to_string()));
        assert_eq!(
            paging::start(Some("nope!")).unwrap_err().code(),
            "InvalidMarkerException"
        );
        assert_eq!(paging::start(None).unwrap(), Bound::Unbounded);
    }

    #[test]
    fn a_page_reports_whether_more_remain() {
        let map: BTreeMap<String, u32> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let (items, next) = paging::page(map.iter().map(|(k, v)| (k, *v)), 2);
        assert_eq!(items, vec![0, 1]);
        let next = next.unwrap();
        let start = paging::start(Some(&next)).unwrap();
        let (items, next) = paging::page(map.range((start, Bound::Unbounded)).map(|(k, v)| (k, *v)), 3);
        assert_eq!(items, vec![2, 3, 4]);
        assert!(next.is_none());
    }
}
