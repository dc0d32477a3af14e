//! Key rotation policies (GetKeyRotationPolicy, UpdateKeyRotationPolicy) and their execution on the clock.
//!
//! Shapes from the JS recordings `keyrotation/recording_get_a_key_rotation_policy.json` (a key without a policy
//! answers the default policy, without `id` and with `attributes: null`) and
//! `keyrotation/recording_create_rotation_policy_and_rotate.json` (the service adds the default Notify action
//! when a policy has none; a rotated version expires `expiryTime` after its creation).
//!
//! Durations are ISO 8601 (`P90D`, `P1Y`, `P2W`, `PT12H`), parsed by the `iso8601` crate; a year counts 365 days
//! and a month 30, as the service's minimums are stated in days. A `Rotate` action is executed when the server
//! clock passes its trigger: `timeAfterCreate` after the latest version's creation, or `timeBeforeExpiry` before
//! its `exp`. Each pass over a vault makes at most one new version per key; the new version's creation restarts
//! the count, so moving the clock far ahead rotates once, as a late service run would.

use super::model::{
    Action, KeyRotationPolicy, KeyRotationPolicyIn, KeyVersion, LifetimeAction, Material, RotationPolicyAttributes,
    RotationPolicyRecord, Trigger,
};
use crate::keyvault::protocol::{body::check_name, truncate, KeyVaultError, ObjectKind};
use crate::keyvault::vault::VaultState;
use crate::keyvault::Cx;

type Answer<T> = Result<T, KeyVaultError>;

const DAY: i64 = 86_400;
/// The shortest `expiryTime` the service accepts.
const MIN_EXPIRY_DAYS: i64 = 28;
/// The shortest trigger the service accepts (either kind).
const MIN_TRIGGER_DAYS: i64 = 7;

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

/// An ISO 8601 duration in seconds (`None` if it is not one).
pub fn duration_secs(text: &str) -> Option<i64> {
    let ok_chars = text.starts_with('P') && text.len() > 1 && text.bytes().all(|b| b"PYMWDTHS0123456789".contains(&b));
    if !ok_chars {
        return None;
    }
    match iso8601::duration(text).ok()? {
        iso8601::Duration::Weeks(w) => Some(i64::from(w) * 7 * DAY),
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond: _,
        } => Some(
            i64::from(year) * 365 * DAY
                + i64::from(month) * 30 * DAY
                + i64::from(day) * DAY
                + i64::from(hour) * 3_600
                + i64::from(minute) * 60
                + i64::from(second),
        ),
    }
}

fn default_notify() -> LifetimeAction {
    LifetimeAction {
        trigger: Trigger {
            time_after_create: None,
            time_before_expiry: Some("P30D".to_string()),
        },
        action: Action {
            kind: "Notify".to_string(),
        },
    }
}

fn policy_id(cx: &Cx, name: &str) -> String {
    format!("{}/rotationpolicy", cx.target.base_id(ObjectKind::Key, name))
}

fn wire(cx: &Cx, name: &str, record: &RotationPolicyRecord) -> KeyRotationPolicy {
    KeyRotationPolicy {
        id: Some(policy_id(cx, name)),
        lifetime_actions: record.lifetime_actions.clone(),
        attributes: Some(RotationPolicyAttributes {
            expiry_time: record.expiry_time.clone(),
            created: record.created,
            updated: record.updated,
        }),
    }
}

/// `GET /keys/{name}/rotationpolicy` — GetKeyRotationPolicy.
pub fn get_key_rotation_policy(cx: &Cx, name: &str) -> Answer<KeyRotationPolicy> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let record = vault.keys.get(name)?;
        let stored_name = record.name.clone();
        Ok(match vault.rotation_policies.get(&name.to_ascii_lowercase()) {
            Some(policy) => wire(cx, &stored_name, policy),
            None => KeyRotationPolicy {
                id: None,
                lifetime_actions: vec![default_notify()],
                attributes: None,
            },
        })
    })
}

/// Checks a policy from a request and orders it as the service stores it.
fn checked(input: KeyRotationPolicyIn) -> Answer<(Vec<LifetimeAction>, Option<String>)> {
    let expiry_time = input.attributes.and_then(|a| a.expiry_time);
    let expiry = match &expiry_time {
        None => None,
        Some(text) => {
            let secs = duration_secs(text).ok_or_else(|| {
                bad(format!(
                    "Invalid expiryTime: '{}' is not an ISO 8601 duration.",
                    truncate(text, 64)
                ))
            })?;
            if secs < MIN_EXPIRY_DAYS * DAY {
                return Err(bad(format!(
                    "Invalid expiryTime: '{text}'. The expiry time must be at least {MIN_EXPIRY_DAYS} days."
                )));
            }
            Some(secs)
        }
    };
    let mut actions = Vec::new();
    for action in input.lifetime_actions.unwrap_or_default() {
        let kind = match action.action.and_then(|a| a.kind) {
            Some(k) if k.eq_ignore_ascii_case("rotate") => "Rotate",
            Some(k) if k.eq_ignore_ascii_case("notify") => "Notify",
            Some(k) => return Err(bad(format!("Invalid lifetime action type: '{}'.", truncate(&k, 32)))),
            None => return Err(bad("Every lifetime action needs an action type (Rotate or Notify).")),
        };
        let trigger = action
            .trigger
            .ok_or_else(|| bad("Every lifetime action needs a trigger."))?;
        let (after, before) = (&trigger.time_after_create, &trigger.time_before_expiry);
        let text = match (after, before) {
            (Some(t), None) | (None, Some(t)) => t,
            _ => {
                return Err(bad(
                    "A trigger has exactly one of timeAfterCreate and timeBeforeExpiry.",
                ))
            }
        };
        let secs = duration_secs(text).ok_or_else(|| {
            bad(format!(
                "Invalid trigger: '{}' is not an ISO 8601 duration.",
                truncate(text, 64)
            ))
        })?;
        if secs < MIN_TRIGGER_DAYS * DAY {
            return Err(bad(format!(
                "Invalid trigger: '{text}'. The trigger must be at least {MIN_TRIGGER_DAYS} days."
            )));
        }
        if kind == "Notify" && after.is_some() {
            return Err(bad("A Notify action is triggered by timeBeforeExpiry only."));
        }
        if let (Some(_), Some(expiry)) = (before, expiry) {
            if secs >= expiry {
                return Err(bad("timeBeforeExpiry must be shorter than the policy's expiryTime."));
            }
        }
        actions.push(LifetimeAction {
            trigger,
            action: Action { kind: kind.to_string() },
        });
    }
    if actions.iter().filter(|a| a.action.kind == "Rotate").count() > 1 {
        return Err(bad("A rotation policy has at most one Rotate action."));
    }
    if !actions.iter().any(|a| a.action.kind == "Notify") {
        actions.push(default_notify());
    }
    Ok((actions, expiry_time))
}

