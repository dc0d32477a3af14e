//! Fuzzing entry points: each takes arbitrary bytes and must return — no panic, no hang, nothing that grows
//! without bound — whatever they are. They are the bodies of the cargo-fuzz targets in `fuzz/` (coverage-guided,
//! nightly: `cargo +nightly fuzz run <target>`) and of the bounded run every CI does on stable (`tests/fuzz.rs`:
//! seed inputs and seeded mutations of them, a few seconds per target). [`TARGETS`] lists them.
//!
//! The request targets take a *script*: requests separated by a line `--`, each a first line (the KMS operation, or
//! `METHOD /path?query` for Key Vault) and a body, all run in order against one fresh service, so that a fuzzer can
//! create something and then operate on it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::clock::Clock;
use crate::keyvault::protocol::error::ObjectKind;
use crate::keyvault::protocol::paging::{Listing, SkipToken};
use crate::keyvault::KeyVault;
use crate::kms::Kms;

/// A fuzz target: a name (the file in `fuzz/fuzz_targets/`) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("aws_json", aws_json),
    ("keyvault_rest", keyvault_rest),
    ("ciphertext_envelope", ciphertext_envelope),
    ("backup_blob", backup_blob),
    ("skiptoken", skiptoken),
    ("init_file", init_file),
    ("storage_records", storage_records),
];

thread_local! {
    /// One runtime per thread (the bounded run drives several targets at once).
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a fuzzing runtime");
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// At most this many requests of a script run (a long script is not deeper, only slower).
const MAX_REQUESTS: usize = 16;

/// The requests of a script: `(first line, body)`.
fn script(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let text = String::from_utf8_lossy(data);
    text.split("\n--\n")
        .take(MAX_REQUESTS)
        .map(|request| {
            let (head, body) = request.split_once('\n').unwrap_or((request, ""));
            (head.trim().to_string(), body.as_bytes().to_vec())
        })
        .collect()
}

/// The AWS JSON 1.1 dispatcher: target header, body parsing, model validation and every KMS operation (markers,
/// ciphertext blobs, policies, grant tokens all arrive through it). In a body, `$KEY` stands for the last key id
/// and `$BLOB` for the last ciphertext a response named.
pub fn aws_json(data: &[u8]) {
    for (status, _) in run_kms(&Kms::new(Clock::new()), data) {
        assert!(status < 500, "KMS answered {status}");
    }
}

/// Runs a KMS script; returns each answer's status and body.
fn run_kms(kms: &std::sync::Arc<Kms>, data: &[u8]) -> Vec<(u16, Vec<u8>)> {
    block_on(async {
        let (mut key, mut blob) = (String::new(), String::new());
        let mut answers = Vec::new();
        for (operation, body) in script(data) {
            let body = String::from_utf8_lossy(&body)
                .replace("$KEY", &key)
                .replace("$BLOB", &blob);
            let mut headers = http::HeaderMap::new();
            if let Ok(target) = http::HeaderValue::from_str(&format!("TrentService.{operation}")) {
                headers.insert("x-amz-target", target);
            }
            headers.insert(
                "authorization",
                http::HeaderValue::from_static(
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/kms/aws4_request, \
                     SignedHeaders=host, Signature=00",
                ),
            );
            let response =
                crate::aws::handle::<Kms>(axum::extract::State(kms.clone()), headers, Ok(bytes::Bytes::from(body)))
                    .await;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 24)
                .await
                .unwrap_or_default();
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
                if let Some(id) = value["KeyMetadata"]["KeyId"].as_str() {
                    key = id.to_string();
                }
                if let Some(b) = value["CiphertextBlob"].as_str() {
                    blob = b.to_string();
                }
            }
            answers.push((status, body.to_vec()));
        }
        answers
    })
}

/// The Key Vault REST layer: routing, api-version, challenge, bodies, and every secrets and keys operation (the
/// certificates plane answers 501 until it exists).
pub fn keyvault_rest(data: &[u8]) {
    for (status, _) in run_vault(&KeyVault::new(Clock::new()), data) {
        assert!(status < 500 || status == 501, "Key Vault answered {status}");
    }
}

