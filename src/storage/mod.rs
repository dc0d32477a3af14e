//! Storage: how service state survives a restart.
//!
//! Services keep every record in memory, in [`Tracked`] maps, and never know where (or whether) the records are
//! persisted. This module gives them one interface, [`Storage`], over one [`Backend`] trait with two
//! implementations: [`MemoryBackend`] (the services' maps are the only copy; nothing is written anywhere) and
//! [`Database`] (a redb file in a data directory, every commit fsynced).
//!
//! ## The commit protocol ([`Storage::persist`], run by each service after every request)
//! 1. Under the service's state mutex, every changed record is *drained* from the Tracked maps (a service lists
//!    its collections once, in its [`Persisted::visit`]), serialised and put in the *pending* batch (a map, so a
//!    later version of a record replaces an earlier one). Reads mark nothing (the KMS read handlers take their key
//!    with `state::key_ref`; lazy expiry, rotation and replication mark a record only when they change it), so a
//!    read drains nothing.
//! 2. If nothing is pending and no commit is in flight, every change the request made or saw is already durable:
//!    the response goes out. This is the read hot path — one lock, no database.
//! 3. Otherwise the request takes its turn on the commit mutex, takes the whole pending batch and commits it in one
//!    write transaction on a blocking thread. Requests that finish while a commit is in flight pile up in the
//!    pending batch and are written by the next commit together: one fsync for many requests.
//! 4. The response is sent only after the commit that holds its changes returned. A failed commit puts its records
//!    back into the pending batch (newer versions win) and the request answers an internal error.
//!
//! In memory mode step 1 only clears the dirty sets, so nothing grows with traffic and nothing is serialised.

pub mod database;
pub mod memory;
pub mod tracked;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use database::Database;
pub use memory::MemoryBackend;
pub use tracked::Tracked;

/// One record as the backend stores it: its key (`<scope>/<collection>/<name>`) and its serialised bytes.
pub type Record = (String, Vec<u8>);
/// A batch of changes: the new bytes of each changed record, or `None` for a removed one.
pub type Changes = BTreeMap<String, Option<Vec<u8>>>;

/// What went wrong in the storage layer; the message is meant for the operator as it is.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The data directory cannot be used (missing permissions, another process, a newer format, corruption).
    #[error("{0}")]
    Open(String),
    /// A commit, load or replace failed.
    #[error("{0}")]
    Io(String),
    /// A stored record cannot be read back.
    #[error("{0}")]
    Record(String),
}

/// Where records are kept. Implementations: [`MemoryBackend`], [`Database`].
pub trait Backend: Send + Sync + 'static {
    /// False for the memory backend: the services' maps are the only copy, so nothing needs serialising.
    fn is_durable(&self) -> bool;
    /// Every record of `service`.
    fn load(&self, service: &str) -> Result<Vec<Record>, StorageError>;
    /// Applies `changes` to `service`'s records atomically; durable when this returns Ok.
    fn commit(&self, service: &str, changes: &Changes) -> Result<(), StorageError>;
    /// Replaces all of `service`'s records with `records`, atomically and durably (reset, import).
    fn replace(&self, service: &str, records: &[Record]) -> Result<(), StorageError>;
}

/// A service's state as records: the storage layer walks its Tracked collections through [`Persisted::visit`].
pub trait Persisted: Default + Send {
    /// Calls `visitor` once per Tracked collection, with the scope prefix of its record keys (`<scope>`) and the
    /// collection's name. This is the one list of what is persisted.
    fn visit<V: Visitor>(&mut self, visitor: &mut V) -> Result<(), StorageError>;
    /// Puts one stored record (key `<scope>/<collection>/<name>`) back in place while loading.
    fn load_record(&mut self, key: &str, bytes: &[u8]) -> Result<(), String>;
    /// After every record is loaded: check the state and rebuild derived indexes.
    fn finish_load(&mut self) -> Result<(), String>;
}

/// Something done to each Tracked collection of a [`Persisted`] state.
pub trait Visitor {
    fn collection<V: Serialize + DeserializeOwned>(
        &mut self,
        scope: &str,
        name: &'static str,
        map: &mut Tracked<V>,
    ) -> Result<(), StorageError>;
}

/// Loads one record into the collection named by `collection` (used by [`Persisted::load_record`]).
pub struct LoadOne<'a> {
    pub collection: &'a str,
    pub name: &'a str,
    pub bytes: &'a [u8],
    pub found: bool,
}

