//! `--init FILE`: keys and secrets from a YAML/JSON file at start, checked with the official SDKs, the known key
//! material checked with independent implementations (hmac, p256), idempotence checked on the exported state.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyState, MacAlgorithmSpec, MessageType, SigningAlgorithmSpec};
use azure_core::credentials::{AccessToken, Secret as TokenSecret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use base64::Engine;
use futures::TryStreamExt;
use serde_json::Value;
use trent::init::{Format, InitFile};

const SYMMETRIC_ID: &str = "b90e8e5e-b97a-41cd-956c-4c53c6a4cbe2";
const ECC_ID: &str = "624e0f08-ed52-498c-ab76-66e30cdb0e85";
const HMAC_ID: &str = "9ed11388-3dfb-4902-ad41-8cd9837edcce";
const RSA_ID: &str = "ebe7e147-4605-451a-88a5-1eb9a208c278";
const FIXTURE_ID: &str = "9fd35167-169a-4499-9faa-be3ff1e15e32";

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn example() -> PathBuf {
    repo_path("examples/init.yaml")
}

async fn start_with(init: &Path) -> trent::Server {
    let config = trent::Config {
        init: Some(init.to_path_buf()),
        ..trent::Config::ephemeral()
    };
    trent::Server::start(config)
        .await
        .expect("the server starts with the init file")
}

/// A file in the system temp dir, unique to this test, removed by the caller.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("trent-init-{}-{}", std::process::id(), common::unique(name)));
    std::fs::write(&path, text).unwrap();
    path
}

/// The `material` of key `id` in examples/init.yaml, read with a YAML parser (so the test and the example
/// cannot drift apart).
fn example_material(id: &str) -> String {
    let doc: Value = serde_norway::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap();
    doc["kms"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .and_then(|k| k["material"].as_str())
        .unwrap_or_else(|| panic!("examples/init.yaml has material for {id}"))
        .to_string()
}

fn parse_err(yaml: &str) -> String {
    InitFile::parse(yaml, Format::Yaml)
        .expect_err("the file is refused")
        .to_string()
}

async fn export(endpoint: &str) -> Value {
    let res = reqwest::get(format!("{endpoint}/_parlel/export")).await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Azure SDK plumbing (as tests/keyvault.rs)

#[derive(Debug)]
struct AnyToken;

#[async_trait::async_trait]
impl TokenCredential for AnyToken {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        Ok(AccessToken::new(
            TokenSecret::new("trent-test-token"),
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
    }
}

/// A secrets client for `vault` (`None`: the default vault at https://localhost:port).
fn secrets_client(server: &trent::Server, vault: Option<&str>) -> SecretClient {
    let pem = server.ca_certificate_pem().expect("generated CA");
    let ca = reqwest013::Certificate::from_pem(pem.as_bytes()).unwrap();
    let addr = server.keyvault_tls_addr().unwrap();
    let mut builder = reqwest013::Client::builder().tls_certs_only([ca]);
    let endpoint = match vault {
        Some(vault) => {
            let host = format!("{vault}.localhost");
            builder = builder.resolve(&host, addr);
            format!("https://{host}:{}", addr.port())
        }
        None => server.keyvault_tls_endpoint(),
    };
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(builder.build().unwrap()))),
            ..Default::default()
        },
        verify_challenge_resource: Some(vault.is_some()),
        ..Default::default()
    };
    SecretClient::new(&endpoint, Arc::new(AnyToken), Some(options)).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Errors in the file

