//! Custom key stores through the official Rust SDK: the create/describe/update/connect/disconnect/delete state
//! machine of external key stores, the AWS errors for what would need a CloudHSM cluster, a VPC endpoint service
//! or a reachable XKS proxy, and CreateKey / GenerateRandom naming a custom key store.

mod common;

use aws_sdk_kms::types::{
    ConnectionErrorCodeType, ConnectionStateType, CustomKeyStoreType, OriginType, XksProxyAuthenticationCredentialType,
    XksProxyConnectivityType,
};
use aws_sdk_kms::Client;
use common::{client_in, client_with, code, error, server, setup, unique};

const SECRET: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn credential() -> XksProxyAuthenticationCredentialType {
    XksProxyAuthenticationCredentialType::builder()
        .access_key_id("ABCDEFGHIJKLMNOPQRST")
        .raw_secret_access_key(SECRET)
        .build()
        .unwrap()
}

/// Creates an external key store with a public endpoint; returns its id.
async fn xks(kms: &Client, name: &str, endpoint: &str) -> String {
    kms.create_custom_key_store()
        .custom_key_store_name(name)
        .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
        .xks_proxy_uri_endpoint(endpoint)
        .xks_proxy_uri_path("/kms/xks/v1")
        .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
        .xks_proxy_authentication_credential(credential())
        .send()
        .await
        .expect("CreateCustomKeyStore")
        .custom_key_store_id
        .expect("CustomKeyStoreId")
}

async fn state_of(kms: &Client, id: &str) -> (ConnectionStateType, Option<ConnectionErrorCodeType>) {
    let out = kms
        .describe_custom_key_stores()
        .custom_key_store_id(id)
        .send()
        .await
        .expect("DescribeCustomKeyStores");
    let store = out.custom_key_stores.unwrap().into_iter().next().unwrap();
    (store.connection_state.unwrap(), store.connection_error_code)
}

#[tokio::test]
async fn an_external_key_store_is_created_disconnected_and_described() {
    let (_server, kms) = setup().await;
    let name = unique("xks");
    let id = xks(&kms, &name, "https://xks.example.com").await;
    assert!(id.starts_with("cks-"), "{id}");
    assert_eq!(id.len(), 21);
    assert!(id[4..].chars().all(|c| c.is_ascii_hexdigit()));

    let out = kms.describe_custom_key_stores().send().await.unwrap();
    assert!(!out.truncated);
    let stores = out.custom_key_stores.unwrap();
    assert_eq!(stores.len(), 1);
    let store = &stores[0];
    assert_eq!(store.custom_key_store_id.as_deref(), Some(id.as_str()));
    assert_eq!(store.custom_key_store_name.as_deref(), Some(name.as_str()));
    assert_eq!(store.custom_key_store_type, Some(CustomKeyStoreType::ExternalKeyStore));
    assert_eq!(store.connection_state, Some(ConnectionStateType::Disconnected));
    assert!(store.connection_error_code.is_none());
    assert!(store.creation_date.is_some());
    assert!(store.cloud_hsm_cluster_id.is_none());
    let proxy = store.xks_proxy_configuration.as_ref().unwrap();
    assert_eq!(proxy.connectivity, Some(XksProxyConnectivityType::PublicEndpoint));
    assert_eq!(proxy.access_key_id.as_deref(), Some("ABCDEFGHIJKLMNOPQRST"));
    assert_eq!(proxy.uri_endpoint.as_deref(), Some("https://xks.example.com"));
    assert_eq!(proxy.uri_path.as_deref(), Some("/kms/xks/v1"));
    assert!(proxy.vpc_endpoint_service_name.is_none());

    // By name too.
    let by_name = kms
        .describe_custom_key_stores()
        .custom_key_store_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_name.custom_key_stores.unwrap()[0].custom_key_store_id.as_deref(),
        Some(id.as_str())
    );
    // Per account and region.
    let eu = client_in(&_server, "eu-west-1");
    assert!(eu
        .describe_custom_key_stores()
        .send()
        .await
        .unwrap()
        .custom_key_stores
        .unwrap_or_default()
        .is_empty());
    assert_eq!(
        code(eu.describe_custom_key_stores().custom_key_store_id(&id).send().await),
        "CustomKeyStoreNotFoundException"
    );
    let other_account = client_with(&_server, "us-east-1", "111122223333");
    assert_eq!(
        code(
            other_account
                .connect_custom_key_store()
                .custom_key_store_id(&id)
                .send()
                .await
        ),
        "CustomKeyStoreNotFoundException"
    );
}

