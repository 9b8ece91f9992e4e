//! The Bedrock emulator driven by the real `aws-sdk-bedrockruntime` client: requests are built
//! with the SDK's typed builders, so its serializer must pass the emulator's strict parser, and
//! responses must pass the SDK's deserializers and event-stream decoder.
#![expect(
    clippy::expect_used,
    reason = "test helpers fail loudly when setup or a call goes wrong"
)]

use std::collections::HashMap;

use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{
    BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ContentBlockDelta, ContentBlockStart,
    ConversationRole, ConverseStreamOutput, ConverseTokensRequest, CountTokensInput,
    InferenceConfiguration, Message, ReasoningContentBlock, ReasoningContentBlockDelta,
    ReasoningTextBlock, StopReason, SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema,
    ToolResultBlock, ToolResultContentBlock, ToolSpecification, ToolUseBlock,
};
use aws_sdk_bedrockruntime::Client;
use aws_smithy_types::{Document, Number};
use chatrix::emulator::{Emulator, Script, ScriptBlock, ScriptTool, UsageOverride};
use serde_json::{json, Value};

const SONNET_45: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
const SONNET_4_BARE: &str = "anthropic.claude-sonnet-4-20250514-v1:0";

struct TestEmulator {
    emulator: Emulator,
    url: String,
    client: Client,
}

