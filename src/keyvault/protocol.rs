//! The Key Vault REST protocol, independent of any one object type: the error envelope (one [`KeyVaultError`]
//! mapped to the wire in one place), api-version, challenge authentication, the vault selected by the request's
//! host, object identifiers, query strings and paging tokens.

use std::net::IpAddr;
use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

/// The api-version this emulator implements (the 2025-07-01 REST spec); named in api-version errors.
pub const LATEST_API_VERSION: &str = "2025-07-01";
/// The name of the vault a bare host (`127.0.0.1`, `localhost`) selects.
pub const DEFAULT_VAULT: &str = "default";
/// The challenge a bare host answers with, verbatim from the seed.
pub const BARE_HOST_CHALLENGE: &str =
    r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://vault.azure.net""#;
const AUTHORITY: &str = "https://login.microsoftonline.com/parlel-tenant-id";

/// Every error a Key Vault request can end in. `IntoResponse` is the only place these meet the wire.
#[derive(Debug, thiserror::Error)]
pub enum KeyVaultError {
    /// 400 `BadParameter`.
    #[error("{0}")]
    BadParameter(String),
    /// 401 with a `WWW-Authenticate` challenge.
    #[error("AKV10000: Request is missing a Bearer or PoP token.")]
    Unauthorized { challenge: String },
    /// 403 `Forbidden`, optionally with an `innererror` code.
    #[error("{message}")]
    Forbidden {
        message: String,
        inner: Option<&'static str>,
    },
    /// 404 `SecretNotFound`.
    #[error("{0}")]
    SecretNotFound(String),
    /// 404 `NotFound`: a path that is no Key Vault operation.
    #[error("{0}")]
    NotFound(String),
    /// 405 `MethodNotAllowed`: a known path with a method it does not take.
    #[error("The requested resource does not support http method '{0}'.")]
    MethodNotAllowed(String),
    /// 409 `Conflict`, optionally with an `innererror` code.
    #[error("{message}")]
    Conflict {
        message: String,
        inner: Option<&'static str>,
    },
    /// 413 `RequestTooLarge`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 501 `NotImplemented`: a Key Vault operation trent does not serve yet.
    #[error("{0}")]
    NotImplemented(String),
}

impl KeyVaultError {
    pub fn secret_not_found(name: &str) -> Self {
        KeyVaultError::SecretNotFound(format!(
            "A secret with (name/id) {name} was not found in this key vault."
        ))
    }

    /// 404 for a name that is not in the deleted-secrets store, as the service words it.
    pub fn deleted_secret_not_found(name: &str) -> Self {
        KeyVaultError::SecretNotFound(format!("Deleted Secret not found: {name}"))
    }

    pub fn secret_version_not_found(name: &str, version: &str) -> Self {
        KeyVaultError::SecretNotFound(format!(
            "A secret with (name/id) {name}/{version} was not found in this key vault."
        ))
    }

    /// 403 for reading a disabled secret, as the service words it (innererror `SecretDisabled`).
    pub fn secret_disabled(operation: &str) -> Self {
        KeyVaultError::Forbidden {
            message: format!("Operation {operation} is not allowed on a disabled secret."),
            inner: Some("SecretDisabled"),
        }
    }

    pub fn deleted_but_recoverable(name: &str) -> Self {
        KeyVaultError::Conflict {
            message: format!(
                "Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; in this \
                 state, the secret can only be recovered or purged."
            ),
            inner: Some("ObjectIsDeletedButRecoverable"),
        }
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            KeyVaultError::BadParameter(_) => (StatusCode::BAD_REQUEST, "BadParameter"),
            KeyVaultError::Unauthorized { .. } => (StatusCode::UNAUTHORIZED, "Unauthorized"),
            KeyVaultError::Forbidden { .. } => (StatusCode::FORBIDDEN, "Forbidden"),
            KeyVaultError::SecretNotFound(_) => (StatusCode::NOT_FOUND, "SecretNotFound"),
            KeyVaultError::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            KeyVaultError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
            KeyVaultError::Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
            KeyVaultError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLarge"),
            KeyVaultError::NotImplemented(_) => (StatusCode::NOT_IMPLEMENTED, "NotImplemented"),
        }
    }
}

