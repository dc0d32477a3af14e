//! Request bodies and the request values every plane checks the same way: JSON bodies (with the service's
//! BadParameter wording), object names, tags and epoch-second attributes.

use std::collections::{BTreeMap, HashMap};

use serde::de::DeserializeOwned;

use super::error::KeyVaultError;
use super::truncate;

/// Most tags one object may carry.
pub const MAX_TAGS: usize = 15;
const MAX_TAG_NAME_CHARS: usize = 512;
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The request body as `T`; an empty body is `T::default()`, as the service treats a missing body.
pub fn parse_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, KeyVaultError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        KeyVaultError::BadParameter(format!(
            "The request body is not valid JSON: {}",
            truncate(&e.to_string(), 200)
        ))
    })
}

/// Object names: `^[0-9a-zA-Z-]{1,127}$`.
pub fn check_name(name: &str) -> Result<(), KeyVaultError> {
    let ok = !name.is_empty() && name.len() <= 127 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(KeyVaultError::BadParameter(format!(
            "The request URI contains an invalid name: {}",
            truncate(name, 200)
        )))
    }
}

/// An `nbf`/`exp` attribute (integer or float seconds) as whole epoch seconds.
pub fn to_epoch(value: Option<f64>, field: &str) -> Result<Option<i64>, KeyVaultError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_finite() && v.abs() < 1e15 => Ok(Some(v.trunc() as i64)),
        Some(_) => Err(KeyVaultError::BadParameter(format!(
            "Invalid value for attribute '{field}'."
        ))),
    }
}

/// Checks tags (at most 15, names 1..512 and values up to 256 characters) and orders them.
pub fn check_tags(tags: &Option<HashMap<String, String>>) -> Result<Option<BTreeMap<String, String>>, KeyVaultError> {
    let Some(tags) = tags else { return Ok(None) };
    if tags.len() > MAX_TAGS {
        return Err(KeyVaultError::BadParameter(format!(
            "The number of tags exceeds the maximum of {MAX_TAGS}."
        )));
    }
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_TAG_NAME_CHARS {
            return Err(KeyVaultError::BadParameter(format!(
                "Tag names must be 1 to {MAX_TAG_NAME_CHARS} characters long."
            )));
        }
        if value.chars().count() > MAX_TAG_VALUE_CHARS {
            return Err(KeyVaultError::BadParameter(format!(
                "Tag values must be at most {MAX_TAG_VALUE_CHARS} characters long."
            )));
        }
    }
    Ok(Some(tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
}

/// The checked attribute part of an update request: tags, enabled and the `nbf`/`exp` epoch seconds.
pub fn attribute_update(
    tags: &Option<HashMap<String, String>>,
    enabled: Option<bool>,
    nbf: Option<f64>,
    exp: Option<f64>,
) -> Result<crate::keyvault::store::AttributeUpdate, KeyVaultError> {
    // Checked in the order the handlers always checked them: tags, then nbf, then exp.
    let tags = check_tags(tags)?;
    Ok(crate::keyvault::store::AttributeUpdate {
        enabled,
        nbf: to_epoch(nbf, "nbf")?,
        exp: to_epoch(exp, "exp")?,
        tags,
    })
}

/// A fresh version id: 32 lower-case hex characters, as the service makes them.
pub fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
