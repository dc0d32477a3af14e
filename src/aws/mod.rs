//! The AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: <Prefix>.<Operation>` and a JSON body.
//!
//! This layer owns everything about the wire: the target header, JSON parsing, validation against the service
//! model ([`model`]), the credential scope of the SigV4 `Authorization` header ([`sigv4`]) and the error envelope
//! `{"__type": "...", "message": "..."}`. Services behind it ([`AwsJsonService`]) see an operation name, a
//! validated JSON document and a [`RequestContext`]; they never see HTTP types.

pub mod model;
pub mod sigv4;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The AWS JSON content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error on the wire: `__type`, `message` and the HTTP status AWS uses for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: &'static str,
    pub message: String,
    pub status: StatusCode,
}

impl AwsError {
    /// An error with the status AWS gives that error name (400 unless it is a server-side fault).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let status = match code {
            "KMSInternalException" | "KeyUnavailableException" | "InternalFailure" => StatusCode::INTERNAL_SERVER_ERROR,
            "DependencyTimeoutException" | "ServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
            "AccessDeniedException" => StatusCode::BAD_REQUEST,
            _ => StatusCode::BAD_REQUEST,
        };
        AwsError {
            code,
            message: message.into(),
            status,
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    pub fn unknown_operation() -> Self {
        Self::new("UnknownOperationException", "")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("KMSInternalException", message)
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

impl AwsError {
    /// The error response of the request `request_id`.
    fn response(self, request_id: &str) -> Response {
        let body = serde_json::json!({ "__type": self.code, "message": self.message });
        let mut response = (self.status, body.to_string()).into_response();
        decorate(response.headers_mut(), self.code, request_id);
        response
    }
}

impl IntoResponse for AwsError {
    fn into_response(self) -> Response {
        self.response(&uuid::Uuid::new_v4().to_string())
    }
}

fn decorate(headers: &mut HeaderMap, error_type: &str, request_id: &str) {
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if !error_type.is_empty() {
        if let Ok(v) = HeaderValue::from_str(error_type) {
            headers.insert("x-amzn-errortype", v);
        }
    }
}

fn not_an_operation(status: StatusCode, message: String) -> Response {
    AwsError {
        code: "UnknownOperationException",
        message,
        status,
    }
    .response(&uuid::Uuid::new_v4().to_string())
}

/// The answer for any other path of an AWS JSON port: 404 `UnknownOperationException` in the AWS envelope, never an
/// empty body.
pub async fn fallback(uri: http::Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    not_an_operation(
        StatusCode::NOT_FOUND,
        format!("{path} is not an AWS JSON 1.1 endpoint: send POST / with X-Amz-Target"),
    )
}

/// The answer for a method a path does not take: 405 `UnknownOperationException` in the AWS envelope.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> Response {
    let path: String = uri.path().chars().take(200).collect();
    not_an_operation(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} {path} is not an AWS JSON 1.1 request: send POST / with X-Amz-Target"),
    )
}

/// Who is calling and where: what the protocol layer learns from the request for the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Region from the SigV4 credential scope (default `us-east-1`).
    pub region: String,
    /// Account: a 12-digit access key id names one; anything else is the default `000000000000`.
    pub account_id: String,
    /// The access key id of the credential scope, when there was one.
    pub access_key_id: Option<String>,
    /// This request's id: the `x-amzn-requestid` header of its response (and GetKeyLastUsage's KmsRequestId).
    pub request_id: String,
}

impl Default for RequestContext {
    fn default() -> Self {
        RequestContext {
            region: DEFAULT_REGION.into(),
            account_id: DEFAULT_ACCOUNT.into(),
            access_key_id: None,
            // Set by the protocol layer for every request it dispatches.
            request_id: String::new(),
        }
    }
}

pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT: &str = "000000000000";

/// A service spoken over AWS JSON 1.1.
pub trait AwsJsonService: Send + Sync + 'static {
    /// The service model whose operations and shapes this service answers.
    fn model(&self) -> &'static model::Model;

    /// Runs one operation on an input already validated against the model.
    fn call(
        &self,
        ctx: RequestContext,
        operation: &str,
        input: Value,
    ) -> impl Future<Output = Result<Value, AwsError>> + Send;
}

/// The axum handler for `POST /`: target → validation → service → response.
pub async fn handle<S: AwsJsonService>(
    State(service): State<Arc<S>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let error = AwsError {
                code: if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "RequestEntityTooLargeException"
                } else {
                    "SerializationException"
                },
                message: format!("The request body could not be read: {}", rejection.body_text()),
                status,
            };
            return error.response(&request_id);
        }
    };
    match dispatch(service.as_ref(), &headers, &body, &request_id).await {
        Ok(output) => {
            let mut response = (StatusCode::OK, output.to_string()).into_response();
            decorate(response.headers_mut(), "", &request_id);
            response
        }
        Err(err) => {
            tracing::debug!(code = err.code, message = %err.message, "request failed");
            err.response(&request_id)
        }
    }
}

async fn dispatch<S: AwsJsonService>(
    service: &S,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
) -> Result<Value, AwsError> {
    let model = service.model();
    // Authentication comes before the body: the credential scope must name a region AWS could have.
    let mut ctx = sigv4::context(headers);
    if !sigv4::valid_region(&ctx.region) {
        return Err(AwsError::new(
            "InvalidSignatureException",
            "Credential should be scoped to a valid region.",
        ));
    }
    ctx.request_id = request_id.to_string();
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let operation = target
        .strip_prefix(model.target_prefix.as_str())
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|op| model.operations.contains_key(*op))
        .ok_or_else(AwsError::unknown_operation)?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| AwsError::serialization(format!("Malformed JSON request body: {e}")))?
    };
    if !input.is_object() {
        return Err(AwsError::serialization(
            "Start of structure or map found where not expected: the request body must be a JSON object",
        ));
    }
    model.validate_input(operation, &input)?;
    tracing::debug!(operation, region = %ctx.region, account = %ctx.account_id, "aws request");
    let output = service.call(ctx, operation, input).await?;
    Ok(if output.is_null() {
        Value::Object(Default::default())
    } else {
        output
    })
}
