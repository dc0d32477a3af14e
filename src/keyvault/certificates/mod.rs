//! The certificates plane: one handler per wire operation, named after it. A certificate version is three objects
//! of the same name and version, as in the service: the certificate (`/certificates`, this plane's
//! [`ObjectStore`](crate::keyvault::store::ObjectStore)), its managed key (`/keys`, usable for sign/decrypt like any
//! key) and its managed secret (`/secrets`, the PFX or PEM with the private key when the policy makes it
//! exportable). Policies and the latest certificate operation are kept per certificate name; issuers and contacts
//! per vault ([`issuers`]).
//!
//! Issuers: `Self` makes a self-signed certificate; a configured issuer whose provider is a public CA (DigiCert,
//! GlobalSign, OneCertV2-*) gets a certificate from trent's own local issuing CA, so chains can be tested;
//! `Unknown` leaves the operation pending with its CSR until a merge. Key generation runs on the blocking pool
//! outside the service lock.

pub mod issuers;
pub mod model;
pub mod policy;

use model::*;

use super::keys::model::{KeyType, KeyVersion, Material};
use super::protocol::body::{attribute_update, check_name, check_tags, new_version, to_epoch};
use super::protocol::paging::{page_by_name, Listing};
use super::protocol::{truncate, KeyVaultError, ListArgs, ListResult, ObjectKind, Reply, Target};
use super::secrets::model::VersionRecord;
use super::store::{backup, key_of, Deleted};
use super::vault::VaultState;
use super::Cx;
use crate::crypto::certificate as x509;
use crate::crypto::KeyMaterial;

const KIND: ObjectKind = ObjectKind::Certificate;
/// The recorded `status_details` of an operation in progress (Python recording test_crud_operations[2025-07-01]).
/// The recorded `status_details` of an operation waiting for a merge (issuer `Unknown`).
const MERGE_DETAILS: &str = "Pending certificate created. Please Perform Merge to complete the request.";
const IN_PROGRESS_DETAILS: &str =
    "Pending certificate created. Certificate request is in progress. This may take some \
                                   time based on the issuer provider. Please check again later.";
/// The recorded `Retry-After` of a create and of a poll in progress.
const RETRY_AFTER_SECS: &str = "10";
/// The `Retry-After` of a create whose certificate trent has already made (self-signed or from its CA): the SDK
/// pollers (the Rust one honours the header) look again after a second instead of ten.
const RETRY_AFTER_DONE_SECS: &str = "1";

type Answer<T> = Result<T, KeyVaultError>;

