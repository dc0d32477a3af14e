//! Durable state (`--data-dir`): everything survives a restart, every acknowledged write survives SIGKILL, and a
//! data directory that cannot be used is refused with a clear message — all judged through the official SDKs.

mod common;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    GrantOperation, KeySpec, KeyState, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec, Tag,
};
use azure_security_keyvault_secrets::models::{
    SecretAttributes, SecretClientGetSecretOptions, SecretClientUpdateSecretPropertiesOptions, SetSecretParameters,
    UpdateSecretPropertiesParameters,
};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient};
use common::client_in;
use futures::TryStreamExt;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

fn vault_client(server: &trent::Server) -> SecretClient {
    common::keyvault::secret_client(server)
}

fn secret(value: &str) -> SetSecretParameters {
    SetSecretParameters {
        value: Some(value.to_string()),
        ..Default::default()
    }
}

async fn get_version(client: &SecretClient, name: &str, version: Option<&str>) -> azure_core::Result<String> {
    let options = version.map(|v| SecretClientGetSecretOptions {
        secret_version: Some(v.to_string()),
        ..Default::default()
    });
    let got = client.get_secret(name, options).await?.into_model()?;
    Ok(got.value.unwrap_or_default())
}

async fn key_state(kms: &aws_sdk_kms::Client, id: &str) -> Option<KeyState> {
    kms.describe_key()
        .key_id(id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_state
}

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().tag_key(k).tag_value(v).build().unwrap()
}

