//! Shared set-up: the emulator on port 0 with an SDK client pointed at it, request builders for
//! the common shapes, and extractors for outputs, errors and stream events.

use std::collections::HashMap;

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::builders::ConverseFluentBuilder;
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::operation::converse_stream::builders::ConverseStreamFluentBuilder;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ConversationRole,
    ConverseStreamOutput, InferenceConfiguration, Message, Tool, ToolConfiguration,
    ToolInputSchema, ToolSpecification, ToolUseBlock,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_types::event_stream::RawMessage;
use aws_smithy_types::{Document, Number};
use bedrock_emulator::Emulator;
use serde_json::{json, Value};

pub(crate) const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
pub(crate) const SONNET_4_BARE: &str = "anthropic.claude-sonnet-4-20250514-v1:0";
pub(crate) const DEFAULT_TEXT: &str = "Hello from the Bedrock emulator.";

pub(crate) struct TestEmulator {
    pub(crate) emulator: Emulator,
    pub(crate) url: String,
    pub(crate) client: Client,
}

pub(crate) async fn spawn() -> TestEmulator {
    spawn_with(Emulator::new().expect("emulator")).await
}

/// Serves `emulator` on a free port, with an SDK client pointed at it.
pub(crate) async fn spawn_with(emulator: Emulator) -> TestEmulator {
    let url = emulator.spawn(0).await.expect("spawn");
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "SECRETTEST",
            None,
            None,
            "static-test",
        ))
        .endpoint_url(&url)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .retry_config(RetryConfig::disabled())
        .build();
    TestEmulator {
        emulator,
        url,
        client: Client::from_conf(conf),
    }
}

// ---- request builders ----

pub(crate) fn message(role: ConversationRole, blocks: Vec<ContentBlock>) -> Message {
    Message::builder()
        .role(role)
        .set_content(Some(blocks))
        .build()
        .expect("message")
}

pub(crate) fn user(text: &str) -> Message {
    message(
        ConversationRole::User,
        vec![ContentBlock::Text(text.into())],
    )
}

/// A `Converse` call to Sonnet 4.5, without messages yet.
pub(crate) fn converse(t: &TestEmulator) -> ConverseFluentBuilder {
    t.client.converse().model_id(SONNET_45)
}

/// A `Converse` call to Sonnet 4.5 with a single user message.
pub(crate) fn ask(t: &TestEmulator, text: &str) -> ConverseFluentBuilder {
    converse(t).messages(user(text))
}

/// A `Converse` call to another model with a single user message.
pub(crate) fn ask_model(t: &TestEmulator, model_id: &str, text: &str) -> ConverseFluentBuilder {
    t.client.converse().model_id(model_id).messages(user(text))
}

/// A `ConverseStream` call to Sonnet 4.5 with a single user message.
pub(crate) fn ask_stream(t: &TestEmulator, text: &str) -> ConverseStreamFluentBuilder {
    t.client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user(text))
}

pub(crate) async fn converse_text(t: &TestEmulator, text: &str) -> ConverseOutput {
    ask(t, text).send().await.expect("converse")
}

pub(crate) fn max_tokens(n: i32) -> InferenceConfiguration {
    InferenceConfiguration::builder().max_tokens(n).build()
}

pub(crate) fn doc(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Document::Number(Number::PosInt(u)),
            (None, Some(i)) => Document::Number(Number::NegInt(i)),
            _ => Document::Number(Number::Float(n.as_f64().unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(doc).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), doc(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

pub(crate) fn thinking(budget: u64) -> Document {
    doc(&json!({"thinking": {"type": "enabled", "budget_tokens": budget}}))
}

pub(crate) fn tool_config(spec: ToolSpecification) -> ToolConfiguration {
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .build()
        .expect("tools")
}

pub(crate) fn weather_tools() -> ToolConfiguration {
    let schema = json!({"type": "object", "properties": {"location": {"type": "string"}}});
    let spec = ToolSpecification::builder()
        .name("get_weather")
        .description("Weather for a city")
        .input_schema(ToolInputSchema::Json(doc(&schema)))
        .build()
        .expect("spec");
    tool_config(spec)
}

/// A `get_weather` call with id `t1` and empty input.
pub(crate) fn weather_tool_use() -> ToolUseBlock {
    ToolUseBlock::builder()
        .tool_use_id("t1")
        .name("get_weather")
        .input(doc(&json!({})))
        .build()
        .expect("use")
}

pub(crate) fn cache_point() -> CachePointBlock {
    CachePointBlock::builder()
        .r#type(CachePointType::Default)
        .build()
        .expect("cache point")
}

// ---- outputs ----

pub(crate) fn output_blocks(out: &ConverseOutput) -> Vec<ContentBlock> {
    out.output()
        .and_then(|o| o.as_message().ok())
        .map(|m| m.content().to_vec())
        .expect("message output")
}

pub(crate) fn text_of(out: &ConverseOutput) -> String {
    output_blocks(out)
        .iter()
        .filter_map(|b| b.as_text().ok().cloned())
        .collect()
}

// ---- errors ----

pub(crate) fn service_error(err: SdkError<ConverseError>) -> (u16, ConverseError) {
    match err {
        SdkError::ServiceError(e) => (e.raw().status().as_u16(), e.into_err()),
        other => panic!("expected a service error, got {other:?}"),
    }
}

pub(crate) async fn converse_error(t: &TestEmulator, text: &str) -> ConverseError {
    let err = ask(t, text).send().await.expect_err(text);
    service_error(err).1
}

/// Sends a request that must be refused with a 400 `ValidationException`; returns its message.
pub(crate) async fn validation_message(request: ConverseFluentBuilder) -> String {
    let (status, err) = service_error(request.send().await.expect_err("must be rejected"));
    assert_eq!(status, 400);
    assert!(err.is_validation_exception(), "{err:?}");
    err.message().unwrap_or_default().to_owned()
}

/// The `x-amzn-errortype` header of a raw HTTP response, or empty.
pub(crate) fn error_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

// ---- streams ----

pub(crate) type StreamError = SdkError<ConverseStreamOutputError, RawMessage>;

/// Every event of a stream, and the error that ended it early, if any.
pub(crate) async fn collect_stream(
    request: ConverseStreamFluentBuilder,
) -> (Vec<ConverseStreamOutput>, Option<StreamError>) {
    let mut stream = request.send().await.expect("stream starts").stream;
    let mut events = Vec::new();
    loop {
        match stream.recv().await {
            Ok(Some(event)) => events.push(event),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// `collect_stream` of a single user message to Sonnet 4.5.
pub(crate) async fn stream_text(
    t: &TestEmulator,
    text: &str,
) -> (Vec<ConverseStreamOutput>, Option<StreamError>) {
    collect_stream(ask_stream(t, text)).await
}

pub(crate) fn deltas(events: &[ConverseStreamOutput]) -> Vec<(i32, ContentBlockDelta)> {
    events
        .iter()
        .filter_map(|e| match e {
            ConverseStreamOutput::ContentBlockDelta(d) => {
                Some((d.content_block_index(), d.delta().expect("delta").clone()))
            }
            _ => None,
        })
        .collect()
}