/// Runs a Key Vault script; returns each answer's status and body.
fn run_vault(kv: &std::sync::Arc<KeyVault>, data: &[u8]) -> Vec<(u16, Vec<u8>)> {
    block_on(async {
        let mut answers = Vec::new();
        for (head, body) in script(data) {
            let mut words = head.split(' ');
            let (method, path) = (words.next().unwrap_or("GET"), words.next().unwrap_or("/"));
            let host = words.next().unwrap_or("localhost");
            let Ok(method) = http::Method::from_bytes(method.as_bytes()) else {
                continue;
            };
            let Ok(uri) = http::Uri::try_from(path) else { continue };
            let Ok(request) = http::Request::builder()
                .method(method)
                .uri(uri)
                .header("host", host)
                .header("authorization", "Bearer fuzz")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
            else {
                continue;
            };
            let response = crate::keyvault::protocol::serve(axum::extract::State(kv.clone()), request).await;
            let status = response.status().as_u16();
            let body = axum::body::to_bytes(response.into_body(), 1 << 24)
                .await
                .unwrap_or_default();
            answers.push((status, body.to_vec()));
        }
        answers
    })
}

fn symmetric_material() -> &'static crate::crypto::keys::KeyMaterial {
    static MATERIAL: OnceLock<crate::crypto::keys::KeyMaterial> = OnceLock::new();
    MATERIAL.get_or_init(|| {
        crate::crypto::keys::KeyMaterial::generate(crate::crypto::keys::KeySpec::SymmetricDefault)
            .expect("symmetric material")
    })
}

/// KMS ciphertext blobs: the header peek and the authenticated open.
pub fn ciphertext_envelope(data: &[u8]) {
    let _ = crate::crypto::envelope::peek(data);
    let mut context = BTreeMap::new();
    let _ = crate::crypto::envelope::open(symmetric_material(), data, &context);
    context.insert("purpose".to_string(), "fuzz".to_string());
    let _ = crate::crypto::envelope::open(symmetric_material(), data, &context);
}

/// Key Vault backup blobs, plain (secrets) and sealed (keys), from bytes and from their wire strings.
pub fn backup_blob(data: &[u8]) {
    use crate::keyvault::keys::model::KeyVersion;
    use crate::keyvault::secrets::model::VersionRecord;
    use crate::keyvault::store::backup;
    let key = [7u8; 32];
    let _ = backup::decode::<VersionRecord>(data);
    let _ = backup::open::<KeyVersion>(&key, data);
    let text = String::from_utf8_lossy(data);
    let _ = backup::decode_wire::<VersionRecord>(&text);
    let _ = backup::open_wire::<KeyVersion>(&key, &text);
}

/// Key Vault skiptokens, for every kind of object and listing.
pub fn skiptoken(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for kind in [ObjectKind::Secret, ObjectKind::Key, ObjectKind::Certificate] {
        for listing in [Listing::Objects, Listing::Versions, Listing::Deleted] {
            if let Ok(token) = SkipToken::decode(&text, kind, listing) {
                // What decodes re-encodes to a token that decodes to the same place.
                let again = SkipToken::decode(&token.encode(), kind, listing);
                assert!(again.is_ok());
            }
        }
    }
}

/// The `--init` seed file parser, as YAML and as JSON.
pub fn init_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crate::init::InitFile::parse(text, crate::init::Format::Yaml);
    let _ = crate::init::InitFile::parse(text, crate::init::Format::Json);
}

/// Stored records as a data directory holds them: lines `key<TAB>value`, each value unsealed as the database
/// does, then loaded leniently into both services' states (`trent check`'s salvage) and strictly.
pub fn storage_records(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let records: Vec<(String, Vec<u8>)> = text
        .lines()
        .take(64)
        .filter_map(|line| line.split_once('\t'))
        .map(|(key, value)| (key.to_string(), value.as_bytes().to_vec()))
        .collect();
    for (key, value) in &records {
        let _ = crate::storage::database::unseal(key, value);
    }
    let _ = crate::storage::Storage::salvage::<crate::kms::state::Store>("kms", records.clone());
    let _ = crate::storage::Storage::salvage::<crate::keyvault::KvState>("keyvault", records);
}

