//! Who a request is addressed to (the vault its host selects, the base URL of every id) and the identifiers the
//! service returns: `{base}/{collection}/{name}/{version}` (`kid`, `sid`, `cid`, `id`) and recovery ids
//! `{base}/deleted{collection}/{name}`, for every plane.

use std::net::IpAddr;

use axum::http::{header, HeaderMap, Uri};

use super::error::ObjectKind;

/// The name of the vault a bare host (`127.0.0.1`, `localhost`) selects.
pub const DEFAULT_VAULT: &str = "default";
/// The challenge a bare host answers with, verbatim from the seed.
pub const BARE_HOST_CHALLENGE: &str =
    r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://vault.azure.net""#;
const AUTHORITY: &str = "https://login.microsoftonline.com/parlel-tenant-id";

/// Who a request is addressed to: the authority it named, the vault that selects, and the base URL ids use.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host[:port]` exactly as the client sent it (lower-cased).
    pub authority: String,
    /// The vault this authority selects.
    pub vault: String,
    /// `scheme://authority`: the prefix of every id in responses.
    pub base_url: String,
    /// Whether the host names a Managed HSM (`{name}.managedhsm.{domain}`): symmetric keys live there.
    pub managed_hsm: bool,
}

impl Target {
    /// From the request URI (HTTP/2 `:authority`, absolute-form) or else the `Host` header. `None` when neither
    /// names a valid authority.
    pub fn of(uri: &Uri, headers: &HeaderMap, https: bool) -> Option<Target> {
        let authority = match uri.authority() {
            Some(a) => a.as_str().to_ascii_lowercase(),
            None => {
                let host = headers.get(header::HOST)?.to_str().ok()?;
                let parsed: axum::http::uri::Authority = host.parse().ok()?;
                parsed.as_str().to_ascii_lowercase()
            }
        };
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        let vault = vault_name(&authority);
        let scheme = if https { "https" } else { "http" };
        Some(Target {
            base_url: format!("{scheme}://{authority}"),
            managed_hsm: is_managed_hsm(&authority),
            vault,
            authority,
        })
    }

    /// The `WWW-Authenticate` challenge for this authority: the seed's verbatim header on a bare host; on a
    /// vault host `{vault}.{rest}` a resource `https://{rest}`, so the SDKs' challenge-resource verification
    /// (request host ends with `.` + resource host; Python compares host:port) passes.
    pub fn challenge(&self) -> String {
        match vault_suffix(&self.authority) {
            None => BARE_HOST_CHALLENGE.to_string(),
            Some(rest) => format!(r#"Bearer authorization="{AUTHORITY}", resource="https://{rest}""#),
        }
    }

    /// `{base}/{collection}/{name}/{version}`: the id of one version (`id`, `kid`, `sid`).
    pub fn object_id(&self, kind: ObjectKind, name: &str, version: &str) -> String {
        format!("{}/{}/{name}/{version}", self.base_url, kind.collection())
    }

    /// `{base}/{collection}/{name}`: the id of an object without version (list items).
    pub fn base_id(&self, kind: ObjectKind, name: &str) -> String {
        format!("{}/{}/{name}", self.base_url, kind.collection())
    }

    /// `{base}/deleted{collection}/{name}`: the recovery id of a deleted object.
    pub fn recovery_id(&self, kind: ObjectKind, name: &str) -> String {
        format!("{}/{}/{name}", self.base_url, kind.deleted_collection())
    }
}

/// The host part of an authority (without port and IPv6 brackets).
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// `Some(rest)` (`host-rest[:port]`) when the authority is a vault host `{vault}.{rest}`; `None` for a bare
/// host: an IP address or a single-label name such as `localhost`.
fn vault_suffix(authority: &str) -> Option<&str> {
    let host = host_of(authority);
    if host.parse::<IpAddr>().is_ok() || !host.contains('.') {
        return None;
    }
    let (first, rest) = authority.split_once('.')?;
    if first.is_empty() || rest.is_empty() || rest.starts_with('.') {
        return None;
    }
    Some(rest)
}

/// Whether an authority names a Managed HSM: a vault host whose second label is `managedhsm`
/// (`myhsm.managedhsm.azure.net`, `myhsm.managedhsm.localhost`).
pub fn is_managed_hsm(authority: &str) -> bool {
    vault_suffix(authority).is_some_and(|rest| {
        rest.split('.')
            .next()
            .is_some_and(|label| label.eq_ignore_ascii_case("managedhsm"))
    })
}

/// The vault an authority selects: its first DNS label on a vault host, [`DEFAULT_VAULT`] on a bare host, and
/// `{name}.managedhsm` on a Managed HSM host (a vault and a Managed HSM of the same name are different objects, as
/// in Azure).
pub fn vault_name(authority: &str) -> String {
    match vault_suffix(authority) {
        None => DEFAULT_VAULT.to_string(),
        Some(_) => {
            let first = authority.split('.').next().unwrap_or(DEFAULT_VAULT);
            if is_managed_hsm(authority) {
                format!("{first}.managedhsm")
            } else {
                first.to_string()
            }
        }
    }
}

/// Whether the request carries a usable bearer token (any non-empty one is accepted).
pub fn has_bearer_token(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else { return false };
    let Ok(value) = value.to_str() else { return false };
    let value = value.trim();
    let Some((scheme, token)) = value.split_once(' ') else {
        return false;
    };
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("pop")) && !token.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vaults_and_challenges() {
        assert_eq!(vault_name("127.0.0.1:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("localhost:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("[::1]:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("myvault.localhost:4594"), "myvault");
        assert_eq!(vault_name("myvault.managedhsm.localhost:4595"), "myvault.managedhsm");
        let t = Target {
            authority: "myvault.localhost:4595".into(),
            vault: "myvault".into(),
            base_url: "https://myvault.localhost:4595".into(),
            managed_hsm: false,
        };
        assert!(is_managed_hsm("hsm1.managedhsm.localhost:4595"));
        assert!(!is_managed_hsm("hsm1.vault.localhost:4595"));
        assert!(!is_managed_hsm("managedhsm.localhost"));
        assert_eq!(
            t.challenge(),
            r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://localhost:4595""#
        );
        assert_eq!(
            t.object_id(ObjectKind::Key, "k", "v1"),
            "https://myvault.localhost:4595/keys/k/v1"
        );
        assert_eq!(
            t.base_id(ObjectKind::Secret, "s"),
            "https://myvault.localhost:4595/secrets/s"
        );
        assert_eq!(
            t.recovery_id(ObjectKind::Key, "k"),
            "https://myvault.localhost:4595/deletedkeys/k"
        );
    }
}