fn bad(message: impl Into<String>) -> KeyVaultError {
    KeyVaultError::BadParameter(message.into())
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Python recording test_async_request_cancellation_and_deletion[2025-07-01].
fn pending_not_found(name: &str) -> KeyVaultError {
    KeyVaultError::NotFoundCode {
        code: "PendingCertificateNotFound",
        message: format!("Pending Certificate not found: {name}"),
    }
}

/// The stored name of the certificate whose operation a request names (no certificate: no operation).
fn pending_owner(vault: &VaultState, name: &str) -> Answer<String> {
    vault
        .certificates
        .get(name)
        .map(|r| r.name.clone())
        .map_err(|_| pending_not_found(name))
}

/// Where the issuer of a policy has the certificate come from.
enum Source {
    SelfSigned,
    /// trent's local issuing CA, standing in for the provider named.
    LocalCa,
    /// Nobody: the operation waits for a merge.
    Merge,
}

/// Public CA providers a configured issuer may name; trent issues their certificates from its local CA.
pub const PROVIDERS: [&str; 4] = ["DigiCert", "GlobalSign", "OneCertV2-PublicCA", "OneCertV2-PrivateCA"];

fn source(vault: &VaultState, policy: &model::Policy) -> Answer<Source> {
    let name = policy.issuer_name();
    if name.eq_ignore_ascii_case("Self") {
        return Ok(Source::SelfSigned);
    }
    if name.eq_ignore_ascii_case("Unknown") {
        return Ok(Source::Merge);
    }
    match vault.certificate_issuers.get(&key_of(name)) {
        Some(issuer) if issuer.enabled => Ok(Source::LocalCa),
        Some(_) => Err(bad(format!("The issuer '{}' is disabled.", truncate(name, 127)))),
        None => Err(bad(format!(
            "The issuer '{}' is not configured in this vault: set it with SetCertificateIssuer (provider {}), or use \
             Self or Unknown.",
            truncate(name, 127),
            PROVIDERS.join(", ")
        ))),
    }
}

/// The key operations of a certificate's key, from its key usages.
fn key_ops(kty: KeyType, usages: &[String]) -> Vec<String> {
    let mut ops = Vec::new();
    let mut add = |op: &str| {
        if !ops.iter().any(|o| o == op) {
            ops.push(op.to_string());
        }
    };
    for usage in usages {
        match usage.as_str() {
            "digitalSignature" | "nonRepudiation" => {
                add("sign");
                add("verify");
            }
            "keyEncipherment" if kty.is_rsa() => {
                add("wrapKey");
                add("unwrapKey");
            }
            "dataEncipherment" if kty.is_rsa() => {
                add("encrypt");
                add("decrypt");
            }
            _ => {}
        }
    }
    if ops.is_empty() {
        return kty.default_ops().iter().map(|s| s.to_string()).collect();
    }
    ops
}

/// The managed secret's value: the PFX (base64) or PEM of the chain, with the key when the policy makes it
/// exportable.
fn secret_value(policy: &model::Policy, key: &KeyMaterial, chain: &[Vec<u8>]) -> Answer<String> {
    let key = policy.exportable().then_some(key);
    if policy.content_type() == PEM {
        return Ok(x509::to_pem(key, chain));
    }
    x509::to_pkcs12(key, chain, "")
        .map(|pfx| b64(&pfx))
        .map_err(|e| KeyVaultError::Internal(format!("trent could not write the certificate's PFX: {e}")))
}

fn managed_key(
    version: &str,
    kty: KeyType,
    key: KeyMaterial,
    ops: Vec<String>,
    cert: Option<&Issued>,
    now: i64,
) -> KeyVersion {
    KeyVersion {
        version: version.to_string(),
        kty,
        material: Material::Asymmetric(key),
        key_ops: ops,
        enabled: cert.is_some(),
        nbf: cert.map(|c| c.nbf),
        exp: cert.map(|c| c.exp),
        created: now,
        updated: now,
        tags: None,
        exportable: false,
        release_policy: None,
        managed: true,
    }
}

/// The managed secret of an issued certificate version.
fn managed_secret(
    version: &str,
    policy: &model::Policy,
    key: &KeyMaterial,
    issued: &Issued,
    enabled: bool,
    now: i64,
) -> Answer<VersionRecord> {
    Ok(VersionRecord {
        version: version.to_string(),
        value: secret_value(policy, key, &issued.chain)?,
        content_type: Some(policy.content_type().to_string()),
        tags: None,
        enabled,
        nbf: Some(issued.nbf),
        exp: Some(issued.exp),
        created: now,
        updated: now,
        managed: true,
    })
}

/// A certificate with its chain, ready to store.
struct Issued {
    chain: Vec<Vec<u8>>,
    nbf: i64,
    exp: i64,
}

impl Issued {
    fn of(chain: Vec<Vec<u8>>) -> Answer<Issued> {
        let leaf = chain.first().ok_or_else(|| bad("The certificate chain is empty."))?;
        let parsed = x509::parse(leaf).map_err(|e| bad(format!("The certificate cannot be read: {e}.")))?;
        Ok(Issued {
            nbf: parsed.not_before,
            exp: parsed.not_after,
            chain,
        })
    }
}

/// Adds the certificate version `version` (and its managed key and, once issued, secret) to the vault.
#[allow(clippy::too_many_arguments)]
fn store_version(
    vault: &mut VaultState,
    name: &str,
    version: &str,
    policy: &model::Policy,
    key: KeyMaterial,
    kty: KeyType,
    issued: Option<&Issued>,
    enabled: bool,
    tags: Option<std::collections::BTreeMap<String, String>>,
    now: i64,
) -> Answer<()> {
    let usages = policy
        .x509_props
        .as_ref()
        .and_then(|x| x.key_usage.clone())
        .unwrap_or_default();
    let secret = match issued {
        Some(issued) => Some(managed_secret(version, policy, &key, issued, enabled, now)?),
        None => None,
    };
    let cert = CertificateVersion {
        version: version.to_string(),
        cer: issued.and_then(|i| i.chain.first().cloned()).map(Der),
        chain: issued
            .map(|i| i.chain.iter().skip(1).cloned().map(Der).collect())
            .unwrap_or_default(),
        enabled: issued.is_some() && enabled,
        nbf: issued.map(|i| i.nbf),
        exp: issued.map(|i| i.exp),
        created: now,
        updated: now,
        tags,
    };
    let mut key_version = managed_key(version, kty, key, key_ops(kty, &usages), issued, now);
    key_version.enabled = issued.is_some() && enabled;
    // The three names must all be free of soft-deleted objects before anything is added.
    let deleted = vault
        .keys
        .get_deleted(name)
        .map(|d| d.object.name.clone())
        .or_else(|_| vault.secrets.get_deleted(name).map(|d| d.object.name.clone()))
        .ok();
    if let Some(deleted) = deleted {
        return Err(KeyVaultError::deleted_but_recoverable(KIND, &deleted));
    }
    if let Ok(record) = vault.keys.get(name) {
        if record.latest().is_some_and(|v| !v.managed) {
            return Err(KeyVaultError::Conflict {
                message: format!(
                    "A key named '{}' that belongs to no certificate exists in this vault: a certificate's key and \
                     secret take its name.",
                    record.name
                ),
                inner: None,
            });
        }
    }
    if let Ok(record) = vault.secrets.get(name) {
        if record.latest().is_some_and(|v| !v.managed) {
            return Err(KeyVaultError::Conflict {
                message: format!(
                    "A secret named '{}' that belongs to no certificate exists in this vault: a certificate's key \
                     and secret take its name.",
                    record.name
                ),
                inner: None,
            });
        }
    }
    vault.certificates.add_version(name, cert)?;
    vault.keys.add_version(name, key_version)?;
    if let Some(secret) = secret {
        vault.secrets.add_version(name, secret)?;
    }
    Ok(())
}

/// The CertificateBundle of one version.
pub fn bundle(
    vault: &VaultState,
    target: &Target,
    record: &CertificateRecord,
    v: &CertificateVersion,
) -> CertificateBundle {
    let k = key_of(&record.name);
    CertificateBundle {
        id: target.object_id(KIND, &record.name, &v.version),
        kid: target.object_id(ObjectKind::Key, &record.name, &v.version),
        sid: target.object_id(ObjectKind::Secret, &record.name, &v.version),
        x5t: v.cer.as_ref().map(|c| b64url(&x509::thumbprint(&c.0))),
        cer: v.cer.clone(),
        attributes: CertificateAttributes::of(v),
        tags: v.tags.clone(),
        policy: vault.certificate_policies.get(&k).map(|p| PolicyOut {
            id: format!("{}/policy", target.base_id(KIND, &record.name)),
            policy: p.clone(),
        }),
        pending: vault.certificate_operations.get(&k).map(|_| PendingRef {
            id: format!("{}/pending", target.base_id(KIND, &record.name)),
        }),
    }
}

fn latest_bundle(vault: &VaultState, target: &Target, record: &CertificateRecord) -> Answer<CertificateBundle> {
    let latest = record
        .latest()
        .ok_or_else(|| KeyVaultError::not_found(KIND, &record.name))?;
    Ok(bundle(vault, target, record, latest))
}

fn deleted_bundle(
    vault: &VaultState,
    target: &Target,
    d: &Deleted<CertificateVersion>,
) -> Answer<DeletedCertificateBundle> {
    Ok(DeletedCertificateBundle {
        recovery_id: target.recovery_id(KIND, &d.object.name),
        deleted_date: d.deleted_date,
        scheduled_purge_date: d.scheduled_purge_date,
        bundle: latest_bundle(vault, target, &d.object)?,
    })
}

fn item(id: String, v: &CertificateVersion) -> CertificateItem {
    CertificateItem {
        id,
        x5t: v.cer.as_ref().map(|c| b64url(&x509::thumbprint(&c.0))),
        attributes: ItemAttributes::of(v),
        tags: v.tags.clone(),
        subject: "",
    }
}

fn operation(target: &Target, name: &str, op: &OperationRecord, status: Option<&str>) -> CertificateOperation {
    let status = status.unwrap_or(&op.status).to_string();
    let completed = status == "completed";
    CertificateOperation {
        id: format!("{}/pending", target.base_id(KIND, name)),
        issuer: op.issuer.clone(),
        csr: op.csr.clone(),
        cancellation_requested: op.cancellation_requested,
        status_details: if status == "inProgress" || status == "failed" {
            op.status_details.clone()
        } else {
            None
        },
        error: op.error.clone(),
        target: completed.then(|| target.base_id(KIND, name)),
        status,
        request_id: op.request_id.clone(),
    }
}

fn operation_reply(target: &Target, name: &str, op: &OperationRecord, status: Option<&str>) -> Answer<Reply> {
    let shown = operation(target, name, op, status);
    let in_progress = shown.status == "inProgress";
    let reply = Reply::json(&shown)?;
    let retry = if op.status == "completed" {
        RETRY_AFTER_DONE_SECS
    } else {
        RETRY_AFTER_SECS
    };
    Ok(if in_progress {
        reply.with_header("retry-after", retry.to_string())
    } else {
        reply
    })
}

/// Key material for a new version: the latest version's when the policy reuses keys, else fresh (blocking pool).
async fn version_key(cx: &Cx<'_>, name: &str, policy: &model::Policy) -> Answer<(KeyType, KeyMaterial)> {
    let plan = policy::key_plan(policy)?;
    if !x509::can_sign(plan.spec) {
        return Err(bad(format!(
            "trent cannot make certificates with {} keys yet (it signs X.509 with RSA, P-256 and P-384 keys); \
             import such a certificate instead.",
            crate::keyvault::keys::model::curve_name(plan.spec).unwrap_or(plan.spec.as_str())
        )));
    }
    let reuse = policy.key_props.as_ref().and_then(|k| k.reuse_key).unwrap_or(false);
    if reuse {
        let existing = cx.with_vault(|vault| {
            vault
                .keys
                .get(name)
                .ok()
                .and_then(|r| r.latest().cloned())
                .and_then(|v| match v.material {
                    Material::Asymmetric(m) if m.spec() == plan.spec && v.managed => Some(m),
                    _ => None,
                })
        });
        if let Some(material) = existing {
            return Ok((plan.kty, material));
        }
    }
    let spec = plan.spec;
    let material = crate::limits::key_generation()
        .run(move || KeyMaterial::generate(spec))
        .await
        .map_err(|_| KeyVaultError::Throttled)?
        .map_err(|e| KeyVaultError::Internal(format!("key generation failed: {e}")))?;
    Ok((plan.kty, material))
}

fn make_error(e: x509::MakeError) -> KeyVaultError {
    match e {
        x509::MakeError::Request(m) => bad(format!("The certificate policy cannot be used: {m}.")),
        x509::MakeError::Crypto(e) => KeyVaultError::Internal(format!("trent could not make the certificate: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------------------------

/// `POST /certificates/{name}/create` — CreateCertificate: a new version from the policy (the given one, else the
/// certificate's). Answered 202 with the operation `inProgress`, `Location` and `Retry-After`, as recorded; a
/// self-signed or CA-issued certificate is complete at once (the next poll reads `completed`), an `Unknown`
/// issuer's waits for MergeCertificate.
pub async fn create_certificate(
    cx: &Cx<'_>,
    name: &str,
    params: CertificateCreateParameters,
    api_version: &str,
) -> Answer<Reply> {
    check_name(name)?;
    let tags = check_tags(&params.tags)?;
    let attrs = params.attributes.clone().unwrap_or_default();
    let enabled = attrs.enabled.unwrap_or(true);
    let now = cx.kv.now();
    let (policy, source) = cx.with_vault(|vault| {
        if let Ok(d) = vault.certificates.get_deleted(name) {
            return Err(KeyVaultError::deleted_but_recoverable(KIND, &d.object.name));
        }
        let stored = vault.certificate_policies.get(&key_of(name)).cloned();
        let given = match (&params.policy, &stored) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => p.clone(),
            (None, None) => return Err(bad("The parameter 'policy' is required to create a new certificate.")),
        };
        let policy = policy::complete(&given, stored.as_ref().filter(|_| params.policy.is_some()), now)?;
        let source = source(vault, &policy)?;
        Ok((policy, source))
    })?;
    let (kty, key) = version_key(cx, name, &policy).await?;
    let subject = policy::subject(&policy);
    let validity = policy::validity(&policy, now);
    let csr = x509::signing_request(&key, &subject).map_err(make_error)?;
    let issued = match source {
        Source::SelfSigned => Some(Issued::of(vec![
            x509::self_signed(&key, &subject, validity).map_err(make_error)?
        ])?),
        Source::LocalCa => {
            let ca = cx.kv.issuing_ca()?;
            let leaf = ca.issue(&key, &subject, validity).map_err(make_error)?;
            Some(Issued::of(vec![leaf, ca.certificate_der.clone()])?)
        }
        Source::Merge => None,
    };
    let version = new_version();
    let op = OperationRecord {
        version: version.clone(),
        issuer: policy.issuer.clone().unwrap_or_default(),
        csr: Der(csr),
        cancellation_requested: false,
        status: if issued.is_some() { "completed" } else { "inProgress" }.to_string(),
        status_details: Some(
            if issued.is_some() {
                IN_PROGRESS_DETAILS
            } else {
                MERGE_DETAILS
            }
            .to_string(),
        ),
        error: None,
        request_id: new_version(),
    };
    cx.with_vault(|vault| {
        store_version(
            vault,
            name,
            &version,
            &policy,
            key,
            kty,
            issued.as_ref(),
            enabled,
            tags,
            now,
        )?;
        let stored_name = vault.certificates.get(name)?.name.clone();
        vault.certificate_policies.insert(key_of(name), policy.clone());
        vault.certificate_operations.insert(key_of(name), op.clone());
        let location = format!(
            "{}/pending?api-version={api_version}&request_id={}",
            cx.target.base_id(KIND, &stored_name),
            op.request_id
        );
        Ok(operation_reply(cx.target, &stored_name, &op, Some("inProgress"))?
            .with_status(202)
            .with_header("location", location))
    })
}

/// `POST /certificates/{name}/import` — ImportCertificate: a PFX (base64, with `pwd` or none) or PEM holding the
/// certificate, its chain and its private key becomes a new version; the policy is derived from the certificate
/// (issuer `Unknown`) with the request's policy on top.
pub fn import_certificate(cx: &Cx, name: &str, params: CertificateImportParameters) -> Answer<CertificateBundle> {
    check_name(name)?;
    let value = params
        .value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| bad("The parameter 'value' is required."))?;
    let tags = check_tags(&params.tags)?;
    let attrs = params.attributes.clone().unwrap_or_default();
    // Checked like every plane's attributes; the certificate's own validity gives the version its nbf and exp.
    to_epoch(attrs.nbf, "nbf")?;
    to_epoch(attrs.exp, "exp")?;
    let asked_type = params
        .policy
        .as_ref()
        .and_then(|p| p.secret_props.as_ref())
        .and_then(|s| s.content_type.clone());
    // PEM arrives as text (JS, REST) or base64 of the text (the Python SDK encodes every value it is given).
    let pem_text = if value.trim_start().starts_with("-----BEGIN") {
        Some(value.to_string())
    } else {
        decode_b64(value)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .filter(|text| text.trim_start().starts_with("-----BEGIN"))
    };
    let is_pem = pem_text.is_some() || asked_type.as_deref() == Some(PEM);
    let bundle_in = if let Some(text) = &pem_text {
        x509::from_pem(text)
            .map_err(|e| bad(format!("The specified PEM X.509 certificate content is invalid: {e}.")))?
    } else if is_pem {
        return Err(bad(
            "The specified PEM X.509 certificate content is invalid: it is not PEM text.",
        ));
    } else {
        let bytes = decode_b64(value).ok_or_else(|| {
            bad("The specified PKCS#12 X.509 certificate content is not base64: give the PFX base64-encoded, or PEM text.")
        })?;
        x509::from_pkcs12(&bytes, params.pwd.as_deref().unwrap_or("")).map_err(|e| {
            bad(format!(
                "The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in \
                 valid PKCS#12 format ({e})."
            ))
        })?
    };
    let key = bundle_in.key.ok_or_else(|| {
        bad("The certificate to import holds no private key: Key Vault imports a certificate with its key.")
    })?;
    let parsed = x509::parse(&bundle_in.chain[0]).map_err(|e| bad(format!("The certificate cannot be read: {e}.")))?;
    let content_type = asked_type.unwrap_or_else(|| if is_pem { PEM } else { PKCS12 }.to_string());
    let now = cx.kv.now();
    let policy = policy::derived_for_import(&parsed, Some(&key), &content_type, params.policy.as_ref(), now)?;
    let kty = if key.spec().is_rsa() { KeyType::Rsa } else { KeyType::Ec };
    let issued = Issued::of(bundle_in.chain)?;
    let version = new_version();
    let enabled = attrs.enabled.unwrap_or(true);
    cx.with_vault(|vault| {
        if let Ok(d) = vault.certificates.get_deleted(name) {
            return Err(KeyVaultError::deleted_but_recoverable(KIND, &d.object.name));
        }
        store_version(
            vault,
            name,
            &version,
            &policy,
            key,
            kty,
            Some(&issued),
            enabled,
            tags,
            now,
        )?;
        vault.certificate_policies.insert(key_of(name), policy.clone());
        let record = vault.certificates.get(name)?;
        latest_bundle(vault, cx.target, record)
    })
}

/// `GET /certificates/{name}[/{version}]` — GetCertificate.
pub fn get_certificate(cx: &Cx, name: &str, version: Option<&str>) -> Answer<CertificateBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let record = vault.certificates.get(name)?;
        let v = match version {
            None | Some("") => record.find(None)?,
            // The recorded message names the version as `name/versions/version`.
            Some(wanted) => {
                let v = record.version(wanted).ok_or_else(|| {
                    KeyVaultError::version_not_found(KIND, &format!("{name}/versions"), &truncate(wanted, 64))
                })?;
                // A versioned GET carries no policy and no pending (recorded, §7c of the research notes).
                let mut one = bundle(vault, cx.target, record, v);
                one.policy = None;
                one.pending = None;
                return Ok(one);
            }
        };
        Ok(bundle(vault, cx.target, record, v))
    })
}