async fn spawn() -> TestEmulator {
    let emulator = Emulator::new().expect("emulator");
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

fn message(role: ConversationRole, blocks: Vec<ContentBlock>) -> Message {
    Message::builder()
        .role(role)
        .set_content(Some(blocks))
        .build()
        .expect("message")
}

fn user(text: &str) -> Message {
    message(
        ConversationRole::User,
        vec![ContentBlock::Text(text.into())],
    )
}

fn doc(value: &Value) -> Document {
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

fn weather_tools() -> ToolConfiguration {
    let schema = json!({"type": "object", "properties": {"location": {"type": "string"}}});
    let spec = ToolSpecification::builder()
        .name("get_weather")
        .description("Weather for a city")
        .input_schema(ToolInputSchema::Json(doc(&schema)))
        .build()
        .expect("spec");
    ToolConfiguration::builder()
        .tools(Tool::ToolSpec(spec))
        .build()
        .expect("tools")
}

fn output_blocks(out: &ConverseOutput) -> Vec<ContentBlock> {
    out.output()
        .and_then(|o| o.as_message().ok())
        .map(|m| m.content().to_vec())
        .expect("message output")
}

fn text_of(out: &ConverseOutput) -> String {
    output_blocks(out)
        .iter()
        .filter_map(|b| b.as_text().ok().cloned())
        .collect()
}

async fn converse_text(t: &TestEmulator, text: &str) -> ConverseOutput {
    t.client
        .converse()
        .model_id(SONNET_45)
        .messages(user(text))
        .send()
        .await
        .expect("converse")
}

#[tokio::test]
async fn converse_answers_with_the_default_text_and_records_the_request() {
    let t = spawn().await;
    let out = converse_text(&t, "hello").await;
    assert_eq!(text_of(&out), "Hello from the Bedrock emulator.");
    assert_eq!(out.stop_reason(), &StopReason::EndTurn);
    let usage = out.usage().expect("usage");
    assert!(usage.input_tokens() > 0 && usage.output_tokens() > 0);
    assert_eq!(
        usage.total_tokens(),
        usage.input_tokens() + usage.output_tokens()
    );
    assert!(out.request_id().is_some_and(|id| id.len() == 36));

    let recorded = t.emulator.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].operation, "Converse");
    assert_eq!(recorded[0].model_id, SONNET_45);
    assert_eq!(
        recorded[0].body["messages"][0]["content"][0]["text"],
        "hello"
    );
    assert!(!recorded[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn converse_calls_a_tool_and_echoes_its_result_on_the_next_turn() {
    let t = spawn().await;
    let ask = user(
        r#"Weather? [[emu:text Let me check.]] [[emu:tool get_weather {"location": "Paris"}]]"#,
    );
    let out = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(ask.clone())
        .tool_config(weather_tools())
        .send()
        .await
        .expect("converse");
    assert_eq!(out.stop_reason(), &StopReason::ToolUse);
    let blocks = output_blocks(&out);
    assert_eq!(blocks[0].as_text().expect("text"), "Let me check.");
    let tool_use = blocks[1].as_tool_use().expect("tool use").clone();
    assert_eq!(tool_use.name(), "get_weather");
    assert!(tool_use.tool_use_id().starts_with("tooluse_"));
    assert_eq!(tool_use.input(), &doc(&json!({"location": "Paris"})));

    let result = ToolResultBlock::builder()
        .tool_use_id(tool_use.tool_use_id())
        .content(ToolResultContentBlock::Text("18C, cloudy".into()))
        .build()
        .expect("result");
    let out = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(ask)
        .messages(message(ConversationRole::Assistant, blocks))
        .messages(message(
            ConversationRole::User,
            vec![ContentBlock::ToolResult(result)],
        ))
        .tool_config(weather_tools())
        .send()
        .await
        .expect("second turn");
    assert_eq!(text_of(&out), "Tool result: 18C, cloudy");
}

fn thinking(budget: u64) -> Document {
    doc(&json!({"thinking": {"type": "enabled", "budget_tokens": budget}}))
}

#[tokio::test]
async fn thinking_requests_get_a_signed_reasoning_block_first() {
    let t = spawn().await;
    let out = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(user("think"))
        .inference_config(InferenceConfiguration::builder().max_tokens(4096).build())
        .additional_model_request_fields(thinking(2048))
        .send()
        .await
        .expect("converse");
    let blocks = output_blocks(&out);
    let ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning)) =
        &blocks[0]
    else {
        panic!("expected reasoning first, got {blocks:?}");
    };
    assert!(!reasoning.text().is_empty());
    assert!(reasoning
        .signature()
        .is_some_and(|s| s.starts_with("emu-sig-")));
    assert_eq!(
        blocks[1].as_text().expect("text"),
        "Hello from the Bedrock emulator."
    );
}

#[tokio::test]
async fn stop_sequences_cut_the_text_and_are_reported() {
    let t = spawn().await;
    let out = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(user("[[emu:text one two STOP three]]"))
        .inference_config(
            InferenceConfiguration::builder()
                .max_tokens(100)
                .stop_sequences("STOP")
                .build(),
        )
        .additional_model_response_field_paths("/stop_sequence")
        .send()
        .await
        .expect("converse");
    assert_eq!(text_of(&out), "one two ");
    assert_eq!(out.stop_reason(), &StopReason::StopSequence);
    let fields = out.additional_model_response_fields().expect("fields");
    assert_eq!(fields, &doc(&json!({"stop_sequence": "STOP"})));
}

#[tokio::test]
async fn max_tokens_truncates_long_answers() {
    let t = spawn().await;
    let out = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(user("[[emu:long 500]]"))
        .inference_config(InferenceConfiguration::builder().max_tokens(20).build())
        .send()
        .await
        .expect("converse");
    assert_eq!(out.stop_reason(), &StopReason::MaxTokens);
    assert!(out.usage().expect("usage").output_tokens() <= 20);
}

fn service_error(err: SdkError<ConverseError>) -> (u16, ConverseError) {
    match err {
        SdkError::ServiceError(e) => (e.raw().status().as_u16(), e.into_err()),
        other => panic!("expected a service error, got {other:?}"),
    }
}

type IsKind = fn(&ConverseError) -> bool;

#[tokio::test]
async fn error_directives_become_typed_sdk_errors() {
    let t = spawn().await;
    let cases: [(&str, u16, IsKind); 9] = [
        (
            "ThrottlingException",
            429,
            ConverseError::is_throttling_exception,
        ),
        (
            "ServiceUnavailableException",
            503,
            ConverseError::is_service_unavailable_exception,
        ),
        (
            "InternalServerException",
            500,
            ConverseError::is_internal_server_exception,
        ),
        (
            "ModelTimeoutException",
            408,
            ConverseError::is_model_timeout_exception,
        ),
        (
            "ModelNotReadyException",
            429,
            ConverseError::is_model_not_ready_exception,
        ),
        (
            "AccessDeniedException",
            403,
            ConverseError::is_access_denied_exception,
        ),
        (
            "ValidationException",
            400,
            ConverseError::is_validation_exception,
        ),
        (
            "ModelErrorException",
            424,
            ConverseError::is_model_error_exception,
        ),
        (
            "ResourceNotFoundException",
            404,
            ConverseError::is_resource_not_found_exception,
        ),
    ];
    for (name, status, is_kind) in cases {
        let err = t
            .client
            .converse()
            .model_id(SONNET_45)
            .messages(user(&format!("[[emu:error {name}]]")))
            .send()
            .await
            .expect_err(name);
        let (got_status, err) = service_error(err);
        assert_eq!(got_status, status, "{name}");
        assert!(is_kind(&err), "{name}: {err:?}");
        assert_eq!(err.code(), Some(name));
    }
    let err = converse_error(&t, "[[emu:error ValidationException]]").await;
    assert_eq!(
        err.message(),
        Some("Input is too long for requested model.")
    );
    let err = converse_error(&t, "[[emu:error UnrecognizedClientException]]").await;
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is invalid.")
    );
}