#[tokio::test]
async fn connecting_fails_because_no_proxy_is_reachable_and_disconnect_resets() {
    let server = server().await;
    let kms = client_in(&server, "us-east-1");
    let id = xks(&kms, &unique("xks"), "https://proxy.example.com").await;

    kms.connect_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(state_of(&kms, &id).await, (ConnectionStateType::Connecting, None));
    // Connecting again while an attempt runs is accepted.
    kms.connect_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    // No key can be created while it is not connected.
    let (c, _) = error(
        kms.create_key()
            .origin(OriginType::ExternalKeyStore)
            .custom_key_store_id(&id)
            .xks_key_id("key-1")
            .send()
            .await,
    );
    assert_eq!(c, "CustomKeyStoreInvalidStateException");

    server.clock().advance_ms(2_000);
    assert_eq!(
        state_of(&kms, &id).await,
        (
            ConnectionStateType::Failed,
            Some(ConnectionErrorCodeType::XksProxyNotReachable)
        )
    );
    // A failed store must be disconnected before it is connected again, updated or deleted.
    for result in [
        code(kms.connect_custom_key_store().custom_key_store_id(&id).send().await),
        code(
            kms.update_custom_key_store()
                .custom_key_store_id(&id)
                .new_custom_key_store_name(unique("renamed"))
                .send()
                .await,
        ),
        code(kms.delete_custom_key_store().custom_key_store_id(&id).send().await),
    ] {
        assert_eq!(result, "CustomKeyStoreInvalidStateException");
    }
    kms.disconnect_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(state_of(&kms, &id).await, (ConnectionStateType::Disconnected, None));
    assert_eq!(
        code(kms.disconnect_custom_key_store().custom_key_store_id(&id).send().await),
        "CustomKeyStoreInvalidStateException"
    );
    // A store that is connecting can be disconnected too.
    kms.connect_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    kms.disconnect_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(state_of(&kms, &id).await.0, ConnectionStateType::Disconnected);
    // Nothing settles later: a disconnected store stays disconnected.
    server.clock().advance_ms(10_000);
    assert_eq!(state_of(&kms, &id).await.0, ConnectionStateType::Disconnected);
}