/// `PATCH /certificates/{name}[/{version}]` — UpdateCertificate: attributes and tags of one version (its key and
/// secret follow `enabled`, `nbf` and `exp`); a policy in the request replaces the certificate's.
pub fn update_certificate(
    cx: &Cx,
    name: &str,
    version: Option<&str>,
    params: CertificateUpdateParameters,
) -> Answer<CertificateBundle> {
    check_name(name)?;
    let attrs = params.attributes.clone().unwrap_or_default();
    let update = attribute_update(&params.tags, attrs.enabled, attrs.nbf, attrs.exp)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let k = key_of(name);
        let new_policy = match &params.policy {
            Some(p) => Some(policy::complete(p, vault.certificate_policies.get(&k), now)?),
            None => None,
        };
        let record = vault.certificates.get_mut(name)?;
        let v = record.find_mut(version)?;
        let wanted = v.version.clone();
        update.clone().apply(v, now);
        let follow = crate::keyvault::store::AttributeUpdate { tags: None, ..update };
        if let Ok(key) = vault.keys.get_mut(name) {
            if let Some(kv) = key.version_mut(&wanted) {
                follow.clone().apply(kv, now);
            }
        }
        if let Ok(secret) = vault.secrets.get_mut(name) {
            if let Some(sv) = secret.version_mut(&wanted) {
                follow.apply(sv, now);
            }
        }
        if let Some(p) = new_policy {
            vault.certificate_policies.insert(k, p);
        }
        let record = vault.certificates.get(name)?;
        let v = record.find(Some(&wanted))?;
        Ok(bundle(vault, cx.target, record, v))
    })
}

