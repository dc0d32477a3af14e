//! The secrets plane: one handler per wire operation, named after it. Each takes the typed request and works on
//! the selected vault under the service mutex, never across an await; the lifecycle (versions, delete, recover,
//! purge, paging) is the shared [`crate::keyvault::store::ObjectStore`].

pub mod model;

use model::{
    BackupSecretResult, DeletedSecretBundle, DeletedSecretItem, SecretAttributes, SecretAttributesIn, SecretBundle,
    SecretItem, SecretRecord, SecretRestoreParameters, SecretSetParameters, SecretUpdateParameters, VersionRecord,
};

use super::protocol::body::{attribute_update, check_name, check_tags, new_version, to_epoch};
use super::protocol::paging::{page_by_name, Listing};
use super::protocol::{truncate, KeyVaultError, ListArgs, ListResult, ObjectKind, Target};
use super::store::{backup, Deleted};
use super::Cx;

pub use super::protocol::body::MAX_TAGS;

/// Largest secret value, in bytes (the service's documented 25 KB).
pub const MAX_VALUE_BYTES: usize = 25 * 1024;
const MAX_CONTENT_TYPE_CHARS: usize = 255;
const KIND: ObjectKind = ObjectKind::Secret;

type Answer<T> = Result<T, KeyVaultError>;

fn check_content_type(content_type: &Option<String>) -> Result<(), KeyVaultError> {
    match content_type {
        Some(ct) if ct.chars().count() > MAX_CONTENT_TYPE_CHARS => Err(KeyVaultError::BadParameter(format!(
            "The content type must be at most {MAX_CONTENT_TYPE_CHARS} characters long."
        ))),
        _ => Ok(()),
    }
}

fn bundle(target: &Target, name: &str, v: &VersionRecord, with_value: bool) -> SecretBundle {
    SecretBundle {
        value: with_value.then(|| v.value.clone()),
        id: target.object_id(KIND, name, &v.version),
        content_type: v.content_type.clone(),
        attributes: SecretAttributes::of(v),
        tags: v.tags.clone(),
        kid: v.managed.then(|| target.object_id(ObjectKind::Key, name, &v.version)),
        managed: v.managed.then_some(true),
    }
}

fn latest_bundle(target: &Target, record: &SecretRecord) -> Answer<SecretBundle> {
    record
        .latest()
        .map(|v| bundle(target, &record.name, v, false))
        .ok_or_else(|| KeyVaultError::not_found(KIND, &record.name))
}

fn deleted_bundle(target: &Target, d: &Deleted<VersionRecord>) -> Answer<DeletedSecretBundle> {
    Ok(DeletedSecretBundle {
        bundle: latest_bundle(target, &d.object)?,
        recovery_id: target.recovery_id(KIND, &d.object.name),
        deleted_date: d.deleted_date,
        scheduled_purge_date: d.scheduled_purge_date,
    })
}

fn item(id: String, v: &VersionRecord) -> SecretItem {
    SecretItem {
        id,
        attributes: SecretAttributes::of(v),
        tags: v.tags.clone(),
        content_type: v.content_type.clone(),
        managed: v.managed.then_some(true),
    }
}

// ---------------------------------------------------------------------------------------------------------------

/// `PUT /secrets/{name}` — SetSecret: a new version (32 hex) every time.
pub fn set_secret(cx: &Cx, name: &str, params: SecretSetParameters) -> Answer<SecretBundle> {
    check_name(name)?;
    let Some(value) = params.value else {
        return Err(KeyVaultError::BadParameter(
            "The parameter 'value' is required.".to_string(),
        ));
    };
    if value.len() > MAX_VALUE_BYTES {
        return Err(KeyVaultError::BadParameter(format!(
            "The secret value exceeds the maximum allowed size of {MAX_VALUE_BYTES} bytes."
        )));
    }
    check_content_type(&params.content_type)?;
    let tags = check_tags(&params.tags)?;
    let attrs = params.attributes.unwrap_or_default();
    let nbf = to_epoch(attrs.nbf, "nbf")?;
    let exp = to_epoch(attrs.exp, "exp")?;
    let now = cx.kv.now();
    let version = VersionRecord {
        managed: false,
        version: new_version(),
        value,
        content_type: params.content_type,
        tags,
        enabled: attrs.enabled.unwrap_or(true),
        nbf,
        exp,
        created: now,
        updated: now,
    };
    cx.with_vault(|vault| {
        if vault
            .secrets
            .get(name)
            .is_ok_and(|r| r.latest().is_some_and(|v| v.managed))
        {
            return Err(KeyVaultError::managed_by_key_vault("set"));
        }
        let record = vault.secrets.add_version(name, version)?;
        let latest = record.latest().ok_or_else(|| KeyVaultError::not_found(KIND, name))?;
        Ok(bundle(cx.target, &record.name, latest, true))
    })
}

