//! The database backend: one redb file in the data directory.
//!
//! Layout of a data directory:
//! - `trent.redb` — the database (0600): a table per service (`kms`, `keyvault`) from record key to the record's
//!   JSON, and a `meta` table with the storage `format` and the `trent_version` that last opened it for writing.
//! - `trent.lock` — (0600) holds the pid of the process using the directory, locked (`flock`) while it runs, so a
//!   second trent on the same directory is refused with a message naming the first one.
//!
//! Every commit is one write transaction with `Durability::Immediate`: when [`Backend::commit`] returns, the
//! change is on disk (redb fsyncs its copy-on-write B-tree and then the header that makes it current, so a crash
//! leaves either the old or the new state, never a mix).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};

use super::{Backend, Changes, Record, StorageError};

/// The storage format this build writes. Bump it when the layout or a record's encoding changes incompatibly, and
/// teach [`Database::migrate`] to bring the older format forward.
pub const FORMAT: u64 = 1;
/// File names inside the data directory.
pub const DATABASE_FILE: &str = "trent.redb";
pub const LOCK_FILE: &str = "trent.lock";

const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const TRENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A data directory opened for exclusive use.
pub struct Database {
    db: redb::Database,
    path: PathBuf,
    /// Held (and locked) for as long as the database is open.
    _lock: File,
}

fn table(service: &str) -> TableDefinition<'_, &'static str, &'static [u8]> {
    TableDefinition::new(service)
}

impl Database {
    /// Opens (creating when missing) the data directory `dir`: directory 0700, files 0600, the lock taken, the
    /// format checked. Every failure is an [`StorageError::Open`] whose message names the directory and the cause.
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
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| fail(format!("cannot open {DATABASE_FILE}: {e}")))?;
        // redb reports a damaged file as an error, but a panic deep inside it must not take the process down.
        let opened = std::panic::catch_unwind(|| {
            let backend = redb::backends::FileBackend::new(file)?;
            redb::Database::builder().create_with_backend(backend)
        });
        let db = match opened {
            Ok(Ok(db)) => db,
            Ok(Err(redb::DatabaseError::DatabaseAlreadyOpen)) => {
                return Err(fail(format!("{DATABASE_FILE} is already open in another process")))
            }
            Ok(Err(e)) => {
                return Err(fail(format!(
                    "{DATABASE_FILE} is not a readable trent database (corrupt or truncated?): {e}"
                )))
            }
            Err(_) => {
                return Err(fail(format!(
                    "{DATABASE_FILE} is not a readable trent database (corrupt or truncated): the database engine \
                     failed reading it"
                )))
            }
        };
        let database = Database {
            db,
            path: path.clone(),
            _lock: lock,
        };
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| database.check_format()))
            .unwrap_or_else(|_| Err("the database engine failed reading its metadata (corrupt?)".to_string()))
            .map_err(fail)?;
        Ok(database)
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `meta`: a fresh database gets this build's format; an older one is migrated or refused; a newer one is
    /// refused. Either way the message names both versions.
    fn check_format(&self) -> Result<(), String> {
        let (format, writer) = {
            let read = self.db.begin_read().map_err(|e| e.to_string())?;
            match read.open_table(META) {
                Ok(meta) => {
                    let format = meta
                        .get("format")
                        .map_err(|e| e.to_string())?
                        .map(|v| v.value().to_string());
                    let writer = meta
                        .get("trent_version")
                        .map_err(|e| e.to_string())?
                        .map(|v| v.value().to_string());
                    (format, writer)
                }
                Err(TableError::TableDoesNotExist(_)) => (None, None),
                Err(e) => return Err(e.to_string()),
            }
        };
        let writer = writer.unwrap_or_else(|| "an unknown version".to_string());
        match format {
            None => {
                let read = self.db.begin_read().map_err(|e| e.to_string())?;
                let tables = read.list_tables().map_err(|e| e.to_string())?.count();
                if tables > 0 {
                    return Err(format!(
                        "{DATABASE_FILE} has data but no storage format in its meta table; this trent {TRENT_VERSION} \
                         cannot tell how to read it"
                    ));
                }
            }
            Some(text) => {
                let stored: u64 = text
                    .parse()
                    .map_err(|_| format!("{DATABASE_FILE} names an unreadable storage format \"{text}\""))?;
                if stored > FORMAT {
                    return Err(format!(
                        "{DATABASE_FILE} was written by trent {writer} in storage format {stored}; this trent \
                         {TRENT_VERSION} reads formats up to {FORMAT}: use trent {writer} or newer"
                    ));
                }
                if stored < FORMAT {
                    self.migrate(stored, &writer)?;
                }
            }
        }
        self.write_meta().map_err(|e| e.to_string())
    }

    /// Brings an older storage format forward. Format 1 is the first, so every older number is unknown.
    fn migrate(&self, stored: u64, writer: &str) -> Result<(), String> {
        Err(format!(
            "{DATABASE_FILE} was written by trent {writer} in storage format {stored}, which this trent {TRENT_VERSION} \
             (format {FORMAT}) cannot migrate"
        ))
    }

    fn write_meta(&self) -> Result<(), redb::Error> {
        let write = self.db.begin_write()?;
        {
            let mut meta = write.open_table(META)?;
            meta.insert("format", FORMAT.to_string().as_str())?;
            meta.insert("trent_version", TRENT_VERSION)?;
        }
        write.commit()?;
        Ok(())
    }

    fn write(
        &self,
        service: &str,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<(), redb::Error>,
    ) -> Result<(), redb::Error> {
        let mut write = self.db.begin_write()?;
        write.set_durability(Durability::Immediate)?;
        {
            let mut table = write.open_table(table(service))?;
            f(&mut table)?;
        }
        write.commit()?;
        Ok(())
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

    fn load(&self, service: &str) -> Result<Vec<Record>, StorageError> {
        let read = self.db.begin_read().map_err(|e| io_error("read", e))?;
        let table = match read.open_table(table(service)) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(io_error("read", e)),
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| io_error("read", e))? {
            let (key, value) = entry.map_err(|e| io_error("read", e))?;
            out.push((key.value().to_string(), value.value().to_vec()));
        }
        Ok(out)
    }

    fn commit(&self, service: &str, changes: &Changes) -> Result<(), StorageError> {
        self.write(service, |table| {
            for (key, value) in changes {
                match value {
                    Some(bytes) => {
                        table.insert(key.as_str(), bytes.as_slice())?;
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
                table.insert(key.as_str(), bytes.as_slice())?;
            }
            Ok(())
        })
        .map_err(|e| io_error("replace", e))
    }
}
