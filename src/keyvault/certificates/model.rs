//! Key Vault certificates: the stored records and the wire models, named as the REST spec (2025-07-01
//! `certificates.json`) names them. The service writes the certificate models in snake_case (`key_props`,
//! `x509_props`, `cancellation_requested`) and their attributes in camelCase; both are kept here as recorded
//! (Python recording test_certificates_client.pyTestCertificateClienttest_crud_operations[2025-07-01]).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::keyvault::protocol::ObjectKind;
use crate::keyvault::store::{AttributesMut, Version, Versioned, RECOVERABLE_DAYS, RECOVERY_LEVEL};

/// DER bytes stored and sent as standard base64 (the service's `cer`, `csr` and `x5c`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Der(pub Vec<u8>);

impl Serialize for Der {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Der {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        decode_b64(&text)
            .map(Der)
            .ok_or_else(|| serde::de::Error::custom("not base64"))
    }
}

/// Standard or URL-safe base64, padded or not, whitespace ignored.
pub fn decode_b64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned).ok()
}

// ---------------------------------------------------------------------------------------------------------------
// The policy: one type for requests, storage and responses (every member optional on the wire; stored policies
// are complete, see `policy::complete`).

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exportable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reuse_key: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretProperties {
    #[serde(rename = "contentType", default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectAlternativeNames {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upns: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BasicConstraints {
    #[serde(default)]
    pub ca: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct X509Properties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sans: Option<SubjectAlternativeNames>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ekus: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validity_months: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_constraints: Option<BasicConstraints>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_percentage: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before_expiry: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimeAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_transparency: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<i64>,
}

/// `CertificatePolicy` (without its `id`, which responses add).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_props: Option<KeyProperties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_props: Option<SecretProperties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509_props: Option<X509Properties>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_actions: Option<Vec<LifetimeAction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<PolicyAttributes>,
}

impl Policy {
    pub fn issuer_name(&self) -> &str {
        self.issuer
            .as_ref()
            .and_then(|i| i.name.as_deref())
            .unwrap_or("Unknown")
    }

    pub fn content_type(&self) -> &str {
        self.secret_props
            .as_ref()
            .and_then(|s| s.content_type.as_deref())
            .unwrap_or(PKCS12)
    }

    pub fn exportable(&self) -> bool {
        self.key_props.as_ref().and_then(|k| k.exportable).unwrap_or(true)
    }
}

/// The PFX content type of certificate secrets.
pub const PKCS12: &str = "application/x-pkcs12";
/// The PEM content type of certificate secrets.
pub const PEM: &str = "application/x-pem-file";

/// `CertificatePolicy` on the wire.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOut {
    pub id: String,
    #[serde(flatten)]
    pub policy: Policy,
}

// ---------------------------------------------------------------------------------------------------------------
// Stored records

/// One version of a certificate. A version whose certificate is not issued yet (a pending request to an issuer
/// trent does not run, waiting for its merge) has no `cer`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateVersion {
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cer: Option<Der>,
    /// The rest of the chain, after the certificate (issuer first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<Der>,
    pub enabled: bool,
    pub nbf: Option<i64>,
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub tags: Option<BTreeMap<String, String>>,
}

impl Version for CertificateVersion {
    const KIND: ObjectKind = ObjectKind::Certificate;
    fn version(&self) -> &str {
        &self.version
    }
    fn attributes_mut(&mut self) -> AttributesMut<'_> {
        AttributesMut {
            enabled: &mut self.enabled,
            nbf: &mut self.nbf,
            exp: &mut self.exp,
            tags: &mut self.tags,
            updated: &mut self.updated,
        }
    }
}

pub type CertificateRecord = Versioned<CertificateVersion>;

/// The certificate operation of a certificate (its latest create, import-less).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationRecord {
    /// The version the operation makes.
    pub version: String,
    pub issuer: IssuerParameters,
    pub csr: Der,
    pub cancellation_requested: bool,
    /// `inProgress`, `completed`, `cancelled` or `failed`.
    pub status: String,
    pub status_details: Option<String>,
    pub error: Option<OperationError>,
    pub request_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationError {
    pub code: String,
    pub message: String,
}

/// A configured issuer (`/certificates/issuers/{name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerRecord {
    pub name: String,
    pub provider: String,
    pub account_id: Option<String>,
    /// Stored as the service stores it, never sent back.
    pub password: Option<String>,
    pub org_details: Option<OrganizationDetails>,
    pub enabled: bool,
    pub created: i64,
    pub updated: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_details: Option<Vec<AdministratorDetails>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdministratorDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// `Contact`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The vault's certificate contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsRecord {
    pub contacts: Vec<Contact>,
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (responses)