/// `DELETE /certificates/{name}` — DeleteCertificate: the certificate, its key and its secret are soft-deleted
/// together (policy and operation stay with the deleted certificate).
pub fn delete_certificate(cx: &Cx, name: &str) -> Answer<DeletedCertificateBundle> {
    check_name(name)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        vault.certificates.delete(name, now)?;
        let _ = vault.keys.delete(name, now);
        let _ = vault.secrets.delete(name, now);
        let deleted = vault.certificates.get_deleted(name)?;
        deleted_bundle(vault, cx.target, deleted)
    })
}

/// `GET /certificates` — GetCertificates: one item per certificate (latest version), by name; a certificate
/// whose only version is pending is listed with `includePending=true` only.
pub fn get_certificates(cx: &Cx, args: &ListArgs, include_pending: bool) -> Answer<ListResult<CertificateItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.certificates.live(),
            cx.target,
            "/certificates",
            args,
            (KIND, Listing::Objects),
            |r| {
                let latest = if include_pending {
                    r.latest()
                } else {
                    r.versions.iter().rev().find(|v| v.cer.is_some())
                };
                latest.map(|v| item(cx.target.base_id(KIND, &r.name), v))
            },
        )
    })
}

/// `GET /certificates/{name}/versions` — GetCertificateVersions, oldest first.
pub fn get_certificate_versions(cx: &Cx, name: &str, args: &ListArgs) -> Answer<ListResult<CertificateItem>> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault.certificates.page_versions(name, cx.target, args, |stored, v| {
            item(cx.target.object_id(KIND, stored, &v.version), v)
        })
    })
}