/// `GET /secrets/{name}[/{version}]` — GetSecret (latest when the version is empty). `outContentType=
/// application/x-pem-file` turns a certificate's PFX secret into PEM, as the service does; other secrets answer
/// the service's 400.
pub fn get_secret(cx: &Cx, name: &str, version: Option<&str>, out_content_type: Option<&str>) -> Answer<SecretBundle> {
    check_name(name)?;
    let mut answer = cx.with_vault(|vault| {
        let record = vault.secrets.get(name)?;
        let v = record.find(version)?;
        if !v.enabled {
            return Err(KeyVaultError::disabled(KIND, "get"));
        }
        Ok(bundle(cx.target, &record.name, v, true))
    })?;
    match out_content_type {
        None => {}
        Some(wanted) if wanted.eq_ignore_ascii_case(super::certificates::model::PEM) => {
            let managed = answer.managed == Some(true);
            let content_type = answer.content_type.as_deref().filter(|_| managed);
            let value = super::certificates::secret_as_pem(content_type, answer.value.as_deref().unwrap_or(""))?;
            answer.value = Some(value);
            answer.content_type = Some(super::certificates::model::PEM.to_string());
        }
        Some(other) => {
            return Err(KeyVaultError::BadParameter(format!(
                "The 'Unsupported' to '{}' transformation is not supported. Only PFX to PEM transformation is \
                 supported.",
                truncate(other, 64)
            )))
        }
    }
    Ok(answer)
}

/// `PATCH /secrets/{name}/{version}` — UpdateSecret: content type, attributes and tags of one version.
pub fn update_secret(
    cx: &Cx,
    name: &str,
    version: Option<&str>,
    params: SecretUpdateParameters,
) -> Answer<SecretBundle> {
    check_name(name)?;
    check_content_type(&params.content_type)?;
    let attrs: SecretAttributesIn = params.attributes.unwrap_or_default();
    let update = attribute_update(&params.tags, attrs.enabled, attrs.nbf, attrs.exp)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let record = vault.secrets.get_mut(name)?;
        let stored_name = record.name.clone();
        let v = record.find_mut(version)?;
        if let Some(ct) = params.content_type {
            v.content_type = Some(ct);
        }
        update.apply(v, now);
        Ok(bundle(cx.target, &stored_name, v, false))
    })
}

/// `DELETE /secrets/{name}` — DeleteSecret: soft delete of every version.
pub fn delete_secret(cx: &Cx, name: &str) -> Answer<DeletedSecretBundle> {
    check_name(name)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        if vault
            .secrets
            .get(name)
            .is_ok_and(|r| r.latest().is_some_and(|v| v.managed))
        {
            return Err(KeyVaultError::managed_by_key_vault("delete"));
        }
        deleted_bundle(cx.target, vault.secrets.delete(name, now)?)
    })
}

/// `GET /secrets` — GetSecrets: one item per secret (base id, latest version's attributes), paged by name.
pub fn get_secrets(cx: &Cx, args: &ListArgs) -> Answer<ListResult<SecretItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.secrets.live(),
            cx.target,
            "/secrets",
            args,
            (KIND, Listing::Objects),
            |r| r.latest().map(|v| item(cx.target.base_id(KIND, &r.name), v)),
        )
    })
}

/// `GET /secrets/{name}/versions` — GetSecretVersions: every version, oldest first, paged by position.
/// An unknown name lists nothing (as the service does).
pub fn get_secret_versions(cx: &Cx, name: &str, args: &ListArgs) -> Answer<ListResult<SecretItem>> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault.secrets.page_versions(name, cx.target, args, |stored, v| {
            item(cx.target.object_id(KIND, stored, &v.version), v)
        })
    })
}

/// `POST /secrets/{name}/backup` — BackupSecret: every version in one opaque blob.
pub fn backup_secret(cx: &Cx, name: &str) -> Answer<BackupSecretResult> {
    check_name(name)?;
    cx.with_vault(|vault| {
        Ok(BackupSecretResult {
            value: backup::encode_wire(vault.secrets.get(name)?),
        })
    })
}

