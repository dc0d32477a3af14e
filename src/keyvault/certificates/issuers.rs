//! Certificate issuers (`/certificates/issuers/{name}`) and the vault's certificate contacts
//! (`/certificates/contacts`). Issuer credentials are stored; the password is never sent back.

use super::model::*;
use super::PROVIDERS;
use crate::keyvault::protocol::body::check_name;
use crate::keyvault::protocol::paging::{page_by_name, Listing};
use crate::keyvault::protocol::{truncate, KeyVaultError, ListArgs, ListResult, ObjectKind};
use crate::keyvault::store::key_of;
use crate::keyvault::Cx;

type Answer<T> = Result<T, KeyVaultError>;

/// The one record key of a vault's contacts.
const CONTACTS: &str = "contacts";

/// Python recording test_crud_issuer[2025-07-01].
fn issuer_not_found(_name: &str) -> KeyVaultError {
    KeyVaultError::NotFoundCode {
        code: "CertificateIssuerNotFound",
        message: "Issuer not found".to_string(),
    }
}

fn issuer_id(cx: &Cx, name: &str) -> String {
    format!("{}/certificates/issuers/{name}", cx.target.base_url)
}

fn bundle(cx: &Cx, r: &IssuerRecord) -> IssuerBundle {
    IssuerBundle {
        id: issuer_id(cx, &r.name),
        provider: r.provider.clone(),
        credentials: r
            .account_id
            .clone()
            .map(|account_id| IssuerCredentialsOut { account_id }),
        org_details: r.org_details.clone(),
        attributes: IssuerAttributes {
            enabled: r.enabled,
            created: r.created,
            updated: r.updated,
        },
    }
}

fn check_provider(provider: &str) -> Answer<()> {
    if PROVIDERS.iter().any(|p| p.eq_ignore_ascii_case(provider)) {
        return Ok(());
    }
    Err(KeyVaultError::BadParameter(format!(
        "Invalid issuer provider: '{}'. The providers are {}.",
        truncate(provider, 64),
        PROVIDERS.join(", ")
    )))
}

fn reserved(name: &str) -> Answer<()> {
    if name.eq_ignore_ascii_case("Self") || name.eq_ignore_ascii_case("Unknown") {
        return Err(KeyVaultError::BadParameter(format!(
            "The issuer name '{name}' is reserved."
        )));
    }
    Ok(())
}

/// `PUT /certificates/issuers/{name}` — SetCertificateIssuer (creates or replaces).
pub fn set_certificate_issuer(cx: &Cx, name: &str, params: IssuerParametersIn) -> Answer<IssuerBundle> {
    check_name(name)?;
    reserved(name)?;
    let provider = params
        .provider
        .ok_or_else(|| KeyVaultError::BadParameter("The parameter 'provider' is required.".to_string()))?;
    check_provider(&provider)?;
    let now = cx.kv.now();
    let credentials = params.credentials.unwrap_or_default();
    cx.with_vault(|vault| {
        let created = vault
            .certificate_issuers
            .get(&key_of(name))
            .map(|r| r.created)
            .unwrap_or(now);
        let record = IssuerRecord {
            name: name.to_string(),
            provider,
            account_id: credentials.account_id,
            password: credentials.pwd,
            org_details: params.org_details,
            enabled: params.attributes.and_then(|a| a.enabled).unwrap_or(true),
            created,
            updated: now,
        };
        let out = bundle(cx, &record);
        vault.certificate_issuers.insert(key_of(name), record);
        Ok(out)
    })
}