async fn converse_error(t: &TestEmulator, text: &str) -> ConverseError {
    let err = t
        .client
        .converse()
        .model_id(SONNET_45)
        .messages(user(text))
        .send()
        .await
        .expect_err(text);
    service_error(err).1
}

async fn validation_message(
    request: aws_sdk_bedrockruntime::operation::converse::builders::ConverseFluentBuilder,
) -> String {
    let (status, err) = service_error(request.send().await.expect_err("must be rejected"));
    assert_eq!(status, 400);
    assert!(err.is_validation_exception(), "{err:?}");
    err.message().unwrap_or_default().to_owned()
}

fn cache_point() -> CachePointBlock {
    CachePointBlock::builder()
        .r#type(CachePointType::Default)
        .build()
        .expect("cache point")
}

#[tokio::test]
async fn invalid_requests_are_rejected_with_bedrock_wording() {
    let t = spawn().await;
    let c = &t.client;
    let msg = validation_message(
        c.converse()
            .model_id(SONNET_45)
            .messages(user("a"))
            .messages(user("b")),
    )
    .await;
    assert!(
        msg.starts_with("A conversation must alternate between user and assistant roles."),
        "{msg}"
    );

    let msg = validation_message(c.converse().model_id(SONNET_45).messages(user("   "))).await;
    assert!(msg.contains("at messages.0.content.0 is blank"), "{msg}");

    let tool_use = ToolUseBlock::builder()
        .tool_use_id("t1")
        .name("get_weather")
        .input(doc(&json!({})))
        .build()
        .expect("use");
    let msg = validation_message(
        c.converse()
            .model_id(SONNET_45)
            .messages(user("go"))
            .messages(message(
                ConversationRole::Assistant,
                vec![ContentBlock::ToolUse(tool_use)],
            )),
    )
    .await;
    assert_eq!(
        msg,
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    );

    let bad = ToolSpecification::builder()
        .name("bad name!")
        .input_schema(ToolInputSchema::Json(doc(&json!({}))))
        .build()
        .expect("spec");
    let tools = ToolConfiguration::builder()
        .tools(Tool::ToolSpec(bad))
        .build()
        .expect("tools");
    let msg = validation_message(
        c.converse()
            .model_id(SONNET_45)
            .messages(user("x"))
            .tool_config(tools),
    )
    .await;
    assert!(
        msg.contains("toolConfig.tools.1.member.toolSpec.name") && msg.contains("[a-zA-Z0-9_-]+"),
        "{msg}"
    );

    let mut request = c.converse().model_id(SONNET_45).messages(user("x"));
    for i in 0..5 {
        request = request
            .system(SystemContentBlock::Text(format!("part {i}")))
            .system(SystemContentBlock::CachePoint(cache_point()));
    }
    let msg = validation_message(request).await;
    assert!(
        msg.contains("A maximum of 4 blocks with cache_control may be provided. Found 5."),
        "{msg}"
    );

    let both = InferenceConfiguration::builder()
        .temperature(0.5)
        .top_p(0.9)
        .build();
    let msg = validation_message(
        c.converse()
            .model_id(SONNET_45)
            .messages(user("x"))
            .inference_config(both),
    )
    .await;
    assert_eq!(
        msg,
        "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
    );

    let beta = doc(&json!({"anthropic_beta": ["made-up-beta-2099-01-01"]}));
    let msg = validation_message(
        c.converse()
            .model_id(SONNET_45)
            .messages(user("x"))
            .additional_model_request_fields(beta),
    )
    .await;
    assert_eq!(msg, "invalid beta flag");

    let msg = validation_message(
        c.converse()
            .model_id("anthropic.claude-sonnet-4-5-20250929-v1:0")
            .messages(user("x")),
    )
    .await;
    assert!(
        msg.contains("with on-demand throughput isn\u{2019}t supported"),
        "{msg}"
    );

    let msg = validation_message(
        c.converse()
            .model_id("us.anthropic.claude-nonexistent-v1:0")
            .messages(user("x")),
    )
    .await;
    assert_eq!(msg, "The provided model identifier is invalid.");
}

