//! [`ObjectStore`]: the lifecycle Key Vault gives secrets, keys and certificates alike, written once. An object
//! is a name (case-insensitive, first spelling kept) with versions, oldest first; deleting it moves every version
//! to the deleted store for the retention period, where it can be recovered or purged; the clock purges it when
//! its scheduled purge date passes.
//!
//! Due purges are found through an index ordered by purge date, so a request costs O(log n) for them, not a scan
//! of every deleted object. The index is derived (never stored) and rebuilt by [`ObjectStore::reindex`] after a
//! load or an import.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keyvault::protocol::{KeyVaultError, ObjectKind};
use crate::storage::{StorageError, Tracked, Visitor};

/// Recovery level every object of a soft-delete vault reports.
pub const RECOVERY_LEVEL: &str = "Recoverable+Purgeable";
/// Soft-delete retention, in days.
pub const RECOVERABLE_DAYS: i64 = 90;

/// One version of an object, as a plane stores it.
pub trait Version: Clone + Serialize + DeserializeOwned {
    /// The kind of object: names errors and ids.
    const KIND: ObjectKind;
    /// The version id (32 hex characters for versions trent makes).
    fn version(&self) -> &str;
    /// The attributes every kind of version has, for changing them.
    fn attributes_mut(&mut self) -> AttributesMut<'_>;
}

/// The attributes every version has: enabled, nbf, exp, tags and when it was last updated.
pub struct AttributesMut<'a> {
    pub enabled: &'a mut bool,
    pub nbf: &'a mut Option<i64>,
    pub exp: &'a mut Option<i64>,
    pub tags: &'a mut Option<BTreeMap<String, String>>,
    pub updated: &'a mut i64,
}

/// What an update request asks of those attributes (checked); what it leaves out stays as it is.
#[derive(Debug, Clone, Default)]
pub struct AttributeUpdate {
    pub enabled: Option<bool>,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub tags: Option<BTreeMap<String, String>>,
}

impl AttributeUpdate {
    /// Applies the update to `v` and stamps it updated at `now`.
    pub fn apply<V: Version>(self, v: &mut V, now: i64) {
        let a = v.attributes_mut();
        if let Some(enabled) = self.enabled {
            *a.enabled = enabled;
        }
        if self.nbf.is_some() {
            *a.nbf = self.nbf;
        }
        if self.exp.is_some() {
            *a.exp = self.exp;
        }
        if self.tags.is_some() {
            *a.tags = self.tags;
        }
        *a.updated = now;
    }
}

/// An object: its name as first written and every version, oldest first (the last one is the latest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioned<V> {
    pub name: String,
    pub versions: Vec<V>,
}

impl<V: Version> Versioned<V> {
    pub fn latest(&self) -> Option<&V> {
        self.versions.last()
    }

    pub fn version(&self, version: &str) -> Option<&V> {
        self.versions.iter().find(|v| v.version().eq_ignore_ascii_case(version))
    }

    pub fn version_mut(&mut self, version: &str) -> Option<&mut V> {
        self.versions
            .iter_mut()
            .find(|v| v.version().eq_ignore_ascii_case(version))
    }

    /// The version a path names: the latest for `None`, else that version or the service's 404.
    pub fn find(&self, version: Option<&str>) -> Result<&V, KeyVaultError> {
        match version {
            None | Some("") => self
                .latest()
                .ok_or_else(|| KeyVaultError::not_found(V::KIND, &self.name)),
            Some(v) => self.version(v).ok_or_else(|| {
                KeyVaultError::version_not_found(V::KIND, &self.name, &crate::keyvault::protocol::truncate(v, 64))
            }),
        }
    }

