//! RotateKeyOnDemand and ListKeyRotations, and the per-region log of every rotation (automatic ones are
//! recorded by [`super::state::RegionStore::rotate_if_due`], on the server clock).
//!
//! A rotation appends a material version to the key; earlier versions stay, so old ciphertexts keep decrypting.

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, paging, Accept, KeyRecord, Scope};
use super::{epoch_secs, request, response, Kms};
use crate::crypto::{KeyMaterial, KeySpec};
use crate::storage::Tracked;

/// AWS allows this many on-demand rotations per key.
pub const ON_DEMAND_LIMIT: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RotationType {
    OnDemand,
    Automatic,
    /// The key's first material (listed only with `IncludeKeyMaterial: ALL_KEY_MATERIAL`, without a rotation
    /// date or type).
    Initial,
}

impl RotationType {
    /// The wire `RotationType`; none for the first material.
    pub fn as_wire(self) -> Option<&'static str> {
        match self {
            RotationType::OnDemand => Some("ON_DEMAND"),
            RotationType::Automatic => Some("AUTOMATIC"),
            RotationType::Initial => None,
        }
    }
}

/// One rotation of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationEntry {
    pub key_id: String,
    /// Epoch ms on the server clock (for automatic rotations: when the rotation was due).
    pub rotation_ms: i64,
    pub rotation_type: RotationType,
    /// The material version the rotation created (index into [`KeyRecord::materials`]).
    pub version: usize,
    /// The `KeyMaterialId` AWS reports: 64 hex digits, random (never derived from the material).
    pub key_material_id: String,
}

/// Every rotation of one region, keyed `<key id>/<version, 10 digits>` so one key's rotations are an ordered,
/// contiguous range.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RotationLog {
    pub entries: Tracked<RotationEntry>,
}

impl RotationLog {
    /// Records that material `version` of `key_id` came from a rotation of `kind` at `at_ms`.
    pub fn record(&mut self, key_id: &str, version: usize, kind: RotationType, at_ms: i64) {
        let key_material_id = crate::crypto::random_bytes(32)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.record_with_id(key_id, version, kind, at_ms, key_material_id);
    }

    /// As [`RotationLog::record`], with the `KeyMaterialId` given (imported material, import.rs).
    pub fn record_with_id(
        &mut self,
        key_id: &str,
        version: usize,
        kind: RotationType,
        at_ms: i64,
        key_material_id: String,
    ) {
        self.entries.insert(
            format!("{key_id}/{version:010}"),
            RotationEntry {
                key_id: key_id.to_string(),
                rotation_ms: at_ms,
                rotation_type: kind,
                version,
                key_material_id,
            },
        );
    }

