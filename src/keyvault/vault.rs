//! What Key Vault holds and how it persists: [`KvState`] (every vault, plus the service's own backup key) and
//! [`VaultState`] (one vault: an [`ObjectStore`] per plane, and the keys' rotation policies). The serialised form
//! (state documents, `/_parlel/export`) keeps each store's two maps side by side: `secrets`/`deleted` (the names
//! they had before the keys plane existed) and `keys`/`deletedkeys`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::certificates::model::{CertificateVersion, ContactsRecord, IssuerRecord, OperationRecord, Policy};
use super::keys::model::{KeyVersion, OctKey, RotationPolicyRecord};
use super::secrets::model::VersionRecord;
use super::store::{Deleted, ObjectStore, Versioned};
use crate::storage::{LoadOne, Persisted, StorageError, Tracked, Visitor};

/// One vault: every plane's objects, keyed by lower-cased name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "VaultDoc", into = "VaultDoc")]
pub struct VaultState {
    pub secrets: ObjectStore<VersionRecord>,
    pub keys: ObjectStore<KeyVersion>,
    /// Rotation policies by lower-cased key name; they stay while the key is deleted and go when it is purged.
    pub rotation_policies: Tracked<RotationPolicyRecord>,
    pub certificates: ObjectStore<CertificateVersion>,
    /// Certificate policies and latest operations by lower-cased certificate name (they stay while the certificate
    /// is deleted and go when it is purged).
    pub certificate_policies: Tracked<Policy>,
    pub certificate_operations: Tracked<OperationRecord>,
    /// Issuers by lower-cased name; the contacts under `contacts`.
    pub certificate_issuers: Tracked<IssuerRecord>,
    pub certificate_contacts: Tracked<ContactsRecord>,
}

/// The serialised form of a vault.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultDoc {
    secrets: Tracked<Versioned<VersionRecord>>,
    deleted: Tracked<Deleted<VersionRecord>>,
    #[serde(default)]
    keys: Tracked<Versioned<KeyVersion>>,
    #[serde(default, rename = "deletedkeys")]
    deleted_keys: Tracked<Deleted<KeyVersion>>,
    #[serde(default, rename = "keyrotationpolicies")]
    rotation_policies: Tracked<RotationPolicyRecord>,
    #[serde(default)]
    certificates: Tracked<Versioned<CertificateVersion>>,
    #[serde(default, rename = "deletedcertificates")]
    deleted_certificates: Tracked<Deleted<CertificateVersion>>,
    #[serde(default, rename = "certificatepolicies")]
    certificate_policies: Tracked<Policy>,
    #[serde(default, rename = "certificateoperations")]
    certificate_operations: Tracked<OperationRecord>,
    #[serde(default, rename = "certificateissuers")]
    certificate_issuers: Tracked<IssuerRecord>,
    #[serde(default, rename = "certificatecontacts")]
    certificate_contacts: Tracked<ContactsRecord>,
}

impl From<VaultDoc> for VaultState {
    fn from(doc: VaultDoc) -> Self {
        VaultState {
            secrets: ObjectStore::from_parts(doc.secrets, doc.deleted),
            keys: ObjectStore::from_parts(doc.keys, doc.deleted_keys),
            rotation_policies: doc.rotation_policies,
            certificates: ObjectStore::from_parts(doc.certificates, doc.deleted_certificates),
            certificate_policies: doc.certificate_policies,
            certificate_operations: doc.certificate_operations,
            certificate_issuers: doc.certificate_issuers,
            certificate_contacts: doc.certificate_contacts,
        }
    }
}

impl From<VaultState> for VaultDoc {
    fn from(state: VaultState) -> Self {
        let (secrets, deleted) = state.secrets.parts();
        let (keys, deleted_keys) = state.keys.parts();
        let (certificates, deleted_certificates) = state.certificates.parts();
        VaultDoc {
            certificates: certificates.clone(),
            deleted_certificates: deleted_certificates.clone(),
            certificate_policies: state.certificate_policies,
            certificate_operations: state.certificate_operations,
            certificate_issuers: state.certificate_issuers,
            certificate_contacts: state.certificate_contacts,
            secrets: secrets.clone(),
            deleted: deleted.clone(),
            keys: keys.clone(),
            deleted_keys: deleted_keys.clone(),
            rotation_policies: state.rotation_policies,
        }
    }
}

impl VaultState {
    /// Every persisted collection of a vault, under its record-key name (`<vault>/<name>/<lower-cased name>`): the
    /// storage layer drains, loads and rewrites records only through this list. A new collection MUST be added
    /// here, or it is lost on restart.
    pub fn collections<V: Visitor>(&mut self, scope: &str, v: &mut V) -> Result<(), StorageError> {
        self.secrets.collections(scope, ("secrets", "deleted"), v)?;
        self.keys.collections(scope, ("keys", "deletedkeys"), v)?;
        v.collection(scope, "keyrotationpolicies", &mut self.rotation_policies)?;
        self.certificates
            .collections(scope, ("certificates", "deletedcertificates"), v)?;
        v.collection(scope, "certificatepolicies", &mut self.certificate_policies)?;
        v.collection(scope, "certificateoperations", &mut self.certificate_operations)?;
        v.collection(scope, "certificateissuers", &mut self.certificate_issuers)?;
        v.collection(scope, "certificatecontacts", &mut self.certificate_contacts)
    }