impl Visitor for LoadOne<'_> {
    fn collection<V: Serialize + DeserializeOwned>(
        &mut self,
        _scope: &str,
        name: &'static str,
        map: &mut Tracked<V>,
    ) -> Result<(), StorageError> {
        if self.found || name != self.collection {
            return Ok(());
        }
        self.found = true;
        let value: V = serde_json::from_slice(self.bytes)
            .map_err(|e| StorageError::Record(format!("{}/{}: {e}", self.collection, self.name)))?;
        map.insert(self.name.to_string(), value);
        Ok(())
    }
}

/// Splits a record key `<scope>/<collection>/<name>` whose scope has `scope_parts` segments.
pub fn split_key(key: &str, scope_parts: usize) -> Option<(&str, &str, &str)> {
    let mut end = 0;
    for _ in 0..scope_parts {
        let next = key[end..].find('/')?;
        end += next + 1;
    }
    let scope = key.get(..end.checked_sub(1)?)?;
    let (collection, name) = key.get(end..)?.split_once('/')?;
    if scope.is_empty() || collection.is_empty() || name.is_empty() {
        return None;
    }
    Some((scope, collection, name))
}

struct Forget;

impl Visitor for Forget {
    fn collection<V: Serialize + DeserializeOwned>(
        &mut self,
        _: &str,
        _: &'static str,
        map: &mut Tracked<V>,
    ) -> Result<(), StorageError> {
        if map.is_dirty() {
            map.mark_clean();
        }
        Ok(())
    }
}

/// Every record, serialised (import, reset: the whole table is rewritten).
struct All {
    out: Vec<Record>,
}

impl Visitor for All {
    fn collection<V: Serialize + DeserializeOwned>(
        &mut self,
        scope: &str,
        name: &'static str,
        map: &mut Tracked<V>,
    ) -> Result<(), StorageError> {
        for (key, value) in map.iter() {
            let bytes = encode(scope, name, key, value)?;
            self.out.push((format!("{scope}/{name}/{key}"), bytes));
        }
        map.mark_clean();
        Ok(())
    }
}

/// Changed records into the pending batch.
struct Drain<'a> {
    pending: &'a mut Pending,
}

impl Visitor for Drain<'_> {
    fn collection<V: Serialize + DeserializeOwned>(
        &mut self,
        scope: &str,
        name: &'static str,
        map: &mut Tracked<V>,
    ) -> Result<(), StorageError> {
        if !map.is_dirty() {
            return Ok(());
        }
        for (key, value) in map.drain() {
            let bytes = value.map(|value| encode(scope, name, &key, value)).transpose()?;
            self.pending.batch.insert(format!("{scope}/{name}/{key}"), bytes);
        }
        Ok(())
    }
}

fn encode<V: Serialize>(scope: &str, name: &str, key: &str, value: &V) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(value).map_err(|e| StorageError::Record(format!("cannot serialise {scope}/{name}/{key}: {e}")))
}

/// Changes drained but not yet durable.
struct Pending {
    batch: Changes,
    /// A commit of a batch taken from here is running.
    committing: bool,
}

struct Inner {
    backend: Arc<dyn Backend>,
    service: &'static str,
    /// One commit at a time, in the order batches were taken.
    turn: Arc<tokio::sync::Mutex<()>>,
    pending: Mutex<Pending>,
}

/// The storage of one service: loads its state at start, persists its changes after every request.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

impl Storage {
    /// Storage on `backend`, for the service whose records are kept under `service` (a table name).
    pub fn new(backend: Arc<dyn Backend>, service: &'static str) -> Storage {
        Storage {
            inner: Arc::new(Inner {
                backend,
                service,
                turn: Arc::new(tokio::sync::Mutex::new(())),
                pending: Mutex::new(Pending {
                    batch: Changes::new(),
                    committing: false,
                }),
            }),
        }
    }

    /// In-memory only: nothing persisted.
    pub fn memory(service: &'static str) -> Storage {
        Storage::new(Arc::new(MemoryBackend), service)
    }