/// `POST /secrets/restore` — RestoreSecret: the secret with all its versions, from a backup blob.
pub fn restore_secret(cx: &Cx, params: SecretRestoreParameters) -> Answer<SecretBundle> {
    let Some(blob) = params.value else {
        return Err(KeyVaultError::BadParameter(
            "The parameter 'value' is required.".to_string(),
        ));
    };
    let record: SecretRecord = backup::decode_wire(&blob)
        .map_err(|_| KeyVaultError::BadParameter("Backup blob contains invalid or corrupt version.".to_string()))?;
    cx.with_vault(|vault| latest_bundle(cx.target, vault.secrets.restore(record)?))
}

/// `GET /deletedsecrets` — GetDeletedSecrets, paged by name.
pub fn get_deleted_secrets(cx: &Cx, args: &ListArgs) -> Answer<ListResult<DeletedSecretItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.secrets.deleted_objects(),
            cx.target,
            "/deletedsecrets",
            args,
            (KIND, Listing::Deleted),
            |d| {
                d.object.latest().map(|v| DeletedSecretItem {
                    item: item(cx.target.base_id(KIND, &d.object.name), v),
                    recovery_id: cx.target.recovery_id(KIND, &d.object.name),
                    deleted_date: d.deleted_date,
                    scheduled_purge_date: d.scheduled_purge_date,
                })
            },
        )
    })
}

/// `GET /deletedsecrets/{name}` — GetDeletedSecret.
pub fn get_deleted_secret(cx: &Cx, name: &str) -> Answer<DeletedSecretBundle> {
    check_name(name)?;
    cx.with_vault(|vault| deleted_bundle(cx.target, vault.secrets.get_deleted(name)?))
}

/// `DELETE /deletedsecrets/{name}` — PurgeDeletedSecret (answered 204).
pub fn purge_deleted_secret(cx: &Cx, name: &str) -> Answer<()> {
    check_name(name)?;
    cx.with_vault(|vault| vault.secrets.purge(name).map(|_| ()))
}

/// `POST /deletedsecrets/{name}/recover` — RecoverDeletedSecret: every version back.
pub fn recover_deleted_secret(cx: &Cx, name: &str) -> Answer<SecretBundle> {
    check_name(name)?;
    cx.with_vault(|vault| latest_bundle(cx.target, vault.secrets.recover(name)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::keyvault::KeyVault;

    fn target() -> Target {
        Target {
            authority: "127.0.0.1:4594".into(),
            vault: crate::keyvault::protocol::DEFAULT_VAULT.into(),
            base_url: "http://127.0.0.1:4594".into(),
            managed_hsm: false,
        }
    }

    fn record(name: &str) -> SecretRecord {
        SecretRecord {
            name: name.to_string(),
            versions: vec![VersionRecord {
                managed: false,
                version: format!("{:032x}", 1),
                value: "v".into(),
                content_type: None,
                tags: None,
                enabled: true,
                nbf: None,
                exp: None,
                created: 0,
                updated: 0,
            }],
        }
    }

    /// A token deep into 50 000 secrets continues right after its key, and the last page has no nextLink.
    #[test]
    fn list_pages_continue_after_the_token() {
        use crate::keyvault::protocol::paging::SkipToken;
        let kv = KeyVault::new(Clock::new());
        let target = target();
        kv.with_vault(&target.vault, |v| {
            for i in 0..50_000 {
                let name = format!("s{i:06}");
                v.secrets.live_mut().insert(name.clone(), record(&name));
            }
        });
        let token = SkipToken {
            kind: KIND,
            listing: Listing::Objects,
            offset: 0,
            key: "s049000".into(),
        };
        let cx = Cx {
            kv: &kv,
            target: &target,
        };
        let mut args = ListArgs {
            max: 25,
            skiptoken: Some(token.encode()),
            api_version: "7.4".into(),
        };
        let page = get_secrets(&cx, &args).unwrap();
        assert_eq!(page.value.len(), 25);
        assert!(page.value[0].id.ends_with("/secrets/s049001"), "{}", page.value[0].id);
        assert!(page.next_link.is_some());
        args.skiptoken = Some(
            SkipToken {
                key: "s049975".into(),
                ..token
            }
            .encode(),
        );
        let last = get_secrets(&cx, &args).unwrap();
        assert_eq!(last.value.len(), 24);
        assert_eq!(last.next_link, None);
    }
}