    /// Applies the clock's purges: whatever is due in every plane (a purged key takes its rotation policy along).
    pub fn purge_due(&mut self, now: i64) {
        self.secrets.purge_due(now);
        for key in self.keys.purge_due(now) {
            self.rotation_policies.remove(&key);
        }
        for certificate in self.certificates.purge_due(now) {
            self.certificate_policies.remove(&certificate);
            self.certificate_operations.remove(&certificate);
        }
    }

    /// Checks a vault read from storage or an import document.
    pub fn check(&self) -> Result<(), String> {
        self.secrets.check()?;
        self.keys.check()?;
        self.certificates.check()
    }

    /// Rebuilds derived indexes after records were loaded one by one.
    pub fn reindex(&mut self) {
        self.secrets.reindex();
        self.keys.reindex();
        self.certificates.reindex();
    }

    /// Holds nothing and has no change storage has yet to take: the entry can go.
    pub fn is_pristine(&self) -> bool {
        self.is_empty()
            && self.rotation_policies.is_empty()
            && !self.rotation_policies.is_dirty()
            && self.secrets.is_clean()
            && self.keys.is_clean()
            && self.certificates.is_clean()
            && [
                self.certificate_policies.is_dirty(),
                self.certificate_operations.is_dirty(),
                self.certificate_issuers.is_dirty(),
                self.certificate_contacts.is_dirty(),
            ]
            .iter()
            .all(|dirty| !dirty)
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.live().is_empty()
            && self.secrets.deleted_objects().is_empty()
            && self.keys.live().is_empty()
            && self.keys.deleted_objects().is_empty()
            && self.certificates.live().is_empty()
            && self.certificates.deleted_objects().is_empty()
            && self.certificate_policies.is_empty()
            && self.certificate_operations.is_empty()
            && self.certificate_issuers.is_empty()
            && self.certificate_contacts.is_empty()
    }
}

/// What belongs to the service rather than to one vault.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The AES-256 key that seals key backups: a backup restores into any vault of this trent (and of a trent
    /// started from this one's data directory or export), and nowhere else.
    pub backup_key: OctKey,
    /// The local CA that issues the certificates of configured issuers (made on first use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_ca: Option<StoredAuthority>,
}

/// A CA key (PKCS#8) and its certificate, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredAuthority {
    pub key: crate::crypto::KeyMaterial,
    pub certificate: super::certificates::model::Der,
}

/// The record-key scope and name of the service record (`_service/service/record`); vault collections never use
/// the collection name `service`, so no vault name can collide with it.
const SERVICE_SCOPE: &str = "_service";
const SERVICE_RECORD: &str = "record";

/// Every vault of one server and the service record.
#[derive(Debug, Default)]
pub struct KvState {
    pub vaults: BTreeMap<String, VaultState>,
    pub service: Tracked<ServiceRecord>,
}

impl KvState {
    pub fn new(vaults: BTreeMap<String, VaultState>, service: Option<ServiceRecord>) -> Self {
        let mut state = KvState {
            vaults,
            service: Tracked::default(),
        };
        if let Some(record) = service {
            state.service.insert(SERVICE_RECORD.to_string(), record);
        }
        state
    }

    /// The backup sealing key, made on first use (and then persisted like any record).
    pub fn backup_key(&mut self) -> Vec<u8> {
        if let Some(record) = self.service.get(SERVICE_RECORD) {
            return record.backup_key.0.clone();
        }
        let key = crate::crypto::random_bytes(32);
        self.service.insert(
            SERVICE_RECORD.to_string(),
            ServiceRecord {
                backup_key: OctKey(key.clone()),
                issuing_ca: None,
            },
        );
        key
    }

    /// The local issuing CA, made (and then persisted) on first use: `make` builds a new one.
    pub fn issuing_ca(
        &mut self,
        make: impl FnOnce() -> Result<StoredAuthority, String>,
    ) -> Result<StoredAuthority, String> {
        if let Some(ca) = self.service.get(SERVICE_RECORD).and_then(|r| r.issuing_ca.clone()) {
            return Ok(ca);
        }
        let ca = make()?;
        self.backup_key();
        if let Some(record) = self.service.get_mut(SERVICE_RECORD) {
            record.issuing_ca = Some(ca.clone());
        }
        Ok(ca)
    }

    /// The service record, if one was made (for export).
    pub fn service_record(&self) -> Option<&ServiceRecord> {
        self.service.get(SERVICE_RECORD)
    }
}

/// Key Vault records as the storage layer sees them: every vault's [`VaultState::collections`] and the service
/// record.
impl Persisted for KvState {
    fn visit<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), StorageError> {
        for (vault, state) in self.vaults.iter_mut() {
            state.collections(vault, visitor)?;
        }
        visitor.collection(SERVICE_SCOPE, "service", &mut self.service)
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
        if vault == SERVICE_SCOPE && collection == "service" {
            one.collection(SERVICE_SCOPE, "service", &mut self.service)
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        let state = self.vaults.entry(vault.to_string()).or_default();
        state.collections(vault, &mut one).map_err(|e| e.to_string())?;
        if !one.found {
            return Err(format!("unknown collection \"{collection}\""));
        }
        Ok(())
    }

    fn finish_load(&mut self) -> Result<(), String> {
        for (vault, state) in self.vaults.iter_mut() {
            state.reindex();
            state.check().map_err(|e| format!("vault \"{vault}\": {e}"))?;
        }
        Ok(())
    }
}