#[tokio::test]
async fn update_and_delete_need_a_disconnected_store() {
    let (_server, kms) = setup().await;
    let first = unique("first");
    let id = xks(&kms, &first, "https://a.example.com").await;
    let second = unique("second");
    let other = xks(&kms, &second, "https://b.example.com").await;

    let renamed = unique("renamed");
    kms.update_custom_key_store()
        .custom_key_store_id(&id)
        .new_custom_key_store_name(&renamed)
        .xks_proxy_uri_path("/prefix/kms/xks/v2")
        .xks_proxy_authentication_credential(
            XksProxyAuthenticationCredentialType::builder()
                .access_key_id("ZYXWVUTSRQPONMLKJIHG")
                .raw_secret_access_key(SECRET)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let store = kms
        .describe_custom_key_stores()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap()
        .custom_key_stores
        .unwrap()
        .remove(0);
    assert_eq!(store.custom_key_store_name.as_deref(), Some(renamed.as_str()));
    let proxy = store.xks_proxy_configuration.unwrap();
    assert_eq!(proxy.uri_path.as_deref(), Some("/prefix/kms/xks/v2"));
    assert_eq!(proxy.access_key_id.as_deref(), Some("ZYXWVUTSRQPONMLKJIHG"));
    assert_eq!(proxy.uri_endpoint.as_deref(), Some("https://a.example.com"));

    assert_eq!(
        code(
            kms.update_custom_key_store()
                .custom_key_store_id(&id)
                .new_custom_key_store_name(&second)
                .send()
                .await
        ),
        "CustomKeyStoreNameInUseException"
    );
    // Moving onto another store's proxy URI.
    assert_eq!(
        code(
            kms.update_custom_key_store()
                .custom_key_store_id(&other)
                .xks_proxy_uri_endpoint("https://a.example.com")
                .xks_proxy_uri_path("/prefix/kms/xks/v2")
                .send()
                .await
        ),
        "XksProxyUriInUseException"
    );
    assert_eq!(
        code(
            kms.update_custom_key_store()
                .custom_key_store_id(&id)
                .cloud_hsm_cluster_id("cluster-234567abcdefg")
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.update_custom_key_store()
                .custom_key_store_id("cks-1234567890abcdef0")
                .new_custom_key_store_name("x")
                .send()
                .await
        ),
        "CustomKeyStoreNotFoundException"
    );

    kms.delete_custom_key_store()
        .custom_key_store_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(kms.describe_custom_key_stores().custom_key_store_id(&id).send().await),
        "CustomKeyStoreNotFoundException"
    );
    assert_eq!(
        code(kms.delete_custom_key_store().custom_key_store_id(&id).send().await),
        "CustomKeyStoreNotFoundException"
    );
    // Its name and URI are free again.
    xks(&kms, &renamed, "https://a.example.com").await;
}

