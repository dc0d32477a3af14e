//! X.509 certificates for Key Vault's certificates plane, cloud-neutral: making them (self-signed, or issued by a
//! local authority) and their signing requests with rcgen, reading them with x509-parser, and carrying them with
//! their keys as PKCS#12 (p12-keystore) or PEM (pem).
//!
//! Keys are [`KeyMaterial`] (PKCS#8 inside). Certificates are signed as the service signs them: RSA keys with
//! sha256WithRSAEncryption, P-256 with ecdsa-with-SHA256, P-384 with ecdsa-with-SHA384. rcgen signs through ring,
//! which has no P-521 or secp256k1: those curves are refused here with a message that says so.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

use super::{CryptoError, KeyMaterial, KeySpec};

/// A key usage of X.509 (RFC 5280 §4.2.1.3), by its RFC name.
pub const KEY_USAGES: [&str; 9] = [
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

/// OID of the UPN (user principal name) other-name of subject alternative names.
const UPN_OID: [u64; 10] = [1, 3, 6, 1, 4, 1, 311, 20, 2, 3];
const UPN_OID_TEXT: &str = "1.3.6.1.4.1.311.20.2.3";

/// What a certificate (or its signing request) says about its subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// A distinguished name as Key Vault writes it: `CN=name, O=org` (also `;`-separated).
    pub name: String,
    pub dns_names: Vec<String>,
    pub emails: Vec<String>,
    pub upns: Vec<String>,
    /// RFC names from [`KEY_USAGES`].
    pub key_usage: Vec<String>,
    /// Dotted OIDs.
    pub ekus: Vec<String>,
}

/// The validity window of a certificate to make, in epoch seconds.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

fn fail(what: &'static str) -> impl Fn(rcgen::Error) -> CryptoError {
    move |e| CryptoError::InvalidKey(format!("{what}: {e}"))
}

fn unsupported_curve(spec: KeySpec) -> CryptoError {
    CryptoError::Unsupported(format!(
        "trent cannot sign X.509 certificates with {spec} keys (its X.509 signer, rcgen over ring, has RSA, P-256 and \
         P-384 only)"
    ))
}

/// rcgen's view of a key: the algorithm it signs certificates with.
fn signer(key: &KeyMaterial) -> Result<KeyPair, CryptoError> {
    let alg = match key.spec() {
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        KeySpec::EccNistP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeySpec::EccNistP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        other => return Err(unsupported_curve(other)),
    };
    KeyPair::from_pkcs8_der_and_sign_algo(&PrivatePkcs8KeyDer::from(key.bytes().to_vec()), alg)
        .map_err(fail("loading the certificate key"))
}

/// Whether trent can sign certificates for keys of `spec`.
pub fn can_sign(spec: KeySpec) -> bool {
    matches!(
        spec,
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 | KeySpec::EccNistP256 | KeySpec::EccNistP384
    )
}

/// Parses `CN=a, O=b` (or `;`-separated) into rcgen's name. The text lists the most specific attribute first (RFC
/// 4514, and how Key Vault renders subjects), so the certificate encodes the attributes in the reverse order.
pub fn distinguished_name(text: &str) -> Result<DistinguishedName, String> {
    let mut dn = DistinguishedName::new();
    let mut any = false;
    for part in split_dn(text).into_iter().rev() {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (attr, value) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}' is not an attribute=value pair"))?;
        let value = value.trim().trim_matches('"').to_string();
        let kind = match attr.trim().to_ascii_uppercase().as_str() {
            "CN" => DnType::CommonName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "L" => DnType::LocalityName,
            "ST" | "S" => DnType::StateOrProvinceName,
            "C" => DnType::CountryName,
            "E" | "EMAIL" | "EMAILADDRESS" => DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
            "DC" => DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
            "SERIALNUMBER" => DnType::CustomDnType(vec![2, 5, 4, 5]),
            "STREET" => DnType::CustomDnType(vec![2, 5, 4, 9]),
            "T" | "TITLE" => DnType::CustomDnType(vec![2, 5, 4, 12]),
            "G" | "GN" | "GIVENNAME" => DnType::CustomDnType(vec![2, 5, 4, 42]),
            "SN" | "SURNAME" => DnType::CustomDnType(vec![2, 5, 4, 4]),
            other => return Err(format!("unknown attribute type '{other}'")),
        };
        dn.push(kind, value);
        any = true;
    }
    if !any {
        return Err("the subject is empty".to_string());
    }
    Ok(dn)
}

