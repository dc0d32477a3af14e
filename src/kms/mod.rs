//! The AWS KMS service (`TrentService`): state and one handler per operation, behind the AWS JSON 1.1 layer.
//!
//! [`Kms::call`] is the single dispatch table: wire operation name → handler. Handlers live one file per
//! operation group: [`keys`] (key lifecycle), [`encrypt`] (symmetric cryptography and data keys, with the RSA
//! branch in [`asymmetric`]), [`sign`] (signatures and public keys), [`mac`], [`agreement`] (ECDH), [`kem`] (ML-KEM),
//! [`data_key_pair`], [`aliases`], [`tags`], [`policies`], [`grants`], [`rotation`] (automatic rotation settings)
//! and [`rotations`] (on-demand rotation and the rotation log), [`replication`] (multi-Region keys) and
//! [`custom_key_stores`]. Shared records and lookups are in [`state`], the error type in [`errors`].

pub mod agreement;
pub mod algorithms;
pub mod aliases;
pub mod asymmetric;
mod common;
pub mod custom_key_stores;
pub mod data_key_pair;
pub mod encrypt;
pub mod errors;
pub mod grants;
pub mod import;
pub mod kem;
pub mod keys;
pub mod last_usage;
pub mod mac;
pub mod policies;
pub mod replication;
pub mod rotation;
pub mod rotations;
pub mod sign;
pub mod state;
pub mod tags;

use std::sync::{Arc, Mutex, MutexGuard};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::aws::{model, AwsError, AwsJsonService, RequestContext};
use crate::clock::Clock;
use crate::http::control::Control;
use crate::storage::{Backend, Storage, StorageError};
pub use errors::KmsError;
use state::{Scope, Store};

/// The KMS service of one server: every account and region lives in here.
pub struct Kms {
    clock: Clock,
    store: Mutex<Store>,
    /// GetKeyLastUsage's record: in memory only, outside the persisted store (last_usage.rs).
    last_usage: last_usage::Tracker,
    /// Where the records persist (or not): every request ends with [`Storage::persist`].
    storage: Storage,
}

impl Kms {
    /// KMS with in-memory state only.
    pub fn new(clock: Clock) -> Arc<Self> {
        Arc::new(Kms {
            last_usage: last_usage::Tracker::new(clock.now_ms()),
            clock,
            store: Mutex::new(Store::default()),
            storage: Storage::memory("kms"),
        })
    }

    /// KMS whose state is loaded from, and persisted to, `backend` (blocking: reads every record). Returns it with
    /// the number of records loaded.
    pub fn with_storage(clock: Clock, backend: Arc<dyn Backend>) -> Result<(Arc<Self>, usize), StorageError> {
        let storage = Storage::new(backend, "kms");
        let (store, records) = storage.load::<Store>()?;
        let kms = Arc::new(Kms {
            last_usage: last_usage::Tracker::new(clock.now_ms()),
            clock,
            store: Mutex::new(store),
            storage,
        });
        Ok((kms, records))
    }

    /// KMS serving `store` in memory (`trent check` exports a salvaged state through it).
    pub fn from_state(clock: Clock, store: Store) -> Arc<Self> {
        let kms = Kms::new(clock);
        *kms.lock() = store;
        kms
    }

    /// Makes every change to the state durable (what each request does before answering); for changes made
    /// outside a request, such as the init file.
    pub async fn persist(&self) -> Result<(), StorageError> {
        self.storage.persist(&self.store).await
    }

    /// The state, locked. Callers hold the guard only for short, non-async sections.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// "Now" on the server clock, in epoch milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The last usage of every key since tracking started (GetKeyLastUsage).
    pub(crate) fn last_usage(&self) -> &last_usage::Tracker {
        &self.last_usage
    }
}