impl IntoResponse for KeyVaultError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let body = match &self {
            KeyVaultError::Conflict { inner: Some(inner), .. }
            | KeyVaultError::Forbidden { inner: Some(inner), .. } => {
                json!({"error": {"code": code, "message": message, "innererror": {"code": inner}}})
            }
            _ => json!({"error": {"code": code, "message": message}}),
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let KeyVaultError::Unauthorized { challenge } = &self {
            let value =
                HeaderValue::from_str(challenge).unwrap_or_else(|_| HeaderValue::from_static(BARE_HOST_CHALLENGE));
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Host → vault, base URL and challenge

/// Who a request is addressed to: the authority it named, the vault that selects, and the base URL ids use.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host[:port]` exactly as the client sent it (lower-cased).
    pub authority: String,
    /// The vault this authority selects.
    pub vault: String,
    /// `scheme://authority`: the prefix of every id in responses.
    pub base_url: String,
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

    pub fn secret_id(&self, name: &str, version: &str) -> String {
        format!("{}/secrets/{name}/{version}", self.base_url)
    }

    pub fn secret_base_id(&self, name: &str) -> String {
        format!("{}/secrets/{name}", self.base_url)
    }

    pub fn recovery_id(&self, name: &str) -> String {
        format!("{}/deletedsecrets/{name}", self.base_url)
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

/// The vault an authority selects: its first DNS label on a vault host, [`DEFAULT_VAULT`] on a bare host.
pub fn vault_name(authority: &str) -> String {
    match vault_suffix(authority) {
        None => DEFAULT_VAULT.to_string(),
        Some(_) => authority.split('.').next().unwrap_or(DEFAULT_VAULT).to_string(),
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

// ---------------------------------------------------------------------------------------------------------------
// Query string and api-version

/// A request's query parameters, names and values percent-decoded (so `api%2Dversion` is `api-version`).
#[derive(Debug, Clone, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else { return Query::default() };
        Query(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `%XX` escapes of a path segment (`+` stays `+` in paths); invalid escapes stay as they are, invalid
/// UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// Checks the `api-version` query parameter: `7.0`–`7.6` (optionally `-preview[.N]`), `2016-10-01`, and every
/// dated version from 2025-07-01 on (2025-07-01 is the JS and Rust SDK default, 2026-04-01 Python's).
pub fn check_api_version(query: &Query) -> Result<(), KeyVaultError> {
    let Some(version) = query.get("api-version") else {
        return Err(KeyVaultError::BadParameter(
            "The 'api-version' query parameter is required.".to_string(),
        ));
    };
    if api_version_supported(version) {
        Ok(())
    } else {
        Err(KeyVaultError::BadParameter(format!(
            "The specified version ({}) is not recognized. Consider using the latest supported version \
             ({LATEST_API_VERSION}).",
            truncate(version, 64)
        )))
    }
}

pub fn api_version_supported(version: &str) -> bool {
    static NUMBERED: OnceLock<Option<regex::Regex>> = OnceLock::new();
    static DATED: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let numbered = NUMBERED.get_or_init(|| regex::Regex::new(r"^7\.[0-6](-preview(\.\d{1,3})?)?$").ok());
    let dated = DATED.get_or_init(|| regex::Regex::new(r"^(\d{4})-(\d{2})-(\d{2})(-preview(\.\d{1,3})?)?$").ok());
    if numbered.as_ref().is_some_and(|re| re.is_match(version)) {
        return true;
    }
    let Some(caps) = dated.as_ref().and_then(|re| re.captures(version)) else {
        return false;
    };
    let part = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok()).unwrap_or(0);
    let (year, month, day) = (part(1), part(2), part(3));
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    (year, month, day) == (2016, 10, 1) || (year, month, day) >= (2025, 7, 1)
}

/// At most `max` characters of `s` (for echoing client input in messages).
pub fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Names and paging

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

/// `maxresults`: 1..25, default 25.
pub fn max_results(query: &Query) -> Result<usize, KeyVaultError> {
    match query.get("maxresults") {
        None | Some("") => Ok(25),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if (1..=25).contains(&n) => Ok(n as usize),
            _ => Err(KeyVaultError::BadParameter(format!(
                "Invalid MaxResults value {}. MaxResults must be between 1 and 25.",
                truncate(raw, 32)
            ))),
        },
    }
}

/// Which listing a `$skiptoken` continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Secrets,
    Versions,
    Deleted,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::Secrets => "s",
            ListKind::Versions => "v",
            ListKind::Deleted => "d",
        }
    }
}

/// The opaque continuation in `$skiptoken`: the listing, the key the next page starts after (for name-ordered
/// listings) and an offset (for version listings). Each page is found in O(log n + page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipToken {
    pub kind: ListKind,
    pub offset: usize,
    pub key: String,
}