/// Splits a DN at `,` or `;` outside double quotes and not escaped with `\`.
fn split_dn(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            _ if escaped => {
                current.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' | ';' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn oid_components(dotted: &str) -> Result<Vec<u64>, String> {
    let parts: Result<Vec<u64>, _> = dotted.split('.').map(str::parse::<u64>).collect();
    match parts {
        Ok(p) if p.len() >= 2 => Ok(p),
        _ => Err(format!("'{dotted}' is not an object identifier")),
    }
}

fn eku(dotted: &str) -> Result<ExtendedKeyUsagePurpose, String> {
    Ok(match dotted {
        "1.3.6.1.5.5.7.3.1" => ExtendedKeyUsagePurpose::ServerAuth,
        "1.3.6.1.5.5.7.3.2" => ExtendedKeyUsagePurpose::ClientAuth,
        "1.3.6.1.5.5.7.3.3" => ExtendedKeyUsagePurpose::CodeSigning,
        "1.3.6.1.5.5.7.3.4" => ExtendedKeyUsagePurpose::EmailProtection,
        "1.3.6.1.5.5.7.3.8" => ExtendedKeyUsagePurpose::TimeStamping,
        "1.3.6.1.5.5.7.3.9" => ExtendedKeyUsagePurpose::OcspSigning,
        "2.5.29.37.0" => ExtendedKeyUsagePurpose::Any,
        other => ExtendedKeyUsagePurpose::Other(oid_components(other)?),
    })
}

fn key_usage(name: &str) -> Result<KeyUsagePurpose, String> {
    Ok(match name {
        "digitalSignature" => KeyUsagePurpose::DigitalSignature,
        "nonRepudiation" => KeyUsagePurpose::ContentCommitment,
        "keyEncipherment" => KeyUsagePurpose::KeyEncipherment,
        "dataEncipherment" => KeyUsagePurpose::DataEncipherment,
        "keyAgreement" => KeyUsagePurpose::KeyAgreement,
        "keyCertSign" => KeyUsagePurpose::KeyCertSign,
        "cRLSign" => KeyUsagePurpose::CrlSign,
        "encipherOnly" => KeyUsagePurpose::EncipherOnly,
        "decipherOnly" => KeyUsagePurpose::DecipherOnly,
        other => return Err(format!("unknown key usage '{other}'")),
    })
}

fn epoch(secs: i64) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::from_unix_timestamp(secs).map_err(|_| format!("{secs} is not a representable time"))
}

/// rcgen parameters for `subject` (names, usages, validity, a random positive 16-byte serial).
fn params(subject: &Subject, validity: Option<Validity>) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::default();
    p.distinguished_name = distinguished_name(&subject.name)?;
    for dns in &subject.dns_names {
        let name = dns
            .as_str()
            .try_into()
            .map_err(|_| format!("'{dns}' is not a DNS name"))?;
        p.subject_alt_names.push(SanType::DnsName(name));
    }
    for email in &subject.emails {
        let name = email
            .as_str()
            .try_into()
            .map_err(|_| format!("'{email}' is not an email address"))?;
        p.subject_alt_names.push(SanType::Rfc822Name(name));
    }
    for upn in &subject.upns {
        p.subject_alt_names
            .push(SanType::OtherName((UPN_OID.to_vec(), upn.as_str().into())));
    }
    p.key_usages = subject
        .key_usage
        .iter()
        .map(|k| key_usage(k))
        .collect::<Result<_, _>>()?;
    p.extended_key_usages = subject.ekus.iter().map(|e| eku(e)).collect::<Result<_, _>>()?;
    if let Some(v) = validity {
        p.not_before = epoch(v.not_before)?;
        p.not_after = epoch(v.not_after)?;
    }
    let mut serial = super::random_bytes(16);
    serial[0] &= 0x7f;
    serial[0] |= 0x40;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

