//! The database backend: one redb file in the data directory.
//!
//! Layout of a data directory:
//! - `trent.redb` — the database (0600): a table per service (`kms`, `keyvault`) from record key to the record,
//!   and a `meta` table with the storage `format` and the `trent_version` that last opened it for writing. Since
//!   format 2 every stored record is *sealed*: a CRC-32 of its key and bytes, then the bytes (the record's JSON), so
//!   a changed byte anywhere in a record is caught when it is read ([`seal`], [`unseal`]).
//! - `trent.lock` — (0600) holds the pid of the process using the directory, locked (`flock`) while it runs, so a
//!   second trent on the same directory is refused with a message naming the first one.
//!
//! Every commit is one write transaction with `Durability::Immediate`: when [`Backend::commit`] returns, the
//! change is on disk (redb fsyncs its copy-on-write B-tree and then the header that makes it current, so a crash
//! leaves either the old or the new state, never a mix).
//!
//! ## Opening: verify a copy first, never change a file that is refused
//! [`Database::open`] reads the whole file into memory and opens that copy ([`Snapshot`]): redb checks the
//! checksum of every page (and repairs the copy after a crash), every record's seal is verified and the format is
//! read. An empty, truncated or corrupt file, a bad record, or a format this build cannot read is refused with a
//! message naming the cause and `trent check`, and the file on disk is untouched. Only a copy that passed is the
//! file opened for writing (where redb repeats the crash repair it just proved possible), and the records handed to
//! the services at start are the verified ones.
//!
//! ## After a failed write
//! redb refuses every transaction after an I/O error ("Previous I/O error occurred"), so a failed commit closes the
//! database and the next commit reopens the file first: writes succeed again as soon as the disk does (the
//! storage layer above retries, see `storage`).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use redb::{Durability, ReadableDatabase, ReadableTable, StorageBackend, TableDefinition, TableError};

use super::{Backend, Changes, Record, StorageError};

/// The storage format this build writes. Bump it when the layout or a record's encoding changes incompatibly, and
/// teach [`Database::migrate`] to bring the older format forward. Format 1 stored bare records; format 2 seals them.
pub const FORMAT: u64 = 2;
/// File names inside the data directory.
pub const DATABASE_FILE: &str = "trent.redb";
pub const LOCK_FILE: &str = "trent.lock";

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const META_NAME: &str = "meta";
const TRENT_VERSION: &str = env!("CARGO_PKG_VERSION");
/// How many bad records a refusal names before "and N more".
const NAMED_PROBLEMS: usize = 5;

/// A data directory opened for exclusive use.
pub struct Database {
    /// The open database; `None` after a failed write, until the next write reopens the file.
    db: Mutex<Option<redb::Database>>,
    path: PathBuf,
    /// Each table's verified records from the open, handed to the services once by [`Backend::load`].
    verified: Mutex<BTreeMap<String, Vec<Record>>>,
    /// Held (and locked) for as long as the database is open.
    _lock: File,
}

fn table(service: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(service)
}

/// The checksum that seals a record: CRC-32 (IEEE) over its key, a NUL byte and its bytes, so a record moved to
/// another key fails as surely as a changed byte.
fn checksum(key: &str, bytes: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(key.as_bytes());
    hasher.update(&[0]);
    hasher.update(bytes);
    hasher.finalize()
}

/// A record as format 2 stores it: the big-endian [`checksum`], then the bytes.
pub fn seal(key: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + bytes.len());
    out.extend_from_slice(&checksum(key, bytes).to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

/// The bytes of a sealed record, or why its seal does not hold.
pub fn unseal<'a>(key: &str, stored: &'a [u8]) -> Result<&'a [u8], String> {
    let Some((sum, bytes)) = stored.split_first_chunk::<4>() else {
        return Err(format!("{} bytes, shorter than its checksum", stored.len()));
    };
    if u32::from_be_bytes(*sum) != checksum(key, bytes) {
        return Err("its checksum does not match its contents (the record was changed on disk)".to_string());
    }
    Ok(bytes)
}

