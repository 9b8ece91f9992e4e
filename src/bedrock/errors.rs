//! Every SDK failure mapped to the [`ApiError`] Anthropic clients expect, Bedrock's words kept.

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};

use crate::error::ApiError;

/// Seconds a throttled client is told to wait when Bedrock gives no hint.
const DEFAULT_RETRY_AFTER_SECS: u64 = 1;

/// Maps any SDK failure. `original_status` digs the model's own status out of
/// `ModelErrorException`-style errors, whose 424 means nothing to Anthropic clients.
pub fn map_sdk_error<E, R>(
    err: SdkError<E, R>,
    original_status: impl Fn(&E) -> Option<i32>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            map_service_error(e.code(), e.message(), original_status(e))
        }
        SdkError::TimeoutError(_) => ApiError::Timeout("Bedrock did not answer in time".into()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            ApiError::Timeout("timed out connecting to Bedrock".into())
        }
        SdkError::DispatchFailure(d) => {
            tracing::warn!(cause = ?d, "Bedrock dispatch failure");
            ApiError::Unavailable("could not reach Bedrock".into())
        }
        SdkError::ResponseError(_) => {
            // Not the error itself: it carries the raw response, i.e. model output.
            tracing::warn!("unreadable Bedrock response");
            ApiError::Upstream(
                "Bedrock sent a response that could not be read (truncated or corrupt)".into(),
            )
        }
        other => ApiError::Internal(anyhow::Error::new(other).context("calling Bedrock")),
    }
}

/// Maps a Bedrock error code (HTTP or in-stream) to the Anthropic error clients expect.
pub fn map_service_error(
    code: Option<&str>,
    message: Option<&str>,
    original_status: Option<i32>,
) -> ApiError {
    let msg = message.unwrap_or("Bedrock returned an error").to_owned();
    // HTTP errors name the type `ThrottlingException`; in-stream exception frames `throttlingException`.
    let code = code.unwrap_or_default();
    let lower = code.to_ascii_lowercase();
    let throttled = |message: String| ApiError::RateLimited {
        message,
        retry_after: Some(DEFAULT_RETRY_AFTER_SECS),
    };
    match lower.as_str() {
        // Bedrock's words, unwrapped as on the native path (an Anthropic envelope keeps its type);
        // Converse's clients also get Anthropic's own "prompt is too long" wording in front.
        "validationexception" => match crate::native::errors::unwrap_validation(&msg) {
            ApiError::InvalidRequest(m) if is_too_long(&m) => {
                ApiError::InvalidRequest(format!("prompt is too long: {m}"))
            }
            unwrapped => unwrapped,
        },
        "serializationexception" => ApiError::InvalidRequest(msg),
        "accessdeniedexception" => ApiError::Permission(msg),
        "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception"
        | "invalidclienttokenid" => {
            // The gateway's AWS identity is at fault, not the caller's key: never a 401.
            ApiError::Upstream(format!(
                "Bedrock rejected the gateway's AWS credentials: {msg}"
            ))
        }
        "resourcenotfoundexception" => ApiError::NotFound(msg),
        "throttlingexception" | "servicequotaexceededexception" | "toomanyrequestsexception" => {
            throttled(msg)
        }
        "modelnotreadyexception" | "serviceunavailableexception" => ApiError::Overloaded(msg),
        "modeltimeoutexception" => ApiError::Timeout(msg),
        "modelerrorexception" | "modelstreamerrorexception" => match original_status {
            Some(429) => throttled(msg),
            Some(503 | 529) => ApiError::Overloaded(msg),
            _ => ApiError::Upstream(msg),
        },
        _ => ApiError::Upstream(if code.is_empty() {
            msg
        } else {
            format!("{code}: {msg}")
        }),
    }
}

fn is_too_long(msg: &str) -> bool {
    let m = msg.to_ascii_lowercase();
    m.contains("input is too long")
        || m.contains("too many input tokens")
        || m.contains("prompt is too long")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_error_codes_map_to_anthropic_errors() {
        let cases: [(&str, Option<i32>, u16, &str); 14] = [
            ("ValidationException", None, 400, "invalid_request_error"),
            ("AccessDeniedException", None, 403, "permission_error"),
            ("UnrecognizedClientException", None, 500, "api_error"),
            ("ExpiredTokenException", None, 500, "api_error"),
            ("ResourceNotFoundException", None, 404, "not_found_error"),
            ("ThrottlingException", None, 429, "rate_limit_error"),
            (
                "ServiceQuotaExceededException",
                None,
                429,
                "rate_limit_error",
            ),
            ("ModelNotReadyException", None, 529, "overloaded_error"),
            ("ServiceUnavailableException", None, 529, "overloaded_error"),
            ("ModelTimeoutException", None, 504, "timeout_error"),
            ("InternalServerException", None, 500, "api_error"),
            ("ModelErrorException", Some(429), 429, "rate_limit_error"),
            (
                "ModelStreamErrorException",
                Some(529),
                529,
                "overloaded_error",
            ),
            ("ModelErrorException", Some(400), 500, "api_error"),
        ];
        for (code, original, status, kind) in cases {
            let e = map_service_error(Some(code), Some("m"), original);
            assert_eq!((e.status().as_u16(), e.kind()), (status, kind), "{code}");
        }
    }

    #[test]
    fn too_long_input_becomes_prompt_is_too_long() {
        let e = map_service_error(
            Some("ValidationException"),
            Some("The model returned the following errors: Input is too long for requested model."),
            None,
        );
        assert_eq!(e.kind(), "invalid_request_error");
        assert!(e.to_string().starts_with("prompt is too long: "), "{e}");
    }

    #[test]
    fn throttling_carries_retry_after() {
        let e = map_service_error(Some("ThrottlingException"), None, None);
        assert!(matches!(
            e,
            ApiError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn in_stream_exception_names_map_like_http_ones() {
        let e = map_service_error(Some("serviceUnavailableException"), Some("busy"), None);
        assert_eq!(e.kind(), "overloaded_error");
        let e = map_service_error(Some("modelStreamErrorException"), Some("x"), Some(429));
        assert_eq!(e.kind(), "rate_limit_error");
    }
}
