//! The one error type every client-visible failure goes through.
//!
//! `ApiError` maps each cause to Anthropic's error envelope
//! `{"type":"error","error":{"type","message"},"request_id"}` with the documented status. The maps below
//! have no wildcard arm on purpose: a new variant must decide its status, type and log level here.
//! `IntoResponse` has no side effects; the request-log middleware reads the error from the response
//! extensions and logs it once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Anthropic's HTTP status for an overloaded upstream; the SDKs and Claude Code retry it.
pub const STATUS_OVERLOADED: u16 = 529;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or unsupported input; the message names the field.
    #[error("{0}")]
    InvalidRequest(String),
    /// Missing or wrong API key.
    #[error("{0}")]
    Authentication(String),
    /// The caller (or the gateway's AWS identity) may not use this resource.
    #[error("{0}")]
    Permission(String),
    /// Unknown route or model.
    #[error("{0}")]
    NotFound(String),
    /// Body over the configured limit.
    #[error("{0}")]
    RequestTooLarge(String),
    /// Request headers over the gateway's limit (431).
    #[error("{0}")]
    HeadersTooLarge(String),
    /// The client stalled while sending its request (408; the SDKs retry it).
    #[error("{0}")]
    ClientTimeout(String),
    /// Throttled upstream; `retry_after` in whole seconds when known.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: Option<u64>,
    },
    /// A spend budget is exhausted (402 `billing_error`); the message names the limit and when it
    /// resets.
    #[error("{0}")]
    Billing(String),
    /// Upstream overloaded or not ready (529).
    #[error("{0}")]
    Overloaded(String),
    /// Upstream or gateway timeout (504).
    #[error("{0}")]
    Timeout(String),
    /// A dependency of the gateway (key store, Bedrock endpoint) cannot be reached (503).
    #[error("{0}")]
    Unavailable(String),
    /// The key store has no key set yet; `retry_after` says when the next load is attempted (503).
    #[error("{message}")]
    KeyStoreUnavailable { message: String, retry_after: u64 },
    /// Bedrock failed in a way that is not the caller's fault (500 `api_error`).
    #[error("{0}")]
    Upstream(String),
    /// A bug or an unexpected failure inside the gateway.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::Authentication(_) => StatusCode::UNAUTHORIZED,
            Self::Permission(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::RequestTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::ClientTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Billing(_) => StatusCode::PAYMENT_REQUIRED,
            Self::Overloaded(_) => {
                StatusCode::from_u16(STATUS_OVERLOADED).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Unavailable(_) | Self::KeyStoreUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Upstream(_) | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Anthropic's `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request_error",
            Self::Authentication(_) => "authentication_error",
            Self::Permission(_) => "permission_error",
            Self::NotFound(_) => "not_found_error",
            Self::RequestTooLarge(_) | Self::HeadersTooLarge(_) => "request_too_large",
            Self::RateLimited { .. } => "rate_limit_error",
            Self::Billing(_) => "billing_error",
            Self::Overloaded(_) => "overloaded_error",
            Self::Timeout(_) | Self::ClientTimeout(_) => "timeout_error",
            Self::Unavailable(_)
            | Self::KeyStoreUnavailable { .. }
            | Self::Upstream(_)
            | Self::Internal(_) => "api_error",
        }
    }

    /// Whether the failure is ours or upstream's (logged at error) or the caller's (logged at info).
    pub fn is_server_fault(&self) -> bool {
        match self {
            Self::InvalidRequest(_)
            | Self::Authentication(_)
            | Self::Permission(_)
            | Self::NotFound(_)
            | Self::RequestTooLarge(_)
            | Self::HeadersTooLarge(_)
            | Self::ClientTimeout(_)
            | Self::RateLimited { .. }
            | Self::Billing(_) => false,
            Self::Overloaded(_)
            | Self::Timeout(_)
            | Self::Unavailable(_)
            | Self::KeyStoreUnavailable { .. }
            | Self::Upstream(_)
            | Self::Internal(_) => true,
        }
    }

    /// The message shown to the client. Internal errors never leak their cause.
    pub fn client_message(&self) -> String {
        self.to_string()
    }

    /// Anthropic's `error` object for this failure.
    pub fn object(&self) -> ErrorObject {
        ErrorObject {
            kind: self.kind(),
            message: self.client_message(),
        }
    }

    /// The envelope without the request id.
    pub fn body(&self) -> serde_json::Value {
        envelope(&self.object(), None)
    }
}

/// Anthropic's `error` object, `{"type", "message"}`: inside the HTTP envelope ([`envelope`]) and
/// inside an SSE `error` event (`anthropic::events::StreamEvent::Error`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ErrorObject {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub message: String,
}

