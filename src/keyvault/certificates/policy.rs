//! Certificate policies: what a request's policy leaves out is filled in as the service fills it in (the default
//! policy of Python recording test_certificates_client.pyTestCertificateClienttest_crud_operations[2025-07-01]:
//! RSA 2048, exportable, not reused, PFX, server and client auth, digitalSignature + keyEncipherment, 12 months,
//! `basic_constraints {ca: false}`, AutoRenew at 80 % of the lifetime), checked, and turned into what
//! [`crate::crypto::certificate`] makes.

use super::model::*;
use crate::crypto::certificate::{Subject, KEY_USAGES};
use crate::crypto::KeySpec;
use crate::keyvault::keys::model::KeyType;
use crate::keyvault::protocol::{truncate, KeyVaultError};

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

/// serverAuth, clientAuth: the EKUs of a policy that names none.
pub const DEFAULT_EKUS: [&str; 2] = ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"];

/// What key a policy asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPlan {
    pub kty: KeyType,
    pub spec: KeySpec,
}

/// The key a (complete) policy asks for.
pub fn key_plan(policy: &Policy) -> Result<KeyPlan, KeyVaultError> {
    let props = policy.key_props.clone().unwrap_or_default();
    let kty_name = props.kty.as_deref().unwrap_or("RSA");
    let kty = KeyType::parse(kty_name)
        .filter(|k| !k.is_oct())
        .ok_or_else(|| bad(format!("Invalid key type (kty): '{}'.", truncate(kty_name, 32))))?;
    if kty.is_rsa() {
        let spec = match props.key_size.unwrap_or(2048) {
            2048 => KeySpec::Rsa2048,
            3072 => KeySpec::Rsa3072,
            4096 => KeySpec::Rsa4096,
            other => return Err(bad(format!("Invalid key size: '{other}'"))),
        };
        return Ok(KeyPlan { kty, spec });
    }
    let crv = props.crv.as_deref().unwrap_or("P-256");
    let spec = crate::keyvault::keys::model::curve_spec(crv)
        .ok_or_else(|| bad(format!("Invalid curve name (crv): '{}'.", truncate(crv, 32))))?;
    Ok(KeyPlan { kty, spec })
}

fn check_lifetime_actions(actions: &[LifetimeAction]) -> Result<(), KeyVaultError> {
    for action in actions {
        let trigger = action.trigger.clone().unwrap_or_default();
        match (trigger.lifetime_percentage, trigger.days_before_expiry) {
            (Some(p), None) if (1..=99).contains(&p) => {}
            (None, Some(d)) if d >= 1 => {}
            (Some(_), Some(_)) => {
                return Err(bad(
                    "A lifetime action trigger takes either lifetime_percentage or days_before_expiry, not both.",
                ))
            }
            _ => return Err(bad(
                "Invalid lifetime action trigger: give lifetime_percentage (1-99) or days_before_expiry (1 or more).",
            )),
        }
        match action.action.as_ref().and_then(|a| a.action_type.as_deref()) {
            Some("AutoRenew") | Some("EmailContacts") => {}
            other => {
                return Err(bad(format!(
                    "Invalid lifetime action type: '{}'. It is AutoRenew or EmailContacts.",
                    truncate(other.unwrap_or(""), 32)
                )))
            }
        }
    }
    Ok(())
}