/// `PATCH /certificates/issuers/{name}` — UpdateCertificateIssuer: what the request gives replaces the stored.
pub fn update_certificate_issuer(cx: &Cx, name: &str, params: IssuerParametersIn) -> Answer<IssuerBundle> {
    check_name(name)?;
    if let Some(provider) = &params.provider {
        check_provider(provider)?;
    }
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let record = vault
            .certificate_issuers
            .get_mut(&key_of(name))
            .ok_or_else(|| issuer_not_found(name))?;
        if let Some(provider) = params.provider {
            record.provider = provider;
        }
        if let Some(credentials) = params.credentials {
            if credentials.account_id.is_some() {
                record.account_id = credentials.account_id;
            }
            if credentials.pwd.is_some() {
                record.password = credentials.pwd;
            }
        }
        if params.org_details.is_some() {
            record.org_details = params.org_details;
        }
        if let Some(enabled) = params.attributes.and_then(|a| a.enabled) {
            record.enabled = enabled;
        }
        record.updated = now;
        let record = record.clone();
        Ok(bundle(cx, &record))
    })
}

/// `GET /certificates/issuers/{name}` — GetCertificateIssuer.
pub fn get_certificate_issuer(cx: &Cx, name: &str) -> Answer<IssuerBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault
            .certificate_issuers
            .get(&key_of(name))
            .map(|r| bundle(cx, r))
            .ok_or_else(|| issuer_not_found(name))
    })
}

/// `DELETE /certificates/issuers/{name}` — DeleteCertificateIssuer (answers what was deleted).
pub fn delete_certificate_issuer(cx: &Cx, name: &str) -> Answer<IssuerBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault
            .certificate_issuers
            .remove(&key_of(name))
            .map(|r| bundle(cx, &r))
            .ok_or_else(|| issuer_not_found(name))
    })
}

/// `GET /certificates/issuers` — GetCertificateIssuers, by name.
pub fn get_certificate_issuers(cx: &Cx, args: &ListArgs) -> Answer<ListResult<IssuerItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            &vault.certificate_issuers,
            cx.target,
            "/certificates/issuers",
            args,
            (ObjectKind::Certificate, Listing::Issuers),
            |r| {
                Some(IssuerItem {
                    id: issuer_id(cx, &r.name),
                    provider: r.provider.clone(),
                })
            },
        )
    })
}

fn contacts_out(cx: &Cx, r: &ContactsRecord) -> Contacts {
    Contacts {
        id: format!("{}/certificates/contacts", cx.target.base_url),
        contacts: r.contacts.clone(),
    }
}

/// Python recording test_crud_contacts[2025-07-01].
fn contacts_not_found() -> KeyVaultError {
    KeyVaultError::NotFoundCode {
        code: "ContactsNotFound",
        message: "Contacts not found".to_string(),
    }
}

/// `PUT /certificates/contacts` — SetCertificateContacts (replaces the list).
pub fn set_certificate_contacts(cx: &Cx, params: ContactsIn) -> Answer<Contacts> {
    let contacts = params
        .contacts
        .filter(|c| !c.is_empty())
        .ok_or_else(|| KeyVaultError::BadParameter("The parameter 'contacts' is required.".to_string()))?;
    for c in &contacts {
        if c.email.as_deref().is_none_or(|e| !e.contains('@')) {
            return Err(KeyVaultError::BadParameter(
                "Every contact needs a valid email address.".to_string(),
            ));
        }
    }
    cx.with_vault(|vault| {
        let record = ContactsRecord { contacts };
        let out = contacts_out(cx, &record);
        vault.certificate_contacts.insert(CONTACTS.to_string(), record);
        Ok(out)
    })
}

/// `GET /certificates/contacts` — GetCertificateContacts.
pub fn get_certificate_contacts(cx: &Cx) -> Answer<Contacts> {
    cx.with_vault(|vault| {
        vault
            .certificate_contacts
            .get(CONTACTS)
            .map(|r| contacts_out(cx, r))
            .ok_or_else(contacts_not_found)
    })
}

/// `DELETE /certificates/contacts` — DeleteCertificateContacts (answers what was deleted).
pub fn delete_certificate_contacts(cx: &Cx) -> Answer<Contacts> {
    cx.with_vault(|vault| {
        vault
            .certificate_contacts
            .remove(CONTACTS)
            .map(|r| contacts_out(cx, &r))
            .ok_or_else(contacts_not_found)
    })
}