/// `CertificateAttributes`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAttributes {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub recovery_level: &'static str,
    pub recoverable_days: i64,
}

impl CertificateAttributes {
    pub fn of(v: &CertificateVersion) -> Self {
        CertificateAttributes {
            enabled: v.enabled,
            nbf: v.nbf,
            exp: v.exp,
            created: v.created,
            updated: v.updated,
            recovery_level: RECOVERY_LEVEL,
            recoverable_days: RECOVERABLE_DAYS,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingRef {
    pub id: String,
}

/// `CertificateBundle`, in the recorded member order.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateBundle {
    pub id: String,
    pub kid: String,
    pub sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cer: Option<Der>,
    pub attributes: CertificateAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingRef>,
}

/// `DeletedCertificateBundle`: the deletion facts first, as recorded.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedCertificateBundle {
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
    #[serde(flatten)]
    pub bundle: CertificateBundle,
}

/// The attributes of a list item: no recovery members (recorded in test_list[2025-07-01]).
#[derive(Debug, Clone, Serialize)]
pub struct ItemAttributes {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    pub created: i64,
    pub updated: i64,
}

impl ItemAttributes {
    pub fn of(v: &CertificateVersion) -> Self {
        ItemAttributes {
            enabled: v.enabled,
            nbf: v.nbf,
            exp: v.exp,
            created: v.created,
            updated: v.updated,
        }
    }
}

/// `CertificateItem`, in the recorded member order; `subject` is always the empty string in 2025-07-01 lists.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateItem {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    pub attributes: ItemAttributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    pub subject: &'static str,
}

/// `DeletedCertificateItem`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedCertificateItem {
    pub recovery_id: String,
    pub deleted_date: i64,
    pub scheduled_purge_date: i64,
    #[serde(flatten)]
    pub item: CertificateItem,
}

/// `CertificateOperation`, in the recorded member order.
#[derive(Debug, Clone, Serialize)]
pub struct CertificateOperation {
    pub id: String,
    pub issuer: IssuerParameters,
    pub csr: Der,
    pub cancellation_requested: bool,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<OperationError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub request_id: String,
}

/// `IssuerBundle` (the password is never sent back).
#[derive(Debug, Clone, Serialize)]
pub struct IssuerBundle {
    pub id: String,
    pub provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<IssuerCredentialsOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_details: Option<OrganizationDetails>,
    pub attributes: IssuerAttributes,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssuerCredentialsOut {
    pub account_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssuerAttributes {
    pub enabled: bool,
    pub created: i64,
    pub updated: i64,
}

/// `CertificateIssuerItem`.
#[derive(Debug, Clone, Serialize)]
pub struct IssuerItem {
    pub id: String,
    pub provider: String,
}

/// `Contacts`.
#[derive(Debug, Clone, Serialize)]
pub struct Contacts {
    pub id: String,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupCertificateResult {
    pub value: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Wire models (requests)

#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateAttributesIn {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub nbf: Option<f64>,
    #[serde(default)]
    pub exp: Option<f64>,
}

/// `CertificateCreateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateCreateParameters {
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub attributes: Option<CertificateAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default, rename = "preserveCertOrder")]
    pub preserve_cert_order: Option<bool>,
}

/// `CertificateImportParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateImportParameters {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub pwd: Option<String>,
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub attributes: Option<CertificateAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
    #[serde(default, rename = "preserveCertOrder")]
    pub preserve_cert_order: Option<bool>,
}

/// `CertificateUpdateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateUpdateParameters {
    #[serde(default)]
    pub policy: Option<Policy>,
    #[serde(default)]
    pub attributes: Option<CertificateAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
}

/// `CertificateMergeParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateMergeParameters {
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    #[serde(default)]
    pub attributes: Option<CertificateAttributesIn>,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
}

/// `CertificateOperationUpdateParameter`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CertificateOperationUpdateParameter {
    #[serde(default)]
    pub cancellation_requested: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestoreParameters {
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerCredentialsIn {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub pwd: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerAttributesIn {
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `CertificateIssuerSetParameters` / `CertificateIssuerUpdateParameters`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuerParametersIn {
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub credentials: Option<IssuerCredentialsIn>,
    #[serde(default)]
    pub org_details: Option<OrganizationDetails>,
    #[serde(default)]
    pub attributes: Option<IssuerAttributesIn>,
}

/// `Contacts` in a request.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ContactsIn {
    #[serde(default)]
    pub contacts: Option<Vec<Contact>>,
}