/// What a database file holds, read from a copy of it in memory, so that reading never changes the file.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The storage format in `meta`, when there is one (a fresh database has none).
    pub format: Option<u64>,
    /// The trent version that last opened it for writing.
    pub writer: Option<String>,
    /// Each service table's readable records (unsealed).
    pub tables: BTreeMap<String, Vec<Record>>,
    /// Every record that could not be read: `"<table>/<key>: <why>"`.
    pub problems: Vec<String>,
}

impl Snapshot {
    /// Opens `bytes` (a whole database file) in memory. With `verify_pages`, redb checks the checksum of every page
    /// first and refuses a file altered since it wrote it; without, whatever can still be read is read (for
    /// `trent check`'s salvage). Panics inside the engine are caught and reported as errors.
    pub fn read(bytes: &[u8], verify_pages: bool) -> Result<Snapshot, String> {
        let engine = |e: &dyn std::fmt::Display| e.to_string();
        let opened = std::panic::catch_unwind(|| -> Result<redb::Database, String> {
            let memory = redb::backends::InMemoryBackend::new();
            memory.set_len(bytes.len() as u64).map_err(|e| engine(&e))?;
            memory.write(0, bytes).map_err(|e| engine(&e))?;
            redb::Database::builder()
                .set_check_integrity_on_open(verify_pages)
                .create_with_backend(memory)
                .map_err(|e| engine(&e))
        });
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("the database engine failed reading it".to_string()),
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Snapshot::of(&db)))
            .unwrap_or_else(|_| Err("the database engine failed reading its tables".to_string()))
    }

    fn of(db: &redb::Database) -> Result<Snapshot, String> {
        let read = db.begin_read().map_err(|e| e.to_string())?;
        let mut snapshot = Snapshot::default();
        match read.open_table(META) {
            Ok(meta) => {
                let get = |name: &str| -> Result<Option<String>, String> {
                    Ok(meta
                        .get(name)
                        .map_err(|e| e.to_string())?
                        .map(|v| v.value().to_string()))
                };
                if let Some(text) = get("format")? {
                    let format = text
                        .parse()
                        .map_err(|_| format!("{DATABASE_FILE} names an unreadable storage format \"{text}\""))?;
                    snapshot.format = Some(format);
                }
                snapshot.writer = get("trent_version")?;
            }
            Err(TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
        let names: Vec<String> = read
            .list_tables()
            .map_err(|e| e.to_string())?
            .map(|handle| redb::TableHandle::name(&handle).to_string())
            .filter(|name| name != META_NAME)
            .collect();
        let sealed = snapshot.format.is_some_and(|f| f >= 2);
        for name in names {
            let table = match read.open_table(table(&name)) {
                Ok(table) => table,
                Err(e) => {
                    snapshot.problems.push(format!("table {name}: {e}"));
                    continue;
                }
            };
            let mut records = Vec::new();
            let entries = table.iter().map_err(|e| format!("table {name}: {e}"))?;
            for entry in entries {
                let (key, value) = match entry {
                    Ok(pair) => pair,
                    Err(e) => {
                        snapshot
                            .problems
                            .push(format!("table {name}: a record cannot be read: {e}"));
                        continue;
                    }
                };
                let key = key.value().to_string();
                let value = value.value();
                if !sealed {
                    records.push((key, value.to_vec()));
                    continue;
                }
                match unseal(&key, value) {
                    Ok(bytes) => records.push((key, bytes.to_vec())),
                    Err(why) => snapshot.problems.push(format!("{name}/{key}: {why}")),
                }
            }
            snapshot.tables.insert(name, records);
        }
        Ok(snapshot)
    }

    /// Whether the snapshot holds any record (a database with data but no format cannot be read).
    fn has_records(&self) -> bool {
        self.tables.values().any(|records| !records.is_empty())
    }

    /// Why this build cannot serve the file as it is, if it cannot: a format it cannot read, or bad records.
    pub fn refusal(&self) -> Option<String> {
        let writer = self.writer.as_deref().unwrap_or("an unknown version");
        match self.format {
            None if self.has_records() => {
                return Some(format!(
                    "{DATABASE_FILE} has data but no storage format in its meta table; this trent {TRENT_VERSION} \
                     cannot tell how to read it"
                ))
            }
            Some(stored) if stored > FORMAT => {
                return Some(format!(
                    "{DATABASE_FILE} was written by trent {writer} in storage format {stored}; this trent \
                     {TRENT_VERSION} reads formats up to {FORMAT}: use trent {writer} or newer"
                ))
            }
            Some(stored) if stored < 1 => {
                return Some(format!(
                    "{DATABASE_FILE} was written by trent {writer} in storage format {stored}, which this trent \
                     {TRENT_VERSION} (format {FORMAT}) cannot migrate"
                ))
            }
            _ => {}
        }
        if self.problems.is_empty() {
            return None;
        }
        let mut named: Vec<&str> = self.problems.iter().take(NAMED_PROBLEMS).map(String::as_str).collect();
        let more = self.problems.len() - named.len();
        let more = if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        };
        named.sort_unstable();
        Some(format!(
            "{DATABASE_FILE} has {} unreadable record(s): {}{more}",
            self.problems.len(),
            named.join("; ")
        ))
    }
}

