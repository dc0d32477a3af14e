//! Azure Key Vault secrets through the official Azure SDK for Rust (`azure_security_keyvault_secrets`), over
//! HTTPS, trusting the CA trent generates at start.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, Transport};
use azure_core::time::OffsetDateTime;
use azure_security_keyvault_secrets::models::{
    RestoreSecretParameters, SecretAttributes, SecretClientGetSecretOptions, SecretClientListSecretPropertiesOptions,
    SecretClientListSecretPropertiesVersionsOptions, SetSecretParameters, UpdateSecretPropertiesParameters,
};
use azure_security_keyvault_secrets::{ResourceExt, SecretClient, SecretClientOptions};
use common::keyvault::{https_client, FakeCredential};
use futures::TryStreamExt;

async fn start() -> trent::Server {
    trent::Server::start(trent::Config::ephemeral())
        .await
        .expect("server starts")
}

fn sdk_client(
    server: &trent::Server,
    endpoint: &str,
    verify_challenge_resource: bool,
    credential: Arc<FakeCredential>,
    vault_hosts: &[&str],
) -> SecretClient {
    let options = SecretClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(https_client(server, vault_hosts)))),
            ..Default::default()
        },
        verify_challenge_resource: Some(verify_challenge_resource),
        ..Default::default()
    };
    SecretClient::new(endpoint, credential, Some(options)).expect("client")
}

/// The default vault at `https://localhost:port` (a bare host: its challenge resource is the seed's
/// `https://vault.azure.net`, so the SDK's resource verification is turned off, as on a real custom domain).
fn default_client(server: &trent::Server) -> SecretClient {
    sdk_client(
        server,
        &server.keyvault_tls_endpoint(),
        false,
        Arc::new(FakeCredential::default()),
        &[],
    )
}

fn set_params(value: &str) -> SetSecretParameters {
    SetSecretParameters {
        value: Some(value.to_string()),
        ..Default::default()
    }
}

fn status_and_code(err: &azure_core::Error) -> (u16, String) {
    match err.kind() {
        ErrorKind::HttpResponse { status, error_code, .. } => {
            (u16::from(*status), error_code.clone().unwrap_or_default())
        }
        other => panic!("expected an HTTP error, got {other:?}: {err}"),
    }
}

