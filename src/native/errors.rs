//! Bedrock's errors on the native path, with their wording unchanged: Claude Code's recovery logic
//! matches on it (NATIVE.md §5.3).
//!
//! A `ValidationException` from the model layer reads `The model returned the following errors:
//! <rest>`. For 4.7+ models `<rest>` is a whole Anthropic error envelope: its `error.type` and
//! `message` are returned as they are. Otherwise `<rest>` is the message of an
//! `invalid_request_error`, unaltered (NATIVE.md §5.2). Every other exception maps as on the
//! Converse path ([`crate::bedrock::map_service_error`]). Pure.

use serde::Deserialize;

use crate::bedrock::map_service_error;
use crate::error::ApiError;

const MODEL_ERRORS: &str = "The model returned the following errors: ";

/// Seconds a throttled client is told to wait when the envelope gives no hint.
const RETRY_AFTER_SECS: u64 = 1;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    error: Inner,
}

#[derive(Deserialize)]
struct Inner {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// Maps a Bedrock exception (HTTP or in-stream) on the native path.
pub fn from_bedrock(code: Option<&str>, message: Option<&str>, original: Option<i32>) -> ApiError {
    let is_validation = code.is_some_and(|c| c.eq_ignore_ascii_case("ValidationException"));
    match message {
        Some(m) if is_validation => unwrap_validation(m),
        _ => map_service_error(code, message, original),
    }
}

/// A `ValidationException`'s message without Bedrock's wrapper: an embedded Anthropic envelope
/// as its own type and words, plain text as an `invalid_request_error`.
pub fn unwrap_validation(message: &str) -> ApiError {
    let rest = message.strip_prefix(MODEL_ERRORS).unwrap_or(message);
    match serde_json::from_str::<Envelope>(rest) {
        Ok(e) if e.kind == "error" => from_envelope(&e.error.kind, e.error.message),
        _ => ApiError::InvalidRequest(rest.to_owned()),
    }
}

/// The Anthropic error type named in an envelope, as the variant with that type and status.
pub fn from_envelope(kind: &str, message: String) -> ApiError {
    match kind {
        "invalid_request_error" => ApiError::InvalidRequest(message),
        "permission_error" => ApiError::Permission(message),
        "not_found_error" => ApiError::NotFound(message),
        "request_too_large" => ApiError::RequestTooLarge(message),
        "rate_limit_error" => ApiError::RateLimited {
            message,
            retry_after: Some(RETRY_AFTER_SECS),
        },
        "overloaded_error" => ApiError::Overloaded(message),
        "timeout_error" => ApiError::Timeout(message),
        // `authentication_error` would be about the gateway's AWS identity, never the caller's
        // key; `api_error` and anything new are Bedrock's failure.
        _ => ApiError::Upstream(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_envelope_is_returned_with_its_own_type_and_words() {
        let m = r#"The model returned the following errors: {"type":"error","request_id":"req_1","error":{"type":"invalid_request_error","message":"\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior."}}"#;
        let e = from_bedrock(Some("ValidationException"), Some(m), None);
        assert_eq!(e.kind(), "invalid_request_error");
        assert_eq!(
            e.to_string(),
            r#""thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior."#
        );
        let overloaded = r#"The model returned the following errors: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let e = from_bedrock(Some("ValidationException"), Some(overloaded), None);
        assert_eq!(
            (e.status().as_u16(), e.to_string().as_str()),
            (529, "Overloaded")
        );
    }

    #[test]
    fn plain_text_after_the_prefix_is_the_message_unaltered() {
        for (m, want) in [
            ("The model returned the following errors: invalid beta flag", "invalid beta flag"),
            (
                "The model returned the following errors: Input is too long for requested model.",
                "Input is too long for requested model.",
            ),
            (
                "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again.",
                "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again.",
            ),
        ] {
            let e = from_bedrock(Some("ValidationException"), Some(m), None);
            assert_eq!((e.kind(), e.to_string().as_str()), ("invalid_request_error", want));
        }
    }

    #[test]
    fn other_exceptions_map_as_on_the_converse_path() {
        let e = from_bedrock(
            Some("ThrottlingException"),
            Some("Too many tokens, please wait before trying again."),
            None,
        );
        assert_eq!(e.kind(), "rate_limit_error");
        assert_eq!(
            e.to_string(),
            "Too many tokens, please wait before trying again."
        );
        let e = from_bedrock(Some("modelStreamErrorException"), Some("x"), Some(529));
        assert_eq!(e.kind(), "overloaded_error");
    }
}
