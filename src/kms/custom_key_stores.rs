//! Custom key stores: CreateCustomKeyStore, DescribeCustomKeyStores, UpdateCustomKeyStore,
//! ConnectCustomKeyStore, DisconnectCustomKeyStore, DeleteCustomKeyStore — and the checks CreateKey and
//! GenerateRandom make when a request names a custom key store.
//!
//! trent emulates the observable state machine, never the work that needs hardware or a proxy it cannot have:
//! - An AWS CloudHSM key store needs a CloudHSM cluster, and none exists here: creating one fails the way AWS
//!   fails for a missing cluster (CloudHsmClusterNotFoundException), after the request's own checks.
//! - An external key store (XKS) is created as AWS creates it — parameters checked, DISCONNECTED — but trent has
//!   no XKS proxy client: ConnectCustomKeyStore starts an attempt (CONNECTING) that ends, on the server clock
//!   [`CONNECT_ATTEMPT_MS`] later, in FAILED with `XKS_PROXY_NOT_REACHABLE`. A store therefore never becomes
//!   CONNECTED, so CreateKey in it answers CustomKeyStoreInvalidStateException, as AWS does for a store that is not
//!   connected. Stores with VPC_ENDPOINT_SERVICE connectivity need a VPC endpoint service, which cannot exist here
//!   either (XksProxyVpcEndpointServiceNotFoundException).
//!
//! Stores live per account and region in [`RegionStore::custom_key_stores`](super::state::RegionStore), keyed by
//! id (`cks-` + 17 hex digits).

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{paging, RegionStore, Scope};
use super::{epoch_secs, request, response, Kms};

/// How long a connection attempt stays CONNECTING (server clock) before it is seen to fail.
pub const CONNECT_ATTEMPT_MS: i64 = 1_000;

/// AWS's `ConnectionStateType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionState {
    Connected,
    Connecting,
    Failed,
    Disconnected,
    Disconnecting,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Connected => "CONNECTED",
            ConnectionState::Connecting => "CONNECTING",
            ConnectionState::Failed => "FAILED",
            ConnectionState::Disconnected => "DISCONNECTED",
            ConnectionState::Disconnecting => "DISCONNECTING",
        }
    }
}

/// The external key store proxy settings of an XKS store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XksProxy {
    pub connectivity: String,
    pub uri_endpoint: String,
    pub uri_path: String,
    pub vpc_endpoint_service_name: Option<String>,
    pub vpc_endpoint_service_owner: Option<String>,
    pub access_key_id: String,
    /// Kept because AWS keeps it (to sign proxy requests); never returned by any operation.
    pub raw_secret_access_key: String,
}

/// One custom key store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomKeyStoreRecord {
    pub id: String,
    pub name: String,
    /// `EXTERNAL_KEY_STORE` (an `AWS_CLOUDHSM` store cannot be created without a cluster).
    pub store_type: String,
    pub creation_ms: i64,
    pub connection_state: ConnectionState,
    pub connection_error_code: Option<String>,
    /// When the current connection attempt started (CONNECTING only).
    #[serde(default)]
    pub connect_started_ms: Option<i64>,
    pub xks: Option<XksProxy>,
}

impl CustomKeyStoreRecord {
    /// The state as of `now_ms`: a connection attempt that has run its course has failed.
    fn settled(&self, now_ms: i64) -> (ConnectionState, Option<String>) {
        match (self.connection_state, self.connect_started_ms) {
            (ConnectionState::Connecting, Some(started)) if now_ms >= started + CONNECT_ATTEMPT_MS => {
                (ConnectionState::Failed, Some("XKS_PROXY_NOT_REACHABLE".to_string()))
            }
            (state, _) => (state, self.connection_error_code.clone()),
        }
    }
}

/// Brings the stored state of `id` up to `now_ms` (touching the record only when it changes).
fn settle(region: &mut RegionStore, id: &str, now_ms: i64) {
    let Some(store) = region.custom_key_stores.get(id) else {
        return;
    };
    let (state, code) = store.settled(now_ms);
    if state != store.connection_state {
        if let Some(store) = region.custom_key_stores.get_mut(id) {
            store.connection_state = state;
            store.connection_error_code = code;
            store.connect_started_ms = None;
        }
    }
}