/// Why a certificate could not be made: the request (`Request`) or trent (`Crypto`).
#[derive(Debug, thiserror::Error)]
pub enum MakeError {
    #[error("{0}")]
    Request(String),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// A self-signed certificate (DER) for `subject`, of `key`.
pub fn self_signed(key: &KeyMaterial, subject: &Subject, validity: Validity) -> Result<Vec<u8>, MakeError> {
    let signer = signer(key)?;
    let params = params(subject, Some(validity)).map_err(MakeError::Request)?;
    let cert = params
        .self_signed(&signer)
        .map_err(|e| MakeError::Request(format!("the certificate cannot be made: {e}")))?;
    Ok(cert.der().to_vec())
}

/// A PKCS#10 certificate signing request (DER) for `subject`, signed with `key`.
pub fn signing_request(key: &KeyMaterial, subject: &Subject) -> Result<Vec<u8>, MakeError> {
    let signer = signer(key)?;
    let mut params = params(subject, None).map_err(MakeError::Request)?;
    // A request has no serial and no issuer: rcgen refuses those members in a CSR.
    params.serial_number = None;
    params.use_authority_key_identifier_extension = false;
    let csr = params
        .serialize_request(&signer)
        .map_err(|e| MakeError::Request(format!("the signing request cannot be made: {e}")))?;
    Ok(csr.der().to_vec())
}

/// A certificate authority trent runs: a P-256 key and its self-signed CA certificate.
pub struct Authority {
    pub key: KeyMaterial,
    pub certificate_der: Vec<u8>,
}

impl Authority {
    /// A new CA named `common_name`, valid from `not_before` for `years`.
    pub fn generate(
        common_name: &str,
        organization: &str,
        not_before: i64,
        years: i64,
    ) -> Result<Authority, CryptoError> {
        let key = KeyMaterial::generate(KeySpec::EccNistP256)?;
        let signer = signer(&key)?;
        let mut p = CertificateParams::default();
        // Encoded O then CN, so that it reads `CN=…, O=…` most specific first (rcgen's default name holds a CN).
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::OrganizationName, organization);
        p.distinguished_name.push(DnType::CommonName, common_name);
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let bad_time = |e: String| CryptoError::InvalidKey(e);
        p.not_before = epoch(not_before).map_err(bad_time)?;
        p.not_after = epoch(not_before + years * 365 * 86_400).map_err(bad_time)?;
        let cert = p.self_signed(&signer).map_err(fail("signing the CA certificate"))?;
        Ok(Authority {
            key,
            certificate_der: cert.der().to_vec(),
        })
    }

    /// A certificate (DER) for `subject` and the public key `subject_key`, signed by this CA.
    pub fn issue(
        &self,
        subject_key: &KeyMaterial,
        subject: &Subject,
        validity: Validity,
    ) -> Result<Vec<u8>, MakeError> {
        let ca_key = signer(&self.key)?;
        let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(self.certificate_der.clone()), ca_key)
            .map_err(fail("reading the CA certificate"))?;
        let subject_signer = signer(subject_key)?;
        let params = params(subject, Some(validity)).map_err(MakeError::Request)?;
        let cert = params
            .signed_by(&subject_signer, &issuer)
            .map_err(|e| MakeError::Request(format!("the certificate cannot be issued: {e}")))?;
        Ok(cert.der().to_vec())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/// What trent reads out of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub subject: Subject,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    /// SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    pub is_ca: bool,
    pub serial_hex: String,
}

/// A name as Key Vault renders it: most specific attribute first (the reverse of the encoded order), `S=` for the
/// state (Python recording test_import_certificate_password_encoded_no_policy[2025-07-01]:
/// `O=Internet Widgits Pty Ltd, S=Some-State, C=AU`).
fn name_text(name: &x509_parser::x509::X509Name<'_>) -> String {
    use x509_parser::der_parser::oid;
    let mut parts = Vec::new();
    let rdns: Vec<_> = name.iter().collect();
    for rdn in rdns.into_iter().rev() {
        for attr in rdn.iter() {
            let value = attr
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|_| attr.attr_value().as_str().map(str::to_string).unwrap_or_default());
            let oid = attr.attr_type();
            let short = if *oid == oid!(2.5.4 .3) {
                "CN".to_string()
            } else if *oid == oid!(2.5.4 .10) {
                "O".to_string()
            } else if *oid == oid!(2.5.4 .11) {
                "OU".to_string()
            } else if *oid == oid!(2.5.4 .7) {
                "L".to_string()
            } else if *oid == oid!(2.5.4 .8) {
                "S".to_string()
            } else if *oid == oid!(2.5.4 .6) {
                "C".to_string()
            } else if *oid == oid!(1.2.840 .113549 .1 .9 .1) {
                "E".to_string()
            } else if *oid == oid!(0.9.2342 .19200300 .100 .1 .25) {
                "DC".to_string()
            } else {
                format!("OID.{oid}")
            };
            parts.push(format!("{short}={value}"));
        }
    }
    parts.join(", ")
}