#[test]
fn an_unknown_field_is_named() {
    let err =
        parse_err("kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpc: SYMMETRIC_DEFAULT\n");
    assert!(err.contains("unknown field `keySpc`"), "{err}");
    let err = parse_err("keyvalt:\n  secrets: []\n");
    assert!(err.contains("unknown field `keyvalt`"), "{err}");
    let err = InitFile::parse(
        r#"{"keyvault": {"secrets": [{"name": "a", "value": "b", "colour": "red"}]}}"#,
        Format::Json,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unknown field `colour`") && err.contains("JSON"), "{err}");
}

#[test]
fn material_of_the_wrong_size_or_spec_is_refused_naming_the_key() {
    let short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
    let err = parse_err(&format!(
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      material: {short}\n"
    ));
    assert!(err.contains("1234abcd-12ab-34cd-56ef-1234567890ab"), "{err}");
    assert!(err.contains("32 bytes, got 31"), "{err}");

    let hmac = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
    let err = parse_err(&format!(
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpec: HMAC_256\n      material: {hmac}\n"
    ));
    assert!(
        err.contains("HMAC_256 key material must be 32 to 64 bytes, got 16"),
        "{err}"
    );

    // A P-256 private key given for a P-384 key.
    let pem = example_material(ECC_ID);
    let indented: String = pem.lines().map(|l| format!("        {l}\n")).collect();
    let err = parse_err(&format!(
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpec: ECC_NIST_P384\n      \
         keyUsage: SIGN_VERIFY\n      material: |\n{indented}"
    ));
    assert!(
        err.contains("ECC_NIST_P384") && err.contains("material does not fit"),
        "{err}"
    );

    // PKCS#1 / SEC1 PEMs get a conversion hint; PEM for a symmetric key is refused.
    let err = parse_err(
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpec: RSA_2048\n      material: |\n        \
         -----BEGIN RSA PRIVATE KEY-----\n        AAAA\n        -----END RSA PRIVATE KEY-----\n",
    );
    assert!(err.contains("openssl pkcs8 -topk8"), "{err}");
    let err = parse_err(
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      material: '-----BEGIN PRIVATE KEY-----'\n",
    );
    assert!(err.contains("not PEM"), "{err}");
}

#[test]
fn other_mistakes_are_explained() {
    let cases = [
        ("kms:\n  keys:\n    - keySpec: RSA_2048\n", "missing field `id`"),
        ("kms:\n  keys:\n    - id: not-a-key-id\n", "is not a key id"),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpec: ECC_NIST_P256\n",
            "keyUsage is required for keySpec ECC_NIST_P256",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keySpec: AES_512\n",
            "keySpec \"AES_512\" is not one of",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      keyUsage: SIGN_VERIFY\n",
            "keyUsage SIGN_VERIFY is not valid for keySpec SYMMETRIC_DEFAULT",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      aliases: [alias/aws/s3]\n",
            "reserved",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      rotationPeriodInDays: 30\n",
            "90 to 2560",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      policy: 'not json'\n",
            "policy is not valid JSON",
        ),
        (
            "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      aliases: [alias/a]\n    - id: \
             2234abcd-12ab-34cd-56ef-1234567890ab\n      aliases: [alias/a]\n",
            "alias alias/a is given twice",
        ),
        (
            "keyvault:\n  secrets:\n    - name: bad_name\n      value: x\n",
            "is not a secret name",
        ),
        (
            "keyvault:\n  secrets:\n    - name: a\n      value: x\n      expires: next tuesday\n",
            "expires \"next tuesday\" is neither epoch seconds nor an RFC 3339 date-time",
        ),
        (
            "keyvault:\n  secrets:\n    - name: a\n      value: x\n    - name: A\n      value: x\n",
            "twice",
        ),
    ];
    for (yaml, expected) in cases {
        let err = parse_err(yaml);
        assert!(err.contains(expected), "{yaml}\n→ {err}\n(expected {expected:?})");
    }
}

#[tokio::test]
async fn a_multi_region_key_from_the_file_replicates_with_its_material() {
    let id = "mrk-0123456789abcdef0123456789abcdef";
    let material = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let path = temp_file(
        "mrk.yaml",
        &format!("kms:\n  keys:\n    - id: {id}\n      region: us-west-2\n      material: {material}\n"),
    );
    let server = start_with(&path).await;
    let west = common::client_in(&server, "us-west-2");
    let meta = west
        .describe_key()
        .key_id(id)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.multi_region, Some(true));
    let config = meta.multi_region_configuration.expect("MultiRegionConfiguration");
    assert_eq!(config.primary_key.unwrap().region.as_deref(), Some("us-west-2"));
    let blob = west
        .encrypt()
        .key_id(id)
        .plaintext(Blob::new(b"everywhere".to_vec()))
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap();
    west.replicate_key()
        .key_id(id)
        .replica_region("eu-west-1")
        .send()
        .await
        .unwrap();
    let eu = common::client_in(&server, "eu-west-1");
    let out = eu.decrypt().ciphertext_blob(blob).key_id(id).send().await.unwrap();
    assert_eq!(out.plaintext.unwrap().into_inner(), b"everywhere");

    // The same id in two regions of one file is refused: replicas come from ReplicateKey.
    let err = parse_err(&format!(
        "kms:\n  keys:\n    - id: {id}\n    - id: {id}\n      region: eu-west-1\n"
    ));
    assert!(err.contains("appears twice"), "{err}");
    let _ = std::fs::remove_file(path);
    server.stop().await;
}

