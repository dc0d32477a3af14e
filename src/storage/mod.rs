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
//! ## When the disk fails (full, read-only, gone)
//! A failed commit *rolls back*: the state in memory is read back from the disk ([`Backend::reload`], which works
//! while the database refuses writes), so every request whose changes were in the failed batch — and every request
//! that saw them — answers an error and changed nothing, and an SDK's retry of it is safe (no phantom keys). The
//! service is then *degraded*: health says `"degraded"` with the reason until a later commit succeeds. Requests
//! that change nothing answer from memory as usual (reads keep working); every write tries the disk again, so writes
//! succeed as soon as the disk accepts them. Only when the disk cannot even be read back are the failed changes kept
//! in memory instead, pending, and written by the next commit that succeeds (health counts them as unsaved).
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
    /// `service`'s records as the disk holds them now, read even while the backend refuses writes (the roll-back
    /// after a failed commit). Only durable backends are asked.
    fn reload(&self, service: &str) -> Result<Vec<Record>, StorageError>;
    /// Applies `changes` to `service`'s records atomically; durable when this returns Ok.
    fn commit(&self, service: &str, changes: &Changes) -> Result<(), StorageError>;
    /// Replaces all of `service`'s records with `records`, atomically and durably (reset, import).
    fn replace(&self, service: &str, records: &[Record]) -> Result<(), StorageError>;
}

/// A service's state as records: the storage layer walks its Tracked collections through [`Persisted::visit`].
pub trait Persisted: Default + Send + 'static {
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
    /// How many records this drain took.
    drained: usize,
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
            self.drained += 1;
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
    /// Why the last commit failed, while no later one has succeeded (the service is degraded).
    failure: Option<String>,
    /// Bumped by every roll-back: a request whose commit straddled one answers an error.
    rollbacks: u64,
}

/// What a service's health says of its storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageHealth {
    /// Changes outlive the process (a data directory).
    pub durable: bool,
    /// Why the last commit failed, while the service is degraded.
    pub failure: Option<String>,
    /// Records changed in memory but not on disk (only when a failed commit could not be rolled back).
    pub unsaved: usize,
}