/// Reads a DER certificate.
pub fn parse(der: &[u8]) -> Result<Parsed, String> {
    use x509_parser::extensions::GeneralName;
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".to_string());
    }
    let mut subject = Subject {
        name: name_text(cert.subject()),
        ..Subject::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => subject.dns_names.push(d.to_string()),
                GeneralName::RFC822Name(e) => subject.emails.push(e.to_string()),
                GeneralName::OtherName(oid, value) if oid.to_id_string() == UPN_OID_TEXT => {
                    if let Some(upn) = other_name_utf8(value) {
                        subject.upns.push(upn);
                    }
                }
                _ => {}
            }
        }
    }
    if let Ok(Some(ku)) = cert.key_usage() {
        let ku = ku.value;
        let flags = [
            ku.digital_signature(),
            ku.non_repudiation(),
            ku.key_encipherment(),
            ku.data_encipherment(),
            ku.key_agreement(),
            ku.key_cert_sign(),
            ku.crl_sign(),
            ku.encipher_only(),
            ku.decipher_only(),
        ];
        subject.key_usage = KEY_USAGES
            .iter()
            .zip(flags)
            .filter(|(_, on)| *on)
            .map(|(name, _)| name.to_string())
            .collect();
    }
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let e = eku.value;
        for (on, oid) in [
            (e.server_auth, "1.3.6.1.5.5.7.3.1"),
            (e.client_auth, "1.3.6.1.5.5.7.3.2"),
            (e.code_signing, "1.3.6.1.5.5.7.3.3"),
            (e.email_protection, "1.3.6.1.5.5.7.3.4"),
            (e.time_stamping, "1.3.6.1.5.5.7.3.8"),
            (e.ocsp_signing, "1.3.6.1.5.5.7.3.9"),
            (e.any, "2.5.29.37.0"),
        ] {
            if on {
                subject.ekus.push(oid.to_string());
            }
        }
        subject.ekus.extend(e.other.iter().map(|o| o.to_id_string()));
    }
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    Ok(Parsed {
        issuer: name_text(cert.issuer()),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        public_key: cert.public_key().raw.to_vec(),
        is_ca,
        serial_hex: cert.raw_serial_as_string().replace(':', "").to_ascii_uppercase(),
        subject,
    })
}

/// The UTF8String inside a UPN other-name (`[0] EXPLICIT UTF8String`, the explicit tag already removed or not).
fn other_name_utf8(value: &[u8]) -> Option<String> {
    use x509_parser::der_parser::ber::parse_ber_any_r;
    let (_, any) = parse_ber_any_r(value, 8).ok()?;
    if let Ok(s) = any.as_str() {
        return Some(s.to_string());
    }
    let (_, inner) = parse_ber_any_r(any.as_slice().ok()?, 8).ok()?;
    inner.as_str().ok().map(str::to_string)
}

/// The SHA-1 thumbprint of a DER certificate (`x5t`).
pub fn thumbprint(der: &[u8]) -> Vec<u8> {
    use sha1::Digest;
    sha1::Sha1::digest(der).to_vec()
}

/// Whether `der` is signed by the certificate `issuer_der`'s key (a chain link).
pub fn is_signed_by(der: &[u8], issuer_der: &[u8]) -> bool {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (Ok((_, cert)), Ok((_, issuer))) = (X509Certificate::from_der(der), X509Certificate::from_der(issuer_der))
    else {
        return false;
    };
    cert.verify_signature(Some(issuer.public_key())).is_ok()
}

// ---------------------------------------------------------------------------------------------------------------
// Keys of unknown type, PKCS#12 and PEM

/// Private key material of any type trent holds certificate keys in: PKCS#8 (RSA 2048/3072/4096, EC P-256, P-384,
/// P-521, secp256k1), or the traditional PKCS#1 RSA and SEC1 EC forms.
pub fn key_from_der(der: &[u8]) -> Result<KeyMaterial, String> {
    use pkcs8::{DecodePrivateKey, EncodePrivateKey};
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let rsa_key = rsa::RsaPrivateKey::from_pkcs8_der(der).or_else(|_| rsa::RsaPrivateKey::from_pkcs1_der(der));
    if let Ok(key) = rsa_key {
        let spec = match key.n().bits() {
            2048 => KeySpec::Rsa2048,
            3072 => KeySpec::Rsa3072,
            4096 => KeySpec::Rsa4096,
            bits => {
                return Err(format!(
                    "a {bits}-bit RSA key is not supported (2048, 3072 or 4096 bits)"
                ))
            }
        };
        let pkcs8 = key.to_pkcs8_der().map_err(|e| e.to_string())?;
        return KeyMaterial::from_bytes(spec, pkcs8.as_bytes()).map_err(|e| e.to_string());
    }
    macro_rules! ec {
        ($curve:ident, $spec:expr) => {
            if let Ok(secret) =
                $curve::SecretKey::from_pkcs8_der(der).or_else(|_| $curve::SecretKey::from_sec1_der(der))
            {
                let pkcs8 = secret.to_pkcs8_der().map_err(|e| e.to_string())?;
                return KeyMaterial::from_bytes($spec, pkcs8.as_bytes()).map_err(|e| e.to_string());
            }
        };
    }
    ec!(p256, KeySpec::EccNistP256);
    ec!(p384, KeySpec::EccNistP384);
    ec!(p521, KeySpec::EccNistP521);
    ec!(k256, KeySpec::EccSecgP256k1);
    Err("the private key is not an RSA or EC key in PKCS#8, PKCS#1 or SEC1 form".to_string())
}