/// `GET /certificates/{name}/policy` — GetCertificatePolicy.
pub fn get_certificate_policy(cx: &Cx, name: &str) -> Answer<PolicyOut> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let record = vault.certificates.get(name)?;
        let policy = vault
            .certificate_policies
            .get(&key_of(name))
            .ok_or_else(|| KeyVaultError::not_found(KIND, name))?;
        Ok(PolicyOut {
            id: format!("{}/policy", cx.target.base_id(KIND, &record.name)),
            policy: policy.clone(),
        })
    })
}

/// `PATCH /certificates/{name}/policy` — UpdateCertificatePolicy: what the request gives replaces the stored
/// policy's member of the same name; the next version is made from it.
pub fn update_certificate_policy(cx: &Cx, name: &str, given: model::Policy) -> Answer<PolicyOut> {
    check_name(name)?;
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let record_name = vault.certificates.get(name)?.name.clone();
        let k = key_of(name);
        let updated = policy::complete(&given, vault.certificate_policies.get(&k), now)?;
        source(vault, &updated)?;
        vault.certificate_policies.insert(k, updated.clone());
        Ok(PolicyOut {
            id: format!("{}/policy", cx.target.base_id(KIND, &record_name)),
            policy: updated,
        })
    })
}

/// `GET /certificates/{name}/pending` — GetCertificateOperation (the latest operation, also once completed).
pub fn get_certificate_operation(cx: &Cx, name: &str) -> Answer<Reply> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let stored = pending_owner(vault, name)?;
        let op = vault
            .certificate_operations
            .get(&key_of(name))
            .ok_or_else(|| pending_not_found(name))?;
        operation_reply(cx.target, &stored, op, None)
    })
}