/// Valid inputs for `target`, for the bounded run to mutate and for a cargo-fuzz corpus.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "aws_json" => KMS_SCRIPTS.iter().map(|s| s.as_bytes().to_vec()).collect(),
        "keyvault_rest" => VAULT_SCRIPTS.iter().map(|s| s.as_bytes().to_vec()).collect(),
        "ciphertext_envelope" => {
            let mut context = BTreeMap::new();
            let plain = crate::crypto::envelope::seal(symmetric_material(), "key-id", 0, b"hello", &context);
            context.insert("purpose".to_string(), "fuzz".to_string());
            let bound = crate::crypto::envelope::seal(symmetric_material(), "key-id", 3, b"", &context);
            [plain, bound].into_iter().flatten().collect()
        }
        "backup_blob" => backup_seeds(),
        "skiptoken" => {
            let kv = KeyVault::new(Clock::new());
            let script = format!(
                "PUT /secrets/a?{V}\n{{\"value\":\"1\"}}\n--\nPUT /secrets/b?{V}\n{{\"value\":\"2\"}}\n--\n\
                 GET /secrets?{V}&maxresults=1\n"
            );
            let answers = run_vault(&kv, script.as_bytes());
            let listing: serde_json::Value = serde_json::from_slice(&answers[2].1).unwrap_or_default();
            let link = listing["nextLink"].as_str().unwrap_or_default();
            let token = link
                .split("$skiptoken=")
                .nth(1)
                .unwrap_or_default()
                .split('&')
                .next()
                .unwrap_or_default();
            let token = percent_encoding::percent_decode_str(token)
                .decode_utf8_lossy()
                .into_owned();
            vec![token.into_bytes()]
        }
        "init_file" => vec![
            include_bytes!("../examples/init.yaml").to_vec(),
            br#"{"kms": {"keys": [{"alias": "alias/app", "keySpec": "SYMMETRIC_DEFAULT"}]},
                "keyvault": {"secrets": [{"name": "db", "value": "pw"}]}}"#
                .to_vec(),
        ],
        "storage_records" => storage_seeds(),
        _ => Vec::new(),
    }
}

const V: &str = "api-version=2025-07-01";

const KMS_SCRIPTS: &[&str] = &[
    "CreateKey\n{\"Description\":\"d\",\"Tags\":[{\"TagKey\":\"k\",\"TagValue\":\"v\"}]}\n--\nEncrypt\n\
     {\"KeyId\":\"$KEY\",\"Plaintext\":\"aGk=\",\"EncryptionContext\":{\"a\":\"b\"}}\n--\nDecrypt\n\
     {\"CiphertextBlob\":\"$BLOB\",\"EncryptionContext\":{\"a\":\"b\"}}\n--\nReEncrypt\n\
     {\"CiphertextBlob\":\"$BLOB\",\"SourceEncryptionContext\":{\"a\":\"b\"},\"DestinationKeyId\":\"$KEY\"}",
    "CreateKey\n{\"KeySpec\":\"ECC_NIST_P256\",\"KeyUsage\":\"SIGN_VERIFY\"}\n--\nSign\n\
     {\"KeyId\":\"$KEY\",\"Message\":\"aGk=\",\"SigningAlgorithm\":\"ECDSA_SHA_256\"}\n--\nGetPublicKey\n{\"KeyId\":\"$KEY\"}",
    "CreateKey\n{\"KeySpec\":\"HMAC_256\",\"KeyUsage\":\"GENERATE_VERIFY_MAC\"}\n--\nGenerateMac\n\
     {\"KeyId\":\"$KEY\",\"Message\":\"aGk=\",\"MacAlgorithm\":\"HMAC_SHA_256\"}",
    "CreateKey\n{}\n--\nCreateAlias\n{\"AliasName\":\"alias/a\",\"TargetKeyId\":\"$KEY\"}\n--\nListAliases\n{\"Limit\":1}\n--\n\
     CreateGrant\n{\"KeyId\":\"$KEY\",\"GranteePrincipal\":\"arn:aws:iam::000000000000:root\",\"Operations\":[\"Decrypt\"]}\n--\n\
     ListGrants\n{\"KeyId\":\"$KEY\",\"Limit\":1}\n--\nListKeys\n{\"Limit\":1}",
    "CreateKey\n{}\n--\nPutKeyPolicy\n{\"KeyId\":\"$KEY\",\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\"}\n--\n\
     EnableKeyRotation\n{\"KeyId\":\"$KEY\",\"RotationPeriodInDays\":90}\n--\nRotateKeyOnDemand\n{\"KeyId\":\"$KEY\"}\n--\n\
     ListKeyRotations\n{\"KeyId\":\"$KEY\"}\n--\nScheduleKeyDeletion\n{\"KeyId\":\"$KEY\",\"PendingWindowInDays\":7}",
    "GenerateRandom\n{\"NumberOfBytes\":32}",
    "CreateKey\n{\"MultiRegion\":true}\n--\nReplicateKey\n{\"KeyId\":\"$KEY\",\"ReplicaRegion\":\"eu-west-1\"}",
    "CreateKey\n{\"Origin\":\"EXTERNAL\"}\n--\nGetParametersForImport\n\
     {\"KeyId\":\"$KEY\",\"WrappingAlgorithm\":\"RSAES_OAEP_SHA_256\",\"WrappingKeySpec\":\"RSA_2048\"}",
];

