//! Shared helpers for the integration tests: a running server and official-SDK clients pointed at it.
#![allow(dead_code)]

pub mod keyvault;

use aws_credential_types::Credentials;
use aws_sdk_kms::config::Region;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::Client;

/// A fresh directory path under the system temp dir (not created; removed with everything in it when dropped).
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        TempDir(std::env::temp_dir().join(unique(&format!("trent-{name}"))))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ephemeral ports, with state kept in the data directory `dir`.
pub fn data_dir_config(dir: &std::path::Path) -> trent::Config {
    trent::Config {
        data_dir: Some(dir.to_path_buf()),
        ..trent::Config::ephemeral()
    }
}

/// Starts a server on ephemeral ports with its state in the data directory `dir`.
pub async fn start_on(dir: &std::path::Path) -> trent::Server {
    trent::Server::start(data_dir_config(dir))
        .await
        .expect("the server starts on the data directory")
}

/// Starts a server on ephemeral ports.
pub async fn server() -> trent::Server {
    trent::Server::start(trent::Config::ephemeral())
        .await
        .expect("the server starts")
}

/// An SDK client for `region` against `server`, with the default test credentials.
pub fn client_in(server: &trent::Server, region: &str) -> Client {
    client_with(server, region, "parlel")
}

/// An SDK client for `region` whose access key id is `access_key` (a 12-digit one names an account).
pub fn client_with(server: &trent::Server, region: &str, access_key: &str) -> Client {
    let config = aws_sdk_kms::config::Builder::new()
        .endpoint_url(server.kms_endpoint())
        .region(Region::new(region.to_string()))
        .credentials_provider(Credentials::new(access_key, "parlel", None, None, "test"))
        .behavior_version_latest()
        .build();
    Client::from_conf(config)
}

/// A server and a us-east-1 client.
pub async fn setup() -> (trent::Server, Client) {
    let server = server().await;
    let client = client_in(&server, "us-east-1");
    (server, client)
}

/// The error code of a failed call (panics on success).
pub fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> String {
    let err = result.expect_err("the call should fail");
    match err.as_service_error() {
        Some(e) => e.code().unwrap_or("<no code>").to_string(),
        None => format!("<not a service error: {err:?}>"),
    }
}

/// The error code and message of a failed call (panics on success).
pub fn error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    result: Result<T, SdkError<E, R>>,
) -> (String, String) {
    let err = result.expect_err("the call should fail");
    match err.as_service_error() {
        Some(e) => (
            e.code().unwrap_or("<no code>").to_string(),
            e.message().unwrap_or_default().to_string(),
        ),
        None => (format!("<not a service error: {err:?}>"), String::new()),
    }
}

/// A name unique within this test process.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Creates a symmetric key and returns its id.
pub async fn symmetric_key(client: &Client) -> String {
    client
        .create_key()
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("KeyMetadata")
        .key_id
}

/// `GET {endpoint}/_parlel/{path}` as JSON (dump, export, health, clock).
pub async fn control_get(endpoint: &str, path: &str) -> serde_json::Value {
    reqwest::get(format!("{endpoint}/_parlel/{path}"))
        .await
        .expect("control API answers")
        .json()
        .await
        .expect("control API answers JSON")
}