/// `PATCH /certificates/{name}/pending` — UpdateCertificateOperation: `cancellation_requested: true` cancels an
/// operation in progress (its version stays disabled, without a certificate).
pub fn update_certificate_operation(cx: &Cx, name: &str, params: CertificateOperationUpdateParameter) -> Answer<Reply> {
    check_name(name)?;
    let cancel = params
        .cancellation_requested
        .ok_or_else(|| bad("The parameter 'cancellation_requested' is required."))?;
    cx.with_vault(|vault| {
        let stored = pending_owner(vault, name)?;
        let op = vault
            .certificate_operations
            .get_mut(&key_of(name))
            .ok_or_else(|| pending_not_found(name))?;
        if cancel && !op.cancellation_requested {
            op.cancellation_requested = true;
            if op.status == "inProgress" {
                op.status = "cancelled".to_string();
                op.status_details = Some("Pending certificate operation cancelled.".to_string());
            }
        }
        let op = op.clone();
        operation_reply(cx.target, &stored, &op, None)
    })
}

/// `DELETE /certificates/{name}/pending` — DeleteCertificateOperation: the operation goes; a version it left
/// without a certificate goes with it (and the certificate, when that was its only version).
pub fn delete_certificate_operation(cx: &Cx, name: &str) -> Answer<CertificateOperation> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let stored = pending_owner(vault, name)?;
        let k = key_of(name);
        let op = vault
            .certificate_operations
            .remove(&k)
            .ok_or_else(|| pending_not_found(name))?;
        let unissued = vault
            .certificates
            .get(name)
            .ok()
            .and_then(|r| r.version(&op.version))
            .is_some_and(|v| v.cer.is_none());
        if unissued {
            drop_version(vault, name, &op.version);
        }
        Ok(operation(cx.target, &stored, &op, None))
    })
}

/// Removes one version of the certificate and its key (an operation's that never completed).
fn drop_version(vault: &mut VaultState, name: &str, version: &str) {
    let k = key_of(name);
    if let Ok(record) = vault.certificates.get_mut(name) {
        record.versions.retain(|v| !v.version.eq_ignore_ascii_case(version));
        if record.versions.is_empty() {
            vault.certificates.live_mut().remove(&k);
            vault.certificate_policies.remove(&k);
        }
    }
    if let Ok(record) = vault.keys.get_mut(name) {
        record.versions.retain(|v| !v.version.eq_ignore_ascii_case(version));
        if record.versions.is_empty() {
            vault.keys.live_mut().remove(&k);
        }
    }
}