#[tokio::test]
async fn create_custom_key_store_checks_parameters_as_aws_does() {
    let (_server, kms) = setup().await;
    // CloudHSM key stores need a cluster, which does not exist here.
    let (c, m) = error(
        kms.create_custom_key_store()
            .custom_key_store_name(unique("hsm"))
            .cloud_hsm_cluster_id("cluster-234567abcdefg")
            .trust_anchor_certificate("-----BEGIN CERTIFICATE-----")
            .key_store_password("password")
            .send()
            .await,
    );
    assert_eq!(c, "CloudHsmClusterNotFoundException");
    assert!(m.contains("cluster-234567abcdefg"), "{m}");
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name(unique("hsm"))
                .cloud_hsm_cluster_id("cluster-234567abcdefg")
                .send()
                .await
        ),
        "ValidationException",
        "TrustAnchorCertificate and KeyStorePassword are required"
    );

    let name = unique("xks");
    xks(&kms, &name, "https://one.example.com").await;
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name(&name)
                .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
                .xks_proxy_uri_endpoint("https://two.example.com")
                .xks_proxy_uri_path("/kms/xks/v1")
                .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
                .xks_proxy_authentication_credential(credential())
                .send()
                .await
        ),
        "CustomKeyStoreNameInUseException"
    );
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name(unique("xks"))
                .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
                .xks_proxy_uri_endpoint("https://one.example.com")
                .xks_proxy_uri_path("/kms/xks/v1")
                .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
                .xks_proxy_authentication_credential(credential())
                .send()
                .await
        ),
        "XksProxyUriInUseException"
    );
    // The same endpoint under another path is another proxy API.
    kms.create_custom_key_store()
        .custom_key_store_name(unique("xks"))
        .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
        .xks_proxy_uri_endpoint("https://one.example.com")
        .xks_proxy_uri_path("/tenant/kms/xks/v1")
        .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
        .xks_proxy_authentication_credential(credential())
        .send()
        .await
        .unwrap();
    // The model's patterns: an http endpoint, a path without /kms/xks/vN, a short secret.
    for bad in [
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("http://plain.example.com")
            .xks_proxy_uri_path("/kms/xks/v1")
            .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
            .xks_proxy_authentication_credential(credential()),
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("https://path.example.com")
            .xks_proxy_uri_path("/somewhere/else")
            .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
            .xks_proxy_authentication_credential(credential()),
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("https://secret.example.com")
            .xks_proxy_uri_path("/kms/xks/v1")
            .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
            .xks_proxy_authentication_credential(
                XksProxyAuthenticationCredentialType::builder()
                    .access_key_id("ABCDEFGHIJKLMNOPQRST")
                    .raw_secret_access_key("short")
                    .build()
                    .unwrap(),
            ),
        // Missing connectivity and credential.
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("https://missing.example.com")
            .xks_proxy_uri_path("/kms/xks/v1"),
        // A VPC endpoint service name with public connectivity.
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("https://mixed.example.com")
            .xks_proxy_uri_path("/kms/xks/v1")
            .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
            .xks_proxy_vpc_endpoint_service_name("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
            .xks_proxy_authentication_credential(credential()),
        // CloudHSM parameters on an external key store.
        kms.create_custom_key_store()
            .custom_key_store_name(unique("xks"))
            .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
            .xks_proxy_uri_endpoint("https://hsm.example.com")
            .xks_proxy_uri_path("/kms/xks/v1")
            .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
            .xks_proxy_authentication_credential(credential())
            .key_store_password("password"),
    ] {
        assert_eq!(code(bad.send().await), "ValidationException");
    }
    // VPC connectivity needs a VPC endpoint service, which does not exist here.
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name(unique("xks"))
                .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
                .xks_proxy_uri_endpoint("https://private.example.com")
                .xks_proxy_uri_path("/kms/xks/v1")
                .xks_proxy_connectivity(XksProxyConnectivityType::VpcEndpointService)
                .xks_proxy_vpc_endpoint_service_name("com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
                .xks_proxy_authentication_credential(credential())
                .send()
                .await
        ),
        "XksProxyVpcEndpointServiceNotFoundException"
    );
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name(unique("xks"))
                .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
                .xks_proxy_uri_endpoint("https://private.example.com")
                .xks_proxy_uri_path("/kms/xks/v1")
                .xks_proxy_connectivity(XksProxyConnectivityType::VpcEndpointService)
                .xks_proxy_authentication_credential(credential())
                .send()
                .await
        ),
        "ValidationException"
    );
    // None of the failures created a store.
    let stores = kms
        .describe_custom_key_stores()
        .send()
        .await
        .unwrap()
        .custom_key_stores
        .unwrap();
    assert_eq!(stores.len(), 2);
}