async fn control(endpoint: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let url = format!("{endpoint}/_parlel/{path}");
    let request = match body {
        Some(body) => http.post(url).json(&body),
        None => http.get(url),
    };
    let response = request.send().await.expect("control request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------------------------
// Restart round trip

#[tokio::test]
async fn every_kind_of_object_survives_a_restart() {
    let dir = common::TempDir::new("roundtrip");
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let kms_west = client_in(&server, "eu-west-1");

    // A symmetric key rotated twice: three material versions, a ciphertext under each.
    let sym = common::symmetric_key(&kms).await;
    let mut ciphertexts = Vec::new();
    for round in 0..3 {
        if round > 0 {
            kms.rotate_key_on_demand().key_id(&sym).send().await.unwrap();
        }
        let ct = kms
            .encrypt()
            .key_id(&sym)
            .plaintext(Blob::new(format!("version {round}").into_bytes()))
            .send()
            .await
            .unwrap()
            .ciphertext_blob
            .unwrap();
        ciphertexts.push((round, ct));
    }
    kms.enable_key_rotation()
        .key_id(&sym)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/kept")
        .target_key_id(&sym)
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/dropped-later")
        .target_key_id(&sym)
        .send()
        .await
        .unwrap();
    kms.tag_resource()
        .key_id(&sym)
        .tags(tag("team", "crypto"))
        .tags(tag("env", "test"))
        .send()
        .await
        .unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"custom","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]}"#;
    kms.put_key_policy().key_id(&sym).policy(policy).send().await.unwrap();
    let grant = kms
        .create_grant()
        .key_id(&sym)
        .grantee_principal("arn:aws:iam::000000000000:role/alice")
        .operations(GrantOperation::Decrypt)
        .name("kept-grant")
        .send()
        .await
        .unwrap()
        .grant_id
        .unwrap();

    // RSA encryption, ECC signing, HMAC: material of every family, used before and after.
    let create = |spec: KeySpec, usage: KeyUsageType| {
        let kms = kms.clone();
        async move {
            kms.create_key()
                .key_spec(spec)
                .key_usage(usage)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
                .key_id
        }
    };
    let rsa = create(KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let rsa_ct = kms
        .encrypt()
        .key_id(&rsa)
        .plaintext(Blob::new(b"rsa secret".to_vec()))
        .encryption_algorithm(aws_sdk_kms::types::EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    let ecc = create(KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let signature = kms
        .sign()
        .key_id(&ecc)
        .message(Blob::new(b"signed before".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let ecc_public = kms
        .get_public_key()
        .key_id(&ecc)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    let hmac = create(KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = kms
        .generate_mac()
        .key_id(&hmac)
        .message(Blob::new(b"mac me".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    // A disabled key, a key pending deletion, and a key in another region.
    let disabled = common::symmetric_key(&kms).await;
    kms.disable_key().key_id(&disabled).send().await.unwrap();
    let doomed = common::symmetric_key(&kms).await;
    let deletion_date = kms
        .schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap()
        .deletion_date
        .unwrap();
    let west = common::symmetric_key(&kms_west).await;

    // Key Vault: a secret with two versions (the first updated: disabled, new tags, content type), a soft-deleted
    // secret, and a secret in the default vault that is purged (gone after the restart).
    let vault = vault_client(&server);
    let v1 = vault
        .set_secret("db-password", secret("first").try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .resource_id()
        .unwrap()
        .version
        .unwrap();
    let v2 = vault
        .set_secret("db-password", secret("second").try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap()
        .resource_id()
        .unwrap()
        .version
        .unwrap();
    vault
        .update_secret_properties(
            "db-password",
            UpdateSecretPropertiesParameters {
                content_type: Some("text/plain".into()),
                tags: Some(HashMap::from([("owner".to_string(), "me".to_string())])),
                secret_attributes: Some(SecretAttributes {
                    enabled: Some(false),
                    ..Default::default()
                }),
            }
            .try_into()
            .unwrap(),
            Some(SecretClientUpdateSecretPropertiesOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    vault
        .set_secret("binned", secret("old").try_into().unwrap(), None)
        .await
        .unwrap();
    vault.delete_secret("binned", None).await.unwrap();
    vault
        .set_secret("purged", secret("x").try_into().unwrap(), None)
        .await
        .unwrap();
    vault.delete_secret("purged", None).await.unwrap();
    vault.purge_deleted_secret("purged", None).await.unwrap();

    let kms_health_before = control(&server.kms_endpoint(), "health", None).await.1;
    let kv_health_before = control(&server.keyvault_endpoint(), "health", None).await.1;
    drop((kms, kms_west, vault));
    server.stop().await;

    // ---- restart on the same directory ----
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let kms_west = client_in(&server, "eu-west-1");
    let vault = vault_client(&server);
    assert_eq!(
        control(&server.kms_endpoint(), "health", None).await.1,
        kms_health_before
    );
    assert_eq!(
        control(&server.keyvault_endpoint(), "health", None).await.1,
        kv_health_before
    );

    for (round, ct) in &ciphertexts {
        let plain = kms
            .decrypt()
            .ciphertext_blob(ct.clone())
            .send()
            .await
            .unwrap()
            .plaintext
            .unwrap();
        assert_eq!(plain.as_ref(), format!("version {round}").as_bytes());
    }
    let rotations = kms.list_key_rotations().key_id(&sym).send().await.unwrap();
    assert_eq!(rotations.rotations().len(), 2);
    let status = kms.get_key_rotation_status().key_id(&sym).send().await.unwrap();
    assert!(status.key_rotation_enabled);
    assert_eq!(status.rotation_period_in_days, Some(90));
    let aliases = kms.list_aliases().key_id(&sym).send().await.unwrap();
    let mut names: Vec<_> = aliases
        .aliases()
        .iter()
        .filter_map(|a| a.alias_name().map(String::from))
        .collect();
    names.sort();
    assert_eq!(names, ["alias/dropped-later", "alias/kept"]);
    let by_alias = kms
        .encrypt()
        .key_id("alias/kept")
        .plaintext(Blob::new(b"via alias".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_alias.key_id.unwrap(),
        format!("arn:aws:kms:us-east-1:000000000000:key/{sym}")
    );
    let tags = kms.list_resource_tags().key_id(&sym).send().await.unwrap();
    let mut tags: Vec<_> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("env".to_string(), "test".to_string()),
            ("team".to_string(), "crypto".to_string())
        ]
    );
    let got_policy = kms.get_key_policy().key_id(&sym).send().await.unwrap().policy.unwrap();
    assert_eq!(got_policy, policy);
    let grants = kms.list_grants().key_id(&sym).send().await.unwrap();
    assert_eq!(grants.grants().len(), 1);
    assert_eq!(grants.grants()[0].grant_id(), Some(grant.as_str()));
    assert_eq!(grants.grants()[0].name(), Some("kept-grant"));

    let rsa_plain = kms
        .decrypt()
        .key_id(&rsa)
        .ciphertext_blob(rsa_ct)
        .encryption_algorithm(aws_sdk_kms::types::EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap()
        .plaintext
        .unwrap();
    assert_eq!(rsa_plain.as_ref(), b"rsa secret");
    let verified = kms
        .verify()
        .key_id(&ecc)
        .message(Blob::new(b"signed before".to_vec()))
        .signature(signature)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    assert_eq!(
        kms.get_public_key()
            .key_id(&ecc)
            .send()
            .await
            .unwrap()
            .public_key
            .unwrap(),
        ecc_public
    );
    let mac_ok = kms
        .verify_mac()
        .key_id(&hmac)
        .message(Blob::new(b"mac me".to_vec()))
        .mac(mac)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(mac_ok.mac_valid);
    assert_eq!(key_state(&kms, &disabled).await, Some(KeyState::Disabled));
    let pending = kms
        .describe_key()
        .key_id(&doomed)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(pending.key_state, Some(KeyState::PendingDeletion));
    assert_eq!(pending.deletion_date, Some(deletion_date));
    assert_eq!(
        kms_west
            .describe_key()
            .key_id(&west)
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .key_state,
        Some(KeyState::Enabled)
    );

    assert_eq!(get_version(&vault, "db-password", None).await.unwrap(), "second");
    assert_eq!(get_version(&vault, "db-password", Some(&v2)).await.unwrap(), "second");
    let err = get_version(&vault, "db-password", Some(&v1)).await.unwrap_err();
    assert!(
        err.to_string().contains("disabled") || format!("{err:?}").contains("403"),
        "{err:?}"
    );
    let mut versions = HashMap::new();
    let mut pager = vault.list_secret_properties_versions("db-password", None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        versions.insert(item.resource_id().unwrap().version.unwrap(), item);
    }
    assert_eq!(versions.len(), 2);
    let first = &versions[&v1];
    assert_eq!(first.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        first.tags.as_ref().unwrap().get("owner").map(String::as_str),
        Some("me")
    );
    assert_eq!(first.attributes.as_ref().unwrap().enabled, Some(false));
    let binned = vault
        .get_deleted_secret("binned", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(binned.resource_id().unwrap().name, "binned");
    assert!(vault.get_deleted_secret("purged", None).await.is_err());
    vault.recover_deleted_secret("binned", None).await.unwrap();

    // Changes after the restart persist too, removals included.
    kms.delete_alias()
        .alias_name("alias/dropped-later")
        .send()
        .await
        .unwrap();
    kms.cancel_key_deletion().key_id(&doomed).send().await.unwrap();
    drop((kms, kms_west, vault));
    server.stop().await;

    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let vault = vault_client(&server);
    let aliases = kms.list_aliases().key_id(&sym).send().await.unwrap();
    assert_eq!(aliases.aliases().len(), 1);
    assert_eq!(key_state(&kms, &doomed).await, Some(KeyState::Disabled));
    assert_eq!(get_version(&vault, "binned", None).await.unwrap(), "old");
    drop((kms, vault));
    server.stop().await;
}

#[tokio::test]
async fn an_init_file_is_persisted_and_reapplied_idempotently() {
    let dir = common::TempDir::new("init");
    std::fs::create_dir_all(&dir.0).unwrap();
    let init = dir.0.join("init.json");
    let key = "2b0a7c1e-5d4f-4a3b-9c8d-7e6f5a4b3c2d";
    std::fs::write(
        &init,
        serde_json::json!({
            "kms": {"keys": [{"id": key, "aliases": ["alias/seeded"], "tags": {"from": "init"}}]},
            "keyvault": {"secrets": [{"name": "seeded", "value": "from-init"}]}
        })
        .to_string(),
    )
    .unwrap();
    let with_init = trent::Config {
        init: Some(init.clone()),
        ..common::data_dir_config(&dir.0)
    };
    let server = trent::Server::start(with_init.clone()).await.unwrap();
    let kms = client_in(&server, "us-east-1");
    kms.tag_resource()
        .key_id(key)
        .tags(tag("later", "change"))
        .send()
        .await
        .unwrap();
    drop(kms);
    server.stop().await;

    // Without the init file: what it created is on disk.
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let vault = vault_client(&server);
    let aliases = kms.list_aliases().key_id(key).send().await.unwrap();
    assert_eq!(aliases.aliases()[0].alias_name(), Some("alias/seeded"));
    assert_eq!(get_version(&vault, "seeded", None).await.unwrap(), "from-init");
    drop((kms, vault));
    server.stop().await;

    // With it again: nothing is added twice and the later change survives.
    let server = trent::Server::start(with_init).await.unwrap();
    let kms = client_in(&server, "us-east-1");
    assert_eq!(kms.list_keys().send().await.unwrap().keys().len(), 1);
    let tags = kms.list_resource_tags().key_id(key).send().await.unwrap();
    assert_eq!(tags.tags().len(), 2);
    let (_, health) = control(&server.keyvault_endpoint(), "health", None).await;
    assert_eq!(health["versions"], 1);
    drop(kms);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Control API: reset and import reach the disk

#[tokio::test]
async fn reset_and_import_replace_what_is_on_disk() {
    let dir = common::TempDir::new("reset");
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let vault = vault_client(&server);
    let kept = common::symmetric_key(&kms).await;
    let (_, exported) = control(&server.kms_endpoint(), "export", None).await;
    let extra = common::symmetric_key(&kms).await;
    vault
        .set_secret("gone", secret("soon").try_into().unwrap(), None)
        .await
        .unwrap();

    // Import: the disk holds exactly the imported document afterwards.
    let (status, body) = control(&server.kms_endpoint(), "import", Some(exported)).await;
    assert_eq!(status, 200, "{body}");
    // Reset of Key Vault: the secret is gone from disk too.
    let (status, _) = control(&server.keyvault_endpoint(), "reset", Some(Value::Null)).await;
    assert_eq!(status, 200);
    drop((kms, vault));
    server.stop().await;

    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let vault = vault_client(&server);
    let keys: Vec<String> = kms
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys()
        .iter()
        .filter_map(|k| k.key_id().map(String::from))
        .collect();
    assert_eq!(
        keys,
        std::slice::from_ref(&kept),
        "the key created after the export ({extra}) was replaced by the import"
    );
    assert!(vault.get_secret("gone", None).await.is_err());

    // Reset of KMS: a restart shows nothing.
    let (status, _) = control(&server.kms_endpoint(), "reset", Some(Value::Null)).await;
    assert_eq!(status, 200);
    drop((kms, vault));
    server.stop().await;
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    assert!(kms.list_keys().send().await.unwrap().keys().is_empty());
    drop(kms);
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------------
// The data directory itself: permissions, exclusivity, versions, damage

#[tokio::test]
async fn files_are_private_and_a_second_process_is_refused() {
    let root = common::TempDir::new("perms");
    let dir = root.0.join("nested").join("data");
    let server = common::start_on(&dir).await;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert_eq!(files, 2, "trent.redb and trent.lock");

    // Another server (in this process or another) on the same directory is refused, naming the holder.
    let err = trent::Server::start(common::data_dir_config(&dir))
        .await
        .err()
        .expect("a second server is refused");
    let message = err.to_string();
    assert!(message.contains("in use by another trent process"), "{message}");
    assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
    assert!(message.contains(&dir.display().to_string()), "{message}");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["--kms-port", "0", "--keyvault-port", "0", "--keyvault-tls-port", "0"])
        .arg("--data-dir")
        .arg(&dir)
        .env("TRENT_TLS_CA_OUT", root.0.join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    // Logs (and so this refusal) go to stderr, without colour codes when stderr is not a terminal.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in use by another trent process"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "no ANSI colour codes: {stderr}");
    server.stop().await;

    // Once the first one stopped, the directory opens again.
    common::start_on(&dir).await.stop().await;
}

#[tokio::test]
async fn a_newer_storage_format_is_refused_naming_both_versions() {
    let dir = common::TempDir::new("format");
    common::start_on(&dir.0).await.stop().await;
    {
        let db = redb::Database::open(dir.0.join("trent.redb")).unwrap();
        let write = db.begin_write().unwrap();
        {
            let mut meta = write
                .open_table(redb::TableDefinition::<&str, &str>::new("meta"))
                .unwrap();
            meta.insert("format", "7").unwrap();
            meta.insert("trent_version", "9.1.0").unwrap();
        }
        write.commit().unwrap();
    }
    let message = trent::Server::start(common::data_dir_config(&dir.0))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(message.contains("storage format 7"), "{message}");
    assert!(message.contains("trent 9.1.0"), "{message}");
    assert!(
        message.contains(&format!("this trent {}", env!("CARGO_PKG_VERSION"))),
        "{message}"
    );
    assert!(message.contains("formats up to 2"), "{message}");

    // A format older than any this build knows is refused the same way (format 1 is the first).
    {
        let db = redb::Database::open(dir.0.join("trent.redb")).unwrap();
        let write = db.begin_write().unwrap();
        {
            let mut meta = write
                .open_table(redb::TableDefinition::<&str, &str>::new("meta"))
                .unwrap();
            meta.insert("format", "0").unwrap();
            meta.insert("trent_version", "0.0.1").unwrap();
        }
        write.commit().unwrap();
    }
    let message = trent::Server::start(common::data_dir_config(&dir.0))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(
        message.contains("written by trent 0.0.1 in storage format 0"),
        "{message}"
    );
    assert!(
        message.contains(&format!("this trent {}", env!("CARGO_PKG_VERSION"))),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Crash test: SIGKILL mid-load loses no acknowledged write

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Binary {
    child: std::process::Child,
    kms: String,
    vault: String,
    ca_pem: String,
}

/// Starts the trent binary on `dir` with free ports and waits until it answers.
async fn spawn_binary(dir: &Path, scratch: &Path) -> Binary {
    let (kms_port, kv_port, tls_port) = (free_port(), free_port(), free_port());
    let ca = scratch.join(format!("ca-{tls_port}.pem"));
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .args(["--kms-port", &kms_port.to_string()])
        .args(["--keyvault-port", &kv_port.to_string()])
        .args(["--keyvault-tls-port", &tls_port.to_string()])
        .arg("--data-dir")
        .arg(dir)
        .arg("--tls-ca-out")
        .arg(&ca)
        .args(["--log", "warn"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let kms = format!("http://127.0.0.1:{kms_port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{kms}/_parlel/health")).await {
            if r.status().is_success() && ca.exists() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the binary did not come up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ca_pem = std::fs::read_to_string(&ca).unwrap();
    Binary {
        child,
        kms,
        vault: format!("https://localhost:{tls_port}"),
        ca_pem,
    }
}

fn kms_client(endpoint: &str) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::config::Builder::new()
        .endpoint_url(endpoint)
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "parlel", "parlel", None, None, "test",
        ))
        .behavior_version_latest()
        .build();
    aws_sdk_kms::Client::from_conf(config)
}

/// What the server acknowledged.
#[derive(Default)]
struct Acked {
    keys: Vec<String>,
    aliases: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    secrets: Vec<(String, String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_load_loses_no_acknowledged_write() {
    let dir = common::TempDir::new("crash");
    let scratch = common::TempDir::new("crash-scratch");
    std::fs::create_dir_all(&scratch.0).unwrap();
    let acked = Arc::new(Mutex::new(Acked::default()));
    const ROUNDS: usize = 3;
    const WRITERS: usize = 12;
    for round in 0..ROUNDS {
        let mut binary = spawn_binary(&dir.0, &scratch.0).await;
        let mut tasks = Vec::new();
        for writer in 0..WRITERS {
            let kms = kms_client(&binary.kms);
            let vault = common::keyvault::secret_client_at(&binary.vault, &binary.ca_pem);
            let acked = acked.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let key = match kms.create_key().send().await {
                        Ok(out) => out.key_metadata.unwrap().key_id,
                        Err(_) => return,
                    };
                    acked.lock().unwrap().keys.push(key.clone());
                    let alias = format!("alias/r{round}-w{writer}-{n}");
                    if kms
                        .create_alias()
                        .alias_name(&alias)
                        .target_key_id(&key)
                        .send()
                        .await
                        .is_err()
                    {
                        return;
                    }
                    acked.lock().unwrap().aliases.push((alias, key.clone()));
                    let value = format!("r{round}w{writer}n{n}");
                    if kms
                        .tag_resource()
                        .key_id(&key)
                        .tags(tag("n", &value))
                        .send()
                        .await
                        .is_err()
                    {
                        return;
                    }
                    acked.lock().unwrap().tags.push((key.clone(), value.clone()));
                    let name = format!("s-r{round}-w{writer}-{n}");
                    let set = vault.set_secret(&name, secret(&value).try_into().unwrap(), None).await;
                    let Ok(set) = set else { return };
                    let version = set.into_model().unwrap().resource_id().unwrap().version.unwrap();
                    acked.lock().unwrap().secrets.push((name, version, value));
                }
            }));
        }
        // Let the writers get going, then kill the process without warning.
        let target = 40 * (round + 1);
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.lock().unwrap().keys.len() < target && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        binary.child.kill().unwrap(); // SIGKILL
        binary.child.wait().unwrap();
        // The writers' in-flight requests were not acknowledged; stop them rather than wait out the SDKs' retries.
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }

        // Restart on the same directory: it opens cleanly and holds every acknowledged write.
        let mut binary = spawn_binary(&dir.0, &scratch.0).await;
        let kms = kms_client(&binary.kms);
        let vault = common::keyvault::secret_client_at(&binary.vault, &binary.ca_pem);
        let acked = {
            let a = acked.lock().unwrap();
            (a.keys.clone(), a.aliases.clone(), a.tags.clone(), a.secrets.clone())
        };
        let (keys, aliases, tags, secrets) = acked;
        let mut listed = std::collections::BTreeSet::new();
        let mut marker = None;
        loop {
            let page = kms.list_keys().set_marker(marker).send().await.unwrap();
            listed.extend(page.keys().iter().filter_map(|k| k.key_id().map(String::from)));
            marker = page.next_marker().map(String::from);
            if marker.is_none() {
                break;
            }
        }
        for key in &keys {
            assert!(listed.contains(key), "acknowledged key {key} is missing after SIGKILL");
        }
        let mut alias_targets = HashMap::new();
        let mut marker = None;
        loop {
            let page = kms.list_aliases().set_marker(marker).send().await.unwrap();
            for a in page.aliases() {
                alias_targets.insert(a.alias_name().unwrap().to_string(), a.target_key_id().map(String::from));
            }
            marker = page.next_marker().map(String::from);
            if marker.is_none() {
                break;
            }
        }
        for (alias, key) in &aliases {
            assert_eq!(
                alias_targets.get(alias),
                Some(&Some(key.clone())),
                "acknowledged alias {alias}"
            );
        }
        for (key, value) in &tags {
            let got = kms.list_resource_tags().key_id(key).send().await.unwrap();
            assert!(
                got.tags().iter().any(|t| t.tag_key() == "n" && t.tag_value() == value),
                "acknowledged tag of {key}"
            );
        }
        for (name, version, value) in &secrets {
            assert_eq!(
                &get_version(&vault, name, Some(version)).await.unwrap(),
                value,
                "secret {name}"
            );
        }
        println!(
            "round {round}: {} keys, {} aliases, {} tags, {} secret versions acknowledged and found after SIGKILL",
            keys.len(),
            aliases.len(),
            tags.len(),
            secrets.len()
        );
        binary.child.kill().unwrap();
        binary.child.wait().unwrap();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Scale: start-up with 10 000 keys and 10 000 secrets, and the cost of a durable write

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keys_and_secrets_load_in_milliseconds() {
    const N: usize = 10_000;
    let dir = common::TempDir::new("scale");
    let server = common::start_on(&dir.0).await;
    let kms = client_in(&server, "us-east-1");
    let vault = vault_client(&server);

    // Commit latency: sequential durable writes (each one fsynced before its response).
    let key = common::symmetric_key(&kms).await;
    let writes = 50;
    let started = Instant::now();
    for i in 0..writes {
        kms.tag_resource()
            .key_id(&key)
            .tags(tag("i", &i.to_string()))
            .send()
            .await
            .unwrap();
    }
    let durable = started.elapsed() / writes;
    let started = Instant::now();
    for _ in 0..writes {
        kms.describe_key().key_id(&key).send().await.unwrap();
    }
    let read = started.elapsed() / writes;
    println!("sequential TagResource with --data-dir: {durable:?} per call; DescribeKey: {read:?} per call");

    // Build a state of N keys and N secrets from one of each, and import it (one transaction).
    vault
        .set_secret("template", secret("value").try_into().unwrap(), None)
        .await
        .unwrap();
    let (_, mut kms_doc) = control(&server.kms_endpoint(), "export", None).await;
    let region = &mut kms_doc["state"]["regions"]["000000000000/us-east-1"];
    let template = region["keys"][&key].clone();
    let mut keys = serde_json::Map::new();
    for _ in 0..N {
        let id = uuid::Uuid::new_v4().to_string();
        let mut k = template.clone();
        k["key_id"] = Value::String(id.clone());
        keys.insert(id, k);
    }
    region["keys"] = Value::Object(keys);
    let (status, body) = control(&server.kms_endpoint(), "import", Some(kms_doc)).await;
    assert_eq!(status, 200, "{body}");
    let (_, mut kv_doc) = control(&server.keyvault_endpoint(), "export", None).await;
    let default_vault = kv_doc["state"]["vaults"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let secrets = &mut kv_doc["state"]["vaults"][&default_vault]["secrets"];
    let template = secrets["template"].clone();
    let mut all = serde_json::Map::new();
    for i in 0..N {
        let mut s = template.clone();
        s["name"] = Value::String(format!("secret-{i}"));
        all.insert(format!("secret-{i}"), s);
    }
    *secrets = Value::Object(all);
    let (status, body) = control(&server.keyvault_endpoint(), "import", Some(kv_doc)).await;
    assert_eq!(status, 200, "{body}");
    drop((kms, vault));
    server.stop().await;

    // Where start-up time goes: opening the database, then each service reading its records back.
    {
        let started = Instant::now();
        let backend = trent::storage::open(Some(&dir.0)).unwrap();
        let opened = started.elapsed();
        let (_, kms_records) = trent::kms::Kms::with_storage(trent::Clock::new(), backend.clone()).unwrap();
        let kms_loaded = started.elapsed() - opened;
        let (_, kv_records) = trent::keyvault::KeyVault::with_storage(trent::Clock::new(), backend).unwrap();
        let kv_loaded = started.elapsed() - opened - kms_loaded;
        println!(
            "open {opened:?}; KMS {kms_records} records in {kms_loaded:?}; Key Vault {kv_records} records in {kv_loaded:?}"
        );
        assert_eq!((kms_records, kv_records), (N, N));
    }
    let started = Instant::now();
    let server = common::start_on(&dir.0).await;
    let elapsed = started.elapsed();
    println!("start-up with {N} keys and {N} secrets on disk: {elapsed:?}");
    let (_, health) = control(&server.kms_endpoint(), "health", None).await;
    assert_eq!(health["keys"], N);
    let (_, health) = control(&server.keyvault_endpoint(), "health", None).await;
    assert_eq!(health["secrets"], N);
    assert!(elapsed < Duration::from_secs(20), "start-up took {elapsed:?}");
    server.stop().await;
}
