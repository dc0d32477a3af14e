//! Storage faults and damaged files: a full or unwritable disk degrades trent (errors for writes, reads from
//! memory, health says why) until the disk recovers; an empty, truncated or corrupt `trent.redb` is refused with a
//! clear message and exit 1 and is never modified by the refusal; `trent check` reports what is wrong and exports
//! what is still readable. Judged through the official SDKs and the binary itself.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use redb::ReadableTable;

use azure_security_keyvault_secrets::models::SetSecretParameters;
use common::{client_in, TempDir};
use serde_json::Value;

const NEEDLE: &str = "needle-value-0123456789-abcdefghij";

fn secret(value: &str) -> azure_core::http::RequestContent<SetSecretParameters> {
    SetSecretParameters {
        value: Some(value.to_string()),
        ..Default::default()
    }
    .try_into()
    .unwrap()
}

/// Fills `dir` with 20 KMS keys and two secrets (`needle`, whose value is [`NEEDLE`], and `other`), then stops.
async fn populated(dir: &Path) -> Vec<String> {
    let server = common::start_on(dir).await;
    let kms = client_in(&server, "us-east-1");
    let mut keys = Vec::new();
    for _ in 0..20 {
        keys.push(common::symmetric_key(&kms).await);
    }
    let vault = common::keyvault::secret_client(&server);
    vault.set_secret("needle", secret(NEEDLE), None).await.unwrap();
    vault.set_secret("other", secret("kept"), None).await.unwrap();
    drop((kms, vault));
    server.stop().await;
    keys.sort();
    keys
}

/// Runs the binary with `args` (30 s at most); returns its exit code and its stdout and stderr together.
fn run_binary(args: &[&std::ffi::OsStr], scratch: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(args)
        .env("TRENT_TLS_CA_OUT", scratch.join("ca.pem"))
        .env_remove("TRENT_DATA_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("trent {args:?} did not exit: it started on a damaged data directory instead of refusing it");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

/// Starts the binary on `dir` expecting a refusal: exit status 1, no panic, and `trent.redb` byte for byte as it
/// was. Returns what it printed.
fn refused_start(dir: &Path) -> String {
    let file = dir.join("trent.redb");
    let before = std::fs::read(&file).unwrap();
    let (code, text) = run_binary(
        &[
            "--kms-port".as_ref(),
            "0".as_ref(),
            "--keyvault-port".as_ref(),
            "0".as_ref(),
            "--keyvault-tls-port".as_ref(),
            "0".as_ref(),
            "--data-dir".as_ref(),
            dir.as_os_str(),
        ],
        dir,
    );
    assert_eq!(code, Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("the file was not modified"), "{text}");
    assert!(text.contains("trent check --data-dir"), "{text}");
    assert!(
        std::fs::read(&file).unwrap() == before,
        "the refusal changed trent.redb"
    );
    text
}

/// `trent check --data-dir dir [--export export]`: exit code and report.
fn check(dir: &Path, export: Option<&Path>) -> (Option<i32>, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["check".as_ref(), "--data-dir".as_ref(), dir.as_os_str()];
    if let Some(export) = export {
        args.push("--export".as_ref());
        args.push(export.as_os_str());
    }
    let before = std::fs::read(dir.join("trent.redb")).ok();
    let result = run_binary(&args, export.unwrap_or(dir));
    assert!(
        std::fs::read(dir.join("trent.redb")).ok() == before,
        "trent check changed trent.redb"
    );
    result
}

/// Every offset where `needle` occurs in `haystack` (copy-on-write leaves old copies in free pages too).
fn occurrences(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Damaged files are refused, untouched

#[tokio::test]
async fn an_empty_database_file_is_refused_and_left_alone() {
    let dir = TempDir::new("empty-db");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("trent.redb"), b"").unwrap();
    let text = refused_start(&dir.0);
    assert!(text.contains("trent.redb is empty (0 bytes)"), "{text}");
    let (code, report) = check(&dir.0, None);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("is empty (0 bytes)"), "{report}");
}

#[tokio::test]
async fn garbage_and_a_truncated_database_are_refused_and_left_alone() {
    let dir = TempDir::new("garbage-db");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("trent.redb"), vec![0x5a; 64 * 1024]).unwrap();
    let text = refused_start(&dir.0);
    assert!(text.contains("trent.redb is not a readable trent database"), "{text}");

    let dir = TempDir::new("truncated-db");
    populated(&dir.0).await;
    let path = dir.0.join("trent.redb");
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let text = refused_start(&dir.0);
    assert!(text.contains("trent.redb is not a readable trent database"), "{text}");
    let (code, report) = check(&dir.0, None);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("PROBLEM: the file is damaged"), "{report}");
}