impl AwsJsonService for Kms {
    fn model(&self) -> &'static model::Model {
        model::kms()
    }

    async fn call(&self, ctx: RequestContext, operation: &str, input: Value) -> Result<Value, AwsError> {
        let scope = Scope::of(&ctx);
        let s = &scope;
        let result = match operation {
            // keys.rs
            "CreateKey" => keys::create_key(self, s, input).await,
            "DescribeKey" => keys::describe_key(self, s, input),
            "ListKeys" => keys::list_keys(self, s, input),
            "EnableKey" => keys::enable_key(self, s, input),
            "DisableKey" => keys::disable_key(self, s, input),
            "ScheduleKeyDeletion" => keys::schedule_key_deletion(self, s, input),
            "CancelKeyDeletion" => keys::cancel_key_deletion(self, s, input),
            "UpdateKeyDescription" => keys::update_key_description(self, s, input),
            // last_usage.rs
            "GetKeyLastUsage" => last_usage::get_key_last_usage(self, s, input),
            // encrypt.rs
            "Encrypt" => encrypt::encrypt(self, s, input),
            "Decrypt" => encrypt::decrypt(self, s, input),
            "GenerateDataKey" => encrypt::generate_data_key(self, s, input),
            "GenerateDataKeyWithoutPlaintext" => encrypt::generate_data_key_without_plaintext(self, s, input),
            "ReEncrypt" => encrypt::re_encrypt(self, s, input),
            "GenerateRandom" => encrypt::generate_random(self, s, input),
            // sign.rs
            "Sign" => sign::sign(self, s, input).await,
            "Verify" => sign::verify(self, s, input).await,
            "GetPublicKey" => sign::get_public_key(self, s, input),
            // mac.rs
            "GenerateMac" => mac::generate_mac(self, s, input),
            "VerifyMac" => mac::verify_mac(self, s, input),
            // agreement.rs
            "DeriveSharedSecret" => agreement::derive_shared_secret(self, s, input),
            // kem.rs
            "Encapsulate" => kem::encapsulate(self, s, input),
            "Decapsulate" => kem::decapsulate(self, s, input),
            // data_key_pair.rs
            "GenerateDataKeyPair" => data_key_pair::generate_data_key_pair(self, s, input).await,
            "GenerateDataKeyPairWithoutPlaintext" => {
                data_key_pair::generate_data_key_pair_without_plaintext(self, s, input).await
            }
            // policies.rs
            "GetKeyPolicy" => policies::get_key_policy(self, s, input),
            "PutKeyPolicy" => policies::put_key_policy(self, s, input),
            "ListKeyPolicies" => policies::list_key_policies(self, s, input),
            // aliases.rs
            "CreateAlias" => aliases::create_alias(self, s, input),
            "UpdateAlias" => aliases::update_alias(self, s, input),
            "ListAliases" => aliases::list_aliases(self, s, input),
            "DeleteAlias" => aliases::delete_alias(self, s, input),
            // rotation.rs
            "EnableKeyRotation" => rotation::enable_key_rotation(self, s, input),
            "DisableKeyRotation" => rotation::disable_key_rotation(self, s, input),
            "GetKeyRotationStatus" => rotation::get_key_rotation_status(self, s, input),
            // rotations.rs
            "RotateKeyOnDemand" => rotations::rotate_key_on_demand(self, s, input),
            "ListKeyRotations" => rotations::list_key_rotations(self, s, input),
            // grants.rs
            "CreateGrant" => grants::create_grant(self, s, input),
            "ListGrants" => grants::list_grants(self, s, input),
            "ListRetirableGrants" => grants::list_retirable_grants(self, s, input),
            "RetireGrant" => grants::retire_grant(self, s, input),
            "RevokeGrant" => grants::revoke_grant(self, s, input),
            // tags.rs
            "TagResource" => tags::tag_resource(self, s, input),
            "UntagResource" => tags::untag_resource(self, s, input),
            "ListResourceTags" => tags::list_resource_tags(self, s, input),
            // custom_key_stores.rs
            "CreateCustomKeyStore" => custom_key_stores::create_custom_key_store(self, s, input),
            "DescribeCustomKeyStores" => custom_key_stores::describe_custom_key_stores(self, s, input),
            "UpdateCustomKeyStore" => custom_key_stores::update_custom_key_store(self, s, input),
            "ConnectCustomKeyStore" => custom_key_stores::connect_custom_key_store(self, s, input),
            "DisconnectCustomKeyStore" => custom_key_stores::disconnect_custom_key_store(self, s, input),
            "DeleteCustomKeyStore" => custom_key_stores::delete_custom_key_store(self, s, input),
            // replication.rs
            "ReplicateKey" => replication::replicate_key(self, s, input),
            "UpdatePrimaryRegion" => replication::update_primary_region(self, s, input),
            // import.rs
            "GetParametersForImport" => import::get_parameters_for_import(self, s, input).await,
            "ImportKeyMaterial" => import::import_key_material(self, s, input).await,
            "DeleteImportedKeyMaterial" => import::delete_imported_key_material(self, s, input),
            // Every other operation of the model: an honest refusal, never a fake success.
            other => Err(KmsError::unsupported(other)),
        };
        // GetKeyLastUsage: a successful cryptographic operation records its key(s), in memory only.
        if let (Ok(output), Some(tracked)) = (&result, last_usage::Tracker::tracked(operation)) {
            self.last_usage.record(tracked, output, &ctx.request_id, self.now_ms());
        }
        // Lazy sweeps and rotations can change state even when the operation fails: persist either way, before
        // the response goes out.
        if let Err(e) = self.storage.persist(&self.store).await {
            return Err(AwsError::internal(crate::storage::unsaved_message(&e)));
        }
        // An account or region that holds nothing leaves no entry behind (30 000 lookups, no 30 000 regions).
        self.lock().forget_if_pristine(&scope);
        result.map_err(AwsError::from)
    }
}