/// The advice every refusal of a damaged file ends with.
fn damaged_advice(dir: &Path) -> String {
    format!(
        "the file was not modified. Run `trent check --data-dir {}` for a report (add `--export DIR` to save what is \
         still readable), or move the data directory away to start empty",
        dir.display()
    )
}

/// Opens `path` for writing with redb (creating the file when missing), catching panics inside the engine.
fn open_file(path: &Path) -> Result<redb::Database, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot open {DATABASE_FILE}: {e}"))?;
    let opened = std::panic::catch_unwind(|| {
        let backend = redb::backends::FileBackend::new(file)?;
        redb::Database::builder().create_with_backend(backend)
    });
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
            Err(format!("{DATABASE_FILE} is already open in another process"))
        }
        Ok(Err(e)) => Err(format!("{DATABASE_FILE} cannot be opened for writing: {e}")),
        Err(_) => Err(format!(
            "{DATABASE_FILE} cannot be opened: the database engine failed reading it"
        )),
    }
}

impl Database {
    /// Opens (creating when missing) the data directory `dir`: directory 0700, files 0600, the lock taken, the
    /// file verified from a copy (see the module doc), an older format migrated. Every failure is an
    /// [`StorageError::Open`] whose message names the directory and the cause.
    pub fn open(dir: &Path) -> Result<Database, StorageError> {
        let fail = |what: String| StorageError::Open(format!("data directory {}: {what}", dir.display()));
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| fail(format!("cannot create it: {e}")))?;
        } else if !dir.is_dir() {
            return Err(fail("it is not a directory".to_string()));
        }
        let lock = take_lock(dir).map_err(fail)?;
        let path = dir.join(DATABASE_FILE);
        let snapshot = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(fail(format!("cannot read {DATABASE_FILE}: {e}"))),
            Ok(bytes) if bytes.is_empty() => {
                return Err(fail(format!(
                    "{DATABASE_FILE} is empty (0 bytes), so it is not a trent database (a failed copy or a full \
                     disk?); {}",
                    damaged_advice(dir)
                )))
            }
            Ok(bytes) => {
                let snapshot = Snapshot::read(&bytes, true).map_err(|e| {
                    fail(format!(
                        "{DATABASE_FILE} is not a readable trent database (corrupt or truncated): {e}; {}",
                        damaged_advice(dir)
                    ))
                })?;
                if let Some(why) = snapshot.refusal() {
                    return Err(fail(format!("{why}; {}", damaged_advice(dir))));
                }
                Some(snapshot)
            }
        };
        let db = open_file(&path).map_err(fail)?;
        let database = Database {
            db: Mutex::new(Some(db)),
            path: path.clone(),
            verified: Mutex::new(BTreeMap::new()),
            _lock: lock,
        };
        let snapshot = snapshot.unwrap_or_default();
        if snapshot.format.is_some_and(|f| f < FORMAT) {
            database.migrate(&snapshot).map_err(fail)?;
        } else {
            database
                .write_meta()
                .map_err(|e| fail(format!("cannot write {DATABASE_FILE}: {e}")))?;
        }
        *database.verified.lock().unwrap_or_else(|p| p.into_inner()) = snapshot.tables;
        Ok(database)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Brings an older storage format forward, in one transaction with the new meta. Format 1 stored bare records:
    /// every record is rewritten sealed.
    fn migrate(&self, snapshot: &Snapshot) -> Result<(), String> {
        let writer = snapshot.writer.as_deref().unwrap_or("an unknown version");
        let from = snapshot.format.unwrap_or(0);
        self.with_db(|db| {
            let mut write = db.begin_write()?;
            write.set_durability(Durability::Immediate)?;
            for (name, records) in &snapshot.tables {
                let mut table = write.open_table(table(name))?;
                for (key, bytes) in records {
                    table.insert(key.as_str(), seal(key, bytes).as_slice())?;
                }
            }
            {
                let mut meta = write.open_table(META)?;
                meta.insert("format", FORMAT.to_string().as_str())?;
                meta.insert("trent_version", TRENT_VERSION)?;
            }
            write.commit()?;
            Ok(())
        })
        .map_err(|e| {
            format!(
                "cannot migrate {DATABASE_FILE} (written by trent {writer} in storage format {from}) to format \
                 {FORMAT}: {e}"
            )
        })?;
        tracing::info!(
            from,
            to = FORMAT,
            "data directory migrated to the current storage format"
        );
        Ok(())
    }

    fn write_meta(&self) -> Result<(), StorageError> {
        self.with_db(|db| {
            let write = db.begin_write()?;
            {
                let mut meta = write.open_table(META)?;
                meta.insert("format", FORMAT.to_string().as_str())?;
                meta.insert("trent_version", TRENT_VERSION)?;
            }
            write.commit()?;
            Ok(())
        })
    }

    fn slot(&self) -> MutexGuard<'_, Option<redb::Database>> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the open database, reopening the file first after a failed write. When `f` fails (or the engine
    /// panics), the database is closed, so that the next call starts from the file as it is on disk.
    fn with_db<R>(&self, f: impl FnOnce(&redb::Database) -> Result<R, redb::Error>) -> Result<R, StorageError> {
        let mut slot = self.slot();
        if slot.is_none() {
            let db = open_file(&self.path).map_err(|e| StorageError::Io(format!("database reopen failed: {e}")))?;
            tracing::info!(path = %self.path.display(), "database reopened after a failed write");
            *slot = Some(db);
        }
        let db = slot.as_ref().expect("opened above");
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(db)));
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                *slot = None;
                Err(StorageError::Io(e.to_string()))
            }
            Err(_) => {
                *slot = None;
                Err(StorageError::Io("the database engine panicked".to_string()))
            }
        }
    }

    fn write(
        &self,
        service: &str,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<(), redb::Error>,
    ) -> Result<(), StorageError> {
        self.with_db(|db| {
            let mut write = db.begin_write()?;
            write.set_durability(Durability::Immediate)?;
            {
                let mut table = write.open_table(table(service))?;
                f(&mut table)?;
            }
            write.commit()?;
            Ok(())
        })
    }
}