    /// Like [`Versioned::find`], for changing the version.
    pub fn find_mut(&mut self, version: Option<&str>) -> Result<&mut V, KeyVaultError> {
        let wanted = self.find(version)?.version().to_string();
        let name = self.name.clone();
        self.version_mut(&wanted)
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, &name))
    }

    /// Checks a record read from storage, an import document or a backup: at least one version, unique ids.
    pub fn check(&self) -> Result<(), String> {
        if self.versions.is_empty() {
            return Err(format!("{} \"{}\" has no versions", V::KIND.word(), self.name));
        }
        let mut seen = BTreeSet::new();
        for v in &self.versions {
            if v.version().is_empty() || !seen.insert(v.version().to_lowercase()) {
                return Err(format!(
                    "{} \"{}\" has an empty or repeated version \"{}\"",
                    V::KIND.word(),
                    self.name,
                    v.version()
                ));
            }
        }
        Ok(())
    }
}

/// A soft-deleted object and when it was deleted and will be purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deleted<V> {
    /// `secret` in stores written before keys existed.
    #[serde(alias = "secret")]
    pub object: Versioned<V>,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
}

/// The live and deleted objects of one kind in one vault, keyed by lower-cased name.
#[derive(Debug, Clone)]
pub struct ObjectStore<V> {
    live: Tracked<Versioned<V>>,
    deleted: Tracked<Deleted<V>>,
    /// (scheduled purge date, key) of every deleted object.
    purge_index: BTreeSet<(i64, String)>,
}

impl<V> Default for ObjectStore<V> {
    fn default() -> Self {
        ObjectStore {
            live: Tracked::default(),
            deleted: Tracked::default(),
            purge_index: BTreeSet::new(),
        }
    }
}

