//! GetKeyLastUsage, and the record it answers from: per key, the last successful cryptographic operation.
//!
//! [`super::Kms::call`] records usage at the dispatch level, from the response of a successful operation of the
//! tracked set (its `KeyId` ARN, and `SourceKeyId` for ReEncrypt, so both keys of a ReEncrypt are recorded, each
//! under its owner's account as in AWS). The record is a plain in-memory map behind its own mutex, deliberately
//! not part of the persisted [`super::state::Store`]: Encrypt and Decrypt stay free of storage writes. Tracking
//! therefore starts with the process; `TrackingStartDate` says when (the later of the key's creation and the
//! start of tracking), which is exactly how AWS describes keys older than its own tracking.
//!
//! trent keeps no CloudTrail, so `CloudTrailEventId` is never returned; `KmsRequestId` is the request id of the
//! recorded call (its `x-amzn-requestid` response header).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, Accept, Scope};
use super::{epoch_secs, request, response, Kms};

/// The last use of one key.
#[derive(Debug, Clone)]
struct Usage {
    at_ms: i64,
    operation: &'static str,
    request_id: String,
}

/// Last usage of every key used since tracking started, keyed by key ARN.
#[derive(Debug)]
pub struct Tracker {
    started_ms: i64,
    keys: Mutex<HashMap<String, Usage>>,
}