/// A request's policy made complete (on top of `base`, the certificate's stored policy, when there is one) and
/// checked; `now` stamps its attributes.
pub fn complete(given: &Policy, base: Option<&Policy>, now: i64) -> Result<Policy, KeyVaultError> {
    let base = base.cloned().unwrap_or_default();
    let mut key_props = given.key_props.clone().or(base.key_props).unwrap_or_default();
    let x509 = given.x509_props.clone().or(base.x509_props).unwrap_or_default();
    let issuer =
        given.issuer.clone().or(base.issuer).ok_or_else(|| {
            bad("The policy's issuer is required (issuer.name: Self, Unknown or a configured issuer).")
        })?;
    let issuer_name = issuer.name.clone().unwrap_or_default();
    if issuer_name.trim().is_empty() {
        return Err(bad("The policy's issuer name is required."));
    }
    let ec = key_props.kty.as_deref().is_some_and(|k| k.starts_with("EC")) || key_props.crv.is_some();
    if key_props.kty.is_none() {
        key_props.kty = Some(if ec { "EC" } else { "RSA" }.to_string());
    }
    if key_props.exportable.is_none() {
        key_props.exportable = Some(true);
    }
    if key_props.reuse_key.is_none() {
        key_props.reuse_key = Some(false);
    }
    if ec {
        key_props.key_size = None;
        if key_props.crv.is_none() {
            key_props.crv = Some("P-256".to_string());
        }
    } else if key_props.key_size.is_none() {
        key_props.key_size = Some(2048);
    }
    let plan = key_plan(&Policy {
        key_props: Some(key_props.clone()),
        ..Policy::default()
    })?;
    let content_type = given
        .secret_props
        .clone()
        .or(base.secret_props)
        .and_then(|s| s.content_type)
        .unwrap_or_else(|| PKCS12.to_string());
    if content_type != PKCS12 && content_type != PEM {
        return Err(bad(format!(
            "Invalid secret content type: '{}'. It is {PKCS12} or {PEM}.",
            truncate(&content_type, 64)
        )));
    }
    let sans = x509.sans.clone().unwrap_or_default();
    let has_sans = [&sans.dns_names, &sans.emails, &sans.upns]
        .iter()
        .any(|s| s.as_ref().is_some_and(|v| !v.is_empty()));
    let subject = x509.subject.clone().filter(|s| !s.trim().is_empty());
    if subject.is_none() && !has_sans {
        return Err(bad(
            "Either the subject or subject alternative names must be given in the policy's x509_props.",
        ));
    }
    if let Some(subject) = &subject {
        crate::crypto::certificate::distinguished_name(subject)
            .map_err(|e| bad(format!("Invalid subject name '{}': {e}.", truncate(subject, 256))))?;
    }
    let key_usage = match x509.key_usage.clone() {
        Some(k) => {
            for usage in &k {
                if !KEY_USAGES.contains(&usage.as_str()) {
                    return Err(bad(format!("Invalid key usage: '{}'.", truncate(usage, 64))));
                }
            }
            k
        }
        None if plan.kty.is_ec() => vec!["digitalSignature".to_string()],
        None => vec!["digitalSignature".to_string(), "keyEncipherment".to_string()],
    };
    let ekus = x509
        .ekus
        .clone()
        .unwrap_or_else(|| DEFAULT_EKUS.iter().map(|s| s.to_string()).collect());
    for eku in &ekus {
        let valid = eku.split('.').count() >= 2
            && eku
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(bad(format!("Invalid extended key usage: '{}'.", truncate(eku, 64))));
        }
    }
    let validity_months = x509.validity_months.unwrap_or(12);
    if validity_months < 1 {
        return Err(bad(format!("Invalid validity_months: '{validity_months}'.")));
    }
    let self_or_unknown_default = if issuer_name.eq_ignore_ascii_case("Unknown") {
        "EmailContacts"
    } else {
        "AutoRenew"
    };
    let lifetime_actions = given
        .lifetime_actions
        .clone()
        .or(base.lifetime_actions)
        .unwrap_or_else(|| {
            vec![LifetimeAction {
                trigger: Some(Trigger {
                    lifetime_percentage: Some(80),
                    days_before_expiry: None,
                }),
                action: Some(Action {
                    action_type: Some(self_or_unknown_default.to_string()),
                }),
            }]
        });
    check_lifetime_actions(&lifetime_actions)?;
    let enabled = given
        .attributes
        .as_ref()
        .and_then(|a| a.enabled)
        .or(base.attributes.as_ref().and_then(|a| a.enabled))
        .unwrap_or(true);
    let created = base.attributes.as_ref().and_then(|a| a.created).unwrap_or(now);
    Ok(Policy {
        key_props: Some(key_props),
        secret_props: Some(SecretProperties {
            content_type: Some(content_type),
        }),
        x509_props: Some(X509Properties {
            subject,
            sans: Some(sans),
            ekus: Some(ekus),
            key_usage: Some(key_usage),
            validity_months: Some(validity_months),
            basic_constraints: Some(x509.basic_constraints.unwrap_or_default()),
        }),
        lifetime_actions: Some(lifetime_actions),
        issuer: Some(issuer),
        attributes: Some(PolicyAttributes {
            enabled: Some(enabled),
            created: Some(created),
            updated: Some(now),
        }),
    })
}

/// What the certificate of a complete policy says about its subject.
pub fn subject(policy: &Policy) -> Subject {
    let x509 = policy.x509_props.clone().unwrap_or_default();
    let sans = x509.sans.unwrap_or_default();
    let dns_names = sans.dns_names.unwrap_or_default();
    let name = x509
        .subject
        .or_else(|| dns_names.first().map(|d| format!("CN={d}")))
        .unwrap_or_else(|| "CN=certificate".to_string());
    Subject {
        name,
        dns_names,
        emails: sans.emails.unwrap_or_default(),
        upns: sans.upns.unwrap_or_default(),
        key_usage: x509.key_usage.unwrap_or_default(),
        ekus: x509.ekus.unwrap_or_default(),
    }
}