    /// Whether changes outlive the process.
    pub fn is_durable(&self) -> bool {
        self.inner.backend.is_durable()
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.inner.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the service's state from the backend (empty for the memory backend). Returns it with the number of
    /// records read. Blocking: call at start-up.
    pub fn load<S: Persisted>(&self) -> Result<(S, usize), StorageError> {
        let service = self.inner.service;
        let records = self.inner.backend.load(service)?;
        let count = records.len();
        let mut state = S::default();
        for (key, bytes) in records {
            state
                .load_record(&key, &bytes)
                .map_err(|e| StorageError::Record(format!("stored {service} record \"{key}\" is unreadable: {e}")))?;
        }
        state
            .finish_load()
            .map_err(|e| StorageError::Record(format!("the stored {service} state is inconsistent: {e}")))?;
        state.visit(&mut Forget)?;
        Ok((state, count))
    }

    /// Makes every change to `state` since the last call durable (see the module doc). Call after every request,
    /// success or error, before the response is sent; an error means the request's changes may not be on disk.
    pub async fn persist<S: Persisted>(&self, state: &Mutex<S>) -> Result<(), StorageError> {
        {
            let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
            if !self.is_durable() {
                return guard.visit(&mut Forget);
            }
            let mut pending = self.pending();
            guard.visit(&mut Drain { pending: &mut pending })?;
            if pending.batch.is_empty() && !pending.committing {
                return Ok(());
            }
        }
        // Something is pending or being committed: wait for our turn, then commit whatever is pending by then.
        let turn = self.inner.turn.clone().lock_owned().await;
        let inner = self.inner.clone();
        // The commit runs to the end even if this request is abandoned: the turn moves into the blocking task.
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            commit_pending(&inner)
        })
        .await
        .map_err(|e| StorageError::Io(format!("the commit task failed: {e}")))?
    }

    /// Replaces `state` with `new` and the backend's records with `new`'s, atomically for readers of either.
    /// Blocking (takes the commit turn): call from a blocking thread, never from an async worker.
    pub fn replace<S: Persisted>(&self, state: &Mutex<S>, mut new: S) -> Result<(), StorageError> {
        if !self.is_durable() {
            new.visit(&mut Forget)?;
            *state.lock().unwrap_or_else(|p| p.into_inner()) = new;
            return Ok(());
        }
        let _turn = self.inner.turn.blocking_lock();
        let mut all = All { out: Vec::new() };
        new.visit(&mut all)?;
        self.inner.backend.replace(self.inner.service, &all.out)?;
        let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
        self.pending().batch.clear();
        *guard = new;
        Ok(())
    }
}

/// Commits the pending batch (the caller holds the turn). On failure the batch goes back, under newer versions.
fn commit_pending(inner: &Inner) -> Result<(), StorageError> {
    let batch = {
        let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.batch.is_empty() {
            return Ok(());
        }
        pending.committing = true;
        std::mem::take(&mut pending.batch)
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        inner.backend.commit(inner.service, &batch)
    }))
    .unwrap_or_else(|_| Err(StorageError::Io("the database panicked during a commit".to_string())));
    let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
    pending.committing = false;
    if let Err(e) = &result {
        tracing::error!(service = inner.service, error = %e, "commit failed; its records stay pending");
        for (key, value) in batch {
            pending.batch.entry(key).or_insert(value);
        }
    }
    result
}

