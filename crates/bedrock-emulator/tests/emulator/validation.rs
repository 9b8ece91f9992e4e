//! Refusals through the SDK: error directives as typed errors, request validation with Bedrock's
//! wording, the thinking/tool-turn rule, and models without tool support.

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::converse::ConverseError;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, ReasoningContentBlock,
    ReasoningTextBlock, SystemContentBlock, ToolInputSchema, ToolResultBlock,
    ToolResultContentBlock, ToolSpecification,
};
use serde_json::json;

use crate::helpers::{
    ask, ask_model, cache_point, converse, converse_error, doc, max_tokens, message, service_error,
    spawn, thinking, tool_config, user, validation_message, weather_tool_use, weather_tools,
};

type IsKind = fn(&ConverseError) -> bool;

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one table: every exception name with its status and SDK error kind"
)]
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
        let err = ask(&t, &format!("[[emu:error {name}]]"))
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

#[tokio::test]
async fn invalid_requests_are_rejected_with_bedrock_wording() {
    let t = spawn().await;
    let msg = validation_message(ask(&t, "a").messages(user("b"))).await;
    assert!(
        msg.starts_with("A conversation must alternate between user and assistant roles."),
        "{msg}"
    );

    let msg = validation_message(ask(&t, "   ")).await;
    assert!(msg.contains("at messages.0.content.0 is blank"), "{msg}");

    let msg = validation_message(ask(&t, "go").messages(message(
        ConversationRole::Assistant,
        vec![ContentBlock::ToolUse(weather_tool_use())],
    )))
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
    let msg = validation_message(ask(&t, "x").tool_config(tool_config(bad))).await;
    assert!(
        msg.contains("toolConfig.tools.1.member.toolSpec.name") && msg.contains("[a-zA-Z0-9_-]+"),
        "{msg}"
    );

    let mut request = ask(&t, "x");
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
    let msg = validation_message(ask(&t, "x").inference_config(both)).await;
    // A back-end error on ConverseStream too (aws-samples/bedrock-access-gateway#191).
    assert_eq!(
        msg,
        "The model returned the following errors: `temperature` and `top_p` cannot both be specified for this model. Please use only one."
    );

    let beta = doc(&json!({"anthropic_beta": ["made-up-beta-2099-01-01"]}));
    let msg = validation_message(ask(&t, "x").additional_model_request_fields(beta)).await;
    assert_eq!(msg, "invalid beta flag");

    let on_demand = ask_model(&t, "anthropic.claude-sonnet-4-5-20250929-v1:0", "x");
    let msg = validation_message(on_demand).await;
    assert!(
        msg.contains("with on-demand throughput isn\u{2019}t supported"),
        "{msg}"
    );

    let unknown = ask_model(&t, "us.anthropic.claude-nonexistent-v1:0", "x");
    let msg = validation_message(unknown).await;
    assert_eq!(msg, "The provided model identifier is invalid.");
}

#[tokio::test]
async fn thinking_requires_the_final_tool_turn_to_start_with_reasoning() {
    let t = spawn().await;
    let result = ToolResultBlock::builder()
        .tool_use_id("t1")
        .content(ToolResultContentBlock::Text("ok".into()))
        .build()
        .expect("result");
    let request = |assistant: Vec<ContentBlock>| {
        converse(&t)
            .messages(user("go"))
            .messages(message(ConversationRole::Assistant, assistant))
            .messages(message(
                ConversationRole::User,
                vec![ContentBlock::ToolResult(result.clone())],
            ))
            .tool_config(weather_tools())
            .inference_config(max_tokens(4096))
            .additional_model_request_fields(thinking(1024))
    };
    let msg = validation_message(request(vec![ContentBlock::ToolUse(weather_tool_use())])).await;
    assert!(msg.starts_with("The model returned the following errors: messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."), "{msg}");

    let reasoning = ReasoningTextBlock::builder()
        .text("hmm")
        .signature("emu-sig-x")
        .build()
        .expect("reasoning");
    let signed = ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(reasoning));
    request(vec![signed, ContentBlock::ToolUse(weather_tool_use())])
        .send()
        .await
        .expect("accepted with reasoning first");
}

#[tokio::test]
async fn models_without_tool_support_refuse_tool_config() {
    let t = spawn().await;
    let request = ask_model(&t, "us.deepseek.r1-v1:0", "x").tool_config(weather_tools());
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
