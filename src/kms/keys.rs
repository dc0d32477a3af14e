//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription — and the `KeyMetadata` structure AWS returns for a key.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, paging, Accept, KeyRecord, KeyState, Origin, Scope};
use super::tags::{validate_tags, Tag};
use super::{epoch_secs, request, response, Kms};
use crate::crypto::{KeyMaterial, KeySpec};

/// AWS's `KeyMetadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: String,
    pub key_id: String,
    pub arn: String,
    pub creation_date: f64,
    pub enabled: bool,
    pub description: String,
    pub key_usage: String,
    pub key_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<f64>,
    pub origin: &'static str,
    /// EXTERNAL keys (import.rs): whether and when their imported material expires, and the current material.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
    pub key_manager: &'static str,
    /// Deprecated; absent for the specs its enum never gained (ML-DSA, ML-KEM, Ed25519).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<&'static str>,
    pub key_spec: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<&'static str>>,
    pub multi_region: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<super::replication::MultiRegionConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
}

/// The algorithm lists a key of `spec` used for `usage` advertises, as AWS lists them.
pub struct Algorithms {
    pub encryption: Option<Vec<&'static str>>,
    pub signing: Option<Vec<&'static str>>,
    pub mac: Option<Vec<&'static str>>,
    pub key_agreement: Option<Vec<&'static str>>,
    pub encapsulation: Option<Vec<&'static str>>,
}

pub fn algorithms(spec: KeySpec, usage: &str) -> Algorithms {
    let list = |l: &'static [&'static str]| Some(l.to_vec());
    Algorithms {
        encryption: (usage == "ENCRYPT_DECRYPT").then(|| spec.encryption_algorithms().to_vec()),
        signing: (usage == "SIGN_VERIFY").then(|| spec.signing_algorithms().to_vec()),
        mac: if usage == "GENERATE_VERIFY_MAC" {
            list(spec.mac_algorithms())
        } else {
            None
        },
        key_agreement: if usage == "KEY_AGREEMENT" {
            list(spec.key_agreement_algorithms())
        } else {
            None
        },
        encapsulation: (usage == "ENCAPSULATE_DECAPSULATE").then(|| spec.encapsulation_algorithms().to_vec()),
    }
}

