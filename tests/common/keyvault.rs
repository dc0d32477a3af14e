//! Key Vault helpers: a credential that hands out any token, an HTTPS client trusting trent's generated CA, and
//! official-SDK clients built on them.

use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, Secret as TokenSecret, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, FixedRetryOptions, RetryOptions, Transport};
use azure_core::time::{Duration, OffsetDateTime};
use azure_security_keyvault_keys::{KeyClient, KeyClientOptions};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};

/// Any token will do; records the scopes the SDK asked for (from the challenge).
#[derive(Debug, Default)]
pub struct FakeCredential {
    pub scopes: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenCredential for FakeCredential {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        self.scopes.lock().unwrap().extend(scopes.iter().map(|s| s.to_string()));
        Ok(AccessToken::new(
            TokenSecret::new("trent-fake-token"),
            OffsetDateTime::now_utc() + Duration::hours(1),
        ))
    }
}

/// A reqwest client trusting only trent's CA, resolving the given `*.localhost` names to the HTTPS listener.
pub fn https_client(server: &trent::Server, hosts: &[&str]) -> reqwest013::Client {
    let pem = server.ca_certificate_pem().expect("generated CA");
    let ca = reqwest013::Certificate::from_pem(pem.as_bytes()).expect("CA parses");
    let addr = server.keyvault_tls_addr().expect("https listener");
    let mut builder = reqwest013::Client::builder().tls_certs_only([ca]);
    for host in hosts {
        builder = builder.resolve(host, addr);
    }
    builder.build().expect("client builds")
}

/// A `KeyClient` for `endpoint` (the default vault at `https://localhost:port` unless a host is given; its
/// challenge resource is the seed's `https://vault.azure.net`, so resource verification is off as on a custom
/// domain).
pub fn key_client_for(server: &trent::Server, endpoint: &str, hosts: &[&str]) -> KeyClient {
    let options = KeyClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(https_client(server, hosts)))),
            ..Default::default()
        },
        verify_challenge_resource: Some(false),
        ..Default::default()
    };
    KeyClient::new(endpoint, Arc::new(FakeCredential::default()), Some(options)).expect("client")
}

/// A `KeyClient` for the default vault.
pub fn key_client(server: &trent::Server) -> KeyClient {
    key_client_for(server, &server.keyvault_tls_endpoint(), &[])
}

/// A `KeyClient` for a Managed HSM host `{name}.managedhsm.localhost`.
pub fn hsm_client(server: &trent::Server, name: &str) -> KeyClient {
    let host = format!("{name}.managedhsm.localhost");
    let port = server.keyvault_tls_addr().expect("https listener").port();
    key_client_for(server, &format!("https://{host}:{port}"), &[&host])
}

/// A `CertificateClient` for the default vault over HTTPS (challenge resource verification off, as for keys).
#[allow(dead_code)]
pub fn certificate_client(server: &trent::Server) -> azure_security_keyvault_certificates::CertificateClient {
    use azure_security_keyvault_certificates::{CertificateClient, CertificateClientOptions};
    let options = CertificateClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(https_client(server, &[])))),
            ..Default::default()
        },
        verify_challenge_resource: Some(false),
        ..Default::default()
    };
    CertificateClient::new(
        &server.keyvault_tls_endpoint(),
        Arc::new(FakeCredential::default()),
        Some(options),
    )
    .expect("client")
}

/// A `SecretClient` for `endpoint` (`https://localhost:port`), trusting only `ca_pem` (for a trent binary, whose
/// CA is read from its file). It retries as the SDK does by default (500, 503, 429, …), three times, but 50 ms
/// apart instead of seconds, so tests of failing disks stay quick.
pub fn secret_client_at(endpoint: &str, ca_pem: &str) -> SecretClient {
    let ca = reqwest013::Certificate::from_pem(ca_pem.as_bytes()).expect("CA parses");
    let http = reqwest013::Client::builder()
        .tls_certs_only([ca])
        .build()
        .expect("client builds");
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            retry: RetryOptions::fixed(FixedRetryOptions {
                delay: Duration::milliseconds(50),
                max_retries: 3,
                max_total_elapsed: Duration::seconds(10),
            }),
            ..Default::default()
        },
        verify_challenge_resource: Some(false),
        ..Default::default()
    };
    SecretClient::new(endpoint, Arc::new(FakeCredential::default()), Some(options)).expect("client")
}

/// A `SecretClient` for the default vault of an in-process server.
pub fn secret_client(server: &trent::Server) -> SecretClient {
    secret_client_at(
        &server.keyvault_tls_endpoint(),
        &server.ca_certificate_pem().expect("generated CA"),
    )
}

/// (HTTP status, error code, message) of a failed SDK call.
pub fn http_error<T: std::fmt::Debug>(result: azure_core::Result<T>) -> (u16, String, String) {
    let err = result.expect_err("the call should fail");
    match err.kind() {
        ErrorKind::HttpResponse { status, error_code, .. } => (
            u16::from(*status),
            error_code.clone().unwrap_or_default(),
            err.to_string(),
        ),
        other => panic!("expected an HTTP error, got {other:?}: {err}"),
    }
}
