//! Shared set-up for the InvokeModel tests: a catalog with the 5.x models the embedded one may
//! lack, native request bodies, and extractors for responses, errors and decoded chunk events.

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelError;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::error::ResponseStreamError;
use aws_sdk_bedrockruntime::types::ResponseStream;
use aws_smithy_types::event_stream::RawMessage;
use bedrock_emulator::Catalog;
use bedrock_emulator::Emulator;
use serde_json::{json, Value};

use crate::helpers::{spawn_with, TestEmulator};

pub(crate) const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub(crate) const OPUS_47: &str = "us.anthropic.claude-opus-4-7";

/// The embedded catalog plus Opus/Sonnet/Haiku 5.5, Fable 5.1/5.2 and a launch-day Opus 6, each
/// copied from the Opus 5 entry (whatever the catalog's fields are) under its own ids.
fn catalog() -> Catalog {
    let text = include_str!("../../../../src/models.json");
    let mut file: Value = serde_json::from_str(text).expect("catalog json");
    let models = file["models"].as_array_mut().expect("models");
    let opus5 = models
        .iter()
        .find(|m| m["id"] == "claude-opus-5")
        .cloned()
        .expect("opus 5 in the catalog");
    for id in [
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-haiku-5-5",
        "claude-fable-5-1",
        "claude-fable-5-2",
        "claude-opus-6",
    ] {
        if models.iter().any(|m| m["id"] == id) {
            continue;
        }
        let mut model = opus5.clone();
        model["id"] = json!(id);
        model["aliases"] = json!([]);
        model["bedrock_id"] = json!(format!("anthropic.{id}"));
        models.push(model);
    }
    Catalog::parse(&file.to_string()).expect("extended catalog")
}

pub(crate) async fn spawn() -> TestEmulator {
    spawn_with(Emulator::with_catalog(catalog())).await
}

/// A minimal valid body: one user message.
pub(crate) fn body(text: &str) -> Value {
    json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": text}]
    })
}

pub(crate) fn weather_tools() -> Value {
    json!([{"name": "get_weather", "description": "Weather for a city",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
}

/// InvokeModel through the SDK; the JSON body, or the service error's status and message.
pub(crate) async fn invoke(
    t: &TestEmulator,
    model: &str,
    body: &Value,
) -> Result<Value, (u16, String)> {
    let result = t
        .client
        .invoke_model()
        .model_id(model)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await;
    match result {
        Ok(out) => Ok(serde_json::from_slice(out.body().as_ref()).expect("json body")),
        Err(SdkError::ServiceError(e)) => {
            let status = e.raw().status().as_u16();
            let err: InvokeModelError = e.into_err();
            Err((status, err.message().unwrap_or_default().to_owned()))
        }
        Err(other) => panic!("expected a service error, got {other:?}"),
    }
}

/// The message of a call that must be refused with a 400 `ValidationException`.
pub(crate) async fn refused(t: &TestEmulator, model: &str, body: &Value) -> String {
    let (status, message) = invoke(t, model, body).await.expect_err("must be refused");
    assert_eq!(status, 400, "{message}");
    message
}

/// The back end's envelope, as 4.7+ models word their errors.
pub(crate) fn envelope(message: &str) -> String {
    let inner =
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
    format!("The model returned the following errors: {inner}")
}

pub(crate) type StreamError = SdkError<ResponseStreamError, RawMessage>;

/// Every decoded Anthropic event of an InvokeModelWithResponseStream call, and the error that
/// ended it early, if any.
pub(crate) async fn stream(
    t: &TestEmulator,
    model: &str,
    body: &Value,
) -> (Vec<Value>, Option<StreamError>) {
    let out = t
        .client
        .invoke_model_with_response_stream()
        .model_id(model)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .expect("stream starts");
    let mut receiver = out.body;
    let mut events = Vec::new();
    loop {
        match receiver.recv().await {
            Ok(Some(ResponseStream::Chunk(part))) => {
                let bytes = part.bytes().expect("bytes").as_ref();
                events.push(serde_json::from_slice(bytes).expect("event json"));
            }
            Ok(Some(other)) => panic!("unexpected stream member {other:?}"),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

pub(crate) fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect()
}