/// The certificates and key of a PKCS#12 file or a PEM bundle: the leaf first (the certificate whose public key
/// is the key's, when there is a key), then the rest in the order given.
#[derive(Debug)]
pub struct Bundle {
    pub key: Option<KeyMaterial>,
    pub chain: Vec<Vec<u8>>,
}

fn order(key: Option<KeyMaterial>, mut chain: Vec<Vec<u8>>) -> Result<Bundle, String> {
    if chain.is_empty() {
        return Err("it holds no certificate".to_string());
    }
    if let Some(key) = &key {
        let public = key.public_key_der().map_err(|e| e.to_string())?;
        let leaf = chain
            .iter()
            .position(|c| parse(c).map(|p| p.public_key == public).unwrap_or(false))
            .ok_or_else(|| "its private key does not belong to any of its certificates".to_string())?;
        let leaf = chain.remove(leaf);
        chain.insert(0, leaf);
    }
    Ok(Bundle { key, chain })
}

/// Reads a PKCS#12 file with `password` ("" for none).
pub fn from_pkcs12(data: &[u8], password: &str) -> Result<Bundle, String> {
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(data, password).map_err(|e| e.to_string())?;
    let key = match archive.keys.first() {
        Some(bag) => Some(key_from_der(bag.key.as_der())?),
        None => None,
    };
    let chain = archive.certs.iter().map(|c| c.cert.as_der().to_vec()).collect();
    order(key, chain)
}

/// A PKCS#12 file holding `chain` (leaf first) and, when given, its key, under `password` (AES-256-CBC with
/// PBKDF2-SHA256 and an HMAC-SHA256 MAC, 10 000 rounds each, p12-keystore's defaults).
pub fn to_pkcs12(key: Option<&KeyMaterial>, chain: &[Vec<u8>], password: &str) -> Result<Vec<u8>, String> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let certs: Vec<Certificate> = chain
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let mut store = KeyStore::new();
    match key {
        Some(key) => {
            let private = PrivateKey::from_der(key.bytes()).map_err(|e| e.to_string())?;
            let local_id = chain.first().map(|leaf| thumbprint(leaf)).unwrap_or_default();
            store.add_entry(
                "certificate",
                KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_id, private, certs)),
            );
        }
        None => {
            for (i, cert) in certs.into_iter().enumerate() {
                store.add_entry(&format!("certificate-{i}"), KeyStoreEntry::Certificate(cert));
            }
        }
    }
    store.writer(password).write().map_err(|e| e.to_string())
}

/// Reads PEM text: `CERTIFICATE` blocks and at most one private key (`PRIVATE KEY`, `RSA PRIVATE KEY`,
/// `EC PRIVATE KEY`); other blocks are ignored.
pub fn from_pem(text: &str) -> Result<Bundle, String> {
    let blocks = pem::parse_many(text).map_err(|e| format!("it is not PEM: {e}"))?;
    let mut key = None;
    let mut chain = Vec::new();
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" => chain.push(block.contents().to_vec()),
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
                if key.is_some() {
                    return Err("it holds more than one private key".to_string());
                }
                key = Some(key_from_der(block.contents())?);
            }
            "ENCRYPTED PRIVATE KEY" => return Err("its private key is encrypted".to_string()),
            _ => {}
        }
    }
    order(key, chain)
}

