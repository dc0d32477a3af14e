//! The control API every service port answers, outside the cloud's own API:
//! `GET /_parlel/health`, `POST /_parlel/reset`, `GET /_parlel/dump`, and `GET|POST /_parlel/clock`, which reads
//! and moves the server's [`Clock`] (shared by every service, so moving it on one port moves it everywhere).
//!
//! `GET /_parlel/export` answers the service's whole state as one JSON document, and `POST /_parlel/import`
//! replaces the state with such a document:
//!
//! ```json
//! {"format": "trent-state", "version": 1, "service": "kms" | "keyvault", "state": { ... }}
//! ```
//!
//! `state` is the service's store in its serde form: for KMS `{"regions": {"<account>/<region>": {keys, aliases,
//! deletions, grants, rotations}}}` with every key's every material version (`{"spec", "bytes": <base64>}`), for
//! Key Vault `{"vaults": {"<vault>": {secrets, deleted}}}` with every secret version. The document carries key
//! material and secret values in the clear. An import is validated completely before it replaces anything; a
//! bad document answers 400 `{"error": {"code": "BadRequest", "message": …}}` and changes nothing.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::clock::Clock;

/// What a service exposes to the control API.
pub trait Control: Send + Sync + 'static {
    /// `{status, service, …counts}`.
    fn health(&self) -> Value;
    /// Wipes all state, on disk too with a data directory. Blocking: the control API calls it on a blocking thread.
    fn reset(&self) -> Result<(), String>;
    /// A listing of what is stored (names, never secret material).
    fn dump(&self) -> Value;
    /// The server clock the service reads "now" from.
    fn clock(&self) -> &Clock;
    /// The whole state as a `trent-state` document (see the module doc), key material and secret values included.
    fn export(&self) -> Value;
    /// Replaces the whole state with a `trent-state` document, atomically: the document is parsed and validated
    /// completely first, and on any error nothing changes. The error says what is wrong. With a data directory the
    /// disk contents are replaced in one transaction. Blocking, like [`Control::reset`].
    fn import(&self, document: &[u8]) -> Result<(), String>;
}

/// The `format` member of every state document.
pub const STATE_FORMAT: &str = "trent-state";
/// The only `version` of the state document this build reads and writes.
pub const STATE_VERSION: u64 = 1;
/// Largest body `POST /_parlel/import` reads.
pub const IMPORT_BODY_LIMIT: usize = 64 << 20;

/// Wraps a service's serialised state in the document envelope.
pub fn state_document(service: &str, state: Value) -> Value {
    serde_json::json!({
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "service": service,
        "state": state,
    })
}

/// Checks the envelope of a state document meant for `service` and returns its `state` member, unparsed: the
/// service parses it straight into its typed state, so an import never builds a JSON tree of the document (memory
/// stays a small multiple of its size, whatever the document holds).
pub fn state_of_document<'a>(service: &str, document: &'a [u8]) -> Result<&'a RawValue, String> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        format: Option<Value>,
        version: Option<Value>,
        service: Option<Value>,
        #[serde(borrow)]
        state: Option<&'a RawValue>,
    }
    let envelope: Envelope = match serde_json::from_slice(document) {
        Ok(envelope) => envelope,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return Err("the state document must be a JSON object".to_string())
        }
        Err(e) => return Err(format!("the body is not JSON: {e}")),
    };
    match &envelope.format {
        Some(Value::String(f)) if f == STATE_FORMAT => {}
        Some(other) => return Err(format!("\"format\" is {other}, expected \"{STATE_FORMAT}\"")),
        None => return Err(format!("\"format\" is missing, expected \"{STATE_FORMAT}\"")),
    }
    match &envelope.version {
        Some(v) if v.as_u64() == Some(STATE_VERSION) => {}
        Some(other) => return Err(format!("\"version\" is {other}, expected {STATE_VERSION}")),
        None => return Err(format!("\"version\" is missing, expected {STATE_VERSION}")),
    }
    match &envelope.service {
        Some(Value::String(s)) if s == service => {}
        Some(other) => return Err(format!("\"service\" is {other}, expected \"{service}\"")),
        None => return Err(format!("\"service\" is missing, expected \"{service}\"")),
    }
    envelope.state.ok_or_else(|| "\"state\" is missing".to_string())
}

/// The control routes' shared state: the service, and the one import it runs at a time.
struct Routes<S> {
    service: Arc<S>,
    importing: Arc<tokio::sync::Semaphore>,
}

impl<S> Clone for Routes<S> {
    fn clone(&self) -> Self {
        Routes {
            service: self.service.clone(),
            importing: self.importing.clone(),
        }
    }
}

/// Routes `/_parlel/{health,reset,dump,clock,export,import}` to `service`.
pub fn routes<S: Control>(service: Arc<S>) -> Router {
    Router::new()
        .route("/_parlel/health", get(health::<S>))
        .route("/_parlel/reset", post(reset::<S>))
        .route("/_parlel/dump", get(dump::<S>))
        .route("/_parlel/clock", get(clock_get::<S>).post(clock_set::<S>))
        .route("/_parlel/export", get(export::<S>))
        .with_state(service.clone())
        .route("/_parlel/import", post(import::<S>))
        .with_state(Routes {
            service,
            importing: Arc::new(tokio::sync::Semaphore::new(1)),
        })
}

async fn health<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(s.health())
}

async fn reset<S: Control>(State(s): State<Arc<S>>) -> Response {
    match blocking(move || s.reset()).await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "reset": true })).into_response(),
        Err(message) => internal_error(message),
    }
}