#[tokio::test]
async fn thinking_requires_the_final_tool_turn_to_start_with_reasoning() {
    let t = spawn().await;
    let tool_use = ToolUseBlock::builder()
        .tool_use_id("t1")
        .name("get_weather")
        .input(doc(&json!({})))
        .build()
        .expect("use");
    let result = ToolResultBlock::builder()
        .tool_use_id("t1")
        .content(ToolResultContentBlock::Text("ok".into()))
        .build()
        .expect("result");
    let request = |assistant: Vec<ContentBlock>| {
        t.client
            .converse()
            .model_id(SONNET_45)
            .messages(user("go"))
            .messages(message(ConversationRole::Assistant, assistant))
            .messages(message(
                ConversationRole::User,
                vec![ContentBlock::ToolResult(result.clone())],
            ))
            .tool_config(weather_tools())
            .inference_config(InferenceConfiguration::builder().max_tokens(4096).build())
            .additional_model_request_fields(thinking(1024))
    };
    let msg = validation_message(request(vec![ContentBlock::ToolUse(tool_use.clone())])).await;
    assert!(msg.starts_with("The model returned the following errors: messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."), "{msg}");

    let reasoning = ReasoningTextBlock::builder()
        .text("hmm")
        .signature("emu-sig-x")
        .build()
        .expect("reasoning");
    let signed = ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning));
    request(vec![signed, ContentBlock::ToolUse(tool_use)])
        .send()
        .await
        .expect("accepted with reasoning first");
}

