//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.
//!
//! Every key has exactly one policy, named "default": AWS's default document (the "Enable IAM User
//! Permissions" statement for `arn:aws:iam::<account>:root`) unless CreateKey or PutKeyPolicy set another.
//! Documents must be JSON objects (else MalformedPolicyDocumentException) and are returned verbatim.
//! Policies are stored, not enforced: trent authorizes every caller.

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, paging, Accept, Scope};
use super::{request, response, Kms};

/// The only policy name KMS keys have.
pub(crate) const DEFAULT_POLICY_NAME: &str = "default";

/// Checks a policy document the caller supplied (CreateKey, PutKeyPolicy): it must be a JSON object.
pub(crate) fn validate_policy(policy: &str) -> Result<(), KmsError> {
    match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err(KmsError::MalformedPolicyDocument(
            "The key policy must be a JSON object.".into(),
        )),
        Err(e) => Err(KmsError::MalformedPolicyDocument(format!(
            "The key policy is not valid JSON: {e}"
        ))),
    }
}

fn check_name(name: Option<&str>) -> Result<(), KmsError> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(other) => Err(KmsError::NotFound(format!(
            "No such policy exists: {other}. The only valid policy name is default."
        ))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyPolicyRequest {
    key_id: String,
    policy_name: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetKeyPolicyResponse {
    policy: String,
    policy_name: &'static str,
}

pub fn get_key_policy(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: GetKeyPolicyRequest = request(input)?;
    let now = kms.now_ms();
    let policy = {
        let mut store = kms.lock();
        let key = state::key_ref(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
        check_name(req.policy_name.as_deref())?;
        key.policy.clone()
    };
    response(&GetKeyPolicyResponse {
        policy,
        policy_name: DEFAULT_POLICY_NAME,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutKeyPolicyRequest {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
    #[allow(dead_code)]
    bypass_policy_lockout_safety_check: Option<bool>,
}

pub fn put_key_policy(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: PutKeyPolicyRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    check_name(req.policy_name.as_deref())?;
    key.require_not_pending_deletion()?;
    validate_policy(&req.policy)?;
    key.policy = req.policy;
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeyPoliciesRequest {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListKeyPoliciesResponse {
    policy_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_key_policies(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListKeyPoliciesRequest = request(input)?;
    let size = paging::size(req.limit, 100, 1000);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    {
        let mut store = kms.lock();
        state::key_ref(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    }
    let names = [DEFAULT_POLICY_NAME.to_string()];
    let remaining = names.iter().filter(|n| match &start {
        Bound::Excluded(last) => n.as_str() > last.as_str(),
        _ => true,
    });
    let (policy_names, next_marker) = paging::page(remaining.map(|n| (n, n.clone())), size);
    response(&ListKeyPoliciesResponse {
        policy_names,
        truncated: next_marker.is_some(),
        next_marker,
    })
}