impl StorageHealth {
    /// `"ok"` or `"degraded"`: the service's health status.
    pub fn status(&self) -> &'static str {
        if self.failure.is_some() {
            "degraded"
        } else {
            "ok"
        }
    }

    /// The `storage` member of the health answer.
    pub fn to_json(&self) -> serde_json::Value {
        let mut out = serde_json::json!({
            "status": self.status(),
            "durable": self.durable,
        });
        if let Some(reason) = &self.failure {
            out["reason"] = serde_json::Value::String(format!(
                "the last commit failed: {reason}; the state is what the disk holds and the next write tries again"
            ));
        }
        if self.unsaved > 0 {
            out["unsavedRecords"] = self.unsaved.into();
        }
        out
    }
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
                    failure: None,
                    rollbacks: 0,
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

    /// Whether the service is degraded (its last commit failed), and how much is waiting for the disk.
    pub fn health(&self) -> StorageHealth {
        let pending = self.pending();
        StorageHealth {
            durable: self.is_durable(),
            failure: pending.failure.clone(),
            unsaved: pending.batch.len(),
        }
    }

    /// Reads the service's state from the backend (empty for the memory backend). Returns it with the number of
    /// records read. Blocking: call at start-up.
    pub fn load<S: Persisted>(&self) -> Result<(S, usize), StorageError> {
        let records = self.inner.backend.load(self.inner.service)?;
        let count = records.len();
        Ok((build(self.inner.service, records)?, count))
    }

    /// Builds a state from `records` leniently, for `trent check`'s salvage: a record that does not decode is
    /// skipped and named in the second value. The first is the state, or why the records left do not form a
    /// consistent one.
    pub fn salvage<S: Persisted>(service: &str, records: Vec<Record>) -> (Result<S, String>, Vec<String>) {
        let mut state = S::default();
        let mut problems = Vec::new();
        for (key, bytes) in records {
            if let Err(e) = state.load_record(&key, &bytes) {
                problems.push(format!("{service}/{key}: {e}"));
            }
        }
        let state = match state.finish_load() {
            Ok(()) => state.visit(&mut Forget).map(|()| state).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        (state, problems)
    }

    /// Makes every change to `state` since the last call durable (see the module doc). Call after every request,
    /// success or error, before the response is sent; an error means the request's changes may not be on disk.
    pub async fn persist<S: Persisted>(&self, state: &Mutex<S>) -> Result<(), StorageError> {
        let rollbacks = {
            let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
            if !self.is_durable() {
                return guard.visit(&mut Forget);
            }
            let mut pending = self.pending();
            let mut drain = Drain {
                pending: &mut pending,
                drained: 0,
            };
            guard.visit(&mut drain)?;
            let drained = drain.drained;
            if pending.batch.is_empty() && !pending.committing {
                return Ok(());
            }
            // Degraded without a roll-back: a request that changed nothing answers from memory.
            if drained == 0 && pending.failure.is_some() && !pending.committing {
                return Ok(());
            }
            pending.rollbacks
        };
        // Something is pending or being committed: wait for our turn, then commit whatever is pending by then.
        let turn = self.inner.turn.clone().lock_owned().await;
        let inner = self.inner.clone();
        // The commit runs to the end even if this request is abandoned: the turn moves into the blocking task (and
        // comes back with the result, so that a roll-back happens before the next commit).
        let (turn, result) = tokio::task::spawn_blocking(move || {
            let result = commit_pending(&inner);
            (turn, result)
        })
        .await
        .map_err(|e| StorageError::Io(format!("the commit task failed: {e}")))?;
        if let Err(e) = result {
            self.roll_back(state).await;
            drop(turn);
            return Err(e);
        }
        drop(turn);
        let pending = self.pending();
        if pending.rollbacks != rollbacks {
            let reason = pending.failure.clone().unwrap_or_else(|| "a commit failed".to_string());
            return Err(StorageError::Io(format!(
                "{reason} (a commit holding changes this request made or read was rolled back)"
            )));
        }
        Ok(())
    }

    /// After a failed commit (the caller holds the turn): the state becomes what the disk holds, and the pending
    /// batch is dropped. When the disk cannot be read back, the failed changes stay in memory and pending instead.
    async fn roll_back<S: Persisted>(&self, state: &Mutex<S>) {
        let backend = self.inner.backend.clone();
        let service = self.inner.service;
        let reloaded = tokio::task::spawn_blocking(move || build::<S>(service, backend.reload(service)?))
            .await
            .map_err(|e| StorageError::Io(format!("the reload task failed: {e}")))
            .and_then(|r| r);
        match reloaded {
            Ok(disk) => {
                let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
                let mut pending = self.pending();
                *guard = disk;
                pending.batch.clear();
                pending.rollbacks += 1;
                tracing::warn!(
                    service,
                    "the failed commit was rolled back: the state is what the disk holds"
                );
            }
            Err(e) => tracing::error!(
                service,
                error = %e,
                "the disk cannot be read back: the failed changes stay in memory and are written by the next commit"
            ),
        }
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
        let mut pending = self.pending();
        pending.batch.clear();
        pending.failure = None;
        *guard = new;
        Ok(())
    }
}

/// A state from stored records, checked and with its derived indexes rebuilt, nothing marked changed.
fn build<S: Persisted>(service: &str, records: Vec<Record>) -> Result<S, StorageError> {
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
    Ok(state)
}