    fn of_key<'a>(
        &'a self,
        key_id: &str,
        after: Bound<String>,
    ) -> impl Iterator<Item = (&'a String, &'a RotationEntry)> + 'a {
        let prefix = format!("{key_id}/");
        let start = match after {
            Bound::Unbounded => Bound::Included(prefix.clone()),
            other => other,
        };
        self.entries
            .range((start, Bound::Unbounded))
            .take_while(move |(slot, _)| slot.starts_with(&prefix))
    }

    /// Forgets a deleted key's rotations.
    pub fn remove_key(&mut self, key_id: &str) {
        let slots: Vec<String> = self.of_key(key_id, Bound::Unbounded).map(|(s, _)| s.clone()).collect();
        for slot in slots {
            self.entries.remove(&slot);
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RotateKeyOnDemandRequest {
    key_id: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RotateKeyOnDemandResponse {
    key_id: String,
}

fn require_symmetric(key: &KeyRecord, what: &str) -> Result<(), KmsError> {
    if key.key_spec != KeySpec::SymmetricDefault {
        return Err(KmsError::Unsupported(format!(
            "{} is not a symmetric encryption KMS key: {what} is supported only on symmetric encryption KMS \
             keys.",
            key.arn()
        )));
    }
    Ok(())
}

pub fn rotate_key_on_demand(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: RotateKeyOnDemandRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let replicas_ready = super::replication::require_replicas_hold_pending(&store, &key_scope, &key_id);
    let region = store.region(&key_scope, now);
    let key = region.keys.get_mut(&key_id).ok_or_else(|| {
        KmsError::NotFound(format!(
            "Key '{}' does not exist",
            state::key_arn(&key_scope.region, &key_scope.account_id, &key_id)
        ))
    })?;
    key.require_enabled()?;
    require_symmetric(key, "on-demand key rotation")?;
    super::replication::require_not_replica(key, "On-demand key rotation")?;
    let done = region
        .rotations
        .of_key(&key_id, Bound::Unbounded)
        .filter(|(_, r)| r.rotation_type == RotationType::OnDemand)
        .count();
    if done >= ON_DEMAND_LIMIT {
        return Err(KmsError::LimitExceeded(format!(
            "{} has reached the limit of {ON_DEMAND_LIMIT} on-demand rotations.",
            key.arn()
        )));
    }
    if key.origin == state::Origin::External {
        // Imported key material: the material imported for rotation (PENDING_ROTATION) becomes current (import.rs),
        // once every replica of a multi-Region key holds it too (they rotate to it on their next lookup).
        replicas_ready?;
        let (version, id) = super::import::rotate_to_pending(key)?;
        region
            .rotations
            .record_with_id(&key_id, version, RotationType::OnDemand, now, id);
    } else {
        let material = KeyMaterial::generate(key.key_spec)
            .map_err(|e| KmsError::Internal(format!("key generation failed: {e}")))?;
        let id = super::import::material_id(&key_id, material.bytes());
        key.materials.push(material);
        let version = key.materials.len().saturating_sub(1);
        region
            .rotations
            .record_with_id(&key_id, version, RotationType::OnDemand, now, id);
    }
    let out = RotateKeyOnDemandResponse { key_id: key.arn() };
    drop(store);
    response(&out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeyRotationsRequest {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
    /// ROTATIONS_ONLY (the default) or ALL_KEY_MATERIAL, which adds the first key material and imported key
    /// material pending rotation.
    include_key_material: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct RotationsListEntry {
    key_id: String,
    key_material_id: String,
    key_material_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_type: Option<&'static str>,
    /// Symmetric EXTERNAL keys only (import.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    import_state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_to: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_material_description: Option<String>,
}

impl RotationsListEntry {
    fn with_import(mut self, fields: Option<super::import::RotationFields>) -> Self {
        if let Some(f) = fields {
            self.import_state = Some(f.import_state);
            self.expiration_model = Some(f.expiration_model);
            self.valid_to = f.valid_to;
            self.key_material_description = f.description;
        }
        self
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeyRotationsResponse {
    rotations: Vec<RotationsListEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_key_rotations(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListKeyRotationsRequest = request(input)?;
    let size = paging::size(req.limit, 100, 1000);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let (key_scope, key_id) = state::resolve(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let region = store.region(&key_scope, now);
    let key = region
        .keys
        .get(&key_id)
        .ok_or_else(|| KmsError::NotFound(format!("Key '{key_id}' does not exist")))?;
    key.require_not_pending_deletion()?;
    require_symmetric(key, "ListKeyRotations")?;
    if let Bound::Excluded(last) = &start {
        if !last.starts_with(&format!("{key_id}/")) {
            return Err(KmsError::InvalidMarker(format!(
                "Invalid marker: {}",
                req.marker.as_deref().unwrap_or_default()
            )));
        }
    }
    let arn = key.arn();
    let current = key.materials.len().saturating_sub(1);
    let all = req.include_key_material.as_deref() == Some("ALL_KEY_MATERIAL");
    // (An EXTERNAL key's first material is recorded when it is imported, with its KeyMaterialId.)
    if all && key.import.is_none() && !region.rotations.entries.contains_key(&format!("{key_id}/{:010}", 0)) {
        // The first material is recorded the first time it is listed, with the KeyMaterialId DescribeKey shows.
        if let Some(first) = key.materials.first() {
            let id = super::import::material_id(&key_id, first.bytes());
            region
                .rotations
                .record_with_id(&key_id, 0, RotationType::Initial, key.creation_ms, id);
        }
    }
    // Imported material pending rotation comes after every version (ALL_KEY_MATERIAL only).
    let pending_slot = format!("{key_id}/{:010}", key.materials.len());
    let pending = super::import::pending_rotation(key)
        .filter(|_| all)
        .filter(|_| match &start {
            Bound::Excluded(last) => pending_slot > *last,
            _ => true,
        })
        .map(|(id, fields)| {
            let entry = RotationsListEntry {
                key_id: arn.clone(),
                key_material_id: id,
                key_material_state: "PENDING_ROTATION",
                rotation_date: None,
                rotation_type: None,
                import_state: None,
                expiration_model: None,
                valid_to: None,
                key_material_description: None,
            };
            (&pending_slot, entry.with_import(Some(fields)))
        });
    let (rotations, next_marker) = paging::page(
        region
            .rotations
            .of_key(&key_id, start)
            .filter(|(_, r)| all || r.rotation_type != RotationType::Initial)
            .map(|(slot, r)| {
                let initial = r.rotation_type == RotationType::Initial;
                (
                    slot,
                    RotationsListEntry {
                        key_id: arn.clone(),
                        key_material_id: r.key_material_id.clone(),
                        key_material_state: if r.version == current { "CURRENT" } else { "NON_CURRENT" },
                        rotation_date: (!initial).then(|| epoch_secs(r.rotation_ms)),
                        rotation_type: r.rotation_type.as_wire(),
                        import_state: None,
                        expiration_model: None,
                        valid_to: None,
                        key_material_description: None,
                    }
                    .with_import(super::import::rotation_fields(key, r.version)),
                )
            })
            .chain(pending),
        size,
    );
    drop(store);
    response(&ListKeyRotationsResponse {
        rotations,
        truncated: next_marker.is_some(),
        next_marker,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::call;
    use super::super::Kms;
    use crate::clock::Clock;

    #[tokio::test]
    async fn grant_and_rotation_outputs_are_members_of_the_model() {
        let clock = Clock::new();
        let kms = Kms::new(clock.clone());
        let key = call(&kms, "CreateKey", json!({})).await;
        let key = key["KeyMetadata"]["KeyId"].as_str().unwrap_or_default().to_string();
        let grant = call(
            &kms,
            "CreateGrant",
            json!({
                "KeyId": key, "GranteePrincipal": "arn:aws:iam::000000000000:role/a",
                "RetiringPrincipal": "arn:aws:iam::000000000000:role/r", "Name": "n",
                "Operations": ["Encrypt", "Decrypt"],
                "Constraints": {"EncryptionContextSubset": {"a": "b"}}
            }),
        )
        .await;
        call(&kms, "ListGrants", json!({"KeyId": key, "Limit": 1})).await;
        let listed = call(
            &kms,
            "ListRetirableGrants",
            json!({"RetiringPrincipal": "arn:aws:iam::000000000000:role/r"}),
        )
        .await;
        assert_eq!(listed["Grants"][0]["Constraints"]["EncryptionContextSubset"]["a"], "b");
        call(&kms, "RotateKeyOnDemand", json!({"KeyId": key})).await;
        call(
            &kms,
            "EnableKeyRotation",
            json!({"KeyId": key, "RotationPeriodInDays": 90}),
        )
        .await;
        clock.advance_ms(91 * 86_400_000);
        let all = call(
            &kms,
            "ListKeyRotations",
            json!({"KeyId": key, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 2}),
        )
        .await;
        assert_eq!(all["Truncated"], true);
        call(&kms, "RetireGrant", json!({"GrantToken": grant["GrantToken"]})).await;
    }
}
