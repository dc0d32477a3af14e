//! [`VaultState`]: one vault's objects, one [`ObjectStore`] per plane, and how they persist. The serialised form
//! (state documents, `/_parlel/export`) keeps each store's two maps side by side: `secrets`/`deleted` (the names
//! they had before the keys plane existed) and `keys`/`deletedkeys`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::secrets::model::VersionRecord;
use super::store::{Deleted, ObjectStore, Versioned};
use crate::storage::{LoadOne, Persisted, StorageError, Tracked, Visitor};

/// One vault: every plane's objects, keyed by lower-cased name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "VaultDoc", into = "VaultDoc")]
pub struct VaultState {
    pub secrets: ObjectStore<VersionRecord>,
}

/// The serialised form of a vault.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultDoc {
    secrets: Tracked<Versioned<VersionRecord>>,
    deleted: Tracked<Deleted<VersionRecord>>,
}

impl From<VaultDoc> for VaultState {
    fn from(doc: VaultDoc) -> Self {
        VaultState {
            secrets: ObjectStore::from_parts(doc.secrets, doc.deleted),
        }
    }
}

impl From<VaultState> for VaultDoc {
    fn from(state: VaultState) -> Self {
        let (secrets, deleted) = state.secrets.parts();
        VaultDoc {
            secrets: secrets.clone(),
            deleted: deleted.clone(),
        }
    }
}

impl VaultState {
    /// Every persisted collection of a vault, under its record-key name (`<vault>/<name>/<lower-cased name>`): the
    /// storage layer drains, loads and rewrites records only through this list. A new collection MUST be added
    /// here, or it is lost on restart.
    pub fn collections<V: Visitor>(&mut self, scope: &str, v: &mut V) -> Result<(), StorageError> {
        self.secrets.collections(scope, ("secrets", "deleted"), v)
    }

    /// Applies the clock: purges what is due in every plane.
    pub fn purge_due(&mut self, now: i64) {
        self.secrets.purge_due(now);
    }

    /// Checks a vault read from storage or an import document.
    pub fn check(&self) -> Result<(), String> {
        self.secrets.check()
    }

    /// Rebuilds derived indexes after records were loaded one by one.
    pub fn reindex(&mut self) {
        self.secrets.reindex();
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.live().is_empty() && self.secrets.deleted_objects().is_empty()
    }
}

/// Key Vault records as the storage layer sees them: every vault's [`VaultState::collections`].
impl Persisted for BTreeMap<String, VaultState> {
    fn visit<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), StorageError> {
        for (vault, state) in self.iter_mut() {
            state.collections(vault, visitor)?;
        }
        Ok(())
    }

    fn load_record(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let (vault, collection, name) = crate::storage::split_key(key, 1)
            .ok_or_else(|| "the key is not <vault>/<collection>/<name>".to_string())?;
        let mut one = LoadOne {
            collection,
            name,
            bytes,
            found: false,
        };
        let state = self.entry(vault.to_string()).or_default();
        state.collections(vault, &mut one).map_err(|e| e.to_string())?;
        if !one.found {
            return Err(format!("unknown collection \"{collection}\""));
        }
        Ok(())
    }

    fn finish_load(&mut self) -> Result<(), String> {
        for (vault, state) in self.iter_mut() {
            state.reindex();
            state.check().map_err(|e| format!("vault \"{vault}\": {e}"))?;
        }
        Ok(())
    }
}
