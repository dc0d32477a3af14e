//! Automatic rotation settings: EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus.
//!
//! Rotation adds a material version to the key (see [`super::state::RegionStore::rotate_if_due`], run lazily
//! whenever the key is looked up); earlier versions stay, so every earlier ciphertext still decrypts.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::keys::KeyIdRequest;
use super::state::{self, Accept, KeyRecord, Rotation, Scope};
use super::{epoch_secs, request, response, Kms};
use crate::crypto::KeySpec;

const DAY_MS: i64 = 86_400_000;

/// Automatic rotation is not available for keys with imported key material (AWS: UnsupportedOperationException).
fn require_not_imported(key: &KeyRecord) -> Result<(), KmsError> {
    if key.origin == super::state::Origin::External {
        return Err(KmsError::Unsupported(format!(
            "{} origin is EXTERNAL which is not valid for this operation.",
            key.arn()
        )));
    }
    Ok(())
}

fn require_rotatable(key: &KeyRecord) -> Result<(), KmsError> {
    if key.key_spec != KeySpec::SymmetricDefault {
        return Err(KmsError::Unsupported(format!(
            "{} is not a symmetric encryption KMS key: automatic key rotation is supported only on symmetric \
             encryption KMS keys.",
            key.arn()
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnableKeyRotationRequest {
    key_id: String,
    rotation_period_in_days: Option<i64>,
}

pub fn enable_key_rotation(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: EnableKeyRotationRequest = request(input)?;
    let period = req.rotation_period_in_days.unwrap_or(365);
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    // Imported key material is refused in every key state, PendingImport included (AWS's key state table).
    require_not_imported(key)?;
    key.require_enabled()?;
    require_rotatable(key)?;
    super::replication::require_not_replica(key, "Automatic key rotation")?;
    let next_rotation_ms = match &key.rotation {
        // Already on: the current period keeps its start, only its length changes.
        Some(r) => r.next_rotation_ms - r.period_days * DAY_MS + period * DAY_MS,
        None => now + period * DAY_MS,
    };
    key.rotation = Some(Rotation {
        period_days: period,
        next_rotation_ms,
    });
    Ok(Value::Null)
}

pub fn disable_key_rotation(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    // Imported key material is refused in every key state, PendingImport included (AWS's key state table).
    require_not_imported(key)?;
    key.require_enabled()?;
    require_rotatable(key)?;
    super::replication::require_not_replica(key, "Automatic key rotation")?;
    key.rotation = None;
    Ok(Value::Null)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyRotationStatusResponse {
    key_id: String,
    key_rotation_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period_in_days: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_rotation_date: Option<f64>,
}

pub fn get_key_rotation_status(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: KeyIdRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, &req.key_id, Accept::KeyOrForeignArn, now)?;
    require_rotatable(key)?;
    let out = GetKeyRotationStatusResponse {
        key_id: key.arn(),
        key_rotation_enabled: key.rotation.is_some(),
        rotation_period_in_days: key.rotation.as_ref().map(|r| r.period_days),
        next_rotation_date: key.rotation.as_ref().map(|r| epoch_secs(r.next_rotation_ms)),
    };
    drop(store);
    response(&out)
}