#[tokio::test]
async fn describe_pages_with_limit_and_marker() {
    let (_server, kms) = setup().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(xks(&kms, &unique("page"), &format!("https://p{i}.example.com")).await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = kms
            .describe_custom_key_stores()
            .limit(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        let page = out.custom_key_stores.unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.into_iter().filter_map(|s| s.custom_key_store_id));
        assert_eq!(out.truncated, out.next_marker.is_some());
        marker = out.next_marker;
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(
        code(kms.describe_custom_key_stores().marker("garbage").send().await),
        "InvalidMarkerException"
    );
    assert_eq!(
        code(
            kms.describe_custom_key_stores()
                .custom_key_store_name("no such store")
                .send()
                .await
        ),
        "CustomKeyStoreNotFoundException"
    );
    assert_eq!(
        code(
            kms.describe_custom_key_stores()
                .custom_key_store_id(&ids[0])
                .custom_key_store_name("both")
                .send()
                .await
        ),
        "ValidationException"
    );
}

#[tokio::test]
async fn create_key_and_generate_random_in_a_custom_key_store() {
    let (_server, kms) = setup().await;
    let id = xks(&kms, &unique("xks"), "https://keys.example.com").await;
    let create = |origin: Option<OriginType>, store: Option<&str>, xks_key: Option<&str>| {
        kms.create_key()
            .set_origin(origin)
            .set_custom_key_store_id(store.map(str::to_string))
            .set_xks_key_id(xks_key.map(str::to_string))
            .send()
    };
    assert_eq!(
        code(
            create(
                Some(OriginType::ExternalKeyStore),
                Some("cks-1234567890abcdef0"),
                Some("k")
            )
            .await
        ),
        "CustomKeyStoreNotFoundException"
    );
    let (c, m) = error(create(Some(OriginType::ExternalKeyStore), Some(&id), Some("k")).await);
    assert_eq!(c, "CustomKeyStoreInvalidStateException");
    assert!(m.contains(&id), "{m}");
    // Origin and store must agree; an external key needs its XksKeyId; a store needs a custom origin.
    assert_eq!(
        code(create(Some(OriginType::AwsCloudhsm), Some(&id), None).await),
        "ValidationException"
    );
    assert_eq!(
        code(create(Some(OriginType::ExternalKeyStore), Some(&id), None).await),
        "ValidationException"
    );
    assert_eq!(code(create(None, Some(&id), None).await), "ValidationException");
    assert_eq!(
        code(create(Some(OriginType::ExternalKeyStore), None, Some("k")).await),
        "ValidationException"
    );
    assert_eq!(
        code(
            kms.create_key()
                .origin(OriginType::ExternalKeyStore)
                .custom_key_store_id(&id)
                .xks_key_id("k")
                .multi_region(true)
                .send()
                .await
        ),
        "UnsupportedOperationException"
    );
    // Nothing was created.
    assert!(kms
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys
        .unwrap_or_default()
        .is_empty());

    assert_eq!(
        code(
            kms.generate_random()
                .number_of_bytes(8)
                .custom_key_store_id(&id)
                .send()
                .await
        ),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(
            kms.generate_random()
                .number_of_bytes(8)
                .custom_key_store_id("cks-1234567890abcdef0")
                .send()
                .await
        ),
        "CustomKeyStoreNotFoundException"
    );
}

#[tokio::test]
async fn custom_key_stores_survive_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(unique("trent-cks-data"));
    let config = || trent::Config {
        data_dir: Some(dir.clone()),
        ..trent::Config::ephemeral()
    };
    let server = trent::Server::start(config()).await.unwrap();
    let kms = client_in(&server, "us-east-1");
    let kept = xks(&kms, "kept", "https://kept.example.com").await;
    let failed = xks(&kms, "failed", "https://failed.example.com").await;
    kms.connect_custom_key_store()
        .custom_key_store_id(&failed)
        .send()
        .await
        .unwrap();
    let gone = xks(&kms, "gone", "https://gone.example.com").await;
    kms.delete_custom_key_store()
        .custom_key_store_id(&gone)
        .send()
        .await
        .unwrap();
    server.stop().await;

    let server = trent::Server::start(config()).await.unwrap();
    let kms = client_in(&server, "us-east-1");
    let stores = kms
        .describe_custom_key_stores()
        .send()
        .await
        .unwrap()
        .custom_key_stores
        .unwrap();
    let mut ids: Vec<String> = stores.iter().filter_map(|s| s.custom_key_store_id.clone()).collect();
    ids.sort();
    let mut expected = vec![kept.clone(), failed.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    // The attempt started before the restart ends as it would have (the clock is not stored: it is real time).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(state_of(&kms, &failed).await.0, ConnectionStateType::Failed);
    assert_eq!(state_of(&kms, &kept).await.0, ConnectionStateType::Disconnected);
    // Names and URIs are still taken.
    assert_eq!(
        code(
            kms.create_custom_key_store()
                .custom_key_store_name("kept")
                .custom_key_store_type(CustomKeyStoreType::ExternalKeyStore)
                .xks_proxy_uri_endpoint("https://other.example.com")
                .xks_proxy_uri_path("/kms/xks/v1")
                .xks_proxy_connectivity(XksProxyConnectivityType::PublicEndpoint)
                .xks_proxy_authentication_credential(credential())
                .send()
                .await
        ),
        "CustomKeyStoreNameInUseException"
    );
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
