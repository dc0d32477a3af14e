//! Tags: TagResource, UntagResource, ListResourceTags (and the tag checks CreateKey shares).

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::KmsError;
use super::state::{self, paging, Accept, Scope};
use super::{request, response, Kms};

/// AWS's `Tag`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub tag_key: String,
    pub tag_value: String,
}

/// Checks tags as AWS does (the model already bounded the lengths) and returns them as a map; a later
/// duplicate key wins, as in AWS.
pub fn validate_tags(tags: &[Tag]) -> Result<BTreeMap<String, String>, KmsError> {
    let mut out = BTreeMap::new();
    for tag in tags {
        if tag.tag_key.to_ascii_lowercase().starts_with("aws:") {
            return Err(KmsError::Tag("Tags beginning with aws: are reserved".into()));
        }
        out.insert(tag.tag_key.clone(), tag.tag_value.clone());
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceRequest {
    key_id: String,
    tags: Vec<Tag>,
}

pub fn tag_resource(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: TagResourceRequest = request(input)?;
    let tags = validate_tags(&req.tags)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    key.require_not_pending_deletion()?;
    key.tags.extend(tags);
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceRequest {
    key_id: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: UntagResourceRequest = request(input)?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_mut(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    key.require_not_pending_deletion()?;
    for tag_key in &req.tag_keys {
        key.tags.remove(tag_key);
    }
    Ok(Value::Null)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListResourceTagsRequest {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListResourceTagsResponse {
    tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_marker: Option<String>,
    truncated: bool,
}

pub fn list_resource_tags(kms: &Kms, scope: &Scope, input: Value) -> Result<Value, KmsError> {
    let req: ListResourceTagsRequest = request(input)?;
    let size = paging::size(req.limit, 50, 50);
    let start = paging::start(req.marker.as_deref())?;
    let now = kms.now_ms();
    let mut store = kms.lock();
    let key = state::key_ref(&mut store, scope, &req.key_id, Accept::KeyOnly, now)?;
    let (tags, next_marker) = paging::page(
        key.tags.range((start, Bound::Unbounded)).map(|(k, v)| {
            (
                k,
                Tag {
                    tag_key: k.clone(),
                    tag_value: v.clone(),
                },
            )
        }),
        size,
    );
    drop(store);
    response(&ListResourceTagsResponse {
        tags,
        truncated: next_marker.is_some(),
        next_marker,
    })
}