/// The backend for a data directory, or the memory backend without one.
pub fn open(data_dir: Option<&std::path::Path>) -> Result<Arc<dyn Backend>, StorageError> {
    match data_dir {
        Some(dir) => Ok(Arc::new(Database::open(dir)?)),
        None => Ok(Arc::new(MemoryBackend)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::{AwsJsonService, RequestContext};
    use crate::clock::Clock;
    use crate::kms::Kms;
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A durable backend in memory that counts commits (and fails them while `fail` is set).
    #[derive(Default)]
    struct Counting {
        commits: AtomicUsize,
        records: Mutex<BTreeMap<String, Vec<u8>>>,
        fail: std::sync::atomic::AtomicBool,
    }

    impl Backend for Counting {
        fn is_durable(&self) -> bool {
            true
        }
        fn load(&self, _: &str) -> Result<Vec<Record>, StorageError> {
            Ok(self.records.lock().unwrap().clone().into_iter().collect())
        }
        fn commit(&self, _: &str, changes: &Changes) -> Result<(), StorageError> {
            if self.fail.load(Ordering::SeqCst) {
                return Err(StorageError::Io("disk full".to_string()));
            }
            self.commits.fetch_add(1, Ordering::SeqCst);
            let mut records = self.records.lock().unwrap();
            for (key, value) in changes {
                match value {
                    Some(bytes) => records.insert(key.clone(), bytes.clone()),
                    None => records.remove(key),
                };
            }
            Ok(())
        }
        fn replace(&self, _: &str, all: &[Record]) -> Result<(), StorageError> {
            *self.records.lock().unwrap() = all.iter().cloned().collect();
            Ok(())
        }
    }

    async fn call(kms: &Kms, operation: &str, input: Value) -> Value {
        kms.call(RequestContext::default(), operation, input)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"))
    }

    #[tokio::test]
    async fn reads_never_commit_and_each_write_commits_once() {
        let backend = Arc::new(Counting::default());
        let (kms, loaded) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        assert_eq!(loaded, 0);
        let commits = || backend.commits.load(Ordering::SeqCst);
        let key = call(&kms, "CreateKey", json!({})).await["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(commits(), 1);
        // Reads take their key with key_ref and mark nothing, so nothing is written.
        for _ in 0..3 {
            let blob =
                call(&kms, "Encrypt", json!({"KeyId": key, "Plaintext": "aGk="})).await["CiphertextBlob"].clone();
            call(&kms, "Decrypt", json!({"CiphertextBlob": blob})).await;
            call(&kms, "GenerateDataKey", json!({"KeyId": key, "KeySpec": "AES_256"})).await;
            call(&kms, "DescribeKey", json!({"KeyId": key})).await;
            call(&kms, "ListKeys", json!({})).await;
            call(&kms, "GetKeyPolicy", json!({"KeyId": key})).await;
            call(&kms, "GetKeyRotationStatus", json!({"KeyId": key})).await;
            call(&kms, "ListResourceTags", json!({"KeyId": key})).await;
            call(&kms, "ListAliases", json!({})).await;
        }
        assert_eq!(commits(), 1, "reads committed");
        call(
            &kms,
            "TagResource",
            json!({"KeyId": key, "Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        )
        .await;
        assert_eq!(commits(), 2);
        call(&kms, "CreateAlias", json!({"AliasName": "alias/x", "TargetKeyId": key})).await;
        assert_eq!(commits(), 3);
        // A failed request that changed nothing commits nothing either.
        let missing = kms
            .call(RequestContext::default(), "DescribeKey", json!({"KeyId": "alias/none"}))
            .await;
        assert!(missing.is_err());
        assert_eq!(commits(), 3);

        // What was committed is the whole state: a second service loads it back.
        let (again, loaded) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        assert_eq!(loaded, 2, "one key, one alias");
        let described = call(&again, "ListResourceTags", json!({"KeyId": key})).await;
        assert_eq!(described["Tags"][0]["TagKey"], "a");
        let aliases = call(&again, "ListAliases", json!({"KeyId": key})).await;
        assert_eq!(aliases["Aliases"][0]["AliasName"], "alias/x");
        call(&again, "DeleteAlias", json!({"AliasName": "alias/x"})).await;
        assert!(!backend.records.lock().unwrap().keys().any(|k| k.contains("/aliases/")));
    }

    #[tokio::test]
    async fn a_failed_commit_answers_an_error_and_is_retried_by_the_next_request() {
        let backend = Arc::new(Counting::default());
        let (kms, _) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        backend.fail.store(true, Ordering::SeqCst);
        let err = kms
            .call(RequestContext::default(), "CreateKey", json!({"Description": "first"}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "KMSInternalException");
        assert!(err.message.contains("disk full"), "{}", err.message);
        // While the disk fails, even a read cannot acknowledge the state it saw.
        assert!(kms
            .call(RequestContext::default(), "ListKeys", json!({}))
            .await
            .is_err());
        backend.fail.store(false, Ordering::SeqCst);
        // The next request commits what stayed pending.
        let keys = call(&kms, "ListKeys", json!({})).await;
        assert_eq!(keys["Keys"].as_array().unwrap().len(), 1);
        let (again, loaded) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        assert_eq!(loaded, 1);
        assert_eq!(call(&again, "ListKeys", json!({})).await["Keys"], keys["Keys"]);
    }

    #[tokio::test]
    async fn memory_mode_keeps_no_dirty_records() {
        let kms = Kms::new(Clock::new());
        for _ in 0..3 {
            call(&kms, "CreateKey", json!({})).await;
        }
        let mut store = kms.lock();
        struct AnyDirty(bool);
        impl Visitor for AnyDirty {
            fn collection<V: Serialize + DeserializeOwned>(
                &mut self,
                _: &str,
                _: &'static str,
                map: &mut Tracked<V>,
            ) -> Result<(), StorageError> {
                self.0 |= map.is_dirty();
                Ok(())
            }
        }
        let mut any = AnyDirty(false);
        store.visit(&mut any).unwrap();
        assert!(!any.0, "the dirty sets grow with traffic in memory mode");
    }

    #[test]
    fn record_keys_split_at_the_scope() {
        assert_eq!(
            split_key("111122223333/us-east-1/aliases/alias/x", 2),
            Some(("111122223333/us-east-1", "aliases", "alias/x"))
        );
        assert_eq!(split_key("vault/secrets/a", 1), Some(("vault", "secrets", "a")));
        assert_eq!(split_key("vault/secrets", 1), None);
        assert_eq!(split_key("a/b/c", 2), None);
        assert_eq!(split_key("/x/y", 1), None);
    }
}
