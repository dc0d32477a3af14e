//! HTTPS for the Key Vault port: the certificate (generated at start, or given with `--tls-cert/--tls-key`) and
//! its acceptor (HTTP/1.1 and HTTP/2 by ALPN); the accept loop is [`super::serve`], shared with plain HTTP.
//!
//! The generated material is a CA certificate plus a leaf it signs for `localhost`, `127.0.0.1` and `::1`;
//! clients trust the CA (written to a PEM file at start). A client that asks for another name by SNI
//! (`myvault.localhost`) gets a leaf for exactly that name, signed by the same CA on first use and cached (some TLS
//! stacks refuse a wildcard under a single-label domain such as `*.localhost`, and webpki any wildcard under name
//! constraints).
//!
//! The CA can vouch only for what trent serves: its name constraints permit `localhost` and its subdomains,
//! `host.docker.internal`, the loopback addresses and the names given with `--allow-host`, and it is valid for two
//! years (leaves for 397 days), so trusting it cannot let anyone intercept other sites. SNI leaves are issued only
//! for names the constraints permit.
//!
//! A failed handshake only ends its own connection: every connection runs in its own task.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// Marks a request that arrived over TLS (a request extension), so services can build `https://` URLs.
#[derive(Debug, Clone, Copy)]
pub struct TlsConnection;

/// What the HTTPS listener serves with.
pub struct TlsSetup {
    pub acceptor: TlsAcceptor,
    /// PEM of the generated CA (None when the certificate was given).
    pub ca_pem: Option<String>,
}

/// Names the default generated leaf covers. No `*.localhost` wildcard: webpki refuses wildcard names under a CA's
/// name constraints (MalformedDnsIdentifier), and `{name}.localhost` clients get a leaf of their own by SNI.
pub const LEAF_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
const MAX_CACHED_LEAVES: usize = 1024;
/// How long the generated CA and its leaves are valid, from a day before the start (clock skew).
const CA_VALIDITY: Duration = Duration::from_secs(2 * 365 * 86_400);
const LEAF_VALIDITY: Duration = Duration::from_secs(397 * 86_400);
const BACKDATE: Duration = Duration::from_secs(86_400);

fn other<E: std::fmt::Display>(context: &str) -> impl FnOnce(E) -> io::Error + '_ {
    move |e| io::Error::other(format!("{context}: {e}"))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Loads the given certificate chain and key, or generates a CA (constrained to localhost, loopback,
/// `host.docker.internal` and `extra_names`, `*.suffix` standing for `suffix` and its subdomains) and a leaf.
pub fn setup(cert: Option<&Path>, key: Option<&Path>, extra_names: &[String]) -> io::Result<TlsSetup> {
    let (resolver, ca_pem): (Arc<dyn ResolvesServerCert>, Option<String>) = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .map_err(other("reading --tls-cert"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(other("parsing --tls-cert"))?;
            if chain.is_empty() {
                return Err(io::Error::other("--tls-cert holds no certificate"));
            }
            let key = PrivateKeyDer::from_pem_file(key).map_err(other("reading --tls-key"))?;
            let signing = provider()
                .key_provider
                .load_private_key(key)
                .map_err(other("loading --tls-key"))?;
            let certified = CertifiedKey::new(chain, signing);
            certified
                .keys_match()
                .map_err(other("--tls-cert and --tls-key do not match"))?;
            (Arc::new(Fixed(Arc::new(certified))), None)
        }
        (None, None) => {
            let generated = Generated::new(extra_names)?;
            let pem = generated.ca_pem.clone();
            (Arc::new(generated), Some(pem))
        }
        _ => return Err(io::Error::other("--tls-cert and --tls-key must be given together")),
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(other("TLS configuration"))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsSetup {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        ca_pem,
    })
}

/// A certificate given on the command line.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A generated CA, its default leaf, and leaves issued per SNI name.
struct Generated {
    issuer: Issuer<'static, KeyPair>,
    /// The DNS subtrees the CA may vouch for.
    dns_subtrees: Vec<String>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    default_leaf: Arc<CertifiedKey>,
    by_name: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated").finish_non_exhaustive()
    }
}