#[tokio::test]
async fn a_bad_file_fails_the_start_naming_the_file() {
    let path = temp_file(
        "bad.yaml",
        "kms:\n  keys:\n    - id: 1234abcd-12ab-34cd-56ef-1234567890ab\n      oops: 1\n",
    );
    let config = trent::Config {
        init: Some(path.clone()),
        ..trent::Config::ephemeral()
    };
    let err = trent::Server::start(config).await.err().expect("the start fails");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("unknown field `oops`"), "{message}");

    let missing = repo_path("tests/fixtures/no-such-init.yaml");
    let config = trent::Config {
        init: Some(missing.clone()),
        ..trent::Config::ephemeral()
    };
    let message = trent::Server::start(config)
        .await
        .err()
        .expect("the start fails")
        .to_string();
    assert!(
        message.contains("no-such-init.yaml") && message.contains("cannot read"),
        "{message}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn the_binary_exits_with_a_message_naming_the_file() {
    let path = temp_file(
        "bad-bin.json",
        r#"{"kms": {"keys": [{"id": "1234abcd-12ab-34cd-56ef-1234567890ab", "material": "AAAA"}]}}"#,
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_trent"))
        .args([
            "--kms-port",
            "0",
            "--keyvault-port",
            "0",
            "--keyvault-tls-port",
            "0",
            "--init",
        ])
        .arg(&path)
        .env("TRENT_TLS_CA_OUT", std::env::temp_dir().join("trent-init-test-ca.pem"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("32 bytes, got 3"), "{text}");
    let _ = std::fs::remove_file(path);
}

// ---------------------------------------------------------------------------------------------------------------
// The example, through the SDKs

#[tokio::test]
async fn the_example_file_seeds_keys_aliases_tags_and_secrets() {
    let server = start_with(&example()).await;
    let kms = common::client_in(&server, "us-east-1");

    let described = kms.describe_key().key_id("alias/app-data").send().await.unwrap();
    let meta = described.key_metadata.unwrap();
    assert_eq!(meta.key_id, SYMMETRIC_ID);
    assert_eq!(meta.description.as_deref(), Some("application data key"));
    assert_eq!(meta.key_state, Some(KeyState::Enabled));
    let tags = kms.list_resource_tags().key_id(SYMMETRIC_ID).send().await.unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.tag_key, t.tag_value))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        vec![("env".into(), "test".into()), ("team".into(), "payments".into())]
    );
    let rotation = kms.get_key_rotation_status().key_id(SYMMETRIC_ID).send().await.unwrap();
    assert!(rotation.key_rotation_enabled);
    assert_eq!(rotation.rotation_period_in_days, Some(365));

    let aliases = kms.list_aliases().send().await.unwrap().aliases.unwrap_or_default();
    let mut names: Vec<(String, String)> = aliases
        .into_iter()
        .map(|a| (a.alias_name.unwrap(), a.target_key_id.unwrap()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("alias/app-data".to_string(), SYMMETRIC_ID.to_string()),
            ("alias/release-signing".to_string(), ECC_ID.to_string()),
            ("alias/webhook-mac".to_string(), HMAC_ID.to_string()),
        ]
    );

    // The generated RSA key lives in eu-west-1, disabled, with the policy given as a mapping.
    let eu = common::client_in(&server, "eu-west-1");
    let meta = eu
        .describe_key()
        .key_id(RSA_ID)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state, Some(KeyState::Disabled));
    assert_eq!(meta.key_spec.unwrap().as_str(), "RSA_2048");
    let policy = eu.get_key_policy().key_id(RSA_ID).send().await.unwrap().policy.unwrap();
    let policy: Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(policy["Statement"][0]["Action"], "kms:*");
    assert!(
        kms.describe_key().key_id(RSA_ID).send().await.is_err(),
        "not in us-east-1"
    );

    // Secrets: the default vault and myvault.
    let default_vault = secrets_client(&server, None);
    let secret = default_vault
        .get_secret("database-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(secret.value.as_deref(), Some("correct-horse-battery-staple"));
    assert_eq!(secret.content_type.as_deref(), Some("text/plain"));
    assert_eq!(secret.tags.unwrap().get("owner").map(String::as_str), Some("platform"));
    assert!(
        default_vault.get_secret("api-token", None).await.is_err(),
        "api-token is in myvault"
    );

    let myvault = secrets_client(&server, Some("myvault"));
    let token = myvault
        .get_secret("api-token", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(token.value.as_deref(), Some("tok_test_123"));
    let attrs = token.attributes.unwrap();
    assert_eq!(attrs.expires.map(|t| t.unix_timestamp()), Some(1_893_456_000));
    assert_eq!(attrs.not_before.map(|t| t.unix_timestamp()), Some(1_767_225_600));
    let flags = myvault
        .get_secret("feature-flags", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(flags.value.as_deref(), Some(r#"{"beta": true}"#));
    let mut versions = 0;
    let mut pager = myvault.list_secret_properties_versions("feature-flags", None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        assert_eq!(item.resource_id().unwrap().version.unwrap().len(), 32);
        versions += 1;
    }
    assert_eq!(versions, 2);
    server.stop().await;
}

#[tokio::test]
async fn known_hmac_and_ecc_material_checks_out_independently() {
    use hmac::Mac;
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
    use signature::Verifier;

    let server = start_with(&example()).await;
    let kms = common::client_in(&server, "us-east-1");
    let message = b"payload from the init test".to_vec();

    let mac = kms
        .generate_mac()
        .key_id("alias/webhook-mac")
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(message.clone()))
        .send()
        .await
        .unwrap()
        .mac
        .unwrap()
        .into_inner();
    let key = base64::engine::general_purpose::STANDARD
        .decode(example_material(HMAC_ID))
        .unwrap();
    let mut expected = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    expected.update(&message);
    assert_eq!(mac, expected.finalize().into_bytes().to_vec());

    let pem = example_material(ECC_ID);
    let secret = p256::SecretKey::from_pkcs8_der(&pem_body(&pem)).unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from(secret.public_key());
    let signature = kms
        .sign()
        .key_id("alias/release-signing")
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .message_type(MessageType::Raw)
        .message(Blob::new(message.clone()))
        .send()
        .await
        .unwrap()
        .signature
        .unwrap()
        .into_inner();
    let signature = p256::ecdsa::Signature::from_der(&signature).unwrap();
    verifying
        .verify(&message, &signature)
        .expect("the signature verifies with the known key");
    let public = kms
        .get_public_key()
        .key_id(ECC_ID)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap();
    assert_eq!(
        public.into_inner(),
        secret.public_key().to_public_key_der().unwrap().as_bytes()
    );
    server.stop().await;
}

#[tokio::test]
async fn signatures_and_macs_from_one_run_verify_in_the_next() {
    let message = Blob::new(b"made by the first run".to_vec());
    let first = start_with(&example()).await;
    let kms = common::client_in(&first, "us-east-1");
    let signature = kms
        .sign()
        .key_id("alias/release-signing")
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .message(message.clone())
        .send()
        .await
        .unwrap()
        .signature
        .unwrap();
    let mac = kms
        .generate_mac()
        .key_id("alias/webhook-mac")
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(message.clone())
        .send()
        .await
        .unwrap()
        .mac
        .unwrap();
    first.stop().await;

    let second = start_with(&example()).await;
    let kms = common::client_in(&second, "us-east-1");
    let verified = kms
        .verify()
        .key_id(ECC_ID)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .message(message.clone())
        .signature(signature)
        .send()
        .await
        .expect("the first run's signature verifies");
    assert!(verified.signature_valid);
    let verified = kms
        .verify_mac()
        .key_id(HMAC_ID)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(message)
        .mac(mac)
        .send()
        .await
        .expect("the first run's MAC verifies");
    assert!(verified.mac_valid);
    second.stop().await;
}

fn pem_body(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    base64::engine::general_purpose::STANDARD.decode(body).unwrap()
}

// ---------------------------------------------------------------------------------------------------------------
// Known material across runs: a committed ciphertext

const FIXTURE_CIPHERTEXT: &str = "tests/fixtures/init-ciphertext.json";

#[tokio::test]
async fn a_committed_ciphertext_decrypts_in_a_fresh_server() {
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_path(FIXTURE_CIPHERTEXT)).unwrap()).unwrap();
    let server = start_with(&repo_path("tests/fixtures/init.yaml")).await;
    let kms = common::client_in(&server, "us-east-1");
    let blob = base64::engine::general_purpose::STANDARD
        .decode(fixture["CiphertextBlob"].as_str().unwrap())
        .unwrap();
    let mut request = kms.decrypt().ciphertext_blob(Blob::new(blob.clone()));
    for (k, v) in fixture["EncryptionContext"].as_object().unwrap() {
        request = request.encryption_context(k, v.as_str().unwrap());
    }
    let out = request.send().await.expect("the committed ciphertext decrypts");
    assert_eq!(
        out.plaintext.unwrap().into_inner(),
        fixture["Plaintext"].as_str().unwrap().as_bytes()
    );
    assert_eq!(
        out.key_id.unwrap(),
        format!("arn:aws:kms:us-east-1:000000000000:key/{FIXTURE_ID}")
    );
    // Without the encryption context it is refused: the fixture really binds it.
    let refused = kms.decrypt().ciphertext_blob(Blob::new(blob)).send().await;
    assert_eq!(common::code(refused), "InvalidCiphertextException");
    server.stop().await;
}

/// Writes tests/fixtures/init-ciphertext.json (run once by hand; the committed file must never need it again):
/// `cargo test --test init write_the_fixture_ciphertext -- --ignored`
#[tokio::test]
#[ignore]
async fn write_the_fixture_ciphertext() {
    let server = start_with(&repo_path("tests/fixtures/init.yaml")).await;
    let kms = common::client_in(&server, "us-east-1");
    let plaintext = "encrypted once by trent with the fixture key of tests/fixtures/init.yaml";
    let out = kms
        .encrypt()
        .key_id("alias/fixture")
        .plaintext(Blob::new(plaintext.as_bytes().to_vec()))
        .encryption_context("purpose", "init-fixture")
        .send()
        .await
        .unwrap();
    let document = serde_json::json!({
        "KeyId": FIXTURE_ID,
        "Plaintext": plaintext,
        "EncryptionContext": {"purpose": "init-fixture"},
        "CiphertextBlob": base64::engine::general_purpose::STANDARD.encode(out.ciphertext_blob.unwrap().into_inner()),
    });
    std::fs::write(
        repo_path(FIXTURE_CIPHERTEXT),
        serde_json::to_string_pretty(&document).unwrap() + "\n",
    )
    .unwrap();
    server.stop().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Idempotence and conflicts

#[tokio::test]
async fn applying_the_example_again_changes_nothing() {
    let server = start_with(&example()).await;
    let kms_before = export(&server.kms_endpoint()).await;
    let kv_before = export(&server.keyvault_endpoint()).await;
    let keys = kms_before["state"]["regions"]["000000000000/us-east-1"]["keys"]
        .as_object()
        .unwrap();
    assert_eq!(keys.len(), 3);

    let applied = server
        .apply_init(&example())
        .await
        .expect("the second application succeeds");
    assert_eq!(applied.keys_created, 0);
    assert_eq!(applied.keys_present, 4);
    assert_eq!(applied.aliases_created, 0);
    assert_eq!(applied.secret_versions_created, 0);
    assert_eq!(applied.secret_versions_present, 4);
    assert_eq!(export(&server.kms_endpoint()).await, kms_before);
    assert_eq!(export(&server.keyvault_endpoint()).await, kv_before);

    // The state of a restart (imported from the first run) also takes the file without a change.
    let second = start_with(&example()).await;
    let import = |endpoint: String, document: Value| async move {
        let res = reqwest::Client::new()
            .post(format!("{endpoint}/_parlel/import"))
            .json(&document)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    };
    import(second.kms_endpoint(), kms_before.clone()).await;
    import(second.keyvault_endpoint(), kv_before.clone()).await;
    let applied = second.apply_init(&example()).await.unwrap();
    assert_eq!((applied.keys_created, applied.secret_versions_created), (0, 0));
    assert_eq!(export(&second.kms_endpoint()).await, kms_before);
    assert_eq!(export(&second.keyvault_endpoint()).await, kv_before);

    // Secret versions are derived from the content: a fresh server from the same file has the same ones.
    let kv_second_fresh = {
        let third = start_with(&example()).await;
        let doc = export(&third.keyvault_endpoint()).await;
        third.stop().await;
        doc
    };
    let versions = |doc: &Value| -> Vec<String> {
        let mut out = Vec::new();
        for (vault, state) in doc["state"]["vaults"].as_object().unwrap() {
            for (name, secret) in state["secrets"].as_object().unwrap() {
                for v in secret["versions"].as_array().unwrap() {
                    out.push(format!("{vault}/{name}/{}", v["version"].as_str().unwrap()));
                }
            }
        }
        out
    };
    assert_eq!(versions(&kv_second_fresh), versions(&kv_before));
    server.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn with_a_data_directory_restarts_keep_seeded_and_changed_state() {
    let dir = std::env::temp_dir().join(common::unique("trent-init-data"));
    let config = || trent::Config {
        data_dir: Some(dir.clone()),
        init: Some(example()),
        ..trent::Config::ephemeral()
    };
    let first = trent::Server::start(config()).await.expect("first start");
    let kms = common::client_in(&first, "us-east-1");
    kms.disable_key().key_id(SYMMETRIC_ID).send().await.unwrap();
    secrets_client(&first, None)
        .set_secret(
            "database-password",
            azure_security_keyvault_secrets::models::SetSecretParameters {
                value: Some("changed-by-the-app".into()),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap();
    let kms_doc = export(&first.kms_endpoint()).await;
    let kv_doc = export(&first.keyvault_endpoint()).await;
    first.stop().await;

    // The second start applies the same file to the restored state: nothing changes, the generated RSA key keeps
    // its material, the application's changes stay.
    let second = trent::Server::start(config()).await.expect("second start");
    assert_eq!(export(&second.kms_endpoint()).await, kms_doc);
    assert_eq!(export(&second.keyvault_endpoint()).await, kv_doc);
    let kms = common::client_in(&second, "us-east-1");
    let meta = kms
        .describe_key()
        .key_id(SYMMETRIC_ID)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(meta.key_state, Some(KeyState::Disabled));
    let latest = secrets_client(&second, None)
        .get_secret("database-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(latest.value.as_deref(), Some("changed-by-the-app"));
    second.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_key_with_the_same_id_and_other_material_is_an_error_that_changes_nothing() {
    let server = start_with(&repo_path("tests/fixtures/init.yaml")).await;
    let before = export(&server.kms_endpoint()).await;
    let kv_before = export(&server.keyvault_endpoint()).await;
    let other = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let path = temp_file(
        "conflict.yaml",
        &format!(
            "keyvault:\n  secrets:\n    - name: not-applied\n      value: x\nkms:\n  keys:\n    - id: \
             2234abcd-12ab-34cd-56ef-1234567890ab\n    - id: {FIXTURE_ID}\n      material: {other}\n"
        ),
    );
    let err = server.apply_init(&path).await.unwrap_err().to_string();
    assert!(
        err.contains(FIXTURE_ID) && err.contains("different key material"),
        "{err}"
    );
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert_eq!(export(&server.kms_endpoint()).await, before, "nothing was created");
    assert_eq!(
        export(&server.keyvault_endpoint()).await,
        kv_before,
        "nothing was created"
    );

    // An alias that points elsewhere, and another spec for the same id.
    std::fs::write(
        &path,
        "kms:\n  keys:\n    - id: 2234abcd-12ab-34cd-56ef-1234567890ab\n      aliases: [alias/fixture]\n",
    )
    .unwrap();
    let err = server.apply_init(&path).await.unwrap_err().to_string();
    assert!(err.contains("alias/fixture already points at key"), "{err}");
    std::fs::write(
        &path,
        format!(
            "kms:\n  keys:\n    - id: {FIXTURE_ID}\n      keySpec: HMAC_256\n      keyUsage: GENERATE_VERIFY_MAC\n"
        ),
    )
    .unwrap();
    let err = server.apply_init(&path).await.unwrap_err().to_string();
    assert!(err.contains("already exists with KeySpec SYMMETRIC_DEFAULT"), "{err}");
    assert_eq!(export(&server.kms_endpoint()).await, before);
    let _ = std::fs::remove_file(path);
    server.stop().await;
}

#[tokio::test]
async fn a_changed_secret_value_adds_a_version_and_runtime_changes_survive() {
    let path = temp_file(
        "secrets.yaml",
        "keyvault:\n  secrets:\n    - name: rotating\n      value: one\n",
    );
    let server = start_with(&path).await;
    let client = secrets_client(&server, None);
    let first = client.get_secret("rotating", None).await.unwrap().into_model().unwrap();
    assert_eq!(first.value.as_deref(), Some("one"));

    // The application sets a new value; the same file again leaves it the latest.
    client
        .set_secret(
            "rotating",
            azure_security_keyvault_secrets::models::SetSecretParameters {
                value: Some("set-by-app".into()),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap();
    let applied = server.apply_init(&path).await.unwrap();
    assert_eq!(applied.secret_versions_created, 0);
    let latest = client.get_secret("rotating", None).await.unwrap().into_model().unwrap();
    assert_eq!(latest.value.as_deref(), Some("set-by-app"));

    // Properties of the seeded version updated by the application do not conflict with the file.
    let seeded = first.resource_id().unwrap().version.unwrap();
    client
        .update_secret_properties(
            "rotating",
            azure_security_keyvault_secrets::models::UpdateSecretPropertiesParameters {
                content_type: Some("text/changed".into()),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            Some(
                azure_security_keyvault_secrets::models::SecretClientUpdateSecretPropertiesOptions {
                    secret_version: Some(seeded.clone()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap();
    assert_eq!(server.apply_init(&path).await.unwrap().secret_versions_created, 0);

    // An explicit version id that exists with another value is a conflict.
    std::fs::write(
        &path,
        format!("keyvault:\n  secrets:\n    - name: rotating\n      value: other\n      version: {seeded}\n"),
    )
    .unwrap();
    let err = server.apply_init(&path).await.unwrap_err().to_string();
    assert!(err.contains("another value"), "{err}");

    // A new value in the file is a new version on top.
    std::fs::write(&path, "keyvault:\n  secrets:\n    - name: rotating\n      value: two\n").unwrap();
    let applied = server.apply_init(&path).await.unwrap();
    assert_eq!(applied.secret_versions_created, 1);
    let latest = client.get_secret("rotating", None).await.unwrap().into_model().unwrap();
    assert_eq!(latest.value.as_deref(), Some("two"));
    let _ = std::fs::remove_file(path);
    server.stop().await;
}

#[test]
fn the_example_loads_and_json_works_too() {
    let file = InitFile::load(&example()).expect("examples/init.yaml loads");
    assert_eq!(file.keys.len(), 4);
    assert_eq!(file.secrets.len(), 4);
    assert!(file.keys.iter().any(|k| k.key_id == RSA_ID && k.material.is_none()));
    let json = r#"{"kms": {"keys": [{"id": "1234abcd-12ab-34cd-56ef-1234567890ab", "keySpec": "HMAC_384",
                   "keyUsage": "GENERATE_VERIFY_MAC"}]},
                   "keyvault": {"secrets": [{"name": "s", "vault": "v", "value": "x", "expires": 1}]}}"#;
    let file = InitFile::parse(json, Format::Json).unwrap();
    assert_eq!(file.keys[0].spec.as_str(), "HMAC_384");
    assert_eq!(file.secrets[0].vault, "v");
    assert_eq!(file.secrets[0].exp, Some(1));
    // Sniffed: a .conf file starting with `{` is JSON.
    assert_eq!(Format::detect(Path::new("x.conf"), " {}"), Format::Json);
    assert_eq!(Format::detect(Path::new("x.conf"), "kms: {}"), Format::Yaml);
}
