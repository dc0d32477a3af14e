//! `trent check --data-dir D [--export DIR]`: what is wrong with a data directory, and what is still readable.
//!
//! The check never changes the directory: it reads `trent.redb` into memory and opens the copy (the same
//! [`Snapshot`] a start verifies), so it also works beside a running trent or on a file that a start refused. It
//! reports, in order: the file (missing, empty, size), the engine's page checks, the storage format, and per
//! service how many records there are, every one that cannot be read (a broken seal, JSON that does not decode) and
//! whether the rest form a consistent state. When the page checks fail, the records still reachable without them
//! are read instead (salvage).
//!
//! With `--export DIR`, each service whose remaining records form a consistent state is written to
//! `DIR/<service>.json` as a `trent-state` document (key material and secret values included, files 0600), which
//! `POST /_parlel/import` on a fresh trent loads.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::http::control::Control;
use crate::keyvault::{KeyVault, KvState};
use crate::kms::{state::Store, Kms};
use crate::storage::database::{Snapshot, DATABASE_FILE, FORMAT};
use crate::storage::{Record, Storage};

/// What the check found: a line per finding, and how many of them are problems.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub problems: usize,
    /// The state documents written by `--export`.
    pub exported: Vec<PathBuf>,
}

impl Report {
    fn ok(&mut self, line: String) {
        self.lines.push(line);
    }

    fn problem(&mut self, line: String) {
        self.problems += 1;
        self.lines.push(format!("PROBLEM: {line}"));
    }
}

/// Checks the data directory `dir`; with `export`, writes what is readable there. An error only for what stops
/// the check itself (the export directory cannot be written); everything wrong with `dir` is in the report.
pub fn run(dir: &Path, export: Option<&Path>) -> Result<Report, String> {
    let mut report = Report::default();
    let path = dir.join(DATABASE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            report.problem(format!("cannot read {}: {e}", path.display()));
            return Ok(report);
        }
    };
    if bytes.is_empty() {
        report.problem(format!(
            "{} is empty (0 bytes): there is nothing to read",
            path.display()
        ));
        return Ok(report);
    }
    report.ok(format!("file: {} ({} bytes)", path.display(), bytes.len()));
    let snapshot = match Snapshot::read(&bytes, true) {
        Ok(snapshot) => {
            report.ok("engine: every page's checksum verifies".to_string());
            snapshot
        }
        Err(e) => {
            report.problem(format!("the file is damaged: {e}"));
            match Snapshot::read(&bytes, false) {
                Ok(snapshot) => {
                    report.ok("salvage: reading what is still reachable without the page checks".to_string());
                    snapshot
                }
                Err(e) => {
                    report.problem(format!("nothing can be read from it: {e}"));
                    return Ok(report);
                }
            }
        }
    };
    drop(bytes);
    let writer = snapshot.writer.as_deref().unwrap_or("an unknown version");
    match snapshot.format {
        Some(format) if (1..=FORMAT).contains(&format) => {
            report.ok(format!("format: {format} (last written by trent {writer})"))
        }
        Some(format) => report.problem(format!(
            "storage format {format} (written by trent {writer}); this trent reads formats 1 to {FORMAT}"
        )),
        None if snapshot.tables.values().all(Vec::is_empty) => {
            report.ok("format: none yet (a new, empty database)".to_string())
        }
        None => report.problem("the file has data but no storage format in its meta table".to_string()),
    }
    for problem in &snapshot.problems {
        report.problem(format!("unreadable record {problem}"));
    }
    if let Some(dir) = export {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create the export directory {}: {e}", dir.display()))?;
    }
    let mut tables = snapshot.tables;
    for service in ["kms", "keyvault"] {
        let records = tables.remove(service).unwrap_or_default();
        let document = check_service(&mut report, service, records);
        if let (Some(dir), Some(document)) = (export, document) {
            let file = dir.join(format!("{service}.json"));
            write_private(&file, &document).map_err(|e| format!("cannot write the export {}: {e}", file.display()))?;
            report.ok(format!(
                "exported {service} to {} (load it with POST /_parlel/import on a fresh trent)",
                file.display()
            ));
            report.exported.push(file);
        }
    }
    for (name, records) in tables {
        report.problem(format!(
            "table \"{name}\" ({} records) belongs to no service this trent knows",
            records.len()
        ));
    }
    Ok(report)
}

/// Reports on one service's records; returns its state document when the readable records form a consistent state.
fn check_service(report: &mut Report, service: &str, records: Vec<Record>) -> Option<Vec<u8>> {
    let count = records.len();
    let (state, problems) = match service {
        "kms" => {
            let (state, problems) = Storage::salvage::<Store>(service, records);
            (state.map(|s| Kms::from_state(Clock::new(), s).export()), problems)
        }
        _ => {
            let (state, problems) = Storage::salvage::<KvState>(service, records);
            (state.map(|s| KeyVault::from_state(Clock::new(), s).export()), problems)
        }
    };
    let unreadable = problems.len();
    for problem in problems {
        report.problem(format!("undecodable record {problem}"));
    }
    match state {
        Ok(document) => {
            report.ok(format!(
                "{service}: {count} records, {} readable; the state is consistent",
                count - unreadable
            ));
            serde_json::to_vec_pretty(&document).ok()
        }
        Err(e) => {
            report.problem(format!(
                "{service}: {count} records, {} readable, but they do not form a consistent state: {e}",
                count - unreadable
            ));
            None
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