impl Tracker {
    /// Tracking from `started_ms` (epoch ms on the server clock) on.
    pub fn new(started_ms: i64) -> Tracker {
        Tracker {
            started_ms,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The tracked operation `operation` is (its `KeyLastUsageTrackingOperation` name), `None` for the others.
    pub fn tracked(operation: &str) -> Option<&'static str> {
        Some(match operation {
            "Encrypt" => "Encrypt",
            "Decrypt" => "Decrypt",
            "GenerateDataKey" => "GenerateDataKey",
            "GenerateDataKeyWithoutPlaintext" => "GenerateDataKeyWithoutPlaintext",
            "GenerateDataKeyPair" => "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext" => "GenerateDataKeyPairWithoutPlaintext",
            "ReEncrypt" => "ReEncrypt",
            "Sign" => "Sign",
            "Verify" => "Verify",
            "GenerateMac" => "GenerateMac",
            "VerifyMac" => "VerifyMac",
            "DeriveSharedSecret" => "DeriveSharedSecret",
            "Encapsulate" => "Encapsulate",
            "Decapsulate" => "Decapsulate",
            _ => return None,
        })
    }

    /// Records a successful `operation` (a name [`Tracker::tracked`] returned) from its response. Costs one map
    /// lookup under the tracker's own mutex; allocates only the first time a key is seen.
    pub fn record(&self, operation: &'static str, output: &Value, request_id: &str, now_ms: i64) {
        let key = output.get("KeyId").and_then(Value::as_str);
        let source = match operation {
            "ReEncrypt" => output
                .get("SourceKeyId")
                .and_then(Value::as_str)
                .filter(|s| Some(*s) != key),
            _ => None,
        };
        if key.is_none() && source.is_none() {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for arn in [key, source].into_iter().flatten() {
            match keys.get_mut(arn) {
                Some(usage) => {
                    usage.at_ms = now_ms;
                    usage.operation = operation;
                    usage.request_id.clear();
                    usage.request_id.push_str(request_id);
                }
                None => {
                    keys.insert(
                        arn.to_string(),
                        Usage {
                            at_ms: now_ms,
                            operation,
                            request_id: request_id.to_string(),
                        },
                    );
                }
            }
        }
    }

    /// Forgets every usage (`/_parlel/reset`).
    pub fn clear(&self) {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn get(&self, arn: &str) -> Option<Usage> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(arn)
            .cloned()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyLastUsageRequest {
    key_id: String,
}

/// AWS's `KeyLastUsageData`: every member absent when the key was not used since tracking started.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyLastUsageData {
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kms_request_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyLastUsageResponse {
    key_id: String,
    key_creation_date: f64,
    tracking_start_date: f64,
    key_last_usage: KeyLastUsageData,
}

/// GetKeyLastUsage: a key id or key ARN of the caller's account (no aliases, no cross-account use), in any key
/// state.
pub fn get_key_last_usage(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: GetKeyLastUsageRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let (key_id, arn, creation_ms) = (key.key_id.clone(), key.arn(), key.creation_ms);
    drop(store);
    let tracker = kms.last_usage();
    // A usage older than the key belongs to an earlier key with the same id (deleted, then created again).
    let usage = tracker.get(&arn).filter(|u| u.at_ms >= creation_ms);
    let last = match usage {
        Some(u) => KeyLastUsageData {
            timestamp: Some(epoch_secs(u.at_ms)),
            operation: Some(u.operation),
            kms_request_id: Some(u.request_id),
        },
        None => KeyLastUsageData::default(),
    };
    response(&GetKeyLastUsageResponse {
        key_id,
        key_creation_date: epoch_secs(creation_ms),
        tracking_start_date: epoch_secs(creation_ms.max(tracker.started_ms)),
        key_last_usage: last,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::aws::model;

    #[test]
    fn the_tracked_set_is_the_models_enum() {
        let model: Value =
            serde_json::from_str(include_str!("../../specs/kms/service-2.json")).expect("the bundled model parses");
        let names = model["shapes"]["KeyLastUsageTrackingOperation"]["enum"]
            .as_array()
            .unwrap();
        for name in names {
            let name = name.as_str().unwrap();
            assert_eq!(Tracker::tracked(name), Some(name));
        }
        let operations = model["operations"].as_object().unwrap();
        let tracked = operations.keys().filter(|op| Tracker::tracked(op).is_some()).count();
        assert_eq!(tracked, names.len(), "every tracked name is an operation of the model");
        assert_eq!(Tracker::tracked("DescribeKey"), None);
        assert!(model::kms().operations.contains_key("GetKeyLastUsage"));
    }

    #[test]
    fn re_encrypt_records_both_keys_and_later_uses_replace_earlier_ones() {
        let tracker = Tracker::new(0);
        tracker.record(
            "ReEncrypt",
            &json!({"KeyId": "arn:dst", "SourceKeyId": "arn:src"}),
            "r1",
            10,
        );
        assert_eq!(tracker.get("arn:dst").unwrap().request_id, "r1");
        assert_eq!(tracker.get("arn:src").unwrap().operation, "ReEncrypt");
        tracker.record("Decrypt", &json!({"KeyId": "arn:src"}), "r2", 20);
        let src = tracker.get("arn:src").unwrap();
        assert_eq!(
            (src.at_ms, src.operation, src.request_id.as_str()),
            (20, "Decrypt", "r2")
        );
        assert_eq!(tracker.get("arn:dst").unwrap().at_ms, 10);
        tracker.record("Encrypt", &json!({}), "r3", 30);
        tracker.clear();
        assert!(tracker.get("arn:src").is_none());
    }

    #[tokio::test]
    async fn the_output_uses_only_members_of_the_model() {
        let kms = Kms::new(crate::clock::Clock::new());
        let call = crate::kms::tests::call;
        let key = call(&kms, "CreateKey", json!({})).await["KeyMetadata"]["KeyId"]
            .as_str()
            .unwrap()
            .to_string();
        let unused = call(&kms, "GetKeyLastUsage", json!({"KeyId": key})).await;
        assert_eq!(unused["KeyLastUsage"], json!({}));
        assert_eq!(unused["KeyId"], key.as_str());
        call(&kms, "Encrypt", json!({"KeyId": key, "Plaintext": "aGk="})).await;
        let used = call(&kms, "GetKeyLastUsage", json!({"KeyId": key})).await;
        assert_eq!(used["KeyLastUsage"]["Operation"], "Encrypt");
        assert!(used["KeyLastUsage"]["Timestamp"].as_f64().unwrap() >= used["KeyCreationDate"].as_f64().unwrap());
    }

    /// Timing only (`cargo test --release --lib last_usage_cost -- --ignored --nocapture`): what recording adds to
    /// a tracked operation, next to the in-process cost of the Encrypt call it follows.
    #[tokio::test]
    #[ignore]
    async fn last_usage_cost() {
        use crate::aws::{AwsJsonService, RequestContext};
        use std::time::Instant;

        let tracker = Tracker::new(0);
        let outputs: Vec<Value> = (0..1000)
            .map(|i| json!({"KeyId": format!("arn:aws:kms:us-east-1:000000000000:key/{i:08x}-0000-4000-8000-000000000000"), "CiphertextBlob": "AAAA"}))
            .collect();
        let request_id = "6f1d5a34-1c0e-4b8e-9c55-0d3f2a9b7e21";
        for output in &outputs {
            tracker.record("Encrypt", output, request_id, 0);
        }
        let rounds = 1_000_000;
        let started = Instant::now();
        for i in 0..rounds {
            let op = Tracker::tracked(if i % 2 == 0 { "Encrypt" } else { "Decrypt" }).unwrap();
            tracker.record(op, &outputs[i % outputs.len()], request_id, i as i64);
        }
        let per_record = started.elapsed() / rounds as u32;

        let kms = Kms::new(crate::clock::Clock::new());
        let created = kms
            .call(RequestContext::default(), "CreateKey", json!({}))
            .await
            .unwrap();
        let key = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
        let input = json!({"KeyId": key, "Plaintext": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
        let calls = 100_000;
        let started = Instant::now();
        for _ in 0..calls {
            let ctx = RequestContext {
                request_id: request_id.to_string(),
                ..RequestContext::default()
            };
            kms.call(ctx, "Encrypt", input.clone()).await.unwrap();
        }
        let per_encrypt = started.elapsed() / calls;
        // The handler alone, without the dispatch around it (scope, match, recording).
        let scope = super::super::state::Scope::of(&RequestContext::default());
        let started = Instant::now();
        for _ in 0..calls {
            super::super::encrypt::encrypt(&kms, &scope, input.clone()).unwrap();
        }
        let per_handler = started.elapsed() / calls;
        eprintln!(
            "record: {per_record:?} per tracked call (1000 keys); in-process Encrypt (64 B): {per_encrypt:?} through \
             Kms::call (recording included), {per_handler:?} for the handler alone"
        );
    }
}