fn not_found(id: &str) -> KmsError {
    KmsError::CustomKeyStoreNotFound(format!("Custom key store {id} does not exist."))
}

/// The store `id` of the region, settled as of `now_ms`.
fn store_mut<'a>(region: &'a mut RegionStore, id: &str, now_ms: i64) -> Result<&'a mut CustomKeyStoreRecord, KmsError> {
    settle(region, id, now_ms);
    region.custom_key_stores.get_mut(id).ok_or_else(|| not_found(id))
}

fn new_id() -> String {
    let hex: String = crate::crypto::random_bytes(9)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("cks-{}", &hex[..17])
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Credential {
    access_key_id: String,
    raw_secret_access_key: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateCustomKeyStoreRequest {
    custom_key_store_name: String,
    custom_key_store_type: Option<String>,
    cloud_hsm_cluster_id: Option<String>,
    trust_anchor_certificate: Option<String>,
    key_store_password: Option<String>,
    xks_proxy_uri_endpoint: Option<String>,
    xks_proxy_uri_path: Option<String>,
    xks_proxy_vpc_endpoint_service_name: Option<String>,
    xks_proxy_vpc_endpoint_service_owner: Option<String>,
    xks_proxy_authentication_credential: Option<Credential>,
    xks_proxy_connectivity: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateCustomKeyStoreResponse {
    custom_key_store_id: String,
}

fn require<'a>(value: &'a Option<String>, name: &str, store_type: &str) -> Result<&'a str, KmsError> {
    value.as_deref().ok_or_else(|| {
        KmsError::Validation(format!(
            "{name} is required for a custom key store of type {store_type}."
        ))
    })
}

fn refuse(present: bool, name: &str, store_type: &str) -> Result<(), KmsError> {
    if present {
        return Err(KmsError::Validation(format!(
            "{name} is not valid for a custom key store of type {store_type}."
        )));
    }
    Ok(())
}

fn name_in_use(region: &RegionStore, name: &str, except: Option<&str>) -> Result<(), KmsError> {
    if region
        .custom_key_stores
        .values()
        .any(|s| s.name == name && Some(s.id.as_str()) != except)
    {
        return Err(KmsError::CustomKeyStoreNameInUse(format!(
            "A custom key store with name {name} already exists in this account and Region."
        )));
    }
    Ok(())
}

/// Checks an XKS proxy configuration against the region's other stores and what trent can offer.
fn check_proxy(region: &RegionStore, proxy: &XksProxy, except: Option<&str>) -> Result<(), KmsError> {
    match proxy.connectivity.as_str() {
        "PUBLIC_ENDPOINT" => {
            refuse(
                proxy.vpc_endpoint_service_name.is_some(),
                "XksProxyVpcEndpointServiceName",
                "EXTERNAL_KEY_STORE with PUBLIC_ENDPOINT connectivity",
            )?;
            refuse(
                proxy.vpc_endpoint_service_owner.is_some(),
                "XksProxyVpcEndpointServiceOwner",
                "EXTERNAL_KEY_STORE with PUBLIC_ENDPOINT connectivity",
            )?;
        }
        _ => {
            let Some(service) = &proxy.vpc_endpoint_service_name else {
                return Err(KmsError::Validation(
                    "XksProxyVpcEndpointServiceName is required when XksProxyConnectivity is VPC_ENDPOINT_SERVICE."
                        .into(),
                ));
            };
            // No VPC endpoint service exists in trent.
            return Err(KmsError::XksProxyVpcEndpointServiceNotFound(format!(
                "The VPC endpoint service {service} was not found."
            )));
        }
    }
    let clash = region.custom_key_stores.values().find(|s| {
        Some(s.id.as_str()) != except
            && s.xks
                .as_ref()
                .is_some_and(|x| x.uri_endpoint == proxy.uri_endpoint && x.uri_path == proxy.uri_path)
    });
    if let Some(other) = clash {
        return Err(KmsError::XksProxyUriInUse(format!(
            "The external key store proxy URI {}{} is already used by the custom key store {}.",
            proxy.uri_endpoint, proxy.uri_path, other.id
        )));
    }
    Ok(())
}

pub fn create_custom_key_store(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CreateCustomKeyStoreRequest = request(input)?;
    let store_type = req.custom_key_store_type.as_deref().unwrap_or("AWS_CLOUDHSM");
    let now = kms.now_ms();
    if store_type == "AWS_CLOUDHSM" {
        let cluster = require(&req.cloud_hsm_cluster_id, "CloudHsmClusterId", store_type)?;
        require(&req.trust_anchor_certificate, "TrustAnchorCertificate", store_type)?;
        require(&req.key_store_password, "KeyStorePassword", store_type)?;
        for (present, name) in [
            (req.xks_proxy_uri_endpoint.is_some(), "XksProxyUriEndpoint"),
            (req.xks_proxy_uri_path.is_some(), "XksProxyUriPath"),
            (req.xks_proxy_connectivity.is_some(), "XksProxyConnectivity"),
            (
                req.xks_proxy_authentication_credential.is_some(),
                "XksProxyAuthenticationCredential",
            ),
            (
                req.xks_proxy_vpc_endpoint_service_name.is_some(),
                "XksProxyVpcEndpointServiceName",
            ),
            (
                req.xks_proxy_vpc_endpoint_service_owner.is_some(),
                "XksProxyVpcEndpointServiceOwner",
            ),
        ] {
            refuse(present, name, store_type)?;
        }
        name_in_use(kms.lock().region(scope, now), &req.custom_key_store_name, None)?;
        // No CloudHSM cluster exists in trent.
        return Err(KmsError::CloudHsmClusterNotFound(format!(
            "AWS CloudHSM cluster {cluster} was not found."
        )));
    }
    for (present, name) in [
        (req.cloud_hsm_cluster_id.is_some(), "CloudHsmClusterId"),
        (req.trust_anchor_certificate.is_some(), "TrustAnchorCertificate"),
        (req.key_store_password.is_some(), "KeyStorePassword"),
    ] {
        refuse(present, name, store_type)?;
    }
    let endpoint = require(&req.xks_proxy_uri_endpoint, "XksProxyUriEndpoint", store_type)?;
    let path = require(&req.xks_proxy_uri_path, "XksProxyUriPath", store_type)?;
    let connectivity = require(&req.xks_proxy_connectivity, "XksProxyConnectivity", store_type)?;
    let Some(credential) = req.xks_proxy_authentication_credential.clone() else {
        return Err(KmsError::Validation(format!(
            "XksProxyAuthenticationCredential is required for a custom key store of type {store_type}."
        )));
    };
    let proxy = XksProxy {
        connectivity: connectivity.to_string(),
        uri_endpoint: endpoint.to_string(),
        uri_path: path.to_string(),
        vpc_endpoint_service_name: req.xks_proxy_vpc_endpoint_service_name.clone(),
        vpc_endpoint_service_owner: req.xks_proxy_vpc_endpoint_service_owner.clone(),
        access_key_id: credential.access_key_id,
        raw_secret_access_key: credential.raw_secret_access_key,
    };
    let mut store = kms.lock();
    let region = store.region(scope, now);
    name_in_use(region, &req.custom_key_store_name, None)?;
    check_proxy(region, &proxy, None)?;
    let id = new_id();
    region.custom_key_stores.insert(
        id.clone(),
        CustomKeyStoreRecord {
            id: id.clone(),
            name: req.custom_key_store_name,
            store_type: store_type.to_string(),
            creation_ms: now,
            connection_state: ConnectionState::Disconnected,
            connection_error_code: None,
            connect_started_ms: None,
            xks: Some(proxy),
        },
    );
    drop(store);
    response(&CreateCustomKeyStoreResponse {
        custom_key_store_id: id,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeCustomKeyStoresRequest {
    custom_key_store_id: Option<String>,
    custom_key_store_name: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

/// AWS's `XksProxyConfigurationType` (never the secret).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct XksProxyConfiguration {
    access_key_id: String,
    connectivity: String,
    uri_endpoint: String,
    uri_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpc_endpoint_service_owner: Option<String>,
}

/// AWS's `CustomKeyStoresListEntry`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CustomKeyStoresListEntry {
    custom_key_store_id: String,
    custom_key_store_name: String,
    custom_key_store_type: String,
    connection_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_error_code: Option<String>,
    creation_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    xks_proxy_configuration: Option<XksProxyConfiguration>,
}

impl CustomKeyStoresListEntry {
    fn of(store: &CustomKeyStoreRecord, now_ms: i64) -> Self {
        let (state, code) = store.settled(now_ms);
        CustomKeyStoresListEntry {
            custom_key_store_id: store.id.clone(),
            custom_key_store_name: store.name.clone(),
            custom_key_store_type: store.store_type.clone(),
            connection_state: state.as_str(),
            connection_error_code: code.filter(|_| state == ConnectionState::Failed),
            creation_date: epoch_secs(store.creation_ms),
            xks_proxy_configuration: store.xks.as_ref().map(|x| XksProxyConfiguration {
                access_key_id: x.access_key_id.clone(),
                connectivity: x.connectivity.clone(),
                uri_endpoint: x.uri_endpoint.clone(),
                uri_path: x.uri_path.clone(),
                vpc_endpoint_service_name: x.vpc_endpoint_service_name.clone(),
                vpc_endpoint_service_owner: x.vpc_endpoint_service_owner.clone(),
            }),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeCustomKeyStoresResponse {
    custom_key_stores: Vec<CustomKeyStoresListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn describe_custom_key_stores(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: DescribeCustomKeyStoresRequest = request(input)?;
    if req.custom_key_store_id.is_some() && req.custom_key_store_name.is_some() {
        return Err(KmsError::Validation(
            "You can specify either CustomKeyStoreId or CustomKeyStoreName, but not both.".into(),
        ));
    }
    let size = paging::size(req.limit, 1000, 1000);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    if let Some(id) = &req.custom_key_store_id {
        let found = region.custom_key_stores.get(id).ok_or_else(|| not_found(id))?;
        let entry = CustomKeyStoresListEntry::of(found, now);
        drop(store);
        return response(&DescribeCustomKeyStoresResponse {
            custom_key_stores: vec![entry],
            next_marker: None,
            truncated: false,
        });
    }
    if let Some(name) = &req.custom_key_store_name {
        let found = region
            .custom_key_stores
            .values()
            .find(|s| s.name == *name)
            .ok_or_else(|| {
                KmsError::CustomKeyStoreNotFound(format!("Custom key store with name {name} does not exist."))
            })?;
        let entry = CustomKeyStoresListEntry::of(found, now);
        drop(store);
        return response(&DescribeCustomKeyStoresResponse {
            custom_key_stores: vec![entry],
            next_marker: None,
            truncated: false,
        });
    }
    let (custom_key_stores, next_marker) = paging::page(
        region
            .custom_key_stores
            .range((start, Bound::Unbounded))
            .map(|(id, s)| (id, CustomKeyStoresListEntry::of(s, now))),
        size,
    );
    drop(store);
    response(&DescribeCustomKeyStoresResponse {
        custom_key_stores,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CustomKeyStoreIdRequest {
    custom_key_store_id: String,
}

fn invalid_state(store: &CustomKeyStoreRecord, state: ConnectionState, what: &str) -> KmsError {
    KmsError::CustomKeyStoreInvalidState(format!("Custom key store {} is {}. {what}", store.id, state.as_str()))
}

pub fn connect_custom_key_store(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CustomKeyStoreIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let ks = store_mut(store.region(scope, now), &req.custom_key_store_id, now)?;
    match ks.connection_state {
        // Already connecting (or connected): nothing to start, as in AWS.
        ConnectionState::Connecting | ConnectionState::Connected => {}
        ConnectionState::Disconnected => {
            ks.connection_state = ConnectionState::Connecting;
            ks.connection_error_code = None;
            ks.connect_started_ms = Some(now);
        }
        state @ (ConnectionState::Failed | ConnectionState::Disconnecting) => {
            return Err(invalid_state(
                ks,
                state,
                "To connect it again, disconnect it first (DisconnectCustomKeyStore).",
            ));
        }
    }
    Ok(serde_json::json!({}))
}

pub fn disconnect_custom_key_store(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CustomKeyStoreIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let ks = store_mut(store.region(scope, now), &req.custom_key_store_id, now)?;
    match ks.connection_state {
        state @ (ConnectionState::Disconnected | ConnectionState::Disconnecting) => {
            Err(invalid_state(ks, state, "It is not connected."))
        }
        _ => {
            ks.connection_state = ConnectionState::Disconnected;
            ks.connection_error_code = None;
            ks.connect_started_ms = None;
            Ok(serde_json::json!({}))
        }
    }
}

pub fn delete_custom_key_store(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CustomKeyStoreIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    let id = req.custom_key_store_id;
    let ks = store_mut(region, &id, now)?;
    if ks.connection_state != ConnectionState::Disconnected {
        return Err(invalid_state(
            ks,
            ks.connection_state,
            "Disconnect it before deleting it (DisconnectCustomKeyStore).",
        ));
    }
    if region
        .keys
        .values()
        .any(|k| k.custom_key_store_id.as_deref() == Some(id.as_str()))
    {
        return Err(KmsError::CustomKeyStoreHasCmks(format!(
            "Custom key store {id} contains KMS keys. Schedule their deletion and wait for it before deleting \
             the custom key store."
        )));
    }
    region.custom_key_stores.remove(&id);
    Ok(serde_json::json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateCustomKeyStoreRequest {
    custom_key_store_id: String,
    new_custom_key_store_name: Option<String>,
    cloud_hsm_cluster_id: Option<String>,
    key_store_password: Option<String>,
    xks_proxy_uri_endpoint: Option<String>,
    xks_proxy_uri_path: Option<String>,
    xks_proxy_vpc_endpoint_service_name: Option<String>,
    xks_proxy_vpc_endpoint_service_owner: Option<String>,
    xks_proxy_authentication_credential: Option<Credential>,
    xks_proxy_connectivity: Option<String>,
}

pub fn update_custom_key_store(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: UpdateCustomKeyStoreRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    let id = req.custom_key_store_id.clone();
    let ks = store_mut(region, &id, now)?;
    let store_type = ks.store_type.clone();
    if ks.connection_state != ConnectionState::Disconnected {
        return Err(invalid_state(
            ks,
            ks.connection_state,
            "Disconnect it before updating it (DisconnectCustomKeyStore).",
        ));
    }
    refuse(req.cloud_hsm_cluster_id.is_some(), "CloudHsmClusterId", &store_type)?;
    refuse(req.key_store_password.is_some(), "KeyStorePassword", &store_type)?;
    let mut proxy = ks
        .xks
        .clone()
        .ok_or_else(|| KmsError::Internal(format!("custom key store {id} has no proxy configuration")))?;
    if let Some(connectivity) = &req.xks_proxy_connectivity {
        proxy.connectivity = connectivity.clone();
        if connectivity == "PUBLIC_ENDPOINT" && req.xks_proxy_vpc_endpoint_service_name.is_none() {
            proxy.vpc_endpoint_service_name = None;
            proxy.vpc_endpoint_service_owner = None;
        }
    }
    if let Some(endpoint) = &req.xks_proxy_uri_endpoint {
        proxy.uri_endpoint = endpoint.clone();
    }
    if let Some(path) = &req.xks_proxy_uri_path {
        proxy.uri_path = path.clone();
    }
    if let Some(service) = &req.xks_proxy_vpc_endpoint_service_name {
        proxy.vpc_endpoint_service_name = Some(service.clone());
    }
    if let Some(owner) = &req.xks_proxy_vpc_endpoint_service_owner {
        proxy.vpc_endpoint_service_owner = Some(owner.clone());
    }
    if let Some(credential) = &req.xks_proxy_authentication_credential {
        proxy.access_key_id = credential.access_key_id.clone();
        proxy.raw_secret_access_key = credential.raw_secret_access_key.clone();
    }
    if let Some(name) = &req.new_custom_key_store_name {
        name_in_use(region, name, Some(&id))?;
    }
    check_proxy(region, &proxy, Some(&id))?;
    let ks = store_mut(region, &id, now)?;
    if let Some(name) = req.new_custom_key_store_name {
        ks.name = name;
    }
    ks.xks = Some(proxy);
    Ok(serde_json::json!({}))
}

/// True for the origins whose key material lives in a custom key store.
pub fn is_custom_origin(origin: &str) -> bool {
    matches!(origin, "AWS_CLOUDHSM" | "EXTERNAL_KEY_STORE")
}

/// CreateKey's custom key store checks. Ok when the request involves no custom key store (`origin` neither
/// AWS_CLOUDHSM nor EXTERNAL_KEY_STORE, no `CustomKeyStoreId`, no `XksKeyId`); otherwise never Ok in trent (no
/// store can be CONNECTED): the error says why, as AWS would for that request.
pub fn check_create_key(
    kms: &Kms,
    scope: &Scope,
    origin: &str,
    custom_key_store_id: Option<&str>,
    xks_key_id: Option<&str>,
    multi_region: bool,
) -> Result<(), KmsError> {
    if !is_custom_origin(origin) && custom_key_store_id.is_none() && xks_key_id.is_none() {
        return Ok(());
    }
    let expected_type = match origin {
        "AWS_CLOUDHSM" | "EXTERNAL_KEY_STORE" => origin,
        _ => {
            return Err(KmsError::Validation(format!(
                "CustomKeyStoreId requires Origin AWS_CLOUDHSM or EXTERNAL_KEY_STORE, not {origin}."
            )))
        }
    };
    let Some(id) = custom_key_store_id else {
        return Err(KmsError::Validation(format!(
            "Origin {origin} requires a CustomKeyStoreId."
        )));
    };
    if origin == "EXTERNAL_KEY_STORE" && xks_key_id.is_none() {
        return Err(KmsError::Validation(
            "XksKeyId is required when Origin is EXTERNAL_KEY_STORE.".into(),
        ));
    }
    if origin != "EXTERNAL_KEY_STORE" && xks_key_id.is_some() {
        return Err(KmsError::Validation(
            "XksKeyId is valid only when Origin is EXTERNAL_KEY_STORE.".into(),
        ));
    }
    if multi_region {
        return Err(KmsError::Unsupported(
            "Multi-Region keys are not supported in custom key stores.".into(),
        ));
    }
    let now = kms.now_ms();
    let mut store = kms.lock();
    let ks = store_mut(store.region(scope, now), id, now)?;
    if ks.store_type != expected_type {
        return Err(KmsError::Validation(format!(
            "Origin {origin} does not match custom key store {id}, whose type is {}.",
            ks.store_type
        )));
    }
    if ks.connection_state != ConnectionState::Connected {
        return Err(invalid_state(
            ks,
            ks.connection_state,
            "KMS keys can be created only in a connected custom key store.",
        ));
    }
    // Unreachable in practice: trent never connects a store (it has no proxy client).
    Err(KmsError::unsupported("KMS keys in custom key stores"))
}

/// GenerateRandom's `CustomKeyStoreId`: random bytes from an AWS CloudHSM key store's cluster, which trent cannot
/// have; external key stores do not generate random bytes (UnsupportedOperationException, as in AWS).
pub fn check_generate_random(kms: &Kms, scope: &Scope, id: &str) -> Result<(), KmsError> {
    let now = kms.now_ms();
    let mut store = kms.lock();
    let ks = store_mut(store.region(scope, now), id, now)?;
    if ks.store_type == "EXTERNAL_KEY_STORE" {
        return Err(KmsError::Unsupported(format!(
            "{id} is an external key store. GenerateRandom is not supported for external key stores."
        )));
    }
    Err(invalid_state(
        ks,
        ks.connection_state,
        "GenerateRandom needs a connected AWS CloudHSM key store.",
    ))
}

/// Checks the custom key stores of an imported or loaded region store: entries hold the store they are keyed by,
/// types are known, external key stores have their proxy configuration, names are unique.
pub(super) fn check_records(region: &RegionStore) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for (slot, store) in region.custom_key_stores.iter() {
        if *slot != store.id {
            return Err(format!(
                "custom key store entry \"{slot}\" holds store \"{}\"",
                store.id
            ));
        }
        match store.store_type.as_str() {
            "EXTERNAL_KEY_STORE" if store.xks.is_none() => {
                return Err(format!("custom key store {slot} has no XKS proxy configuration"))
            }
            "EXTERNAL_KEY_STORE" | "AWS_CLOUDHSM" => {}
            other => return Err(format!("custom key store {slot} has type \"{other}\"")),
        }
        if !names.insert(store.name.as_str()) {
            return Err(format!("custom key store name \"{}\" is used twice", store.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::call;
    use super::*;
    use crate::clock::Clock;

    #[test]
    fn ids_look_like_aws_ids() {
        let id = new_id();
        assert_eq!(id.len(), 21, "{id}");
        assert!(id.starts_with("cks-"));
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[tokio::test]
    async fn outputs_are_members_of_the_model_in_every_state() {
        let clock = Clock::new();
        let kms = Kms::new(clock.clone());
        let created = call(
            &kms,
            "CreateCustomKeyStore",
            json!({
                "CustomKeyStoreName": "xks",
                "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                "XksProxyUriEndpoint": "https://xks.example.com",
                "XksProxyUriPath": "/kms/xks/v1",
                "XksProxyConnectivity": "PUBLIC_ENDPOINT",
                "XksProxyAuthenticationCredential": {
                    "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
                    "RawSecretAccessKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
                }
            }),
        )
        .await;
        let id = created["CustomKeyStoreId"].as_str().unwrap_or_default().to_string();
        let listed = call(&kms, "DescribeCustomKeyStores", json!({"Limit": 1})).await;
        assert_eq!(listed["CustomKeyStores"][0]["ConnectionState"], "DISCONNECTED");
        assert!(
            !listed.to_string().contains("abcdefghijklmnopqrstuvwxyz"),
            "the secret never leaves"
        );
        call(&kms, "ConnectCustomKeyStore", json!({"CustomKeyStoreId": id})).await;
        clock.advance_ms(CONNECT_ATTEMPT_MS);
        let failed = call(&kms, "DescribeCustomKeyStores", json!({"CustomKeyStoreId": id})).await;
        assert_eq!(failed["CustomKeyStores"][0]["ConnectionState"], "FAILED");
        assert_eq!(
            failed["CustomKeyStores"][0]["ConnectionErrorCode"],
            "XKS_PROXY_NOT_REACHABLE"
        );
        call(&kms, "DisconnectCustomKeyStore", json!({"CustomKeyStoreId": id})).await;
        call(
            &kms,
            "UpdateCustomKeyStore",
            json!({"CustomKeyStoreId": id, "NewCustomKeyStoreName": "renamed"}),
        )
        .await;
        call(&kms, "DeleteCustomKeyStore", json!({"CustomKeyStoreId": id})).await;
    }

    #[tokio::test]
    async fn export_and_import_keep_stores_and_refuse_inconsistent_ones() {
        use crate::http::control::Control;
        let kms = Kms::new(Clock::new());
        let created = call(
            &kms,
            "CreateCustomKeyStore",
            json!({
                "CustomKeyStoreName": "xks",
                "CustomKeyStoreType": "EXTERNAL_KEY_STORE",
                "XksProxyUriEndpoint": "https://xks.example.com",
                "XksProxyUriPath": "/kms/xks/v1",
                "XksProxyConnectivity": "PUBLIC_ENDPOINT",
                "XksProxyAuthenticationCredential": {
                    "AccessKeyId": "ABCDEFGHIJKLMNOPQRST",
                    "RawSecretAccessKey": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
                }
            }),
        )
        .await;
        let id = created["CustomKeyStoreId"].as_str().unwrap_or_default().to_string();
        let document = kms.export();
        let fresh = Kms::new(Clock::new());
        fresh.import(&serde_json::to_vec(&document).unwrap()).unwrap();
        let listed = call(&fresh, "DescribeCustomKeyStores", json!({"CustomKeyStoreId": id})).await;
        assert_eq!(listed["CustomKeyStores"][0]["CustomKeyStoreName"], "xks");

        let mut bad = document;
        bad["state"]["regions"]["000000000000/us-east-1"]["custom_key_stores"][&id]["id"] = json!("cks-0");
        let err = fresh.import(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
        assert!(err.contains("holds store"), "{err}");
    }
}
