//! `Converse` and `CountTokens` through the SDK: default text, tool round-trips, thinking,
//! stop sequences, max tokens, redacted reasoning, prompt caching and token counting.

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::operation::RequestId;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, ConverseTokensRequest, CountTokensInput,
    InferenceConfiguration, ReasoningContentBlock, StopReason, SystemContentBlock, ToolResultBlock,
    ToolResultContentBlock,
};
use serde_json::json;

use crate::helpers::{
    ask, ask_model, cache_point, converse, converse_text, doc, max_tokens, message, output_blocks,
    spawn, text_of, thinking, user, weather_tools, DEFAULT_TEXT, SONNET_45, SONNET_4_BARE,
};

#[tokio::test]
async fn converse_answers_with_the_default_text_and_records_the_request() {
    let t = spawn().await;
    let out = converse_text(&t, "hello").await;
    assert_eq!(text_of(&out), DEFAULT_TEXT);
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
    let question = user(
        r#"Weather? [[emu:text Let me check.]] [[emu:tool get_weather {"location": "Paris"}]]"#,
    );
    let out = converse(&t)
        .messages(question.clone())
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
    let out = converse(&t)
        .messages(question)
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

#[tokio::test]
async fn thinking_requests_get_a_signed_reasoning_block_first() {
    let t = spawn().await;
    let out = ask(&t, "think")
        .inference_config(max_tokens(4096))
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
    assert_eq!(blocks[1].as_text().expect("text"), DEFAULT_TEXT);
}

#[tokio::test]
async fn stop_sequences_cut_the_text_and_are_reported() {
    let t = spawn().await;
    let out = ask(&t, "[[emu:text one two STOP three]]")
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
    let out = ask(&t, "[[emu:long 500]]")
        .inference_config(max_tokens(20))
        .send()
        .await
        .expect("converse");
    assert_eq!(out.stop_reason(), &StopReason::MaxTokens);
    assert!(out.usage().expect("usage").output_tokens() <= 20);
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
async fn a_repeated_cached_prefix_is_read_from_the_cache() {
    let t = spawn().await;
    let system = "You are a careful assistant. ".repeat(200);
    let call = |question: &'static str| {
        converse(&t)
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
async fn count_tokens_accepts_bare_ids_only_and_agrees_with_converse() {
    let t = spawn().await;
    let text = "Count these tokens, please. ".repeat(20);
    let count = |model_id: String| {
        let input = ConverseTokensRequest::builder()
            .messages(user(&text))
            .build();
        t.client
            .count_tokens()
            .model_id(model_id)
            .input(CountTokensInput::Converse(input))
            .send()
    };
    let counted = count(SONNET_4_BARE.to_owned())
        .await
        .expect("count")
        .input_tokens();
    let out = ask_model(&t, &format!("us.{SONNET_4_BARE}"), &text)
        .send()
        .await
        .expect("converse");
    assert_eq!(counted, out.usage().expect("usage").input_tokens());

    let err = count(format!("us.{SONNET_4_BARE}"))
        .await
        .expect_err("profile");
    let err = err.into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.message(),
        Some("The provided model doesn't support counting tokens.")
    );
}
