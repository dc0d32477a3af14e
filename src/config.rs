//! Runtime configuration: one struct that the CLI (`main.rs`) and the in-process [`crate::Server`] both fill.

use std::net::IpAddr;
use std::path::PathBuf;

/// Where and how trent serves. `Config::default()` is what `trent` with no arguments does.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address every listener binds to.
    pub host: IpAddr,
    /// AWS KMS (AWS JSON 1.1) port; 0 picks a free port.
    pub kms_port: u16,
    /// Azure Key Vault plain-HTTP port; 0 picks a free port.
    pub keyvault_port: u16,
    /// Azure Key Vault HTTPS port; 0 picks a free port.
    pub keyvault_tls_port: u16,
    /// PEM certificate chain for the HTTPS listener; when absent a self-signed one is generated at start.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key matching `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Where the generated CA certificate is written (so clients can trust it); `None` writes no file (read it
    /// from [`crate::Server::ca_certificate_pem`] instead). Default: `<temp dir>/trent-ca.pem`.
    pub tls_ca_out: Option<PathBuf>,
    /// Serve AWS KMS at all.
    pub enable_kms: bool,
    /// Serve Azure Key Vault at all.
    pub enable_keyvault: bool,
    /// A YAML or JSON file of KMS keys and Key Vault secrets applied at start (see [`crate::init`]).
    pub init: Option<PathBuf>,
    /// Keep all state in an embedded database in this directory (created 0700 when missing), every change durable
    /// before its response; `None` keeps state in memory only.
    pub data_dir: Option<PathBuf>,
    /// Host names trent answers for besides localhost, `*.localhost`, loopback addresses and
    /// `host.docker.internal` (see [`crate::http::guard`]); `*.suffix` allows every name under `suffix`.
    pub allowed_hosts: Vec<String>,
    /// When set, the control API needs `Authorization: Bearer <token>`.
    pub control_token: Option<String>,
    /// How long a client may take to send a request's headers (idle keep-alive connections close after it too).
    pub header_read_timeout: std::time::Duration,
    /// How long a request body may go without sending a byte (the body is refused and the connection closed after).
    pub body_read_timeout: std::time::Duration,
    /// How many connections all clients together may hold open, across every listener.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::from([127, 0, 0, 1]),
            kms_port: 4730,
            keyvault_port: 4594,
            keyvault_tls_port: 4595,
            tls_cert: None,
            tls_key: None,
            tls_ca_out: Some(std::env::temp_dir().join("trent-ca.pem")),
            enable_kms: true,
            enable_keyvault: true,
            init: None,
            data_dir: None,
            allowed_hosts: Vec::new(),
            control_token: None,
            header_read_timeout: std::time::Duration::from_secs(10),
            body_read_timeout: std::time::Duration::from_secs(10),
            max_connections: 768,
        }
    }
}

impl Config {
    /// Every listener on an ephemeral port of 127.0.0.1, and no CA file written (parallel test servers would
    /// overwrite each other's): what integration tests want.
    pub fn ephemeral() -> Self {
        Config {
            tls_ca_out: None,
            kms_port: 0,
            keyvault_port: 0,
            keyvault_tls_port: 0,
            ..Config::default()
        }
    }
}