/// `POST /certificates/{name}/pending/merge` — MergeCertificate: the issuer's certificate (`x5c`, leaf first)
/// for the pending signing request; its public key must be the pending key's. Answered 201 with the bundle.
pub fn merge_certificate(cx: &Cx, name: &str, params: CertificateMergeParameters) -> Answer<Reply> {
    check_name(name)?;
    let x5c = params
        .x5c
        .filter(|x| !x.is_empty())
        .ok_or_else(|| bad("The parameter 'x5c' is required."))?;
    let chain = x5c
        .iter()
        .map(|c| decode_b64(c).ok_or_else(|| bad("The x5c certificates must be base64-encoded DER.")))
        .collect::<Answer<Vec<_>>>()?;
    let issued = Issued::of(chain)?;
    let leaf = x509::parse(&issued.chain[0]).map_err(|e| bad(format!("The certificate cannot be read: {e}.")))?;
    let tags = check_tags(&params.tags)?;
    let attrs = params.attributes.unwrap_or_default();
    let now = cx.kv.now();
    cx.with_vault(|vault| {
        let k = key_of(name);
        let op = vault
            .certificate_operations
            .get(&k)
            .filter(|op| op.status == "inProgress")
            .cloned()
            .ok_or_else(|| pending_not_found(name))?;
        let policy = vault
            .certificate_policies
            .get(&k)
            .cloned()
            .ok_or_else(|| pending_not_found(name))?;
        let key = match vault
            .keys
            .get(name)
            .ok()
            .and_then(|r| r.version(&op.version))
            .map(|v| v.material.clone())
        {
            Some(Material::Asymmetric(m)) => m,
            _ => return Err(pending_not_found(name)),
        };
        let public = key
            .public_key_der()
            .map_err(|e| KeyVaultError::Internal(format!("the pending key cannot be read: {e}")))?;
        if leaf.public_key != public {
            return Err(bad(
                "Public key from x5c parameter does not match the public key of the pending certificate request.",
            ));
        }
        let enabled = attrs.enabled.unwrap_or(true);
        let secret = managed_secret(&op.version, &policy, &key, &issued, enabled, now)?;
        let record = vault.certificates.get_mut(name)?;
        let v = record.find_mut(Some(&op.version))?;
        v.cer = issued.chain.first().cloned().map(Der);
        v.chain = issued.chain.iter().skip(1).cloned().map(Der).collect();
        v.enabled = enabled;
        v.nbf = Some(issued.nbf);
        v.exp = Some(issued.exp);
        v.updated = now;
        if tags.is_some() {
            v.tags = tags;
        }
        if let Ok(key_record) = vault.keys.get_mut(name) {
            if let Some(kv) = key_record.version_mut(&op.version) {
                kv.enabled = enabled;
                kv.nbf = Some(issued.nbf);
                kv.exp = Some(issued.exp);
                kv.updated = now;
            }
        }
        vault.secrets.add_version(name, secret)?;
        if let Some(op) = vault.certificate_operations.get_mut(&k) {
            op.status = "completed".to_string();
        }
        let record = vault.certificates.get(name)?;
        let v = record.find(Some(&op.version))?;
        Ok(Reply::json(&bundle(vault, cx.target, record, v))?.with_status(201))
    })
}

/// What a certificate backup holds: the certificate with every version, its key and secret, policy and operation.
#[derive(serde::Serialize, serde::Deserialize)]
struct CertificateBackup {
    certificate: CertificateRecord,
    key: Option<super::keys::model::KeyRecord>,
    secret: Option<super::secrets::model::SecretRecord>,
    policy: Option<model::Policy>,
    operation: Option<OperationRecord>,
}

/// `POST /certificates/{name}/backup` — BackupCertificate: the certificate, key and secret with every version,
/// sealed with the service's backup key (only this trent, or one started from its state, can read it).
pub fn backup_certificate(cx: &Cx, name: &str) -> Answer<BackupCertificateResult> {
    check_name(name)?;
    cx.with_vault(|vault| vault.certificates.get(name).map(|_| ()))?;
    let key = cx.kv.backup_key();
    cx.with_vault(|vault| {
        let k = key_of(name);
        let backup = CertificateBackup {
            certificate: vault.certificates.get(name)?.clone(),
            key: vault.keys.get(name).ok().cloned(),
            secret: vault.secrets.get(name).ok().cloned(),
            policy: vault.certificate_policies.get(&k).cloned(),
            operation: vault.certificate_operations.get(&k).cloned(),
        };
        Ok(BackupCertificateResult {
            value: backup::seal_value_wire(&key, KIND, &backup),
        })
    })
}

