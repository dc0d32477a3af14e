//! The Azure Key Vault REST protocol, the only code of the service that knows HTTP: challenge authentication,
//! api-version, the route ([`crate::keyvault::endpoint`]), the body, and the answer ([`Reply`] or
//! [`KeyVaultError`]) turned into a response. Below it, handlers take typed input and return typed output.
//!
//! Order of checks, as the service and the SDKs' challenge flow expect: a request without a bearer token gets its
//! 401 before anything else (its body is never read), then the api-version, then the route and method, then the
//! body.

pub mod body;
pub mod error;
pub mod ids;
pub mod paging;

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub use error::{KeyVaultError, ObjectKind};
pub use ids::{has_bearer_token, vault_name, Target, BARE_HOST_CHALLENGE, DEFAULT_VAULT};
pub use paging::{ListArgs, ListResult, Query};

use super::endpoint::{Endpoint, RouteError};
use super::KeyVault;

/// The api-version this emulator implements (the 2025-07-01 REST spec); named in api-version errors.
pub const LATEST_API_VERSION: &str = "2025-07-01";
/// Largest request body read (a backup blob of many 25 KB versions fits).
const MAX_BODY_BYTES: usize = 8 << 20;

/// What a handler answered, before it meets the wire: a status and a JSON body (or none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Vec<u8>>,
    /// Headers beyond the content type (`Location`, `Retry-After` of a certificate operation).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    /// 200 with `value` as JSON.
    pub fn json<T: serde::Serialize>(value: &T) -> Result<Reply, KeyVaultError> {
        let body = serde_json::to_vec(value)
            .map_err(|e| KeyVaultError::Internal(format!("trent could not encode the response: {e}")))?;
        Ok(Reply {
            status: 200,
            body: Some(body),
            headers: Vec::new(),
        })
    }

    /// The same reply with another status.
    pub fn with_status(mut self, status: u16) -> Reply {
        self.status = status;
        self
    }

    /// The same reply with one more header.
    pub fn with_header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    /// 204 without a body (the purge operations).
    pub fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }
}

/// The request as the service layer sees it: who it is addressed to, its query and api-version.
pub struct Call<'a> {
    pub target: &'a Target,
    pub query: &'a Query,
    pub api_version: &'a str,
}

/// The axum handler of every Key Vault REST route.
pub async fn serve(State(kv): State<Arc<KeyVault>>, request: Request) -> Response {
    let response = match handle(&kv, request).await {
        Ok(reply) => reply_response(reply),
        Err(error) => error_response(&error),
    };
    // Purges on the clock can change state even when the request fails: persist either way, before answering.
    if let Err(e) = kv.persist().await {
        return error_response(&KeyVaultError::Internal(crate::storage::unsaved_message(&e)));
    }
    response
}

async fn handle(kv: &KeyVault, request: Request) -> Result<Reply, KeyVaultError> {
    let (parts, body) = request.into_parts();
    let https = parts.extensions.get::<crate::http::tls::TlsConnection>().is_some();
    let target = Target::of(&parts.uri, &parts.headers, https)
        .ok_or_else(|| KeyVaultError::BadParameter("The request has no valid Host header.".to_string()))?;

    // Challenge authentication comes first, before the body is read: the SDKs' first request has no body.
    if !has_bearer_token(&parts.headers) {
        return Err(KeyVaultError::Unauthorized {
            challenge: target.challenge(),
        });
    }

    let query = Query::parse(parts.uri.query());
    check_api_version(&query)?;
    let api_version = query.get("api-version").unwrap_or(LATEST_API_VERSION).to_string();

    let path = parts.uri.path();
    let mut segments: Vec<String> = path.split('/').skip(1).map(percent_decode).collect();
    // A trailing slash names the same resource (`/secrets/{name}/` is the latest version).
    while segments.last().is_some_and(|s| s.is_empty()) {
        segments.pop();
    }
    let endpoint = Endpoint::parse(parts.method.as_str(), &segments).map_err(|e| match e {
        RouteError::NotFound => KeyVaultError::NotFound(format!(
            "The requested path '{}' is not a Key Vault operation.",
            truncate(path, 200)
        )),
        RouteError::MethodNotAllowed => KeyVaultError::MethodNotAllowed(truncate(parts.method.as_str(), 32)),
    })?;

    let body = if endpoint.reads_body() {
        read_body(body).await?
    } else {
        drop(body);
        bytes::Bytes::new()
    };
    let call = Call {
        target: &target,
        query: &query,
        api_version: &api_version,
    };
    super::call(kv, &call, endpoint, &body).await
}

async fn read_body(body: Body) -> Result<bytes::Bytes, KeyVaultError> {
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|e| {
        if crate::http::body_too_large(&e) {
            KeyVaultError::PayloadTooLarge(format!("The request body exceeds {MAX_BODY_BYTES} bytes."))
        } else {
            KeyVaultError::BadParameter(format!("The request body could not be read: {e}."))
        }
    })
}

fn reply_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut response = match reply.body {
        None => status.into_response(),
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
    };
    for (name, value) in reply.headers {
        if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The one place a [`KeyVaultError`] becomes a response: status, `{"error": …}` body, challenge header.
pub fn error_response(error: &KeyVaultError) -> Response {
    let (status, _) = error.status_and_code();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(error.body())).into_response();
    if matches!(error, KeyVaultError::Throttled) {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if let Some(challenge) = error.challenge() {
        let value = HeaderValue::from_str(challenge).unwrap_or_else(|_| HeaderValue::from_static(BARE_HOST_CHALLENGE));
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
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
    fn percent_decoding() {
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("a%zz"), "a%zz");
        assert_eq!(percent_decode("a+b%2Bc"), "a+b+c");
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(raw in ".{0,200}") {
            let _ = percent_decode(&raw);
            let _ = api_version_supported(&raw);
            let _ = vault_name(&raw);
        }
    }
}