/// Runs a (possibly disk-writing) control action off the async workers.
async fn blocking(f: impl FnOnce() -> Result<(), String> + Send + 'static) -> Result<(), String> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(format!("the control task failed: {e}")))
}

fn internal_error(message: String) -> Response {
    let body = serde_json::json!({ "error": { "code": "InternalServerError", "message": message } });
    (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response()
}

async fn dump<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(s.dump())
}

async fn export<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(s.export())
}

/// One import at a time per service, refused (429) while another runs, before its body is read: at most one
/// document of at most [`IMPORT_BODY_LIMIT`] bytes is in memory, parsed once into the typed state.
async fn import<S: Control>(State(routes): State<Routes<S>>, request: axum::extract::Request) -> Response {
    let Ok(permit) = routes.importing.clone().try_acquire_owned() else {
        let body = serde_json::json!({ "error": {
            "code": "Conflict",
            "message": "another import is running on this service; retry when it has finished",
        } });
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(body)).into_response();
    };
    let body = match axum::body::to_bytes(request.into_body(), IMPORT_BODY_LIMIT).await {
        Ok(body) => body,
        Err(e) => {
            if crate::http::body_too_large(&e) {
                let body = serde_json::json!({ "error": {
                    "code": "RequestEntityTooLarge",
                    "message": format!("the state document exceeds {IMPORT_BODY_LIMIT} bytes"),
                } });
                return (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response();
            }
            return bad_request(format!("the body could not be read: {e}"));
        }
    };
    let s = routes.service.clone();
    let result = blocking(move || {
        let _permit = permit;
        s.import(&body)
    })
    .await;
    match result {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "imported": true })).into_response(),
        Err(message) => bad_request(message),
    }
}

fn bad_request(message: String) -> Response {
    let body = serde_json::json!({ "error": { "code": "BadRequest", "message": message } });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `{"now": <epoch seconds>, "nowMs": <epoch ms>, "offsetSeconds": <clock - system time>}`.
fn clock_state(clock: &Clock) -> Value {
    let now_ms = clock.now_ms();
    serde_json::json!({
        "now": now_ms.div_euclid(1000),
        "nowMs": now_ms,
        "offsetSeconds": clock.offset_ms().div_euclid(1000),
    })
}

async fn clock_get<S: Control>(State(s): State<Arc<S>>) -> Json<Value> {
    Json(clock_state(s.clock()))
}

/// What `POST /_parlel/clock` accepts: exactly one of the four members.
enum ClockChange {
    Advance(i64),
    Set(i64),
    Reset,
}

fn clock_change(body: &[u8]) -> Result<ClockChange, String> {
    const USAGE: &str = "expected a JSON object with exactly one of: {\"advanceSeconds\": N}, {\"advanceDays\": N}, \
                         {\"set\": <epoch seconds>}, {\"reset\": true}";
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON ({e}); {USAGE}"))?;
    let Value::Object(obj) = value else {
        return Err(USAGE.to_string());
    };
    if obj.len() != 1 {
        return Err(USAGE.to_string());
    }
    let Some((name, v)) = obj.iter().next() else {
        return Err(USAGE.to_string());
    };
    let int = |v: &Value| -> Result<i64, String> {
        v.as_i64()
            .or_else(|| {
                v.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("\"{name}\" must be an integer"))
    };
    // Bounds keep every later millisecond computation far from overflow (±100 000 years).
    const MAX_SECS: i64 = 100_000 * 366 * 86_400;
    let bounded = |secs: i64| -> Result<i64, String> {
        if secs.abs() > MAX_SECS {
            Err(format!("\"{name}\" is out of range (at most {MAX_SECS} seconds)"))
        } else {
            Ok(secs * 1000)
        }
    };
    match name.as_str() {
        "advanceSeconds" => Ok(ClockChange::Advance(bounded(int(v)?)?)),
        "advanceDays" => {
            let days = int(v)?;
            Ok(ClockChange::Advance(bounded(days.saturating_mul(86_400))?))
        }
        "set" => Ok(ClockChange::Set(bounded(int(v)?)?)),
        "reset" => match v {
            Value::Bool(true) => Ok(ClockChange::Reset),
            _ => Err("\"reset\" must be true".to_string()),
        },
        other => Err(format!("unknown member \"{other}\"; {USAGE}")),
    }
}

async fn clock_set<S: Control>(State(s): State<Arc<S>>, body: axum::body::Bytes) -> Response {
    let clock = s.clock();
    match clock_change(&body) {
        Ok(ClockChange::Advance(ms)) => clock.advance_ms(ms),
        Ok(ClockChange::Set(ms)) => clock.set_ms(ms),
        Ok(ClockChange::Reset) => clock.reset(),
        Err(message) => return bad_request(message),
    }
    Json(clock_state(clock)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_bodies_parse_or_explain() {
        assert!(matches!(
            clock_change(br#"{"advanceDays": 2}"#),
            Ok(ClockChange::Advance(172_800_000))
        ));
        assert!(matches!(
            clock_change(br#"{"advanceSeconds": -5}"#),
            Ok(ClockChange::Advance(-5000))
        ));
        assert!(matches!(
            clock_change(br#"{"set": 1000}"#),
            Ok(ClockChange::Set(1_000_000))
        ));
        assert!(matches!(clock_change(br#"{"reset": true}"#), Ok(ClockChange::Reset)));
        for bad in [
            &b"nope"[..],
            br#"{}"#,
            br#"[1]"#,
            br#"{"reset": false}"#,
            br#"{"advanceDays": "x"}"#,
            br#"{"advanceDays": 1, "set": 2}"#,
            br#"{"advanceDays": 1e30}"#,
            br#"{"later": 1}"#,
        ] {
            assert!(clock_change(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