async fn collect_stream(
    t: &TestEmulator,
    request: aws_sdk_bedrockruntime::operation::converse_stream::builders::ConverseStreamFluentBuilder,
) -> (
    Vec<ConverseStreamOutput>,
    Option<SdkError<ConverseStreamOutputError, aws_smithy_types::event_stream::RawMessage>>,
) {
    let _ = t;
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

fn deltas(events: &[ConverseStreamOutput]) -> Vec<(i32, ContentBlockDelta)> {
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

#[tokio::test]
async fn converse_stream_sends_text_events_in_order() {
    let t = spawn().await;
    let (events, error) = collect_stream(
        &t,
        t.client
            .converse_stream()
            .model_id(SONNET_45)
            .messages(user("hi")),
    )
    .await;
    assert!(error.is_none(), "{error:?}");
    assert!(matches!(events[0], ConverseStreamOutput::MessageStart(_)));
    assert!(!events
        .iter()
        .any(|e| matches!(e, ConverseStreamOutput::ContentBlockStart(_))));
    let text_deltas = deltas(&events);
    assert!(text_deltas.len() > 1, "text must arrive in several deltas");
    let text: String = text_deltas
        .iter()
        .map(|(_, d)| d.as_text().expect("text").as_str())
        .collect();
    assert_eq!(text, "Hello from the Bedrock emulator.");
    let n = events.len();
    assert!(
        matches!(&events[n - 3], ConverseStreamOutput::ContentBlockStop(s) if s.content_block_index() == 0)
    );
    assert!(
        matches!(&events[n - 2], ConverseStreamOutput::MessageStop(s) if s.stop_reason() == &StopReason::EndTurn)
    );
    let ConverseStreamOutput::Metadata(metadata) = &events[n - 1] else {
        panic!("metadata last")
    };
    assert!(metadata.usage().expect("usage").input_tokens() > 0);
    assert!(metadata.metrics().is_some());
}

#[tokio::test]
async fn converse_stream_sends_reasoning_then_tool_use() {
    let t = spawn().await;
    let request = t
        .client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user(
            r#"[[emu:thinking]] [[emu:tool get_weather {"location": "Paris", "unit": "celsius"}]]"#,
        ))
        .tool_config(weather_tools());
    let (events, error) = collect_stream(&t, request).await;
    assert!(error.is_none(), "{error:?}");
    let all = deltas(&events);
    let reasoning: Vec<&ReasoningContentBlockDelta> = all
        .iter()
        .filter(|(i, _)| *i == 0)
        .map(|(_, d)| d.as_reasoning_content().expect("reasoning"))
        .collect();
    assert!(reasoning[..reasoning.len() - 1].iter().all(|d| d.is_text()));
    assert!(reasoning
        .last()
        .is_some_and(|d| d.as_signature().is_ok_and(|s| s.starts_with("emu-sig-"))));

    let start = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockStart(s) => Some(s),
        _ => None,
    });
    let start = start.expect("tool block start");
    assert_eq!(start.content_block_index(), 1);
    let Some(ContentBlockStart::ToolUse(tool)) = start.start() else {
        panic!("tool start")
    };
    assert_eq!(tool.name(), "get_weather");
    let fragments: Vec<&str> = all
        .iter()
        .filter(|(i, _)| *i == 1)
        .map(|(_, d)| d.as_tool_use().expect("tool delta").input())
        .collect();
    assert!(
        fragments.len() > 1,
        "tool input must arrive in several fragments"
    );
    let input: Value = serde_json::from_str(&fragments.concat()).expect("input JSON");
    assert_eq!(input, json!({"location": "Paris", "unit": "celsius"}));
    assert!(events.iter().any(|e| matches!(e, ConverseStreamOutput::MessageStop(s) if s.stop_reason() == &StopReason::ToolUse)));
}

#[tokio::test]
async fn a_mid_stream_exception_surfaces_from_recv() {
    let t = spawn().await;
    let request = t
        .client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user("[[emu:stream-error throttlingException after=1]]"));
    let (events, error) = collect_stream(&t, request).await;
    assert_eq!(deltas(&events).len(), 1);
    match error.expect("an error") {
        SdkError::ServiceError(e) => assert!(matches!(
            e.err(),
            ConverseStreamOutputError::ThrottlingException(_)
        )),
        other => panic!("expected a modeled exception, got {other:?}"),
    }
}

