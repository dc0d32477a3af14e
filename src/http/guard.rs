//! What a web page in the developer's browser must not be able to do to trent: reach it by DNS rebinding, or drive
//! the control API (`/_parlel/*`: export every key and secret, reset, move the clock) with a form post or a
//! `no-cors` fetch.
//!
//! - **Host check, every route:** the `Host` (or HTTP/2 `:authority`) must name `localhost`, a `*.localhost` name,
//!   a loopback address, `host.docker.internal` (what containers use to reach the host), the address trent binds
//!   to, or a name allowed with `--allow-host` (exact, or `*.suffix`), with any port. A rebinding page's requests
//!   carry its own host name and are refused.
//! - **Control routes:** a request with an `Origin` that is not an allowed host, or with `Sec-Fetch-Site` other
//!   than `same-origin`/`none`, is refused; a POST whose `Content-Type` is present and not JSON is refused (a form
//!   post cannot send JSON); with `--control-token` the request must carry `Authorization: Bearer <token>`.
//!
//! The service routes need no Origin check: KMS requests need an `X-Amz-Target` header and Key Vault requests an
//! `Authorization` header, which a browser only sends cross-origin after a CORS preflight trent never approves.
//! Refusals are answered in the port's own error envelope.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The error envelope of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Envelope {
    /// AWS JSON 1.1: `{"__type", "message"}`.
    Aws,
    /// Azure: `{"error": {"code", "message"}}`.
    Azure,
}

/// The host and control-API policy of one server.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Names allowed besides the defaults (lower case; `*.suffix` allows every name under `suffix`).
    pub allowed_hosts: Vec<String>,
    /// The address the listeners bind to (allowed as a host when it is a specific address).
    pub bind_address: Option<IpAddr>,
    /// When set, control routes need `Authorization: Bearer <token>`.
    pub control_token: Option<String>,
}

/// The host part of an authority (`host[:port]`, `[v6]:port`), lower-cased.
fn host_of(authority: &str) -> String {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_ascii_lowercase();
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

impl Guard {
    /// Whether `authority` (a Host header, or the host of an Origin) names trent.
    pub fn host_allowed(&self, authority: &str) -> bool {
        let host = host_of(authority);
        if host.is_empty() {
            return false;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return ip.is_loopback() || self.bind_address.is_some_and(|b| !b.is_unspecified() && b == ip);
        }
        if host == "localhost" || host.ends_with(".localhost") || host == "host.docker.internal" {
            return true;
        }
        self.allowed_hosts
            .iter()
            .any(|allowed| match allowed.strip_prefix("*.") {
                Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
                None => *allowed == host,
            })
    }

    /// Why a request may not go on, or `None`.
    fn refusal(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        authority: Option<&str>,
    ) -> Option<(StatusCode, String)> {
        let Some(authority) = authority else {
            return Some((StatusCode::FORBIDDEN, "The request names no host.".to_string()));
        };
        if !self.host_allowed(authority) {
            return Some((
                StatusCode::FORBIDDEN,
                format!(
                    "trent does not answer for host '{}': it serves localhost, *.localhost, loopback addresses and \
                     host.docker.internal, and names given with --allow-host.",
                    crate::keyvault::protocol::truncate(&host_of(authority), 100)
                ),
            ));
        }
        if !path.starts_with("/_parlel/") && path != "/_parlel" {
            return None;
        }
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        if let Some(origin) = text(header::ORIGIN) {
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or(origin);
            if origin == "null" || !self.host_allowed(origin_host) {
                return Some((
                    StatusCode::FORBIDDEN,
                    "Cross-origin requests to the control API are refused.".to_string(),
                ));
            }
        }
        if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            if site != "same-origin" && site != "none" {
                return Some((
                    StatusCode::FORBIDDEN,
                    "Cross-site requests to the control API are refused.".to_string(),
                ));
            }
        }
        if method == Method::POST {
            if let Some(content_type) = text(header::CONTENT_TYPE) {
                let essence = content_type
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                if essence != "application/json" {
                    return Some((
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "The control API takes JSON bodies (Content-Type: application/json).".to_string(),
                    ));
                }
            }
        }
        if let Some(token) = &self.control_token {
            let given = text(header::AUTHORIZATION)
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim);
            if given != Some(token.as_str()) {
                return Some((
                    StatusCode::UNAUTHORIZED,
                    "The control API needs the token given with --control-token (Authorization: Bearer <token>)."
                        .to_string(),
                ));
            }
        }
        None
    }
}

fn refuse(envelope: Envelope, status: StatusCode, message: String) -> Response {
    let body = match envelope {
        Envelope::Aws => {
            let kind = if status == StatusCode::UNAUTHORIZED {
                "UnrecognizedClientException"
            } else {
                "AccessDeniedException"
            };
            serde_json::json!({"__type": kind, "message": message})
        }
        Envelope::Azure => {
            let code = match status {
                StatusCode::UNAUTHORIZED => "Unauthorized",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
                _ => "Forbidden",
            };
            serde_json::json!({"error": {"code": code, "message": message}})
        }
    };
    (status, axum::Json(body)).into_response()
}

/// The middleware: refuses what [`Guard`] refuses, in `envelope`.
pub async fn guard(State((guard, envelope)): State<(Arc<Guard>, Envelope)>, request: Request, next: Next) -> Response {
    let authority = request.uri().authority().map(|a| a.as_str().to_string()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let path = request.uri().path().to_string();
    if let Some((status, message)) = guard.refusal(request.method(), &path, request.headers(), authority.as_deref()) {
        tracing::warn!(%path, host = authority.as_deref().unwrap_or(""), %message, "request refused");
        return refuse(envelope, status, message);
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let g = Guard {
            allowed_hosts: vec!["trent".into(), "*.vault.test".into()],
            bind_address: Some("192.168.1.5".parse().unwrap()),
            control_token: None,
        };
        for ok in [
            "localhost",
            "localhost:4730",
            "LOCALHOST.",
            "myvault.localhost:4595",
            "127.0.0.1:4594",
            "127.8.9.1",
            "[::1]:4595",
            "host.docker.internal:4730",
            "trent:4730",
            "a.vault.test",
            "192.168.1.5:4730",
        ] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "localhost.evil.example",
            "evilocalhost",
            "vault.test",
            "trent.example",
            "10.0.0.1:4730",
            "[::2]",
        ] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        let any = Guard {
            bind_address: Some("0.0.0.0".parse().unwrap()),
            ..Guard::default()
        };
        assert!(!any.host_allowed("0.0.0.0"));
    }
}