impl Generated {
    fn new(extra_names: &[String]) -> io::Result<Generated> {
        let ca_key = KeyPair::generate().map_err(other("generating the CA key"))?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other("CA parameters"))?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        let now = time::OffsetDateTime::now_utc();
        ca_params.not_before = now - BACKDATE;
        ca_params.not_after = now + CA_VALIDITY;
        let mut dns_subtrees = vec!["localhost".to_string(), "host.docker.internal".to_string()];
        for name in extra_names {
            let name = name.trim().trim_start_matches("*.").to_ascii_lowercase();
            if !name.is_empty() && name.parse::<std::net::IpAddr>().is_err() && !dns_subtrees.contains(&name) {
                dns_subtrees.push(name);
            }
        }
        let mut permitted: Vec<GeneralSubtree> = dns_subtrees.iter().cloned().map(GeneralSubtree::DnsName).collect();
        permitted.push(GeneralSubtree::IpAddress(CidrSubnet::V4(
            [127, 0, 0, 0],
            [255, 0, 0, 0],
        )));
        let mut v6_loopback = [0u8; 16];
        v6_loopback[15] = 1;
        permitted.push(GeneralSubtree::IpAddress(CidrSubnet::V6(v6_loopback, [0xff; 16])));
        ca_params.name_constraints = Some(NameConstraints {
            permitted_subtrees: permitted,
            excluded_subtrees: Vec::new(),
        });
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "trent local development CA");
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "trent (Azure Key Vault emulator)");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(other("signing the CA"))?;
        let ca_pem = ca_cert.pem();
        let ca_der = ca_cert.der().clone();
        let issuer = Issuer::new(ca_params, ca_key);
        let names: Vec<String> = LEAF_NAMES.iter().map(|s| s.to_string()).collect();
        let default_leaf = issue(&issuer, &ca_der, names)?;
        Ok(Generated {
            issuer,
            dns_subtrees,
            ca_der,
            ca_pem,
            default_leaf,
            by_name: Mutex::new(HashMap::new()),
        })
    }

    fn leaf_for(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.to_ascii_lowercase();
        let permitted = self
            .dns_subtrees
            .iter()
            .any(|tree| name == *tree || name.ends_with(&format!(".{tree}")));
        if !permitted {
            return None;
        }
        let mut cache = self.by_name.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(&name) {
            return Some(found.clone());
        }
        let leaf = issue(&self.issuer, &self.ca_der, vec![name.clone()]).ok()?;
        if cache.len() < MAX_CACHED_LEAVES {
            cache.insert(name, leaf.clone());
        }
        Some(leaf)
    }
}

impl ResolvesServerCert for Generated {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            None => Some(self.default_leaf.clone()),
            Some(name) if name.eq_ignore_ascii_case("localhost") => Some(self.default_leaf.clone()),
            Some(name) => self.leaf_for(name).or_else(|| Some(self.default_leaf.clone())),
        }
    }
}

/// A leaf for `names`, signed by the CA, as rustls serves it (leaf + CA chain).
fn issue(
    issuer: &Issuer<'static, KeyPair>,
    ca_der: &CertificateDer<'static>,
    names: Vec<String>,
) -> io::Result<Arc<CertifiedKey>> {
    let key = KeyPair::generate().map_err(other("generating a TLS key"))?;
    let common_name = names.first().cloned().unwrap_or_else(|| "localhost".to_string());
    let mut params = CertificateParams::new(names).map_err(other("certificate parameters"))?;
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + LEAF_VALIDITY;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(other("signing a TLS certificate"))?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signing = provider()
        .key_provider
        .load_private_key(key_der)
        .map_err(other("loading a TLS key"))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone(), ca_der.clone()],
        signing,
    )))
}

/// Writes `pem` to `path` atomically (a temporary file renamed over it), so concurrent starts never expose a
/// half-written file.
pub fn write_pem(path: &Path, pem: &str) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trent-ca.pem".to_string());
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::write(&tmp, pem)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::testutil::{openssl, openssl_available, TempDir};

    /// The CA is constrained to what trent serves and expires in two years; SNI leaves only for permitted names;
    /// OpenSSL verifies a permitted leaf and refuses a leaf for another name signed by the same CA.
    #[test]
    fn the_ca_vouches_only_for_what_trent_serves() {
        let generated = Generated::new(&["*.vault.test".to_string()]).unwrap();
        assert!(generated.leaf_for("myvault.localhost").is_some());
        assert!(generated.leaf_for("a.vault.test").is_some());
        assert!(generated.leaf_for("host.docker.internal").is_some());
        assert!(generated.leaf_for("evil.example").is_none());
        assert!(generated.leaf_for("localhost.evil.example").is_none());
        if !openssl_available("tls::the_ca_vouches_only_for_what_trent_serves") {
            return;
        }
        let dir = TempDir::new();
        dir.write("ca.pem", generated.ca_pem.as_bytes());
        let (_, text) = openssl(&dir, &["x509", "-in", "ca.pem", "-noout", "-text"]);
        assert!(
            text.contains("X509v3 Name Constraints: critical") || text.contains("X509v3 Name Constraints"),
            "{text}"
        );
        assert!(
            text.contains("DNS:localhost") && text.contains("DNS:vault.test"),
            "{text}"
        );
        let year = time::OffsetDateTime::now_utc().year();
        assert!(text.contains("Not After :") && !text.contains("4096"), "{text}");
        assert!(text.contains(&(year + 2).to_string()), "{text}");
        let pem_of = |leaf: &Arc<CertifiedKey>| {
            let der = leaf.cert[0].as_ref();
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
            format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
        };
        dir.write("leaf.pem", pem_of(&generated.default_leaf).as_bytes());
        let (ok, out) = openssl(&dir, &["verify", "-CAfile", "ca.pem", "leaf.pem"]);
        assert!(ok && out.contains("OK"), "{out}");
        // A leaf for a name outside the constraints, signed by the same CA, fails verification.
        let rogue = issue(&generated.issuer, &generated.ca_der, vec!["evil.example".to_string()]).unwrap();
        dir.write("rogue.pem", pem_of(&rogue).as_bytes());
        let (ok, out) = openssl(&dir, &["verify", "-CAfile", "ca.pem", "rogue.pem"]);
        assert!(!ok || !out.contains(": OK"), "{out}");
    }
}