/// Commits the pending batch (the caller holds the turn). On failure the batch goes back, under newer versions.
fn commit_pending(inner: &Inner) -> Result<(), StorageError> {
    let batch = {
        let mut pending = inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.batch.is_empty() {
            pending.failure = None;
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
    match &result {
        Ok(()) => {
            if pending.failure.take().is_some() && pending.batch.is_empty() {
                tracing::info!(
                    service = inner.service,
                    "storage recovered: every pending change is on disk"
                );
            }
        }
        Err(e) => {
            if pending.failure.is_none() {
                tracing::error!(
                    service = inner.service,
                    error = %e,
                    "commit failed: the service is degraded until a commit succeeds"
                );
            }
            pending.failure = Some(e.to_string());
            for (key, value) in batch {
                pending.batch.entry(key).or_insert(value);
            }
        }
    }
    result
}

/// What a request whose changes could not be committed answers (KMS and Key Vault alike).
pub fn unsaved_message(e: &StorageError) -> String {
    format!(
        "trent could not persist the change, so the request changed nothing: {e}. Writes succeed again once the data \
         directory accepts them; /_parlel/health reports the degraded state."
    )
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
    use crate::http::control::Control;
    use crate::kms::Kms;
    use serde_json::{json, Value};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A durable backend in memory that counts commits (and fails them while `fail` is set).
    #[derive(Default)]
    struct Counting {
        commits: AtomicUsize,
        records: Mutex<BTreeMap<String, Vec<u8>>>,
        fail: std::sync::atomic::AtomicBool,
        /// Reading back fails too (a disk that cannot be read).
        unreadable: std::sync::atomic::AtomicBool,
    }

    impl Backend for Counting {
        fn is_durable(&self) -> bool {
            true
        }
        fn load(&self, _: &str) -> Result<Vec<Record>, StorageError> {
            Ok(self.records.lock().unwrap().clone().into_iter().collect())
        }
        fn reload(&self, service: &str) -> Result<Vec<Record>, StorageError> {
            if self.unreadable.load(Ordering::SeqCst) {
                return Err(StorageError::Io("I/O error".to_string()));
            }
            self.load(service)
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
        assert!(err.message.contains("changed nothing"), "{}", err.message);
        // Rolled back and degraded: health says so with the reason; reads answer from memory, which is the disk.
        let health = kms.health();
        assert_eq!(health["status"], "degraded", "{health}");
        assert!(
            health["storage"]["reason"].as_str().unwrap().contains("disk full"),
            "{health}"
        );
        assert!(health["storage"].get("unsavedRecords").is_none(), "{health}");
        let keys = call(&kms, "ListKeys", json!({})).await;
        assert_eq!(
            keys["Keys"].as_array().unwrap().len(),
            0,
            "the failed CreateKey left no key"
        );
        // A write while the disk still fails answers the error again, and leaves nothing either.
        let again = kms
            .call(RequestContext::default(), "CreateKey", json!({"Description": "second"}))
            .await;
        assert!(again.is_err());
        assert_eq!(
            call(&kms, "ListKeys", json!({})).await["Keys"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        backend.fail.store(false, Ordering::SeqCst);
        // The next write succeeds and ends the degraded state.
        call(&kms, "CreateKey", json!({"Description": "third"})).await;
        assert_eq!(backend.commits.load(Ordering::SeqCst), 1);
        assert_eq!(kms.health()["status"], "ok");
        let keys = call(&kms, "ListKeys", json!({})).await;
        assert_eq!(keys["Keys"].as_array().unwrap().len(), 1);
        let (again, loaded) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        assert_eq!(loaded, 1);
        assert_eq!(call(&again, "ListKeys", json!({})).await["Keys"], keys["Keys"]);
    }

    #[tokio::test]
    async fn when_the_disk_cannot_be_read_back_failed_changes_stay_pending_until_a_commit_succeeds() {
        let backend = Arc::new(Counting::default());
        let (kms, _) = Kms::with_storage(Clock::new(), backend.clone()).unwrap();
        backend.fail.store(true, Ordering::SeqCst);
        backend.unreadable.store(true, Ordering::SeqCst);
        assert!(kms
            .call(RequestContext::default(), "CreateKey", json!({}))
            .await
            .is_err());
        let health = kms.health();
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["storage"]["unsavedRecords"], 1, "{health}");
        // Reads answer from memory, which holds the change.
        assert_eq!(
            call(&kms, "ListKeys", json!({})).await["Keys"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        backend.fail.store(false, Ordering::SeqCst);
        backend.unreadable.store(false, Ordering::SeqCst);
        call(&kms, "CreateKey", json!({})).await;
        assert_eq!(kms.health()["status"], "ok");
        assert_eq!(backend.records.lock().unwrap().len(), 2, "both keys reached the disk");
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