#[tokio::test]
async fn a_truncated_stream_is_an_error_not_an_end() {
    let t = spawn().await;
    let request = t
        .client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user("[[emu:truncate after=1]]"));
    let (events, error) = collect_stream(&t, request).await;
    assert_eq!(deltas(&events).len(), 1);
    assert!(error.is_some(), "truncation must not look like a clean end");
}

#[tokio::test]
async fn an_error_before_the_stream_is_an_http_error() {
    let t = spawn().await;
    let err = t
        .client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user("[[emu:error ThrottlingException]]"))
        .send()
        .await
        .expect_err("throttled");
    assert!(matches!(
        err.into_service_error(),
        ConverseStreamError::ThrottlingException(_)
    ));
}

#[tokio::test]
async fn count_tokens_accepts_bare_ids_only_and_agrees_with_converse() {
    let t = spawn().await;
    let text = "Count these tokens, please. ".repeat(20);
    let input = || {
        CountTokensInput::Converse(
            ConverseTokensRequest::builder()
                .messages(user(&text))
                .build(),
        )
    };
    let counted = t
        .client
        .count_tokens()
        .model_id(SONNET_4_BARE)
        .input(input())
        .send()
        .await
        .expect("count")
        .input_tokens();
    let out = t
        .client
        .converse()
        .model_id(format!("us.{SONNET_4_BARE}"))
        .messages(user(&text))
        .send()
        .await
        .expect("converse");
    assert_eq!(counted, out.usage().expect("usage").input_tokens());

    let err = t
        .client
        .count_tokens()
        .model_id(format!("us.{SONNET_4_BARE}"))
        .input(input())
        .send()
        .await
        .expect_err("profile");
    let err = err.into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.message(),
        Some("The provided model doesn't support counting tokens.")
    );
}

#[tokio::test]
async fn a_repeated_cached_prefix_is_read_from_the_cache() {
    let t = spawn().await;
    let system = "You are a careful assistant. ".repeat(200);
    let call = |question: &'static str| {
        t.client
            .converse()
            .model_id(SONNET_45)
            .system(SystemContentBlock::Text(system.clone()))
            .system(SystemContentBlock::CachePoint(cache_point()))
            .messages(user(question))
            .send()
    };
    let first = call("first question").await.expect("first");
    let first = first.usage().expect("usage").clone();
    assert_eq!(first.cache_read_input_tokens(), Some(0));
    let written = first.cache_write_input_tokens().expect("write");
    assert!(written > 1000);
    assert_eq!(first.cache_details().len(), 1);

    let second = call("second question").await.expect("second");
    let second = second.usage().expect("usage");
    assert_eq!(second.cache_read_input_tokens(), Some(written));
    assert_eq!(second.cache_write_input_tokens(), Some(0));
    assert!(second.input_tokens() < 10);
}