const VAULT_SCRIPTS: &[&str] = &[
    "PUT /secrets/s1?api-version=2025-07-01\n{\"value\":\"v\",\"tags\":{\"a\":\"b\"},\"attributes\":{\"exp\":4102444800}}\n--\n\
     GET /secrets/s1?api-version=2025-07-01\n\n--\nGET /secrets?api-version=2025-07-01&maxresults=1\n\n--\n\
     PATCH /secrets/s1/?api-version=2025-07-01\n{\"contentType\":\"text/plain\"}\n--\n\
     DELETE /secrets/s1?api-version=2025-07-01\n\n--\nGET /deletedsecrets?api-version=2025-07-01\n\n--\n\
     POST /deletedsecrets/s1/recover?api-version=2025-07-01\n",
    "POST /keys/k1/create?api-version=2025-07-01\n{\"kty\":\"EC\",\"crv\":\"P-256\"}\n--\n\
     POST /keys/k1//sign?api-version=2025-07-01\n{\"alg\":\"ES256\",\"value\":\"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU\"}\n--\n\
     POST /keys/k1/backup?api-version=2025-07-01\n\n--\nGET /keys/k1/versions?api-version=2025-07-01\n",
    "PUT /keys/k2?api-version=2025-07-01 hsm.managedhsm.localhost\n{\"key\":{\"kty\":\"oct-HSM\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAA\"}}\n--\n\
     POST /keys/k2//encrypt?api-version=2025-07-01 hsm.managedhsm.localhost\n{\"alg\":\"A128GCM\",\"value\":\"aGk\"}",
    "POST /keys/k1/create?api-version=2025-07-01\n{\"kty\":\"EC\",\"crv\":\"P-384\",\"key_ops\":[\"sign\",\"verify\"]}\n--\n\
     PUT /keys/k1/rotationpolicy?api-version=2025-07-01\n{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},\
     \"action\":{\"type\":\"Rotate\"}}],\"attributes\":{\"expiryTime\":\"P1Y\"}}\n--\n\
     POST /keys/k1/rotate?api-version=2025-07-01\n",
    "POST /rng?api-version=2025-07-01\n{\"count\":16}",
];

/// A secret backup (plain) and a key backup re-sealed with the target's fixed key, as bytes and as wire strings.
fn backup_seeds() -> Vec<Vec<u8>> {
    use crate::keyvault::keys::model::KeyVersion;
    use crate::keyvault::store::backup;
    use base64::Engine;
    let kv = KeyVault::new(Clock::new());
    let script = format!(
        "PUT /secrets/s?{V}\n{{\"value\":\"v\"}}\n--\nPOST /secrets/s/backup?{V}\n\n--\n\
         POST /keys/k/create?{V}\n{{\"kty\":\"EC\"}}\n--\nPOST /keys/k/backup?{V}\n"
    );
    let answers = run_vault(&kv, script.as_bytes());
    let value = |i: usize| -> String {
        let body: serde_json::Value = serde_json::from_slice(&answers[i].1).unwrap_or_default();
        body["value"].as_str().unwrap_or_default().to_string()
    };
    let mut out = Vec::new();
    let secret = value(1);
    out.push(secret.clone().into_bytes());
    if let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&secret) {
        out.push(bytes);
    }
    if let Some(key) = kv.existing_backup_key() {
        if let Ok(record) = backup::open_wire::<KeyVersion>(&key, &value(3)) {
            out.push(backup::seal(&[7u8; 32], &record));
            out.push(backup::seal_wire(&[7u8; 32], &record).into_bytes());
        }
    }
    out
}