/// Creates (0600) and locks `trent.lock`, and writes our pid into it. Refuses when another process holds it.
fn take_lock(dir: &Path) -> Result<File, String> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot open {LOCK_FILE}: {e}"))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another trent process (pid {holder})")
            };
            return Err(format!(
                "it is in use by {who}; one data directory serves one trent at a time"
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(format!("cannot lock {LOCK_FILE}: {e}")),
    }
    let pid = std::process::id().to_string();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(pid.as_bytes()))
        .map_err(|e| format!("cannot write {LOCK_FILE}: {e}"))?;
    Ok(file)
}

fn io_error(what: &str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(format!("database {what} failed: {e}"))
}

impl Backend for Database {
    fn is_durable(&self) -> bool {
        true
    }

    /// The records verified at open (once), else a fresh read with every seal checked.
    fn load(&self, service: &str) -> Result<Vec<Record>, StorageError> {
        if let Some(records) = self.verified.lock().unwrap_or_else(|p| p.into_inner()).remove(service) {
            return Ok(records);
        }
        let records = self
            .with_db(|db| {
                let read = db.begin_read()?;
                let table = match read.open_table(table(service)) {
                    Ok(t) => t,
                    Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                    Err(e) => return Err(e.into()),
                };
                let mut out = Vec::new();
                for entry in table.iter()? {
                    let (key, value) = entry?;
                    out.push((key.value().to_string(), value.value().to_vec()));
                }
                Ok(out)
            })
            .map_err(|e| io_error("read", e))?;
        records
            .into_iter()
            .map(|(key, stored)| {
                let bytes = unseal(&key, &stored)
                    .map_err(|why| StorageError::Record(format!("{service}/{key}: {why}")))?
                    .to_vec();
                Ok((key, bytes))
            })
            .collect()
    }