#[tokio::test]
async fn scripts_take_precedence_over_directives_and_can_be_queued_over_http() {
    let t = spawn().await;
    t.emulator.push_script(Script {
        content: vec![
            ScriptBlock::Text("Scripted.".into()),
            ScriptBlock::Tool(ScriptTool {
                name: "Bash".into(),
                input: json!({"command": "ls"}),
                id: Some("tooluse_fixed".into()),
            }),
        ],
        usage: UsageOverride {
            input_tokens: Some(7),
            ..UsageOverride::default()
        },
        ..Script::default()
    });
    let out = converse_text(&t, "[[emu:text ignored]]").await;
    let blocks = output_blocks(&out);
    assert_eq!(blocks[0].as_text().expect("text"), "Scripted.");
    assert_eq!(
        blocks[1].as_tool_use().expect("tool").tool_use_id(),
        "tooluse_fixed"
    );
    assert_eq!(out.stop_reason(), &StopReason::ToolUse);
    assert_eq!(out.usage().expect("usage").input_tokens(), 7);

    let http = reqwest::Client::new();
    let script = json!({"content": [{"text": "From HTTP."}], "times": 2});
    let queued: Value = http
        .post(format!("{}/_emulator/scripts", t.url))
        .json(&script)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(queued["queued"], 1);
    assert_eq!(text_of(&converse_text(&t, "a").await), "From HTTP.");
    assert_eq!(text_of(&converse_text(&t, "b").await), "From HTTP.");
    assert_eq!(
        text_of(&converse_text(&t, "c").await),
        "Hello from the Bedrock emulator."
    );

    let recorded: Value = http
        .get(format!("{}/_emulator/requests", t.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(recorded.as_array().map(Vec::len), Some(4));
    let status = http
        .delete(format!("{}/_emulator/requests", t.url))
        .send()
        .await
        .expect("delete")
        .status();
    assert!(status.is_success());
    assert!(t.emulator.requests().is_empty());
}

#[tokio::test]
async fn raw_requests_need_authorization_and_known_members_only() {
    let t = spawn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/model/{}/converse", t.url, SONNET_45.replace(':', "%3A"));
    let body = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
    let response = http.post(&url).json(&body).send().await.expect("post");
    assert_eq!(response.status().as_u16(), 403);
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        error_type.starts_with("AccessDeniedException:"),
        "{error_type}"
    );
    assert!(response.headers().contains_key("x-amzn-requestid"));
    assert_eq!(
        response.json::<Value>().await.expect("json")["Message"],
        "Authorization header is missing"
    );

    let mut extra = body.clone();
    extra["topK"] = json!(5);
    let response = http
        .post(&url)
        .bearer_auth("token")
        .json(&extra)
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(error_type
        .starts_with("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"));
    let message = response.json::<Value>().await.expect("json")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("topK"), "{message}");

    let ok = http
        .post(&url)
        .bearer_auth("token")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(
        t.emulator.requests()[2].model_id,
        SONNET_45,
        "the model id is percent-decoded"
    );
}

#[tokio::test]
async fn silence_and_drip_pace_the_stream() {
    let t = spawn().await;
    let started = std::time::Instant::now();
    let request = t
        .client
        .converse_stream()
        .model_id(SONNET_45)
        .messages(user("[[emu:silence 200]] [[emu:drip 10]]"));
    let mut stream = request.send().await.expect("stream starts").stream;
    let first = stream.recv().await.expect("first event");
    assert!(matches!(first, Some(ConverseStreamOutput::MessageStart(_))));
    assert!(started.elapsed() >= std::time::Duration::from_millis(200));
    let mut count = 1;
    while stream.recv().await.expect("event").is_some() {
        count += 1;
    }
    assert!(started.elapsed() >= std::time::Duration::from_millis(200 + 10 * (count - 1)));
}

#[tokio::test]
async fn redacted_directives_return_redacted_reasoning() {
    let t = spawn().await;
    let out = converse_text(&t, "[[emu:redacted]] [[emu:text Done.]]").await;
    let blocks = output_blocks(&out);
    assert!(matches!(
        &blocks[0],
        ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(blob)) if !blob.as_ref().is_empty()
    ));
    assert_eq!(blocks[1].as_text().expect("text"), "Done.");
}

#[tokio::test]
async fn models_without_tool_support_refuse_tool_config() {
    let t = spawn().await;
    let request = t
        .client
        .converse()
        .model_id("us.deepseek.r1-v1:0")
        .messages(user("x"))
        .tool_config(weather_tools());
    assert_eq!(
        validation_message(request).await,
        "This model doesn't support tool use."
    );
    let err = t
        .client
        .converse_stream()
        .model_id("us.deepseek.r1-v1:0")
        .messages(user("x"))
        .tool_config(weather_tools())
        .send()
        .await
        .expect_err("refused");
    let err = err.into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.message(),
        Some("This model doesn't support tool use in streaming mode.")
    );
}
