//! Bedrock's error responses: the exception names, their HTTP statuses and realistic default
//! messages, and the wire form (`x-amzn-errortype` + JSON body) the SDK parses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// The namespace real Bedrock appends to `x-amzn-errortype`; the SDK strips it.
const BEDROCK_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.bedrock/";
/// Authentication failures come from the Coral front end, not from Bedrock itself.
const CORAL_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

/// Prefix Bedrock puts on errors the Anthropic back end reports.
pub(crate) const MODEL_ERRORS: &str = "The model returned the following errors: ";

/// Known exceptions: name, status, default message.
const KNOWN: &[(&str, u16, &str)] = &[
    ("ValidationException", 400, "Input is too long for requested model."),
    ("ThrottlingException", 429, "Too many requests, please wait before trying again."),
    ("ServiceUnavailableException", 503, "Bedrock is unable to process your request."),
    (
        "InternalServerException",
        500,
        "The system encountered an unexpected error during processing. Try your request again.",
    ),
    (
        "ModelTimeoutException",
        408,
        "Model has timed out in processing the request. Try your request again.",
    ),
    (
        "ModelNotReadyException",
        429,
        "Model is not ready to serve inference requests. The AWS SDK will automatically retry the operation. If you call the operation directly, try again later.",
    ),
    (
        "AccessDeniedException",
        403,
        "You don't have access to the model with the specified model ID.",
    ),
    ("ModelErrorException", 424, "The model returned an unexpected error. Try your request again."),
    ("ModelStreamErrorException", 424, "The model stream returned an unexpected error. Try your request again."),
    ("ResourceNotFoundException", 404, "The requested model could not be found."),
    ("ServiceQuotaExceededException", 400, "Your request exceeds the service quota for your account."),
    ("UnrecognizedClientException", 403, "The security token included in the request is invalid."),
    ("ExpiredTokenException", 403, "The security token included in the request is expired"),
    ("SerializationException", 400, "Unable to parse the request body."),
];

/// One Bedrock exception, before the stream (HTTP) or inside it (an exception frame).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BedrockError {
    /// PascalCase exception name, e.g. `ThrottlingException`.
    pub(crate) name: String,
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    /// The front end spells it `Message` and uses the Coral namespace.
    front_end: bool,
    /// A `retry-after` header (seconds) on the HTTP answer, when a script asks for one.
    retry_after: Option<u64>,
}

impl BedrockError {
    /// A named exception; unknown names get status 400 and a generic message.
    pub(crate) fn named(name: &str, message: Option<String>, status: Option<u16>) -> Self {
        let name = pascal_case(name);
        let known = KNOWN.iter().find(|(n, _, _)| *n == name);
        let status = status
            .or(known.map(|k| k.1))
            .and_then(|s| StatusCode::from_u16(s).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
        let message = message
            .or_else(|| known.map(|k| k.2.to_owned()))
            .unwrap_or_else(|| format!("Emulated {name}."));
        Self {
            name,
            status,
            message,
            front_end: false,
            retry_after: None,
        }
    }

    pub(crate) fn with_retry_after(self, retry_after: Option<u64>) -> Self {
        Self {
            retry_after,
            ..self
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::named("ValidationException", Some(message.into()), None)
    }

    /// A validation error the Anthropic back end reports (Bedrock prefixes it).
    pub(crate) fn model(message: impl std::fmt::Display) -> Self {
        Self::validation(format!("{MODEL_ERRORS}{message}"))
    }

    /// Coral-style constraint violation, as Bedrock reports modeled-shape failures.
    pub(crate) fn constraint(value: &str, path: &str, constraint: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// What the front end answers when no `Authorization` header is present.
    pub(crate) fn missing_authorization() -> Self {
        Self {
            front_end: true,
            ..Self::named(
                "AccessDeniedException",
                Some("Authorization header is missing".into()),
                None,
            )
        }
    }

    /// The `:exception-type` of the in-stream exception frame (`throttlingException`).
    pub(crate) fn stream_type(&self) -> String {
        let mut chars = self.name.chars();
        chars.next().map_or_else(String::new, |c| {
            c.to_ascii_lowercase().to_string() + chars.as_str()
        })
    }

    /// The JSON payload (HTTP body or exception-frame payload).
    pub(crate) fn payload(&self) -> Value {
        let mut body = Map::new();
        let key = if self.front_end { "Message" } else { "message" };
        body.insert(key.into(), Value::String(self.message.clone()));
        // The model errors also say what the model itself answered (529: overloaded).
        if self.name == "ModelErrorException" || self.name == "ModelStreamErrorException" {
            body.insert("originalStatusCode".into(), json!(529));
        }
        if self.name == "ModelStreamErrorException" {
            body.insert("originalMessage".into(), json!("Overloaded"));
        }
        Value::Object(body)
    }
}

impl IntoResponse for BedrockError {
    fn into_response(self) -> Response {
        let namespace = if self.front_end {
            CORAL_NAMESPACE
        } else {
            BEDROCK_NAMESPACE
        };
        let error_type = HeaderValue::from_str(&format!("{}:{namespace}", self.name))
            .unwrap_or_else(|_| HeaderValue::from_static("InternalServerException"));
        let mut response = (self.status, self.payload().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert("x-amzn-errortype", error_type);
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// `throttlingException` / `ThrottlingException` → `ThrottlingException`.
fn pascal_case(name: &str) -> String {
    let mut chars = name.trim().chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_get_their_status() {
        let e = BedrockError::named("throttlingException", None, None);
        assert_eq!(e.name, "ThrottlingException");
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.stream_type(), "throttlingException");
        let e = BedrockError::named("ModelErrorException", None, None);
        assert_eq!(e.status.as_u16(), 424);
        assert_eq!(e.payload()["originalStatusCode"], 529);
    }

    #[test]
    fn unknown_names_default_to_400() {
        let e = BedrockError::named("WeirdException", None, Some(418));
        assert_eq!(e.status.as_u16(), 418);
        let e = BedrockError::named("WeirdException", None, None);
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