#[tokio::test]
async fn a_zeroed_page_is_refused_without_a_panic_and_left_alone() {
    let dir = TempDir::new("zeroed-db");
    populated(&dir.0).await;
    let path = dir.0.join("trent.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    let hits = occurrences(&bytes, NEEDLE.as_bytes());
    assert!(!hits.is_empty(), "the secret's value is in the file");
    for at in hits {
        let page = at / 4096 * 4096;
        let end = (page + 4096).min(bytes.len());
        bytes[page..end].fill(0);
    }
    std::fs::write(&path, &bytes).unwrap();
    let text = refused_start(&dir.0);
    assert!(text.contains("trent.redb is not a readable trent database"), "{text}");
}

#[tokio::test]
async fn a_changed_byte_inside_a_stored_value_is_refused() {
    let dir = TempDir::new("flipped-db");
    populated(&dir.0).await;
    let path = dir.0.join("trent.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    for at in occurrences(&bytes, NEEDLE.as_bytes()) {
        bytes[at + 3] ^= 0x20; // "needle" → "neeDle": still valid JSON, still a plausible value
    }
    std::fs::write(&path, &bytes).unwrap();
    let text = refused_start(&dir.0);
    assert!(text.contains("trent.redb is not a readable trent database"), "{text}");
}

/// A record changed through the engine itself (its pages' checksums are right) is caught by its own seal.
#[tokio::test]
async fn a_record_with_a_broken_seal_is_named_and_check_exports_the_rest() {
    let dir = TempDir::new("sealed-db");
    let keys = populated(&dir.0).await;
    let path = dir.0.join("trent.redb");
    let changed_key = {
        let db = redb::Database::open(&path).unwrap();
        let write = db.begin_write().unwrap();
        let changed_key;
        {
            let mut table = write
                .open_table(redb::TableDefinition::<&str, &[u8]>::new("keyvault"))
                .unwrap();
            let (key, mut value): (String, Vec<u8>) = table
                .iter()
                .unwrap()
                .map(|e| e.unwrap())
                .map(|(k, v)| (k.value().to_string(), v.value().to_vec()))
                .find(|(_, v)| occurrences(v, NEEDLE.as_bytes()).len() == 1)
                .expect("the secret's record");
            let at = occurrences(&value, NEEDLE.as_bytes())[0];
            value[at + 3] ^= 0x20;
            table.insert(key.as_str(), value.as_slice()).unwrap();
            changed_key = key;
        }
        write.commit().unwrap();
        changed_key
    };
    let text = refused_start(&dir.0);
    assert!(text.contains("unreadable record(s)"), "{text}");
    assert!(text.contains(&format!("keyvault/{changed_key}")), "{text}");
    assert!(text.contains("checksum does not match"), "{text}");

    // The check names the record and exports everything else; a fresh trent imports it.
    let export = TempDir::new("sealed-export");
    let (code, report) = check(&dir.0, Some(&export.0));
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains(&format!("unreadable record keyvault/{changed_key}")),
        "{report}"
    );
    assert!(
        report.contains("kms: 20 records, 20 readable; the state is consistent"),
        "{report}"
    );
    assert!(report.contains("result: 1 problem(s) found"), "{report}");
    let server = common::server().await;
    for service in ["kms", "keyvault"] {
        let document: Value =
            serde_json::from_slice(&std::fs::read(export.0.join(format!("{service}.json"))).unwrap()).unwrap();
        let endpoint = match service {
            "kms" => server.kms_endpoint(),
            _ => server.keyvault_endpoint(),
        };
        let response = reqwest::Client::new()
            .post(format!("{endpoint}/_parlel/import"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{service}: {}", response.text().await.unwrap());
    }
    let kms = client_in(&server, "us-east-1");
    let mut listed: Vec<String> = kms
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(String::from))
        .collect();
    listed.sort();
    assert_eq!(listed, keys);
    let vault = common::keyvault::secret_client(&server);
    let other = vault.get_secret("other", None).await.unwrap().into_model().unwrap();
    assert_eq!(other.value.as_deref(), Some("kept"));
    let (status, _, _) = common::keyvault::http_error(vault.get_secret("needle", None).await);
    assert_eq!(status, 404);
    drop((kms, vault));
    server.stop().await;
}

#[tokio::test]
async fn check_passes_a_healthy_directory_and_a_format_1_directory_is_migrated() {
    let dir = TempDir::new("check-ok");
    let keys = populated(&dir.0).await;
    let (code, report) = check(&dir.0, None);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("engine: every page's checksum verifies"), "{report}");
    assert!(report.contains("format: 2"), "{report}");
    assert!(report.contains("kms: 20 records, 20 readable"), "{report}");
    assert!(report.contains("result: no problem found"), "{report}");

    // Format 1 stored bare records: rewrite the directory that way, as an older trent left it.
    let path = dir.0.join("trent.redb");
    {
        let db = redb::Database::open(&path).unwrap();
        let write = db.begin_write().unwrap();
        for name in ["kms", "keyvault"] {
            let mut table = write
                .open_table(redb::TableDefinition::<&str, &[u8]>::new(name))
                .unwrap();
            let records: Vec<(String, Vec<u8>)> = table
                .iter()
                .unwrap()
                .map(|e| e.unwrap())
                .map(|(k, v)| (k.value().to_string(), v.value()[4..].to_vec()))
                .collect();
            for (key, bare) in records {
                table.insert(key.as_str(), bare.as_slice()).unwrap();
            }
        }
        write
            .open_table(redb::TableDefinition::<&str, &str>::new("meta"))
            .unwrap()
            .insert("format", "1")
            .unwrap();
        write.commit().unwrap();
    }
    let (code, report) = check(&dir.0, None);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("format: 1"), "{report}");
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), keys.len());
    drop(kms);
    server.stop().await;
    let (code, report) = check(&dir.0, None);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("format: 2"), "the start migrated the records: {report}");
}