impl KeyMetadata {
    pub fn of(key: &KeyRecord) -> KeyMetadata {
        let algs = algorithms(key.key_spec, &key.key_usage);
        let pending = key.state == KeyState::PendingDeletion;
        let imported = super::import::metadata_fields(key);
        KeyMetadata {
            aws_account_id: key.account_id.clone(),
            key_id: key.key_id.clone(),
            arn: key.arn(),
            creation_date: epoch_secs(key.creation_ms),
            enabled: key.state == KeyState::Enabled,
            description: key.description.clone(),
            key_usage: key.key_usage.clone(),
            key_state: key.state.as_str(),
            deletion_date: key.deletion_ms.filter(|_| pending).map(epoch_secs),
            origin: key.origin.as_str(),
            expiration_model: imported.expiration_model,
            valid_to: imported.valid_to,
            current_key_material_id: imported.current_key_material_id,
            key_manager: "CUSTOMER",
            customer_master_key_spec: key.key_spec.customer_master_key_spec(),
            key_spec: key.key_spec.as_str(),
            encryption_algorithms: algs.encryption,
            signing_algorithms: algs.signing,
            mac_algorithms: algs.mac,
            key_agreement_algorithms: algs.key_agreement,
            encapsulation_algorithms: algs.encapsulation,
            multi_region: key.multi_region.is_some(),
            multi_region_configuration: super::replication::configuration(key),
            pending_deletion_window_in_days: key
                .pending_window_days
                .filter(|_| pending || key.state == KeyState::PendingReplicaDeletion),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadataResponse {
    key_metadata: KeyMetadata,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateKeyRequest {
    description: Option<String>,
    key_usage: Option<String>,
    key_spec: Option<String>,
    customer_master_key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    xks_key_id: Option<String>,
    multi_region: Option<bool>,
    policy: Option<String>,
    tags: Option<Vec<Tag>>,
}

/// Checks a CreateKey request the way AWS does and returns the key spec and usage to create.
fn validate_create(req: &CreateKeyRequest, scope: &Scope) -> Result<(KeySpec, String), KmsError> {
    if req.key_spec.is_some() && req.customer_master_key_spec.is_some() {
        return Err(KmsError::Validation(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is \
             deprecated."
                .into(),
        ));
    }
    let spec_name = req
        .key_spec
        .as_deref()
        .or(req.customer_master_key_spec.as_deref())
        .unwrap_or("SYMMETRIC_DEFAULT");
    let origin = req.origin.as_deref().unwrap_or("AWS_KMS");
    if origin != "AWS_KMS" && origin != "EXTERNAL" && !super::custom_key_stores::is_custom_origin(origin) {
        return Err(KmsError::unsupported(format!("Origin {origin}")));
    }
    let Some(spec) = KeySpec::parse(spec_name) else {
        // Every KeySpec of the model parses; this guards a model newer than the code.
        return Err(KmsError::unsupported(format!("KeySpec {spec_name}")));
    };
    if spec == KeySpec::Sm2 && !scope.region.starts_with("cn-") {
        return Err(KmsError::Validation(format!(
            "KeySpec SM2 is not supported in the {} region. SM2 keys are available only in China Regions.",
            scope.region
        )));
    }
    let usage = req.key_usage.clone().unwrap_or_else(|| "ENCRYPT_DECRYPT".to_string());
    if !spec.key_usages().contains(&usage.as_str()) {
        return Err(KmsError::Validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec_name}"
        )));
    }
    Ok((spec, usage))
}

/// The key policy AWS attaches when CreateKey (or ReplicateKey) has none.
pub(crate) fn default_policy(account: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

pub async fn create_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: CreateKeyRequest = request(input)?;
    let (spec, usage) = validate_create(&req, scope)?;
    super::custom_key_stores::check_create_key(
        kms,
        scope,
        req.origin.as_deref().unwrap_or("AWS_KMS"),
        req.custom_key_store_id.as_deref(),
        req.xks_key_id.as_deref(),
        req.multi_region == Some(true),
    )?;
    if let Some(policy) = &req.policy {
        super::policies::validate_policy(policy)?;
    }
    let tags = validate_tags(req.tags.as_deref().unwrap_or_default())?;
    // Origin=EXTERNAL: no material until ImportKeyMaterial (import.rs); the key waits in PendingImport.
    let external = req.origin.as_deref() == Some("EXTERNAL");
    // RSA generation takes long: never on the async workers, never under the lock.
    let material = if external {
        None
    } else {
        let generated = crate::limits::key_generation()
            .run(move || KeyMaterial::generate(spec))
            .await
            .map_err(|_| KmsError::Throttling)?
            .map_err(|e| KmsError::Internal(format!("key generation failed: {e}")))?;
        Some(generated)
    };
    let key_id = if req.multi_region == Some(true) {
        super::replication::new_key_id()
    } else {
        uuid::Uuid::new_v4().to_string()
    };
    let now = kms.now_ms();
    let record = KeyRecord {
        key_id: key_id.clone(),
        account_id: scope.account_id.clone(),
        region: scope.region.clone(),
        creation_ms: now,
        description: req.description.unwrap_or_default(),
        key_usage: usage,
        key_spec: spec,
        state: if external {
            KeyState::PendingImport
        } else {
            KeyState::Enabled
        },
        deletion_ms: None,
        pending_window_days: None,
        policy: req.policy.unwrap_or_else(|| default_policy(&scope.account_id)),
        tags,
        aliases: BTreeSet::new(),
        rotation: None,
        materials: material.into_iter().collect(),
        origin: if external { Origin::External } else { Origin::AwsKms },
        multi_region: (req.multi_region == Some(true)).then(|| super::replication::new_primary(&scope.region)),
        custom_key_store_id: None,
        import: external.then(super::import::ImportInfo::default),
    };
    let metadata = KeyMetadata::of(&record);
    kms.lock().region(scope, now).keys.insert(key_id, record);
    response(&KeyMetadataResponse { key_metadata: metadata })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct KeyIdRequest {
    pub key_id: String,
}

pub fn describe_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, &req.key_id, Accept::AnyIdentifier, now)?;
    let metadata = KeyMetadata::of(key);
    drop(store);
    response(&KeyMetadataResponse { key_metadata: metadata })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListRequest {
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyListEntry {
    key_id: String,
    key_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeysResponse {
    keys: Vec<KeyListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_keys(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListRequest = request(input)?;
    let size = paging::size(req.limit, 100, 1000);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let region = store.region(scope, now);
    let (keys, next_marker) = paging::page(
        region.keys.range((start, Bound::Unbounded)).map(|(id, k)| {
            (
                id,
                KeyListEntry {
                    key_id: k.key_id.clone(),
                    key_arn: k.arn(),
                },
            )
        }),
        size,
    );
    drop(store);
    response(&ListKeysResponse {
        keys,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

pub fn enable_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    set_enabled(kms, scope, input, true)
}

pub fn disable_key(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    set_enabled(kms, scope, input, false)
}

fn set_enabled(kms: &Kms, scope: &Scope, input: Value, enabled: bool) -> Result<Value, KmsError> {
    let req: KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    key.require_not_pending_deletion()?;
    if key.state == KeyState::PendingImport {
        return Err(key.invalid_state(KeyState::PendingImport));
    }
    key.state = if enabled { KeyState::Enabled } else { KeyState::Disabled };
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleKeyDeletionRequest {
    key_id: String,
    pending_window_in_days: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleKeyDeletionResponse {
    key_id: String,
    /// Absent for a multi-Region primary with replicas: its waiting period starts when its last replica is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    deletion_date: Option<f64>,
    key_state: &'static str,
    pending_window_in_days: i64,
}

pub fn schedule_key_deletion(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ScheduleKeyDeletionRequest = request(input)?;
    let days = req.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(KmsError::Validation(format!(
            "PendingWindowInDays should be between 7 and 30, but it is {days}"
        )));
    }
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let region = store.region(&key_scope, now);
    let Some(key) = region.keys.get_mut(&key_id) else {
        return Err(KmsError::NotFound(format!("Key '{}' does not exist", req.key_id)));
    };
    key.require_not_pending_deletion()?;
    if super::replication::has_replicas(key) {
        key.state = KeyState::PendingReplicaDeletion;
        key.deletion_ms = None;
        key.pending_window_days = Some(days);
        let arn = key.arn();
        drop(store);
        return response(&ScheduleKeyDeletionResponse {
            key_id: arn,
            deletion_date: None,
            key_state: KeyState::PendingReplicaDeletion.as_str(),
            pending_window_in_days: days,
        });
    }
    let deletion_ms = now + days * 86_400_000;
    key.state = KeyState::PendingDeletion;
    key.deletion_ms = Some(deletion_ms);
    key.pending_window_days = Some(days);
    let arn = key.arn();
    region.deletions.insert((deletion_ms, key_id));
    drop(store);
    response(&ScheduleKeyDeletionResponse {
        key_id: arn,
        deletion_date: Some(epoch_secs(deletion_ms)),
        key_state: KeyState::PendingDeletion.as_str(),
        pending_window_in_days: days,
    })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyIdResponse {
    key_id: String,
}

pub fn cancel_key_deletion(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let region = store.region(&key_scope, now);
    let Some(key) = region.keys.get_mut(&key_id) else {
        return Err(KmsError::NotFound(format!("Key '{}' does not exist", req.key_id)));
    };
    if !matches!(key.state, KeyState::PendingDeletion | KeyState::PendingReplicaDeletion) {
        return Err(KmsError::InvalidState(format!(
            "{} is not pending deletion.",
            key.arn()
        )));
    }
    if let Some(ms) = key.deletion_ms.take() {
        region.deletions.remove(&(ms, key_id.clone()));
    }
    let Some(key) = region.keys.get_mut(&key_id) else {
        return Err(KmsError::NotFound(format!("Key '{}' does not exist", req.key_id)));
    };
    // A key whose imported material is missing (never imported, deleted, expired) goes back to PendingImport.
    key.state = if key.import.as_ref().is_some_and(|i| !i.all_imported()) {
        KeyState::PendingImport
    } else {
        KeyState::Disabled
    };
    key.pending_window_days = None;
    let arn = key.arn();
    drop(store);
    response(&KeyIdResponse { key_id: arn })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateKeyDescriptionRequest {
    key_id: String,
    description: String,
}

pub fn update_key_description(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: UpdateKeyDescriptionRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    key.require_not_pending_deletion()?;
    key.description = req.description;
    Ok(Value::Null)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::*;
    use crate::clock::Clock;

    /// A page costs O(page): the last page of 50 000 keys is as cheap as the first.
    #[test]
    fn list_keys_pages_cost_the_page_not_the_total() {
        let kms = Kms::new(Clock::new());
        let scope = Scope {
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
        };
        let material = KeyMaterial::generate(KeySpec::SymmetricDefault).unwrap();
        {
            let mut store = kms.lock();
            let region = store.region(&scope, 0);
            for i in 0..50_000u32 {
                let key_id = format!("{:08x}-0000-4000-8000-000000000000", i);
                region.keys.insert(
                    key_id.clone(),
                    KeyRecord {
                        key_id,
                        account_id: scope.account_id.clone(),
                        region: scope.region.clone(),
                        creation_ms: 0,
                        description: String::new(),
                        key_usage: "ENCRYPT_DECRYPT".into(),
                        key_spec: KeySpec::SymmetricDefault,
                        state: KeyState::Enabled,
                        deletion_ms: None,
                        pending_window_days: None,
                        policy: String::new(),
                        tags: Default::default(),
                        aliases: BTreeSet::new(),
                        rotation: None,
                        materials: vec![material.clone()],
                        origin: Origin::AwsKms,
                        multi_region: None,
                        custom_key_store_id: None,
                        import: None,
                    },
                );
            }
        }
        let started = Instant::now();
        let first = list_keys(&kms, &scope, json!({"Limit": 100})).unwrap();
        let first_time = started.elapsed();
        assert_eq!(first["Keys"].as_array().unwrap().len(), 100);
        assert_eq!(first["Truncated"], true);

        // A marker just before the end.
        let near_end = paging::marker("0000c34a-0000-4000-8000-000000000000");
        let started = Instant::now();
        let last = list_keys(&kms, &scope, json!({"Limit": 100, "Marker": near_end})).unwrap();
        let last_time = started.elapsed();
        assert_eq!(last["Keys"].as_array().unwrap().len(), 5);
        assert_eq!(last["Truncated"], false);
        assert!(last.get("NextMarker").is_none());
        eprintln!("ListKeys over 50000 keys: first page {first_time:?}, last page {last_time:?}");
        assert!(last_time < first_time * 20 + std::time::Duration::from_millis(5));
    }
}