/// Carried in response extensions so the logging middleware can report the cause once.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// What the client is told.
    pub error: ErrorObject,
    pub server_fault: bool,
    /// What the log gets (for internal errors, the full cause chain; never request content).
    pub detail: String,
}

/// The Anthropic error envelope, `{"type":"error","error":{"type","message"},"request_id"}`: the
/// one place it is rendered. `request_id` is added by the request-log layer, which knows it.
pub fn envelope(error: &ErrorObject, request_id: Option<&str>) -> serde_json::Value {
    let mut body = json!({"type": "error", "error": error});
    if let Some(id) = request_id {
        body["request_id"] = json!(id);
    }
    body
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(self.body())).into_response();
        let retry_after = match &self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            Self::KeyStoreUnavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if let Some(secs) = retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        let detail = match &self {
            Self::Internal(e) => format!("{e:#}"),
            // Parse errors quote the offending value, which may be prompt text.
            Self::InvalidRequest(m) => redact_quoted(m),
            other => other.to_string(),
        };
        response.extensions_mut().insert(ErrorReport {
            error: self.object(),
            server_fault: self.is_server_fault(),
            detail,
        });
        response
    }
}

/// Replaces the contents of `"…"` segments, and of `` `…` `` segments longer than a field name,
/// so a log line keeps the shape of a message but none of the request's values.
pub(crate) fn redact_quoted(message: &str) -> String {
    const LONGEST_NAME: usize = 32;
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(['"', '`']) {
        let quote = rest[start..].chars().next().unwrap_or('"');
        out.push_str(&rest[..=start]);
        let after = &rest[start + 1..];
        let Some(len) = after.find(quote) else {
            out.push_str("[…]");
            return out;
        };
        let inner = &after[..len];
        if quote == '"' || inner.chars().count() > LONGEST_NAME {
            out.push_str("[…]");
        } else {
            out.push_str(inner);
        }
        out.push(quote);
        rest = &after[len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_maps_to_documented_status_and_type() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::invalid("x"), 400, "invalid_request_error"),
            (
                ApiError::Authentication("x".into()),
                401,
                "authentication_error",
            ),
            (ApiError::Permission("x".into()), 403, "permission_error"),
            (ApiError::NotFound("x".into()), 404, "not_found_error"),
            (
                ApiError::RequestTooLarge("x".into()),
                413,
                "request_too_large",
            ),
            (
                ApiError::HeadersTooLarge("x".into()),
                431,
                "request_too_large",
            ),
            (
                ApiError::RateLimited {
                    message: "x".into(),
                    retry_after: Some(2),
                },
                429,
                "rate_limit_error",
            ),
            (ApiError::Billing("x".into()), 402, "billing_error"),
            (ApiError::Overloaded("x".into()), 529, "overloaded_error"),
            (ApiError::Timeout("x".into()), 504, "timeout_error"),
            (ApiError::ClientTimeout("x".into()), 408, "timeout_error"),
            (ApiError::Unavailable("x".into()), 503, "api_error"),
            (
                ApiError::KeyStoreUnavailable {
                    message: "x".into(),
                    retry_after: 3,
                },
                503,
                "api_error",
            ),
            (ApiError::Upstream("x".into()), 500, "api_error"),
            (
                ApiError::Internal(anyhow::anyhow!("secret detail")),
                500,
                "api_error",
            ),
        ];
        for (err, status, kind) in cases {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert_eq!(err.kind(), kind, "{err:?}");
        }
    }

    #[test]
    fn logged_details_of_bad_requests_drop_quoted_values_but_keep_field_names() {
        let message = r#"messages.0.content.0: invalid type: string "my secret prompt", expected a block; missing field `max_tokens`; unknown variant `an-extremely-long-value-that-could-be-prompt-text`"#;
        let response = ApiError::invalid(message).into_response();
        let report = response.extensions().get::<ErrorReport>().expect("report");
        assert_eq!(
            report.error.message, message,
            "the client still sees the full message"
        );
        assert!(
            !report.detail.contains("my secret prompt"),
            "{}",
            report.detail
        );
        assert!(
            !report.detail.contains("an-extremely-long-value"),
            "{}",
            report.detail
        );
        assert!(report.detail.contains("`max_tokens`"), "{}", report.detail);
        assert!(report
            .detail
            .starts_with("messages.0.content.0: invalid type: string"));
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let err = ApiError::Internal(anyhow::anyhow!("database password is hunter2"));
        assert_eq!(err.body()["error"]["message"], "internal error");
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let resp = ApiError::RateLimited {
            message: "slow down".into(),
            retry_after: Some(3),
        }
        .into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "3");
    }
}