// ---------------------------------------------------------------------------------------------------------------
// Faults while running: degraded, then recovered

/// While writes fail: both services answer writes with the cloud's 500 and change nothing (so the SDKs' own
/// retries leave no phantom keys), serve reads from memory and report the degraded state; once `recover` runs, the
/// next writes succeed, health is ok again, and a restart shows exactly the acknowledged changes.
async fn degrade_and_recover(dir: &Path, fail: impl FnOnce(), recover: impl FnOnce()) {
    let server = common::start_on(dir).await;
    // The SDK's standard retries (3 attempts), with short backoffs.
    let kms = aws_sdk_kms::Client::from_conf(
        client_in(&server, "us-east-1")
            .config()
            .to_builder()
            .retry_config(
                aws_sdk_kms::config::retry::RetryConfig::standard()
                    .with_initial_backoff(Duration::from_millis(20))
                    .with_max_backoff(Duration::from_millis(100)),
            )
            .build(),
    );
    let vault = common::keyvault::secret_client(&server);
    let before = common::symmetric_key(&kms).await;
    vault.set_secret("before", secret("one"), None).await.unwrap();

    fail();
    let failed = kms.create_key().description("during").send().await;
    assert_eq!(common::code(failed), "KMSInternalException");
    let (status, code, message) = common::keyvault::http_error(vault.set_secret("during", secret("two"), None).await);
    assert_eq!((status, code.as_str()), (500, "InternalServerError"), "{message}");
    assert!(message.contains("the request changed nothing"), "{message}");
    let kms_health = common::control_get(&server.kms_endpoint(), "health").await;
    let kv_health = common::control_get(&server.keyvault_endpoint(), "health").await;
    for health in [&kms_health, &kv_health] {
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["storage"]["status"], "degraded", "{health}");
        assert!(
            health["storage"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("the last commit failed")),
            "{health}"
        );
    }
    // Reads keep working from memory, cryptography included; the failed writes (and the SDKs' retries of them)
    // left nothing behind.
    kms.describe_key().key_id(&before).send().await.unwrap();
    kms.encrypt()
        .key_id(&before)
        .plaintext(aws_sdk_kms::primitives::Blob::new("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), 1);
    let got = vault.get_secret("before", None).await.unwrap().into_model().unwrap();
    assert_eq!(got.value.as_deref(), Some("one"));
    let (status, _, _) = common::keyvault::http_error(vault.get_secret("during", None).await);
    assert_eq!(status, 404);

    recover();
    let after = common::symmetric_key(&kms).await;
    vault.set_secret("after", secret("three"), None).await.unwrap();
    let kms_health = common::control_get(&server.kms_endpoint(), "health").await;
    let kv_health = common::control_get(&server.keyvault_endpoint(), "health").await;
    assert_eq!(
        (&kms_health["status"], &kv_health["status"]),
        (&"ok".into(), &"ok".into()),
        "{kms_health} {kv_health}"
    );
    drop((kms, vault));
    server.stop().await;

    let server = common::start_on(dir).await;
    let kms = client_in(&server, "us-east-1");
    let mut keys: Vec<String> = kms
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(String::from))
        .collect();
    keys.sort();
    let mut expected = vec![before, after];
    expected.sort();
    assert_eq!(keys, expected);
    let vault = common::keyvault::secret_client(&server);
    let got = vault.get_secret("after", None).await.unwrap().into_model().unwrap();
    assert_eq!(got.value.as_deref(), Some("three"));
    let (status, _, _) = common::keyvault::http_error(vault.get_secret("during", None).await);
    assert_eq!(status, 404);
    drop((kms, vault));
    server.stop().await;
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_degrades_both_services_until_space_returns() {
    let root = TempDir::new("full-disk");
    std::fs::create_dir_all(&root.0).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&root.0)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: this machine does not let the test mount a small tmpfs (it needs root)");
        return;
    }
    let _mount = Mount(root.0.clone());
    let dir = root.0.join("data");
    let filler = root.0.join("filler");
    degrade_and_recover(
        &dir,
        || {
            use std::io::Write;
            let mut file = std::fs::File::create(&filler).unwrap();
            let chunk = vec![0u8; 64 * 1024];
            while file.write_all(&chunk).is_ok() {}
            let _ = file.sync_all();
        },
        || std::fs::remove_file(&filler).unwrap(),
    )
    .await;
}

/// `chattr +i`: even the open file refuses writes (EPERM), as a file made read-only under trent does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immutable_database_file_degrades_both_services_until_it_is_writable() {
    let dir = TempDir::new("immutable");
    common::start_on(&dir.0).await.stop().await;
    let file = dir.0.join("trent.redb");
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&file)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !chattr("+i") {
        eprintln!("SKIPPED: chattr +i is not available here (it needs root and a filesystem with the flag)");
        return;
    }
    assert!(chattr("-i"));
    struct Mutable<'a>(&'a dyn Fn(&str) -> bool);
    impl Drop for Mutable<'_> {
        fn drop(&mut self) {
            (self.0)("-i");
        }
    }
    let _mutable = Mutable(&chattr);
    degrade_and_recover(&dir.0, || assert!(chattr("+i")), || assert!(chattr("-i"))).await;
}