/// Store keys are lower-cased names: Key Vault names are case-insensitive.
pub fn key_of(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl<V: Version> ObjectStore<V> {
    /// A store holding `live` and `deleted` (from an import document), indexed.
    pub fn from_parts(live: Tracked<Versioned<V>>, deleted: Tracked<Deleted<V>>) -> Self {
        let mut store = ObjectStore {
            live,
            deleted,
            purge_index: BTreeSet::new(),
        };
        store.reindex();
        store
    }

    /// The live objects, by lower-cased name.
    pub fn live(&self) -> &BTreeMap<String, Versioned<V>> {
        &self.live
    }

    /// The deleted objects, by lower-cased name.
    pub fn deleted_objects(&self) -> &BTreeMap<String, Deleted<V>> {
        &self.deleted
    }

    /// Both maps, for serialising a vault.
    pub fn parts(&self) -> (&Tracked<Versioned<V>>, &Tracked<Deleted<V>>) {
        (&self.live, &self.deleted)
    }

    /// The live object `name`, or the service's 404.
    pub fn get(&self, name: &str) -> Result<&Versioned<V>, KeyVaultError> {
        self.live
            .get(&key_of(name))
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, name))
    }

    /// The live object `name` for changing (marked changed), or the service's 404.
    pub fn get_mut(&mut self, name: &str) -> Result<&mut Versioned<V>, KeyVaultError> {
        self.live
            .get_mut(&key_of(name))
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, name))
    }

    /// Adds `version` as the new latest version of `name` (creating the object); 409 while the name is deleted.
    pub fn add_version(&mut self, name: &str, version: V) -> Result<&Versioned<V>, KeyVaultError> {
        let k = key_of(name);
        if let Some(d) = self.deleted.get(&k) {
            return Err(KeyVaultError::deleted_but_recoverable(V::KIND, &d.object.name));
        }
        let record = self.live.get_or_insert_with(&k, || Versioned {
            name: name.to_string(),
            versions: Vec::new(),
        });
        record.versions.push(version);
        Ok(record)
    }

    /// Soft-deletes `name` with every version, to be purged `RECOVERABLE_DAYS` after `now`.
    pub fn delete(&mut self, name: &str, now: i64) -> Result<&Deleted<V>, KeyVaultError> {
        let k = key_of(name);
        let object = self
            .live
            .remove(&k)
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, name))?;
        let deleted = Deleted {
            object,
            deleted_date: now,
            scheduled_purge_date: now + RECOVERABLE_DAYS * 86_400,
        };
        self.purge_index.insert((deleted.scheduled_purge_date, k.clone()));
        self.deleted.insert(k.clone(), deleted);
        self.deleted
            .get(&k)
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, name))
    }

    /// The deleted object `name`, or the service's 404.
    pub fn get_deleted(&self, name: &str) -> Result<&Deleted<V>, KeyVaultError> {
        self.deleted
            .get(&key_of(name))
            .ok_or_else(|| KeyVaultError::deleted_not_found(V::KIND, name))
    }

    /// Brings the deleted object `name` back with every version.
    pub fn recover(&mut self, name: &str) -> Result<&Versioned<V>, KeyVaultError> {
        let k = key_of(name);
        let deleted = self
            .deleted
            .remove(&k)
            .ok_or_else(|| KeyVaultError::deleted_not_found(V::KIND, name))?;
        self.purge_index.remove(&(deleted.scheduled_purge_date, k.clone()));
        self.live.insert(k.clone(), deleted.object);
        self.live.get(&k).ok_or_else(|| KeyVaultError::not_found(V::KIND, name))
    }

    /// Removes the deleted object `name` for good.
    pub fn purge(&mut self, name: &str) -> Result<Deleted<V>, KeyVaultError> {
        let k = key_of(name);
        let deleted = self
            .deleted
            .remove(&k)
            .ok_or_else(|| KeyVaultError::deleted_not_found(V::KIND, name))?;
        self.purge_index.remove(&(deleted.scheduled_purge_date, k));
        Ok(deleted)
    }

    /// Purges every deleted object whose scheduled purge date is at or before `now`; returns their keys.
    pub fn purge_due(&mut self, now: i64) -> Vec<String> {
        let mut purged = Vec::new();
        while let Some((date, _)) = self.purge_index.first() {
            if *date > now {
                break;
            }
            let Some((_, k)) = self.purge_index.pop_first() else {
                break;
            };
            self.deleted.remove(&k);
            purged.push(k);
        }
        purged
    }

    /// Puts a restored object (a backup's) in place: 409 when the name is live or deleted.
    pub fn restore(&mut self, object: Versioned<V>) -> Result<&Versioned<V>, KeyVaultError> {
        let k = key_of(&object.name);
        if self.deleted.contains_key(&k) {
            return Err(KeyVaultError::deleted_but_recoverable(V::KIND, &object.name));
        }
        if self.live.contains_key(&k) {
            return Err(KeyVaultError::already_exists(V::KIND, &object.name));
        }
        self.live.insert(k.clone(), object);
        self.live
            .get(&k)
            .ok_or_else(|| KeyVaultError::not_found(V::KIND, "restored"))
    }

    /// Rebuilds the purge index from the deleted objects (after a load or an import).
    pub fn reindex(&mut self) {
        self.purge_index = self
            .deleted
            .iter()
            .map(|(k, d)| (d.scheduled_purge_date, k.clone()))
            .collect();
    }

    /// Both collections, under their record-key names, for the storage layer.
    pub fn collections<Vis: Visitor>(
        &mut self,
        scope: &str,
        (live, deleted): (&'static str, &'static str),
        v: &mut Vis,
    ) -> Result<(), StorageError> {
        v.collection(scope, live, &mut self.live)?;
        v.collection(scope, deleted, &mut self.deleted)
    }

    /// Checks every record (keyed by its lower-cased name, versions valid, no name both live and deleted).
    pub fn check(&self) -> Result<(), String> {
        for (k, object) in self.live.iter() {
            if *k != object.name.to_lowercase() {
                return Err(format!("entry \"{k}\" holds {} \"{}\"", V::KIND.word(), object.name));
            }
            object.check()?;
        }
        for (k, d) in self.deleted.iter() {
            if *k != d.object.name.to_lowercase() {
                return Err(format!("entry \"{k}\" holds {} \"{}\"", V::KIND.word(), d.object.name));
            }
            d.object.check()?;
            if self.live.contains_key(k) {
                return Err(format!("{} \"{k}\" is both live and deleted", V::KIND.word()));
            }
        }
        Ok(())
    }

    /// One page of the versions of `name`, oldest first, each mapped by `f(stored name, version)`; an unknown name
    /// lists nothing, as the service does (its token is checked all the same: a malformed one is a 400).
    pub fn page_versions<T>(
        &self,
        name: &str,
        target: &crate::keyvault::protocol::Target,
        args: &crate::keyvault::protocol::ListArgs,
        mut f: impl FnMut(&str, &V) -> T,
    ) -> Result<crate::keyvault::protocol::ListResult<T>, KeyVaultError> {
        use crate::keyvault::protocol::paging::{page_by_position, Listing};
        let Some(record) = self.live.get(&key_of(name)) else {
            args.token(V::KIND, Listing::Versions)?;
            return Ok(crate::keyvault::protocol::ListResult {
                value: Vec::new(),
                next_link: None,
            });
        };
        page_by_position(
            &record.versions,
            target,
            &format!("/{}/{}/versions", V::KIND.collection(), record.name),
            args,
            (V::KIND, &key_of(name)),
            |v| f(&record.name, v),
        )
    }

    /// Whether no change waits to be persisted.
    pub fn is_clean(&self) -> bool {
        !self.live.is_dirty() && !self.deleted.is_dirty()
    }

    /// (objects, versions, deleted objects), for the control API.
    pub fn counts(&self) -> (usize, usize, usize) {
        let versions = self.live.values().map(|r| r.versions.len()).sum();
        (self.live.len(), versions, self.deleted.len())
    }

    /// Direct access to the live map, for seeding from an init file (marks what it changes).
    pub fn live_mut(&mut self) -> &mut Tracked<Versioned<V>> {
        &mut self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct V1(String);

    impl Version for V1 {
        const KIND: ObjectKind = ObjectKind::Key;
        fn version(&self) -> &str {
            &self.0
        }
        fn attributes_mut(&mut self) -> AttributesMut<'_> {
            unreachable!("the store tests change no attributes")
        }
    }

    #[test]
    fn lifecycle_and_due_purges() {
        let mut s: ObjectStore<V1> = ObjectStore::default();
        s.add_version("Alpha", V1("a1".into())).unwrap();
        s.add_version("alpha", V1("a2".into())).unwrap();
        assert_eq!(s.get("ALPHA").unwrap().name, "Alpha");
        assert_eq!(s.get("alpha").unwrap().find(None).unwrap().0, "a2");
        assert_eq!(s.get("alpha").unwrap().find(Some("A1")).unwrap().0, "a1");
        assert_eq!(
            s.get("alpha").unwrap().find(Some("zz")).unwrap_err().status_and_code(),
            (404, "KeyNotFound")
        );
        s.add_version("beta", V1("b1".into())).unwrap();
        s.delete("alpha", 100).unwrap();
        s.delete("beta", 200).unwrap();
        assert_eq!(
            s.add_version("alpha", V1("x".into())).unwrap_err().status_and_code().0,
            409
        );
        let day = 86_400;
        assert!(s.purge_due(100 + RECOVERABLE_DAYS * day - 1).is_empty());
        assert_eq!(s.purge_due(100 + RECOVERABLE_DAYS * day), vec!["alpha".to_string()]);
        assert!(s.get_deleted("alpha").is_err());
        s.recover("beta").unwrap();
        assert!(s.purge_due(i64::MAX).is_empty(), "a recovered object leaves the index");
        assert_eq!(s.get("beta").unwrap().versions.len(), 1);
        s.delete("beta", 300).unwrap();
        s.purge("beta").unwrap();
        assert!(s.purge_due(i64::MAX).is_empty());
        assert_eq!(s.counts(), (0, 0, 0));
    }

    /// 100 000 deleted objects, none due: finding that nothing is due costs one index look.
    #[test]
    fn nothing_due_is_cheap() {
        let mut s: ObjectStore<V1> = ObjectStore::default();
        for i in 0..100_000 {
            let name = format!("o{i}");
            s.add_version(&name, V1("1".into())).unwrap();
            s.delete(&name, 1_000).unwrap();
        }
        assert!(s.purge_due(1_000).is_empty());
        assert_eq!(s.purge_index.len(), 100_000);
    }
}
