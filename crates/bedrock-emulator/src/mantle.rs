//! bedrock-mantle's Anthropic `count_tokens`: `POST /anthropic/v1/messages/count_tokens`.
//!
//! Checked in the real endpoint's order: the AWS front end first (an `Authorization` header,
//! SigV4 with a credential scope naming service `bedrock-mantle`; failures are 403 with
//! `x-amzn-errortype`, `AccessDeniedException` when the header is missing and
//! `InvalidSignatureException` for another service's scope, as AWS answers a request signed for
//! the wrong service), then the Anthropic API behind it, which answers Anthropic error JSON:
//! `anthropic-version` is required (400 `invalid_request_error`), and `model` must be a bare
//! `anthropic.*` id of a model mantle serves (else 404 `not_found_error` naming the model; a
//! profile-prefixed id too). Signatures themselves are not verified, and bearer API keys are not
//! emulated.
//!
//! Served: the catalog's Claude models from Opus 4.7 on (the 5.x models, Fable), except Fable 5.2,
//! which AWS serves on bedrock-runtime only. The count is the estimate the `invokeModel`
//! CountTokens input uses (`tokens::Prompt::of_native`) over the body without its `model`, so the two
//! agree. `[[emu:error <ExceptionName>]]` in the body fails the call with the matching Anthropic
//! error, and `[[emu:silence <ms>]]` delays the answer.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::rules;
use super::tokens::Prompt;
use super::{Emulator, Operation};
use crate::models::Catalog;

const SERVICE: &str = "bedrock-mantle";
/// Served by bedrock-runtime only (NATIVE.md §7.2).
const NOT_ON_MANTLE: [&str; 1] = ["anthropic.claude-fable-5-2"];

pub(crate) async fn count_tokens(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    emulator.record(Operation::MantleCountTokens, &model, body.clone(), &headers);
    if let Err(e) = front_end(&headers) {
        return e.into_response();
    }
    if !headers.contains_key("anthropic-version") {
        return anthropic_error(
            400,
            "invalid_request_error",
            "anthropic-version: header is required",
        );
    }
    if !body.is_object() {
        return anthropic_error(
            400,
            "invalid_request_error",
            "request body must be a JSON object",
        );
    }
    if !serves(emulator.catalog(), &model) {
        return anthropic_error(404, "not_found_error", &format!("model: {model}"));
    }
    let text = body.to_string();
    if let Some(ms) = directive(&text, "silence").and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(name) = directive(&text, "error") {
        let (status, kind) = anthropic_kind(&name);
        return anthropic_error(status, kind, &format!("Emulated {name}."));
    }
    let mut counted = body;
    if let Some(object) = counted.as_object_mut() {
        object.remove("model");
    }
    let n = Prompt::of_native(&counted, &model).total;
    Json(json!({"input_tokens": n.max(1)})).into_response()
}

/// The AWS front end: a SigV4 `Authorization` whose scope names this service.
fn front_end(headers: &HeaderMap) -> Result<(), BedrockError> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(BedrockError::missing_authorization)?;
    match signing_service(auth) {
        Some(SERVICE) => Ok(()),
        _ => Err(BedrockError::named(
            "InvalidSignatureException",
            Some(format!(
                "Credential should be scoped to correct service: '{SERVICE}'."
            )),
            Some(403),
        )),
    }
}

/// The service of a SigV4 `Credential=<key>/<date>/<region>/<service>/aws4_request` scope.
pub(crate) fn signing_service(authorization: &str) -> Option<&str> {
    credential_scope(authorization).map(|[_, _, _, service]| service)
}

/// The access key id of a SigV4 credential scope.
pub(crate) fn signing_key_id(authorization: &str) -> Option<&str> {
    credential_scope(authorization).map(|[key, ..]| key)
}

fn credential_scope(authorization: &str) -> Option<[&str; 4]> {
    let rest = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let credential = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))?;
    let scope: Vec<&str> = credential.split('/').collect();
    match scope.as_slice() {
        [key, date, region, service, "aws4_request"] => Some([key, date, region, service]),
        _ => None,
    }
}

/// Bare ids of the catalog's Claude models on the new tokenizer (Opus 4.7 and later), less
/// those AWS serves on bedrock-runtime only.
fn serves(catalog: &Catalog, model: &str) -> bool {
    catalog.by_bedrock_id(model).is_some_and(|spec| {
        spec.capabilities.claude && new_tokenizer(model) && !NOT_ON_MANTLE.contains(&model)
    })
}

/// Opus 4.7 brought the tokenizer every later Claude model shares; a Claude id whose version
/// cannot be read (`anthropic.claude-mythos-preview`) is of a model newer than this table.
fn new_tokenizer(base_id: &str) -> bool {
    rules::generation(base_id).is_none_or(|(_, major, minor)| (major, minor) >= (4, 7))
}

/// The argument of the first `[[emu:<name> <arg>]]` in the body.
fn directive(text: &str, name: &str) -> Option<String> {
    let start = text.find(&format!("[[emu:{name} "))? + name.len() + 7;
    let end = text[start..].find("]]")?;
    Some(text[start..start + end].trim().to_owned())
}

/// The Anthropic error an AWS exception name stands for.
fn anthropic_kind(exception: &str) -> (u16, &'static str) {
    match exception {
        "ThrottlingException" | "ServiceQuotaExceededException" => (429, "rate_limit_error"),
        "ServiceUnavailableException" | "ModelNotReadyException" => (529, "overloaded_error"),
        "AccessDeniedException" => (403, "permission_error"),
        "ValidationException" => (400, "invalid_request_error"),
        "ResourceNotFoundException" => (404, "not_found_error"),
        _ => (500, "api_error"),
    }
}

fn anthropic_error(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"type": "error", "error": {"type": kind, "message": message}});
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signing_service_is_read_from_the_credential_scope() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20250102/us-east-1/bedrock-mantle/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(signing_service(auth), Some("bedrock-mantle"));
        let runtime = auth.replace("bedrock-mantle", "bedrock");
        assert_eq!(signing_service(&runtime), Some("bedrock"));
        assert_eq!(signing_service("Bearer abc"), None);
        assert_eq!(signing_service("AWS4-HMAC-SHA256 Credential=AKID/x"), None);
    }

    #[test]
    fn mantle_serves_current_claude_models_but_not_fable_5_2_or_profiles() {
        let catalog = Catalog::embedded().expect("catalog");
        assert!(serves(&catalog, "anthropic.claude-opus-5"));
        assert!(serves(&catalog, "anthropic.claude-sonnet-5"));
        assert!(serves(&catalog, "anthropic.claude-opus-4-7"));
        assert!(!serves(&catalog, "global.anthropic.claude-opus-5"));
        assert!(!serves(&catalog, "anthropic.claude-sonnet-4-6"));
        assert!(!serves(&catalog, "anthropic.claude-fable-5-2"));
        assert!(!serves(&catalog, "qwen.qwen3-32b-v1:0"));
    }

    #[test]
    fn directives_are_read_from_the_body_text() {
        let text = r#"{"messages":[{"content":"[[emu:error ThrottlingException]] [[emu:silence 20]] hi"}]}"#;
        assert_eq!(
            directive(text, "error").as_deref(),
            Some("ThrottlingException")
        );
        assert_eq!(directive(text, "silence").as_deref(), Some("20"));
        assert_eq!(directive(text, "stamp"), None);
    }
}
