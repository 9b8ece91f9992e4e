//! What failover needs to know about a failed Bedrock call, decided from the SDK's error before
//! it becomes an [`ApiError`] (whose variants merge causes failover must tell apart: a 529 may be
//! `ServiceUnavailableException` or the Lambda deadline, a 500 `InternalServerException` or bad
//! gateway credentials). The client still sees exactly the [`ApiError`] it saw before.

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::error::ApiError;

/// A failure another upstream may not have. Anything else (validation, access, not found, a
/// model error, a timeout after the call was sent) is the same everywhere, or not safe to repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// `ThrottlingException`, and `ServiceQuotaExceededException` (a quota is per Region and
    /// account, so another upstream has its own).
    Throttled,
    /// `ServiceUnavailableException`, `ModelNotReadyException`.
    Unavailable,
    /// `InternalServerException`.
    Internal,
    /// Bedrock could not be reached (connection refused or reset, DNS, the 5 s connect timeout):
    /// nothing was sent.
    Connection,
}

impl Transient {
    /// The outcome's name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal_error",
            Self::Connection => "connection_failed",
        }
    }
}

/// A failed Bedrock call: the client's error, and whether another upstream may do better.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct CallError {
    pub error: ApiError,
    pub transient: Option<Transient>,
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        e.error
    }
}

impl From<ApiError> for CallError {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            transient: None,
        }
    }
}

/// The transient kind of a Bedrock error code (HTTP `ThrottlingException`, or in-stream
/// `throttlingException`); `None` for every code failover must not retry.
pub fn transient_code(code: &str) -> Option<Transient> {
    match code.to_ascii_lowercase().as_str() {
        "throttlingexception" | "servicequotaexceededexception" | "toomanyrequestsexception" => {
            Some(Transient::Throttled)
        }
        "serviceunavailableexception" | "modelnotreadyexception" => Some(Transient::Unavailable),
        "internalserverexception" => Some(Transient::Internal),
        _ => None,
    }
}

/// Classifies `err`, then maps it with `map` (the path's own mapping, unchanged). A throttle
/// carries Bedrock's `retry-after` header when it sent one.
pub(super) fn classify<E>(
    err: SdkError<E, HttpResponse>,
    map: impl FnOnce(SdkError<E, HttpResponse>) -> ApiError,
) -> CallError
where
    E: ProvideErrorMetadata,
{
    let (transient, retry_after) = match &err {
        SdkError::ServiceError(ctx) => (
            ctx.err().code().and_then(transient_code),
            ctx.raw()
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok()),
        ),
        SdkError::DispatchFailure(d) if d.is_io() || d.is_timeout() => {
            (Some(Transient::Connection), None)
        }
        _ => (None, None),
    };
    let error = match (map(err), retry_after) {
        (ApiError::RateLimited { message, .. }, Some(secs)) => ApiError::RateLimited {
            message,
            retry_after: Some(secs),
        },
        (error, _) => error,
    };
    CallError { error, transient }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_capacity_and_server_faults_are_transient() {
        let cases = [
            ("ThrottlingException", Some(Transient::Throttled)),
            ("throttlingException", Some(Transient::Throttled)),
            ("ServiceQuotaExceededException", Some(Transient::Throttled)),
            ("ServiceUnavailableException", Some(Transient::Unavailable)),
            ("ModelNotReadyException", Some(Transient::Unavailable)),
            ("InternalServerException", Some(Transient::Internal)),
            ("ValidationException", None),
            ("AccessDeniedException", None),
            ("ResourceNotFoundException", None),
            ("ModelErrorException", None),
            ("ModelTimeoutException", None),
            ("UnrecognizedClientException", None),
        ];
        for (code, expected) in cases {
            assert_eq!(transient_code(code), expected, "{code}");
        }
    }

    #[test]
    fn an_api_error_alone_is_never_transient() {
        let e = CallError::from(ApiError::Overloaded("deadline".into()));
        assert_eq!(e.transient, None);
        assert_eq!(ApiError::from(e).kind(), "overloaded_error");
    }
}