/// `PUT /keys/{name}/rotationpolicy` — UpdateKeyRotationPolicy.
pub fn update_key_rotation_policy(cx: &Cx, name: &str, input: KeyRotationPolicyIn) -> Answer<KeyRotationPolicy> {
    check_name(name)?;
    let (lifetime_actions, expiry_time) = checked(input)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let stored_name = vault.keys.get(name)?.name.clone();
        let key = name.to_ascii_lowercase();
        let created = vault.rotation_policies.get(&key).map_or(now, |p| p.created);
        let record = RotationPolicyRecord {
            lifetime_actions,
            expiry_time,
            created,
            updated: now,
        };
        let out = wire(cx, &stored_name, &record);
        vault.rotation_policies.insert(key, record);
        Ok(out)
    })
}

/// The version a rotation makes from `template` (the latest version): same type, operations, tags, exportability
/// and release policy, fresh material, enabled, and expiring `expiryTime` after `now` when the policy sets one.
pub fn rotated_version(
    vault: &VaultState,
    name: &str,
    template: &KeyVersion,
    material: Material,
    now: i64,
) -> KeyVersion {
    let expiry = vault
        .rotation_policies
        .get(&name.to_ascii_lowercase())
        .and_then(|p| p.expiry_time.as_deref())
        .and_then(duration_secs);
    KeyVersion {
        managed: false,
        version: crate::keyvault::protocol::body::new_version(),
        kty: template.kty,
        material,
        key_ops: template.key_ops.clone(),
        enabled: true,
        nbf: None,
        exp: expiry.map(|e| now + e),
        created: now,
        updated: now,
        tags: template.tags.clone(),
        exportable: template.exportable,
        release_policy: template.release_policy.clone(),
    }
}

/// When the Rotate action of `policy` falls due for a key whose latest version is `latest`.
fn rotation_due(policy: &RotationPolicyRecord, latest: &KeyVersion) -> Option<i64> {
    let rotate = policy.lifetime_actions.iter().find(|a| a.action.kind == "Rotate")?;
    if let Some(after) = rotate.trigger.time_after_create.as_deref().and_then(duration_secs) {
        return Some(latest.created + after);
    }
    let before = rotate.trigger.time_before_expiry.as_deref().and_then(duration_secs)?;
    latest.exp.map(|exp| exp - before)
}

/// Executes every Rotate action whose trigger the clock has passed (called on each lookup of the vault). Keys
/// without a policy cost nothing; RSA generation for a due rotation happens here, under the service lock, which
/// only a clock move (or a long-running server) causes.
pub fn rotate_due(vault: &mut VaultState, now: i64) {
    if vault.rotation_policies.is_empty() {
        return;
    }
    let mut due = Vec::new();
    for (key, policy) in vault.rotation_policies.iter() {
        let Some(latest) = vault.keys.live().get(key).and_then(|r| r.latest()) else {
            continue;
        };
        if rotation_due(policy, latest).is_some_and(|at| at <= now) {
            due.push((key.clone(), latest.clone()));
        }
    }
    for (key, latest) in due {
        let material = super::material_like(&latest);
        let Ok(material) = material else {
            tracing::warn!(key = %key, "scheduled key rotation could not generate key material");
            continue;
        };
        let version = rotated_version(vault, &key, &latest, material, now);
        if let Ok(record) = vault.keys.get(&key) {
            let name = record.name.clone();
            if let Err(e) = vault.keys.add_version(&name, version) {
                tracing::warn!(key = %name, error = %e, "scheduled key rotation failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_secs("P30D"), Some(30 * DAY));
        assert_eq!(duration_secs("P1Y"), Some(365 * DAY));
        assert_eq!(duration_secs("P2M"), Some(60 * DAY));
        assert_eq!(duration_secs("P2W"), Some(14 * DAY));
        assert_eq!(duration_secs("P1DT12H"), Some(DAY + 12 * 3_600));
        for bad in ["", "P", "30D", "P30X", "P30D ", "p30d", "P-1D"] {
            assert_eq!(duration_secs(bad), None, "{bad}");
        }
    }
}
