//! Test helpers: run the system `openssl` as an independent implementation to check our outputs against.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// True when an `openssl` binary is on the PATH; otherwise prints a notice so the skip is visible.
pub fn openssl_available(test: &str) -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("NOTICE: `openssl` not found; skipping the OpenSSL cross-check in {test}");
    }
    ok
}

/// A scratch directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag: String = super::random_bytes(4).iter().map(|b| format!("{b:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("trent-crypto-{}-{n}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl <args>` in `dir`; returns (success, stdout+stderr text).
pub fn openssl(dir: &TempDir, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).current_dir(&dir.0).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `openssl <args>` and panics with its output if it fails.
pub fn openssl_ok(dir: &TempDir, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed: {text}");
    text
}

/// Writes an SPKI DER public key as `<name>.pem` (converted by openssl) and returns the file name.
pub fn public_pem(dir: &TempDir, name: &str, spki_der: &[u8]) -> String {
    let der = format!("{name}.der");
    let pem = format!("{name}.pem");
    dir.write(&der, spki_der);
    openssl_ok(dir, &["pkey", "-pubin", "-inform", "DER", "-in", &der, "-out", &pem]);
    pem
}

/// Writes a PKCS#8 DER private key as `<name>.pem` (converted by openssl) and returns the file name.
pub fn private_pem(dir: &TempDir, name: &str, pkcs8_der: &[u8]) -> String {
    let der = format!("{name}.der");
    let pem = format!("{name}.pem");
    dir.write(&der, pkcs8_der);
    openssl_ok(dir, &["pkey", "-inform", "DER", "-in", &der, "-out", &pem]);
    pem
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