impl SkipToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("1.{}.{}.{}", self.kind.tag(), self.offset, self.key))
    }

    /// Decodes a token made by [`SkipToken::encode`] for `kind`; anything else is a 400.
    pub fn decode(token: &str, kind: ListKind) -> Result<SkipToken, KeyVaultError> {
        let invalid = || KeyVaultError::BadParameter("The specified $skiptoken is invalid.".to_string());
        let bytes = URL_SAFE_NO_PAD
            .decode(token.trim_end_matches('='))
            .map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let mut parts = text.splitn(4, '.');
        let (Some("1"), Some(tag), Some(offset), Some(key)) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if tag != kind.tag() {
            return Err(invalid());
        }
        let offset = offset.parse::<usize>().map_err(|_| invalid())?;
        Ok(SkipToken {
            kind,
            offset,
            key: key.to_string(),
        })
    }
}

/// The `nextLink` of a listing: `{base}{path}?api-version=…&$skiptoken=…&maxresults=…`.
pub fn next_link(target: &Target, path: &str, api_version: &str, token: &SkipToken, max: usize) -> String {
    let api_version: String = api_version
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    format!(
        "{}{path}?api-version={api_version}&$skiptoken={}&maxresults={max}",
        target.base_url,
        token.encode()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions() {
        for ok in [
            "7.0",
            "7.4",
            "7.6",
            "7.6-preview.2",
            "2016-10-01",
            "2025-07-01",
            "2026-04-01",
            "2030-01-15",
        ] {
            assert!(api_version_supported(ok), "{ok}");
        }
        for bad in [
            "",
            "7",
            "7.7",
            "8.0",
            "2024-01-01",
            "2025-13-01",
            "latest",
            "2025-07-01x",
            "7.4 ",
        ] {
            assert!(!api_version_supported(bad), "{bad}");
        }
    }

    #[test]
    fn query_decodes_names() {
        let q = Query::parse(Some("api%2Dversion=7%2E4&maxresults=3&x"));
        assert_eq!(q.get("api-version"), Some("7.4"));
        assert_eq!(q.get("maxresults"), Some("3"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("a+b%2Bc"), "a+b+c");
        assert_eq!(Query::parse(Some("q=a+b%2Bc")).get("q"), Some("a b+c"));
    }

    fn kind() -> impl proptest::strategy::Strategy<Value = ListKind> {
        proptest::prop_oneof![
            proptest::strategy::Just(ListKind::Secrets),
            proptest::strategy::Just(ListKind::Versions),
            proptest::strategy::Just(ListKind::Deleted),
        ]
    }

    proptest::proptest! {
        #[test]
        fn skiptoken_round_trips(kind in kind(), offset in 0usize..1_000_000, key in "[0-9a-z-]{0,127}") {
            let token = SkipToken { kind, offset, key };
            let encoded = token.encode();
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            proptest::prop_assert_eq!(SkipToken::decode(&encoded, kind).ok(), Some(token.clone()));
            for other in [ListKind::Secrets, ListKind::Versions, ListKind::Deleted] {
                if other != kind {
                    proptest::prop_assert!(SkipToken::decode(&encoded, other).is_err());
                }
            }
        }

        #[test]
        fn skiptoken_decode_never_panics(raw in ".{0,200}", kind in kind()) {
            let _ = SkipToken::decode(&raw, kind);
            let _ = Query::parse(Some(&raw));
            let _ = percent_decode(&raw);
            let _ = api_version_supported(&raw);
            let _ = vault_name(&raw);
        }
    }

    #[test]
    fn vaults_and_challenges() {
        assert_eq!(vault_name("127.0.0.1:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("localhost:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("[::1]:4594"), DEFAULT_VAULT);
        assert_eq!(vault_name("myvault.localhost:4594"), "myvault");
        let t = Target {
            authority: "myvault.localhost:4595".into(),
            vault: "myvault".into(),
            base_url: "https://myvault.localhost:4595".into(),
        };
        assert_eq!(
            t.challenge(),
            r#"Bearer authorization="https://login.microsoftonline.com/parlel-tenant-id", resource="https://localhost:4595""#
        );
    }
}