/// Reads a typed request from the (already model-validated) input document.
pub(crate) fn request<T: DeserializeOwned>(input: Value) -> Result<T, KmsError> {
    serde_json::from_value(input).map_err(|e| {
        // A member the model leaves optional but the operation needs: AWS's validation answer, not a parse error.
        let text = e.to_string();
        match text
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((member, _)) => KmsError::Validation(model::missing_member_message(member)),
            None => KmsError::Serialization(format!("Invalid request: {text}")),
        }
    })
}

/// Writes a typed response.
pub(crate) fn response<T: Serialize>(output: &T) -> Result<Value, KmsError> {
    serde_json::to_value(output).map_err(|e| KmsError::Internal(format!("Could not encode the response: {e}")))
}

/// Epoch milliseconds as the AWS JSON timestamp (epoch seconds, fractional).
pub(crate) fn epoch_secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Serde for blobs: base64 strings on the wire, bytes in Rust.
pub(crate) mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => super::serialize(b, s),
                None => s.serialize_none(),
            }
        }
    }
}

impl Control for Kms {
    fn clock(&self) -> &Clock {
        &self.clock
    }

    fn health(&self) -> Value {
        let storage = self.storage.health();
        let store = self.lock();
        json!({
            "status": storage.status(),
            "storage": storage.to_json(),
            "service": "kms",
            "keys": store.key_count(),
            "aliases": store.alias_count(),
            "grants": store.regions.values().map(|r| r.grants.len()).sum::<usize>(),
        })
    }

    fn reset(&self) -> Result<(), String> {
        self.last_usage.clear();
        self.storage
            .replace(&self.store, Store::default())
            .map_err(|e| e.to_string())
    }

    /// `{"regions": {"<account>/<region>": {"keys", "aliases", "deletions", "grants", "rotations"}}}`, every
    /// key with every material version; the deletion index is written as it follows from the keys.
    fn export(&self) -> Value {
        let store = self.lock();
        let mut state = serde_json::to_value(&*store).unwrap_or(Value::Null);
        if let Some(Value::Object(regions)) = state.get_mut("regions") {
            for (scope, region) in regions.iter_mut() {
                let index = store.regions.get(scope).map(|r| r.deletion_index()).unwrap_or_default();
                if let Some(slot) = region.get_mut("deletions") {
                    *slot = serde_json::to_value(index).unwrap_or(Value::Null);
                }
            }
        }
        crate::http::control::state_document("kms", state)
    }

    fn import(&self, document: &[u8]) -> Result<(), String> {
        let state = crate::http::control::state_of_document("kms", document)?;
        let mut store: Store = serde_json::from_str(state.get()).map_err(|e| format!("\"state\" is malformed: {e}"))?;
        store.check_and_rebuild()?;
        self.storage.replace(&self.store, store).map_err(|e| e.to_string())
    }