/// The validity of a new certificate made at `now`: from ten minutes before (the recorded `nbf = created - 600`)
/// to `validity_months` after `now` (12 months recorded as exactly 365 days).
pub fn validity(policy: &Policy, now: i64) -> crate::crypto::certificate::Validity {
    let months = policy.x509_props.as_ref().and_then(|x| x.validity_months).unwrap_or(12);
    let days = if months % 12 == 0 {
        months / 12 * 365
    } else {
        months * 365 / 12
    };
    crate::crypto::certificate::Validity {
        not_before: now - 600,
        not_after: now + days * 86_400,
    }
}

/// The policy the service derives for an imported certificate: what the certificate says, issuer `Unknown`,
/// EmailContacts at 80 %, the key's type and size, with the request's policy (if any) on top.
pub fn derived_for_import(
    parsed: &crate::crypto::certificate::Parsed,
    key: Option<&crate::crypto::KeyMaterial>,
    content_type: &str,
    given: Option<&Policy>,
    now: i64,
) -> Result<Policy, KeyVaultError> {
    let spec = key.map(|k| k.spec());
    let (kty, key_size, crv) = match spec {
        Some(s) if s.is_rsa() => ("RSA", s.rsa_bits().map(|b| b as i64), None),
        Some(s) => (
            "EC",
            None,
            crate::keyvault::keys::model::curve_name(s).map(str::to_string),
        ),
        None => ("RSA", None, None),
    };
    // Days over 30.5, rounded: the recorded 36 500-day certificate reads 1197 months, a 365-day one 12.
    let days = (parsed.not_after - parsed.not_before).max(0) as f64 / 86_400.0;
    let months = (days / 30.5).round().max(1.0) as i64;
    let s = &parsed.subject;
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let derived = Policy {
        key_props: Some(KeyProperties {
            exportable: Some(true),
            kty: Some(kty.to_string()),
            key_size,
            reuse_key: Some(false),
            crv,
        }),
        secret_props: Some(SecretProperties {
            content_type: Some(content_type.to_string()),
        }),
        x509_props: Some(X509Properties {
            subject: Some(s.name.clone()),
            // No `sans` member for a certificate without the extension (recorded).
            sans: (!(s.emails.is_empty() && s.dns_names.is_empty() && s.upns.is_empty())).then(|| {
                SubjectAlternativeNames {
                    emails: non_empty(&s.emails),
                    dns_names: non_empty(&s.dns_names),
                    upns: non_empty(&s.upns),
                }
            }),
            ekus: Some(s.ekus.clone()),
            key_usage: Some(s.key_usage.clone()),
            validity_months: Some(months),
            basic_constraints: Some(BasicConstraints { ca: parsed.is_ca }),
        }),
        lifetime_actions: None,
        issuer: Some(IssuerParameters {
            name: Some("Unknown".to_string()),
            ..IssuerParameters::default()
        }),
        attributes: None,
    };
    let mut merged = derived.clone();
    if let Some(given) = given {
        if let Some(k) = &given.key_props {
            let mut props = derived.key_props.clone().unwrap_or_default();
            if k.exportable.is_some() {
                props.exportable = k.exportable;
            }
            if k.reuse_key.is_some() {
                props.reuse_key = k.reuse_key;
            }
            merged.key_props = Some(props);
        }
        if given.secret_props.is_some() {
            merged.secret_props = given.secret_props.clone();
        }
        if given.lifetime_actions.is_some() {
            merged.lifetime_actions = given.lifetime_actions.clone();
        }
        if given.issuer.is_some() {
            merged.issuer = given.issuer.clone();
        }
        if given.attributes.is_some() {
            merged.attributes = given.attributes.clone();
        }
    }
    let mut policy = complete(&merged, None, now)?;
    // What the certificate says stands, even where it is not what `complete` would have chosen (a request's
    // x509_props are replaced by the certificate's, as recorded in test_list[2025-07-01]).
    if let Some(x) = policy.x509_props.as_mut() {
        *x = derived.x509_props.clone().unwrap_or_default();
    }
    if key.is_none() {
        if let Some(k) = policy.key_props.as_mut() {
            k.key_size = None;
        }
    }
    Ok(policy)
}