/// `POST /certificates/restore` — RestoreCertificate.
pub fn restore_certificate(cx: &Cx, params: RestoreParameters) -> Answer<CertificateBundle> {
    let blob = params.value.ok_or_else(|| bad("The parameter 'value' is required."))?;
    let malformed = || KeyVaultError::BadRequest {
        code: "Malformed backup blob",
        message: "Backup blob contains invalid or corrupt version.".to_string(),
    };
    let restored: CertificateBackup = cx
        .kv
        .existing_backup_key()
        .and_then(|key| backup::open_value_wire(&key, KIND, &blob).ok())
        .ok_or_else(malformed)?;
    restored.certificate.check().map_err(|_| malformed())?;
    cx.with_vault(|vault| {
        let name = restored.certificate.name.clone();
        let k = key_of(&name);
        let taken =
            vault.certificates.get(&name).is_ok() || vault.keys.get(&name).is_ok() || vault.secrets.get(&name).is_ok();
        if taken {
            let latest = restored
                .certificate
                .latest()
                .map(|v| cx.target.object_id(KIND, &name, &v.version))
                .unwrap_or_default();
            return Err(KeyVaultError::Conflict {
                message: format!(
                    "There was a conflict restoring the certificate '{latest}'. This can happen if either: a second \
                     certificate with the same name was created after the first certificate was deleted; thus \
                     trying to restore a certificate whose name is already in use. To fix this, rename the second \
                     certificate to something else so that the restore works. The second probable cause of this \
                     exception is when multiple operations are performed in parallel against the certificate. To \
                     avoid this error, perform operations against a certificate in a sequential manner."
                ),
                inner: None,
            });
        }
        for deleted in [
            vault.certificates.get_deleted(&name).is_ok(),
            vault.keys.get_deleted(&name).is_ok(),
            vault.secrets.get_deleted(&name).is_ok(),
        ] {
            if deleted {
                return Err(KeyVaultError::deleted_but_recoverable(KIND, &name));
            }
        }
        vault.certificates.restore(restored.certificate)?;
        if let Some(key) = restored.key {
            vault.keys.restore(key)?;
        }
        if let Some(secret) = restored.secret {
            vault.secrets.restore(secret)?;
        }
        if let Some(policy) = restored.policy {
            vault.certificate_policies.insert(k.clone(), policy);
        }
        if let Some(op) = restored.operation {
            vault.certificate_operations.insert(k, op);
        }
        let record = vault.certificates.get(&name)?;
        latest_bundle(vault, cx.target, record)
    })
}

/// `GET /deletedcertificates` — GetDeletedCertificates, by name.
pub fn get_deleted_certificates(cx: &Cx, args: &ListArgs) -> Answer<ListResult<DeletedCertificateItem>> {
    cx.with_vault(|vault| {
        page_by_name(
            vault.certificates.deleted_objects(),
            cx.target,
            "/deletedcertificates",
            args,
            (KIND, Listing::Deleted),
            |d| {
                d.object.latest().map(|v| DeletedCertificateItem {
                    recovery_id: cx.target.recovery_id(KIND, &d.object.name),
                    deleted_date: d.deleted_date,
                    scheduled_purge_date: d.scheduled_purge_date,
                    item: item(cx.target.base_id(KIND, &d.object.name), v),
                })
            },
        )
    })
}

/// `GET /deletedcertificates/{name}` — GetDeletedCertificate.
pub fn get_deleted_certificate(cx: &Cx, name: &str) -> Answer<DeletedCertificateBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        let deleted = vault.certificates.get_deleted(name)?;
        deleted_bundle(vault, cx.target, deleted)
    })
}

/// `DELETE /deletedcertificates/{name}` — PurgeDeletedCertificate (204): the certificate, key, secret, policy and
/// operation are gone for good.
pub fn purge_deleted_certificate(cx: &Cx, name: &str) -> Answer<()> {
    check_name(name)?;
    cx.with_vault(|vault| {
        vault.certificates.purge(name)?;
        let _ = vault.keys.purge(name);
        let _ = vault.secrets.purge(name);
        let k = key_of(name);
        vault.certificate_policies.remove(&k);
        vault.certificate_operations.remove(&k);
        Ok(())
    })
}

/// `POST /deletedcertificates/{name}/recover` — RecoverDeletedCertificate: certificate, key and secret come back.
pub fn recover_deleted_certificate(cx: &Cx, name: &str) -> Answer<CertificateBundle> {
    check_name(name)?;
    cx.with_vault(|vault| {
        // A name that is not deleted answers the live not-found sentence (JS recording
        // recording_can_recover_a_deleted_certificate_non_existing.json).
        vault
            .certificates
            .recover(name)
            .map_err(|_| KeyVaultError::not_found(KIND, name))?;
        let _ = vault.keys.recover(name);
        let _ = vault.secrets.recover(name);
        let record = vault.certificates.get(name)?;
        latest_bundle(vault, cx.target, record)
    })
}

/// Whether a secret of the given content type converts to PEM (for `GET /secrets/{name}?outContentType=`).
pub fn secret_as_pem(content_type: Option<&str>, value: &str) -> Answer<String> {
    match content_type {
        Some(PKCS12) => {
            let bytes =
                decode_b64(value).ok_or_else(|| KeyVaultError::Internal("the PFX secret is not base64".into()))?;
            let bundle = x509::from_pkcs12(&bytes, "")
                .map_err(|e| KeyVaultError::Internal(format!("the PFX secret cannot be read: {e}")))?;
            Ok(x509::to_pem(bundle.key.as_ref(), &bundle.chain))
        }
        Some(PEM) => Ok(value.to_string()),
        _ => Err(bad(
            "The 'Unsupported' to 'PEM' transformation is not supported. Only PFX to PEM transformation is supported.",
        )),
    }
}