    fn dump(&self) -> Value {
        let store = self.lock();
        let regions: serde_json::Map<String, Value> = store
            .regions
            .iter()
            .map(|(scope, region)| {
                let keys: Vec<Value> = region
                    .keys
                    .values()
                    .map(|k| {
                        json!({
                            "KeyId": k.key_id,
                            "Arn": k.arn(),
                            "KeySpec": k.key_spec.as_str(),
                            "KeyUsage": k.key_usage,
                            "KeyState": k.state.as_str(),
                            "MaterialVersions": k.materials.len(),
                        })
                    })
                    .collect();
                let aliases: Vec<Value> = region
                    .aliases
                    .values()
                    .map(|a| json!({ "AliasName": a.name, "TargetKeyId": a.target_key_id }))
                    .collect();
                (scope.clone(), json!({ "keys": keys, "aliases": aliases }))
            })
            .collect();
        json!({ "service": "kms", "regions": regions })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `operation` in-process on validated input and fails if the output has a member or enum value the
    /// model does not declare.
    pub(crate) async fn call(kms: &Kms, operation: &str, input: Value) -> Value {
        let model = model::kms();
        model.validate_input(operation, &input).expect("valid input");
        let output = kms
            .call(RequestContext::default(), operation, input)
            .await
            .unwrap_or_else(|e| panic!("{operation}: {e}"));
        model.check_output(operation, &output).unwrap_or_else(|e| panic!("{e}"));
        output
    }

    #[tokio::test]
    async fn every_output_member_exists_in_the_model() {
        let kms = Kms::new(Clock::new());
        let sym = call(
            &kms,
            "CreateKey",
            json!({"Description": "d", "Tags": [{"TagKey": "a", "TagValue": "b"}]}),
        )
        .await;
        let sym = sym["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let ecc = call(
            &kms,
            "CreateKey",
            json!({"KeySpec": "ECC_NIST_P256", "KeyUsage": "SIGN_VERIFY"}),
        )
        .await;
        let ecc = ecc["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        call(
            &kms,
            "CreateKey",
            json!({"KeySpec": "HMAC_384", "KeyUsage": "GENERATE_VERIFY_MAC"}),
        )
        .await;
        call(
            &kms,
            "CreateKey",
            json!({"KeySpec": "ECC_NIST_P521", "KeyUsage": "KEY_AGREEMENT"}),
        )
        .await;
        call(&kms, "DescribeKey", json!({"KeyId": sym})).await;
        call(&kms, "ListKeys", json!({"Limit": 1})).await;
        let enc = call(&kms, "Encrypt", json!({"KeyId": sym, "Plaintext": "aGk="})).await;
        let blob = enc["CiphertextBlob"].clone();
        call(&kms, "Decrypt", json!({"CiphertextBlob": blob})).await;
        call(
            &kms,
            "ReEncrypt",
            json!({"CiphertextBlob": blob, "DestinationKeyId": sym}),
        )
        .await;
        call(&kms, "GenerateDataKey", json!({"KeyId": sym, "KeySpec": "AES_256"})).await;
        call(
            &kms,
            "GenerateDataKeyWithoutPlaintext",
            json!({"KeyId": sym, "NumberOfBytes": 8}),
        )
        .await;
        call(&kms, "GenerateRandom", json!({"NumberOfBytes": 8})).await;
        let sig = call(
            &kms,
            "Sign",
            json!({"KeyId": ecc, "Message": "aGk=", "SigningAlgorithm": "ECDSA_SHA_256"}),
        )
        .await;
        call(
            &kms,
            "Verify",
            json!({"KeyId": ecc, "Message": "aGk=", "Signature": sig["Signature"], "SigningAlgorithm": "ECDSA_SHA_256"}),
        )
        .await;
        call(&kms, "GetPublicKey", json!({"KeyId": ecc})).await;
        call(&kms, "CreateAlias", json!({"AliasName": "alias/m", "TargetKeyId": sym})).await;
        call(&kms, "ListAliases", json!({"KeyId": sym})).await;
        call(&kms, "EnableKeyRotation", json!({"KeyId": sym})).await;
        call(&kms, "GetKeyRotationStatus", json!({"KeyId": sym})).await;
        call(&kms, "ListResourceTags", json!({"KeyId": sym, "Limit": 1})).await;
        call(
            &kms,
            "ScheduleKeyDeletion",
            json!({"KeyId": sym, "PendingWindowInDays": 7}),
        )
        .await;
        call(&kms, "DescribeKey", json!({"KeyId": sym})).await;
        call(&kms, "CancelKeyDeletion", json!({"KeyId": sym})).await;
        assert_eq!(kms.health()["keys"], 4);
        assert!(!kms.dump().to_string().contains("bytes"));
    }

    #[tokio::test]
    async fn unimplemented_operations_are_refused_by_name() {
        let kms = Kms::new(Clock::new());
        let err = kms
            .call(RequestContext::default(), "OperationOfAFutureModel", json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code, "UnsupportedOperationException");
        assert_eq!(err.message, "OperationOfAFutureModel is not supported by trent yet");
    }
}