#[tokio::test]
async fn set_get_update_versions() {
    let server = start().await;
    let client = default_client(&server);

    let first = client
        .set_secret(
            "db-password",
            SetSecretParameters {
                value: Some("s3cr3t".into()),
                content_type: Some("text/plain".into()),
                tags: Some(HashMap::from([("env".to_string(), "test".to_string())])),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(first.value.as_deref(), Some("s3cr3t"));
    assert_eq!(first.content_type.as_deref(), Some("text/plain"));
    let id = first.resource_id().unwrap();
    assert_eq!(id.name, "db-password");
    let v1 = id.version.clone().unwrap();
    assert_eq!(v1.len(), 32);
    assert!(v1.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(first
        .id
        .as_deref()
        .unwrap()
        .starts_with(&format!("{}/secrets/db-password/", server.keyvault_tls_endpoint())));
    let attrs = first.attributes.clone().unwrap();
    assert_eq!(attrs.enabled, Some(true));
    assert!(attrs.created.is_some() && attrs.updated.is_some());
    assert_eq!(attrs.recoverable_days, Some(90));
    assert_eq!(
        attrs.recovery_level.map(|l| l.to_string()).as_deref(),
        Some("Recoverable+Purgeable")
    );

    let second = client
        .set_secret("db-password", set_params("n3w").try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let v2 = second.resource_id().unwrap().version.unwrap();
    assert_ne!(v1, v2);

    let latest = client
        .get_secret("db-password", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(latest.value.as_deref(), Some("n3w"));
    let old = client
        .get_secret(
            "db-password",
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(old.value.as_deref(), Some("s3cr3t"));
    assert_eq!(old.tags.unwrap().get("env").map(String::as_str), Some("test"));

    // Update properties of the old version: content type, tags, disable.
    let updated = client
        .update_secret_properties(
            "db-password",
            UpdateSecretPropertiesParameters {
                content_type: Some("application/json".into()),
                tags: Some(HashMap::from([("owner".to_string(), "me".to_string())])),
                secret_attributes: Some(SecretAttributes {
                    enabled: Some(false),
                    ..Default::default()
                }),
            }
            .try_into()
            .unwrap(),
            Some(
                azure_security_keyvault_secrets::models::SecretClientUpdateSecretPropertiesOptions {
                    secret_version: Some(v1.clone()),
                    ..Default::default()
                },
            ),
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(updated.content_type.as_deref(), Some("application/json"));
    assert_eq!(updated.attributes.unwrap().enabled, Some(false));
    assert!(updated.value.is_none(), "update does not return the value");

    // Reading a disabled version: 403 Forbidden.
    let err = client
        .get_secret(
            "db-password",
            Some(SecretClientGetSecretOptions {
                secret_version: Some(v1.clone()),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (403, "Forbidden".to_string()));

    // Versions list holds both.
    let mut versions = Vec::new();
    let mut pager = client.list_secret_properties_versions("db-password", None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        versions.push(item.resource_id().unwrap().version.unwrap());
    }
    versions.sort();
    let mut expected = vec![v1, v2];
    expected.sort();
    assert_eq!(versions, expected);
    server.stop().await;
}

#[tokio::test]
async fn errors_not_found_and_bad_name() {
    let server = start().await;
    let client = default_client(&server);
    let err = client.get_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client
        .get_secret(
            "missing",
            Some(SecretClientGetSecretOptions {
                secret_version: Some("0123456789abcdef0123456789abcdef".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client
        .set_secret("bad_name", set_params("x").try_into().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (400, "BadParameter".to_string()));
    let err = client
        .set_secret("big", set_params(&"x".repeat(25 * 1024 + 1)).try_into().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (400, "BadParameter".to_string()));
    let err = client.delete_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client.backup_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client.get_deleted_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client.purge_deleted_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    let err = client.recover_deleted_secret("missing", None).await.unwrap_err();
    assert_eq!(status_and_code(&err), (404, "SecretNotFound".to_string()));
    server.stop().await;
}

#[tokio::test]
async fn delete_recover_purge_and_conflict() {
    let server = start().await;
    let client = default_client(&server);
    for value in ["one", "two"] {
        client
            .set_secret("doomed", set_params(value).try_into().unwrap(), None)
            .await
            .unwrap();
    }
    let before = server.clock().now_secs();
    let deleted = client
        .delete_secret("doomed", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let deleted_date = deleted.deleted_date.unwrap().unix_timestamp();
    let purge_date = deleted.scheduled_purge_date.unwrap().unix_timestamp();
    assert!((deleted_date - before).abs() <= 2);
    assert_eq!(purge_date - deleted_date, 90 * 86_400);
    assert!(deleted.recovery_id.unwrap().ends_with("/deletedsecrets/doomed"));

    let err = client.get_secret("doomed", None).await.unwrap_err();
    assert_eq!(status_and_code(&err).0, 404);

    // Re-creating a soft-deleted name: 409 Conflict.
    let err = client
        .set_secret("doomed", set_params("three").try_into().unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (409, "Conflict".to_string()));

    let got = client
        .get_deleted_secret("doomed", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(got.resource_id().unwrap().name, "doomed");
    let mut names = Vec::new();
    let mut pager = client.list_deleted_secret_properties(None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        names.push(item.resource_id().unwrap().name);
    }
    assert_eq!(names, vec!["doomed".to_string()]);

    // Recover: every version comes back.
    let recovered = client
        .recover_deleted_secret("doomed", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(recovered.resource_id().unwrap().name, "doomed");
    let latest = client.get_secret("doomed", None).await.unwrap().into_model().unwrap();
    assert_eq!(latest.value.as_deref(), Some("two"));
    let mut count = 0;
    let mut pager = client.list_secret_properties_versions("doomed", None).unwrap();
    while pager.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 2);

    // Delete again and purge: the name is free.
    client.delete_secret("doomed", None).await.unwrap();
    let purged = client.purge_deleted_secret("doomed", None).await.unwrap();
    assert_eq!(u16::from(purged.status()), 204);
    let err = client.get_deleted_secret("doomed", None).await.unwrap_err();
    assert_eq!(status_and_code(&err).0, 404);
    client
        .set_secret("doomed", set_params("reborn").try_into().unwrap(), None)
        .await
        .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn backup_and_restore() {
    let server = start().await;
    let client = default_client(&server);
    for value in ["v1", "v2", "v3"] {
        client
            .set_secret("precious", set_params(value).try_into().unwrap(), None)
            .await
            .unwrap();
    }
    let backup = client
        .backup_secret("precious", None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let blob = backup.value.unwrap();
    assert!(!blob.is_empty());

    // Restoring over a live secret: 409.
    let err = client
        .restore_secret(
            RestoreSecretParameters {
                secret_backup: Some(blob.clone()),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (409, "Conflict".to_string()));

    // Restoring over a soft-deleted one: 409 too.
    client.delete_secret("precious", None).await.unwrap();
    let err = client
        .restore_secret(
            RestoreSecretParameters {
                secret_backup: Some(blob.clone()),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (409, "Conflict".to_string()));

    client.purge_deleted_secret("precious", None).await.unwrap();
    let restored = client
        .restore_secret(
            RestoreSecretParameters {
                secret_backup: Some(blob.clone()),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert_eq!(restored.resource_id().unwrap().name, "precious");
    let latest = client.get_secret("precious", None).await.unwrap().into_model().unwrap();
    assert_eq!(latest.value.as_deref(), Some("v3"));
    let mut count = 0;
    let mut pager = client.list_secret_properties_versions("precious", None).unwrap();
    while pager.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 3);

    // A corrupted blob: 400.
    let mut bad = blob.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    client.delete_secret("precious", None).await.unwrap();
    client.purge_deleted_secret("precious", None).await.unwrap();
    let err = client
        .restore_secret(
            RestoreSecretParameters {
                secret_backup: Some(bad),
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err), (400, "BadParameter".to_string()));
    server.stop().await;
}

#[tokio::test]
async fn paging_over_many_secrets() {
    let server = start().await;
    let client = default_client(&server);
    let n = 57;
    for i in 0..n {
        client
            .set_secret(&format!("s-{i:03}"), set_params("x").try_into().unwrap(), None)
            .await
            .unwrap();
    }
    // Default page size (25): 3 pages.
    let mut names = Vec::new();
    let mut pager = client.list_secret_properties(None).unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        names.push(item.resource_id().unwrap().name);
    }
    let expected: Vec<String> = (0..n).map(|i| format!("s-{i:03}")).collect();
    assert_eq!(names, expected);

    // maxresults 10: same items.
    let mut names = Vec::new();
    let mut pager = client
        .list_secret_properties(Some(SecretClientListSecretPropertiesOptions {
            maxresults: Some(10),
            ..Default::default()
        }))
        .unwrap();
    while let Some(item) = pager.try_next().await.unwrap() {
        names.push(item.resource_id().unwrap().name);
    }
    assert_eq!(names, expected);

    // Versions paged too.
    for i in 0..30 {
        client
            .set_secret("many", set_params(&i.to_string()).try_into().unwrap(), None)
            .await
            .unwrap();
    }
    let mut count = 0;
    let mut pager = client
        .list_secret_properties_versions(
            "many",
            Some(SecretClientListSecretPropertiesVersionsOptions {
                maxresults: Some(7),
                ..Default::default()
            }),
        )
        .unwrap();
    while pager.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 30);
    server.stop().await;
}

#[tokio::test]
async fn vault_host_passes_challenge_verification() {
    let server = start().await;
    let port = server.keyvault_tls_addr().unwrap().port();
    let credential = Arc::new(FakeCredential::default());
    // Verification on (the SDK default): resource https://localhost:port matches myvault.localhost.
    let client = sdk_client(
        &server,
        &format!("https://myvault.localhost:{port}"),
        true,
        credential.clone(),
        &["myvault.localhost"],
    );
    let secret = client
        .set_secret("in-myvault", set_params("mine").try_into().unwrap(), None)
        .await
        .unwrap()
        .into_model()
        .unwrap();
    assert!(secret
        .id
        .unwrap()
        .starts_with(&format!("https://myvault.localhost:{port}/secrets/in-myvault/")));
    assert_eq!(
        credential.scopes.lock().unwrap().clone(),
        vec![format!("https://localhost:{port}/.default")]
    );
    // The default vault does not see it.
    let err = default_client(&server)
        .get_secret("in-myvault", None)
        .await
        .unwrap_err();
    assert_eq!(status_and_code(&err).0, 404);
    server.stop().await;
}

#[tokio::test]
async fn bare_host_with_verification_is_refused_by_the_sdk() {
    // The seed's challenge names https://vault.azure.net: the SDK refuses it for localhost unless told not to
    // verify — which is why vault hosts advertise a matching resource.
    let server = start().await;
    let client = sdk_client(
        &server,
        &server.keyvault_tls_endpoint(),
        true,
        Arc::new(FakeCredential::default()),
        &[],
    );
    let err = client.get_secret("x", None).await.unwrap_err();
    assert!(
        err.to_string().contains("match") || format!("{err:?}").contains("match"),
        "{err:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn timestamps_follow_the_server_clock_and_retention_ends() {
    let server = start().await;
    let client = default_client(&server);
    let nbf = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
    let exp = OffsetDateTime::from_unix_timestamp(1_950_000_000).unwrap();
    server.clock().set_ms(1_800_000_000_000);
    let secret = client
        .set_secret(
            "timed",
            SetSecretParameters {
                value: Some("t".into()),
                secret_attributes: Some(SecretAttributes {
                    not_before: Some(nbf),
                    expires: Some(exp),
                    ..Default::default()
                }),
                ..Default::default()
            }
            .try_into()
            .unwrap(),
            None,
        )
        .await
        .unwrap()
        .into_model()
        .unwrap();
    let attrs = secret.attributes.unwrap();
    assert_eq!(attrs.not_before, Some(nbf));
    assert_eq!(attrs.expires, Some(exp));
    assert_eq!(attrs.created.unwrap().unix_timestamp(), 1_800_000_000);

    let deleted = client.delete_secret("timed", None).await.unwrap().into_model().unwrap();
    assert_eq!(deleted.deleted_date.unwrap().unix_timestamp(), 1_800_000_000);
    // 89 days later it is still recoverable; after 90 it is gone and the name is free.
    server.clock().advance_ms(89 * 86_400_000);
    client.get_deleted_secret("timed", None).await.unwrap();
    server.clock().advance_ms(86_400_000);
    let err = client.get_deleted_secret("timed", None).await.unwrap_err();
    assert_eq!(status_and_code(&err).0, 404);
    client
        .set_secret("timed", set_params("again").try_into().unwrap(), None)
        .await
        .unwrap();
    server.stop().await;
}