/// Records as both services write them, from a backend that keeps what is committed.
fn storage_seeds() -> Vec<Vec<u8>> {
    use crate::storage::{Backend, Changes, Record, StorageError};
    #[derive(Default)]
    struct Capture(std::sync::Mutex<BTreeMap<String, Vec<u8>>>);
    impl Backend for Capture {
        fn is_durable(&self) -> bool {
            true
        }
        fn load(&self, _: &str) -> Result<Vec<Record>, StorageError> {
            Ok(Vec::new())
        }
        fn reload(&self, _: &str) -> Result<Vec<Record>, StorageError> {
            Ok(Vec::new())
        }
        fn commit(&self, _: &str, changes: &Changes) -> Result<(), StorageError> {
            let mut records = self.0.lock().unwrap_or_else(|p| p.into_inner());
            for (key, value) in changes {
                if let Some(bytes) = value {
                    records.insert(key.clone(), bytes.clone());
                }
            }
            Ok(())
        }
        fn replace(&self, _: &str, _: &[Record]) -> Result<(), StorageError> {
            Ok(())
        }
    }
    let capture = std::sync::Arc::new(Capture::default());
    if let Ok((kms, _)) = Kms::with_storage(Clock::new(), capture.clone()) {
        run_kms(&kms, KMS_SCRIPTS[3].as_bytes());
    }
    let kms_lines = std::mem::take(&mut *capture.0.lock().unwrap_or_else(|p| p.into_inner()));
    if let Ok((kv, _)) = KeyVault::with_storage(Clock::new(), capture.clone()) {
        run_vault(&kv, VAULT_SCRIPTS[0].as_bytes());
        run_vault(&kv, VAULT_SCRIPTS[1].as_bytes());
    }
    let kv_lines = std::mem::take(&mut *capture.0.lock().unwrap_or_else(|p| p.into_inner()));
    [kms_lines, kv_lines]
        .into_iter()
        .map(|records| {
            let lines: Vec<String> = records
                .into_iter()
                .map(|(key, value)| format!("{key}\t{}", String::from_utf8_lossy(&value)))
                .collect();
            lines.join("\n").into_bytes()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_target_has_seeds_that_reach_past_the_parsers() {
        for (name, _) in super::TARGETS {
            assert!(!super::seeds(name).is_empty(), "{name} has no seeds");
        }
        // The scripts do what they say: every request of every seed script succeeds.
        let kms = crate::kms::Kms::new(crate::clock::Clock::new());
        for script in super::KMS_SCRIPTS {
            for (status, body) in super::run_kms(&kms, script.as_bytes()) {
                assert_eq!(status, 200, "{script}: {}", String::from_utf8_lossy(&body));
            }
        }
        let kv = crate::keyvault::KeyVault::new(crate::clock::Clock::new());
        for script in super::VAULT_SCRIPTS {
            for (status, body) in super::run_vault(&kv, script.as_bytes()) {
                assert!(status < 300, "{script}: {status} {}", String::from_utf8_lossy(&body));
            }
        }
        assert_eq!(super::seeds("backup_blob").len(), 4);
        assert!(super::seeds("skiptoken")[0].len() > 8);
    }

    #[test]
    fn every_target_takes_empty_and_junk_input() {
        for (name, target) in super::TARGETS {
            for input in [&b""[..], b"\x00\xff", b"--\n--\n", b"\n--\n\n"] {
                let run = std::panic::catch_unwind(|| target(input));
                assert!(run.is_ok(), "{name} panicked on {input:?}");
            }
        }
    }
}