/// PEM text: the key (PKCS#8 `PRIVATE KEY`) when given, then every certificate, LF line endings.
pub fn to_pem(key: Option<&KeyMaterial>, chain: &[Vec<u8>]) -> String {
    let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    let mut blocks = Vec::new();
    if let Some(key) = key {
        blocks.push(pem::Pem::new("PRIVATE KEY", key.bytes().to_vec()));
    }
    blocks.extend(chain.iter().map(|der| pem::Pem::new("CERTIFICATE", der.clone())));
    pem::encode_many_config(&blocks, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Subject {
        Subject {
            name: "CN=www.contoso.com, O=Contoso".into(),
            dns_names: vec!["www.contoso.com".into(), "api.contoso.com".into()],
            emails: vec!["admin@contoso.com".into()],
            upns: vec!["user@contoso.com".into()],
            key_usage: vec!["digitalSignature".into(), "keyEncipherment".into()],
            ekus: vec!["1.3.6.1.5.5.7.3.1".into(), "1.3.6.1.5.5.7.3.2".into()],
        }
    }

    const VALIDITY: Validity = Validity {
        not_before: 1_700_000_000,
        not_after: 1_700_000_000 + 365 * 86_400,
    };

    #[test]
    fn self_signed_certificates_say_what_was_asked() {
        for spec in [KeySpec::Rsa2048, KeySpec::EccNistP256, KeySpec::EccNistP384] {
            let key = KeyMaterial::generate(spec).unwrap();
            let der = self_signed(&key, &subject(), VALIDITY).unwrap();
            let parsed = parse(&der).unwrap();
            assert_eq!(parsed.subject, subject(), "{spec}");
            assert_eq!(parsed.issuer, "CN=www.contoso.com, O=Contoso");
            assert_eq!(
                (parsed.not_before, parsed.not_after),
                (VALIDITY.not_before, VALIDITY.not_after)
            );
            assert_eq!(parsed.public_key, key.public_key_der().unwrap());
            assert!(is_signed_by(&der, &der));
            assert!(!parsed.is_ca);
        }
        let p521 = KeyMaterial::generate(KeySpec::EccNistP521).unwrap();
        assert!(matches!(
            self_signed(&p521, &subject(), VALIDITY),
            Err(MakeError::Crypto(CryptoError::Unsupported(_)))
        ));
    }

    #[test]
    fn issued_certificates_chain_to_the_authority() {
        let ca = Authority::generate("trent test CA", "trent", 1_690_000_000, 10).unwrap();
        let key = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        let der = ca.issue(&key, &subject(), VALIDITY).unwrap();
        assert!(is_signed_by(&der, &ca.certificate_der));
        assert!(!is_signed_by(&der, &der));
        assert_eq!(parse(&der).unwrap().issuer, "CN=trent test CA, O=trent");
        assert!(parse(&ca.certificate_der).unwrap().is_ca);
    }

    #[test]
    fn pkcs12_and_pem_round_trip() {
        let key = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        let ca = Authority::generate("trent test CA", "trent", 1_690_000_000, 10).unwrap();
        let leaf = ca.issue(&key, &subject(), VALIDITY).unwrap();
        // The CA first: reading puts the key's certificate first.
        let chain = vec![ca.certificate_der.clone(), leaf.clone()];
        for password in ["", "s3cret"] {
            let pfx = to_pkcs12(Some(&key), &chain, password).unwrap();
            let back = from_pkcs12(&pfx, password).unwrap();
            assert_eq!(back.key.unwrap().bytes(), key.bytes());
            assert_eq!(back.chain[0], leaf);
            assert_eq!(back.chain.len(), 2);
        }
        assert!(from_pkcs12(&to_pkcs12(Some(&key), &chain, "a").unwrap(), "b").is_err());
        let only_certs = to_pkcs12(None, &chain, "").unwrap();
        assert!(from_pkcs12(&only_certs, "").unwrap().key.is_none());
        let pem = to_pem(Some(&key), &[leaf.clone(), ca.certificate_der.clone()]);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = from_pem(&pem).unwrap();
        assert_eq!(back.chain, vec![leaf.clone(), ca.certificate_der.clone()]);
        assert!(from_pem("not pem").is_err());
        let other = KeyMaterial::generate(KeySpec::EccNistP256).unwrap();
        assert!(
            from_pem(&to_pem(Some(&other), &[leaf])).is_err(),
            "a key of no certificate"
        );
    }

    #[test]
    fn subjects_parse_and_refuse() {
        assert!(distinguished_name("CN=a;O=b").is_ok());
        assert!(distinguished_name("CN=\"a, b\", O=c").is_ok());
        assert!(distinguished_name("").is_err());
        assert!(distinguished_name("XX=a").is_err());
        assert!(distinguished_name("noequals").is_err());
    }
}