    /// From a copy of the file in memory: works while the open database refuses every transaction.
    fn reload(&self, service: &str) -> Result<Vec<Record>, StorageError> {
        let bytes = std::fs::read(&self.path).map_err(|e| io_error("read back", e))?;
        let mut snapshot =
            Snapshot::read(&bytes, false).map_err(|e| StorageError::Io(format!("database read back failed: {e}")))?;
        if let Some(problem) = snapshot.problems.first() {
            return Err(StorageError::Record(format!("database read back failed: {problem}")));
        }
        Ok(snapshot.tables.remove(service).unwrap_or_default())
    }

    fn commit(&self, service: &str, changes: &Changes) -> Result<(), StorageError> {
        self.write(service, |table| {
            for (key, value) in changes {
                match value {
                    Some(bytes) => {
                        table.insert(key.as_str(), seal(key, bytes).as_slice())?;
                    }
                    None => {
                        table.remove(key.as_str())?;
                    }
                }
            }
            Ok(())
        })
        .map_err(|e| io_error("commit", e))
    }

    fn replace(&self, service: &str, records: &[Record]) -> Result<(), StorageError> {
        self.write(service, |table| {
            table.retain(|_, _| false)?;
            for (key, bytes) in records {
                table.insert(key.as_str(), seal(key, bytes).as_slice())?;
            }
            Ok(())
        })
        .map_err(|e| io_error("replace", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_catches_any_changed_byte_and_a_moved_record() {
        let sealed = seal("us-east-1/keys/k", br#"{"a":1}"#);
        assert_eq!(unseal("us-east-1/keys/k", &sealed).unwrap(), br#"{"a":1}"#);
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 0x01;
            assert!(unseal("us-east-1/keys/k", &changed).is_err(), "byte {i}");
        }
        assert!(unseal("us-east-1/keys/other", &sealed).is_err());
        assert!(unseal("k", &[1, 2]).is_err());
    }

    #[test]
    fn garbage_and_empty_copies_are_refused_without_panicking() {
        assert!(Snapshot::read(&[0x5a; 64 * 1024], true).is_err());
        assert!(Snapshot::read(&[0; 4096], true).is_err());
        assert!(Snapshot::read(&[1, 2, 3], false).is_err());
    }
}
