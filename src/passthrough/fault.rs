//! Bedrock's errors in Bedrock's own wire form, for clients that are AWS SDKs (Claude Code's
//! Bedrock client, boto3): HTTP status, `x-amzn-errortype: <Name>` and a JSON body
//! `{"message":…}` (plus `originalStatusCode` / `originalMessage` where the exception models
//! them); inside a stream, an `exception` frame. The gateway's own refusals (an unknown model, a
//! body over the limit) take the same form, named as Bedrock names the nearest failure. Pure.

use std::io;

use bedrock_eventstream as eventstream;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// One Bedrock exception, as received or as the gateway raises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub status: u16,
    /// PascalCase exception name: `ThrottlingException`.
    pub code: String,
    pub message: String,
    /// `ModelErrorException` / `ModelStreamErrorException`: the model's own status and words.
    pub original_status_code: Option<i32>,
    pub original_message: Option<String>,
}

/// Exceptions Bedrock raises on its runtime operations, with their HTTP status (AWS API model).
const STATUS: &[(&str, u16)] = &[
    ("ValidationException", 400),
    ("ServiceQuotaExceededException", 400),
    ("SerializationException", 400),
    ("AccessDeniedException", 403),
    ("UnrecognizedClientException", 403),
    ("ResourceNotFoundException", 404),
    ("ModelTimeoutException", 408),
    ("ModelErrorException", 424),
    ("ModelStreamErrorException", 424),
    ("ThrottlingException", 429),
    ("ModelNotReadyException", 429),
    ("InternalServerException", 500),
    ("ServiceUnavailableException", 503),
];

impl Fault {
    /// A named exception with Bedrock's status for it (500 for a name it does not list).
    pub fn named(code: &str, message: impl Into<String>) -> Self {
        let code = pascal_case(code);
        let status = STATUS
            .iter()
            .find(|(name, _)| *name == code)
            .map_or(500, |(_, s)| *s);
        Self {
            status,
            code,
            message: message.into(),
            original_status_code: None,
            original_message: None,
        }
    }

    /// The gateway's own failure, named as Bedrock would name it; the status stays the gateway's
    /// (413 for a body over the limit, 529 for overload), so clients retry what they would retry.
    pub fn from_api_error(error: &ApiError) -> Self {
        let code = match error {
            ApiError::InvalidRequest(_)
            | ApiError::RequestTooLarge(_)
            | ApiError::HeadersTooLarge(_) => "ValidationException",
            ApiError::Authentication(_) => "UnrecognizedClientException",
            ApiError::Permission(_) => "AccessDeniedException",
            ApiError::NotFound(_) => "ResourceNotFoundException",
            ApiError::ClientTimeout(_) | ApiError::Timeout(_) => "ModelTimeoutException",
            ApiError::RateLimited { .. } => "ThrottlingException",
            ApiError::Billing(_) => "ServiceQuotaExceededException",
            ApiError::Overloaded(_)
            | ApiError::Unavailable(_)
            | ApiError::KeyStoreUnavailable { .. } => "ServiceUnavailableException",
            ApiError::Upstream(_) | ApiError::Internal(_) => "InternalServerException",
        };
        Self {
            status: error.status().as_u16(),
            ..Self::named(code, error.client_message())
        }
    }

    /// The JSON body (and exception-frame payload).
    pub fn body(&self) -> Vec<u8> {
        let mut body = Map::new();
        body.insert("message".into(), json!(self.message));
        if let Some(status) = self.original_status_code {
            body.insert("originalStatusCode".into(), json!(status));
        }
        if let Some(message) = &self.original_message {
            body.insert("originalMessage".into(), json!(message));
        }
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    }

    /// The name inside a stream: `throttlingException`.
    pub fn stream_type(&self) -> String {
        let mut chars = self.code.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_ascii_lowercase().to_string() + chars.as_str()
        })
    }

    /// This exception as an event-stream `exception` frame.
    ///
    /// # Errors
    /// Only if the codec refuses the frame.
    pub fn frame(&self) -> io::Result<Bytes> {
        eventstream::exception(&self.stream_type(), self.body())
    }
}

/// `throttlingException` (stream spelling) → `ThrottlingException`; suffixes such as
/// `:http://internal.amazon.com/coral/…` are dropped, as the SDKs drop them.
fn pascal_case(code: &str) -> String {
    let code = code.split(':').next().unwrap_or_default();
    let mut chars = code.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_faults_take_bedrocks_status_and_both_spellings() {
        let f = Fault::named("throttlingException", "Too many tokens");
        assert_eq!((f.status, f.code.as_str()), (429, "ThrottlingException"));
        assert_eq!(f.stream_type(), "throttlingException");
        let f = Fault::named(
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
            "bad",
        );
        assert_eq!((f.status, f.code.as_str()), (400, "ValidationException"));
        assert_eq!(Fault::named("SomethingNewException", "x").status, 500);
    }

    #[test]
    fn the_body_carries_the_message_and_the_models_own_status_when_known() {
        let mut f = Fault::named("ModelStreamErrorException", "the model stream failed");
        assert_eq!(f.body(), br#"{"message":"the model stream failed"}"#);
        f.original_status_code = Some(529);
        f.original_message = Some("Overloaded".into());
        let body: Value = serde_json::from_slice(&f.body()).expect("json");
        assert_eq!(
            body,
            json!({"message": "the model stream failed", "originalStatusCode": 529, "originalMessage": "Overloaded"})
        );
    }

    #[test]
    fn the_gateways_own_refusals_keep_their_status_under_bedrocks_names() {
        for (error, status, code) in [
            (
                ApiError::NotFound("model: x".into()),
                404,
                "ResourceNotFoundException",
            ),
            (
                ApiError::RequestTooLarge("too big".into()),
                413,
                "ValidationException",
            ),
            (
                ApiError::Overloaded("busy".into()),
                529,
                "ServiceUnavailableException",
            ),
            (
                ApiError::Timeout("slow".into()),
                504,
                "ModelTimeoutException",
            ),
        ] {
            let f = Fault::from_api_error(&error);
            assert_eq!((f.status, f.code.as_str()), (status, code), "{error}");
            assert_eq!(f.message, error.to_string());
        }
    }
}
