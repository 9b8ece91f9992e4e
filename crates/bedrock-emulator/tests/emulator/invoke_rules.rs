//! InvokeModel validation through the SDK, one rule per test, in Bedrock's wording: the front end
//! (content type, model id), the schema layer of ARN-versioned models, and the back end's
//! per-model rules (plain text before 4.7, a whole Anthropic envelope from 4.7 on).

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use serde_json::{json, Value};

use crate::native::{body, envelope, invoke, refused, spawn, weather_tools, OPUS_47, SONNET_45};

const MODEL_ERRORS: &str = "The model returned the following errors: ";

fn with(mut b: Value, key: &str, value: Value) -> Value {
    b[key] = value;
    b
}

#[tokio::test]
async fn the_sdk_default_octet_stream_content_type_is_refused() {
    let t = spawn().await;
    let err = t
        .client
        .invoke_model()
        .model_id(SONNET_45)
        .body(Blob::new(body("hi").to_string()))
        .send()
        .await
        .expect_err("octet-stream");
    let err = err.into_service_error();
    assert!(err.is_validation_exception());
    assert_eq!(
        err.message(),
        Some("The provided Content Type is invalid or not supported for this model")
    );
}

#[tokio::test]
async fn profile_only_models_need_a_profile_id() {
    let t = spawn().await;
    let message = refused(&t, "anthropic.claude-opus-4-7", &body("hi")).await;
    assert!(
        message.contains("with on-demand throughput isn\u{2019}t supported"),
        "{message}"
    );
    let arn =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-7";
    invoke(&t, arn, &body("hi")).await.expect("profile ARN");
}

#[tokio::test]
async fn anthropic_version_must_be_the_bedrock_one() {
    let t = spawn().await;
    let wrong = with(body("hi"), "anthropic_version", json!("2023-06-01"));
    assert_eq!(
        refused(&t, SONNET_45, &wrong).await,
        "Invalid API version: 2023-06-01"
    );
    let newest = with(body("hi"), "anthropic_version", json!("2026-10-21"));
    assert_eq!(
        refused(&t, SONNET_45, &newest).await,
        "Invalid API version: 2026-10-21"
    );
    invoke(&t, OPUS_47, &newest)
        .await
        .expect("4.7+ take the new API version");
    let mut missing = body("hi");
    missing
        .as_object_mut()
        .expect("object")
        .remove("anthropic_version");
    assert_eq!(
        refused(&t, SONNET_45, &missing).await,
        "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."
    );
}

#[tokio::test]
async fn extra_keys_are_refused_by_the_schema_or_by_the_model() {
    let t = spawn().await;
    let streamed = with(body("hi"), "stream", json!(true));
    assert_eq!(
        refused(&t, SONNET_45, &streamed).await,
        "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."
    );
    assert_eq!(
        refused(&t, OPUS_47, &streamed).await,
        envelope("stream: Extra inputs are not permitted")
    );
    let sonnet46 = "us.anthropic.claude-sonnet-4-6";
    let model = with(body("hi"), "model", json!("claude-sonnet-4-6"));
    assert_eq!(
        refused(&t, sonnet46, &model).await,
        format!("{MODEL_ERRORS}model: Extra inputs are not permitted")
    );
}

#[tokio::test]
async fn betas_must_be_allowed_for_the_model() {
    let t = spawn().await;
    let ok = with(
        body("hi"),
        "anthropic_beta",
        json!(["context-1m-2025-08-07"]),
    );
    invoke(&t, SONNET_45, &ok).await.expect("allowed beta");
    let unknown = with(
        body("hi"),
        "anthropic_beta",
        json!(["claude-code-20250219"]),
    );
    assert_eq!(
        refused(&t, SONNET_45, &unknown).await,
        format!("{MODEL_ERRORS}invalid beta flag")
    );
    assert_eq!(
        refused(&t, OPUS_47, &unknown).await,
        envelope("invalid beta flag")
    );
    let empty = with(
        body("hi"),
        "anthropic_beta",
        json!(["interleaved-thinking-2025-05-14", ""]),
    );
    assert_eq!(
        refused(&t, OPUS_47, &empty).await,
        envelope("invalid beta flag")
    );
}

#[tokio::test]
async fn thinking_types_follow_each_generation() {
    let t = spawn().await;
    let thinking = |value: Value| {
        with(
            with(body("hi"), "max_tokens", json!(4096)),
            "thinking",
            value,
        )
    };
    let enabled = thinking(json!({"type": "enabled", "budget_tokens": 2048}));
    invoke(&t, SONNET_45, &enabled)
        .await
        .expect("4.5 takes a budget");
    let message = refused(&t, OPUS_47, &enabled).await;
    assert!(
        message.contains("\\\"thinking.type.enabled\\\" is not supported for this model."),
        "{message}"
    );
    let disabled = thinking(json!({"type": "disabled"}));
    invoke(&t, "global.anthropic.claude-opus-5", &disabled)
        .await
        .expect("Opus 5 may think less");
    invoke(&t, "global.anthropic.claude-haiku-5-5", &disabled)
        .await
        .expect("Haiku 5.5: optional");
    for model in [
        "global.anthropic.claude-opus-5-5",
        "global.anthropic.claude-fable-5-2",
    ] {
        let message = refused(&t, model, &disabled).await;
        assert!(
            message.contains("thinking.type.disabled"),
            "{model}: {message}"
        );
    }
    let sonnet55 = "global.anthropic.claude-sonnet-5-5";
    assert!(refused(&t, sonnet55, &disabled)
        .await
        .contains("between_tools"));
    invoke(&t, sonnet55, &thinking(json!({"type": "between_tools"})))
        .await
        .expect("between_tools");
    let with_budget = thinking(json!({"type": "between_tools", "budget_tokens": 2048}));
    assert!(refused(&t, sonnet55, &with_budget)
        .await
        .contains("Extra inputs are not permitted"));
}

#[tokio::test]
async fn sampling_parameters_follow_each_generation() {
    let t = spawn().await;
    let sonnet5 = "global.anthropic.claude-sonnet-5";
    invoke(&t, sonnet5, &with(body("hi"), "temperature", json!(1.0)))
        .await
        .expect("default temperature");
    assert_eq!(
        refused(&t, sonnet5, &with(body("hi"), "temperature", json!(0.5))).await,
        envelope("`temperature` is deprecated for this model.")
    );
    assert_eq!(
        refused(
            &t,
            "global.anthropic.claude-haiku-5-5",
            &with(body("hi"), "top_p", json!(1.0))
        )
        .await,
        envelope("`top_p` is deprecated for this model.")
    );
    let both = with(
        with(body("hi"), "temperature", json!(0.2)),
        "top_p",
        json!(0.9),
    );
    assert!(refused(&t, SONNET_45, &both)
        .await
        .contains("cannot both be specified"));
    invoke(&t, "us.anthropic.claude-sonnet-4-20250514-v1:0", &both)
        .await
        .expect("Sonnet 4 takes both");
}

#[tokio::test]
async fn forced_tool_choice_is_refused_by_the_newest_models() {
    let t = spawn().await;
    let forced = with(
        with(body("hi"), "tools", weather_tools()),
        "tool_choice",
        json!({"type": "tool", "name": "get_weather"}),
    );
    invoke(&t, "global.anthropic.claude-opus-5", &forced)
        .await
        .expect("Opus 5 may be forced");
    for model in [
        "global.anthropic.claude-opus-5-5",
        "global.anthropic.claude-fable-5-1",
    ] {
        assert_eq!(
            refused(&t, model, &forced).await,
            envelope("tool_choice: type \"tool\" and \"any\" are not supported for this model.")
        );
    }
}

#[tokio::test]
async fn a_launch_day_model_gets_the_rules_of_the_newest_of_its_family() {
    let t = spawn().await;
    let disabled = with(body("hi"), "thinking", json!({"type": "disabled"}));
    let message = refused(&t, "global.anthropic.claude-opus-6", &disabled).await;
    assert!(message.contains("thinking.type.disabled"), "{message}");
}

#[tokio::test]
async fn assistant_prefill_is_refused_by_sonnet_4_6_sonnet_5_and_haiku_5_5() {
    let t = spawn().await;
    let prefill = with(
        body("hi"),
        "messages",
        json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure,"}]),
    );
    invoke(&t, SONNET_45, &prefill)
        .await
        .expect("4.5 takes a prefill");
    let message = refused(&t, "global.anthropic.claude-sonnet-5", &prefill).await;
    assert!(
        message.contains("This model does not support assistant message prefill."),
        "{message}"
    );
    // Anthropic's Haiku 5.5 migration guide lists prefill among its 400s.
    let message = refused(&t, "global.anthropic.claude-haiku-5-5", &prefill).await;
    assert!(
        message.contains("This model does not support assistant message prefill."),
        "{message}"
    );
    let message = refused(&t, "us.anthropic.claude-sonnet-4-6", &prefill).await;
    assert!(
        message.starts_with(&format!("{MODEL_ERRORS}This model does not support")),
        "{message}"
    );
}

#[tokio::test]
async fn content_rules_pairing_cache_control_and_output_cap() {
    let t = spawn().await;
    let orphan = with(
        with(body("hi"), "tools", weather_tools()),
        "messages",
        json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]}]),
    );
    assert!(refused(&t, SONNET_45, &orphan)
        .await
        .contains("unexpected `tool_use_id`"));
    let marked = json!({"type": "text", "text": "part", "cache_control": {"type": "ephemeral"}});
    let five = with(
        body("hi"),
        "messages",
        json!([{"role": "user", "content": [marked, marked, marked, marked, marked]}]),
    );
    assert_eq!(
        refused(&t, SONNET_45, &five).await,
        format!("{MODEL_ERRORS}A maximum of 4 blocks with cache_control may be provided. Found 5.")
    );
    let too_many = with(body("hi"), "max_tokens", json!(64_001));
    assert_eq!(
        refused(&t, SONNET_45, &too_many).await,
        format!("{MODEL_ERRORS}max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929")
    );
}

#[tokio::test]
async fn cache_control_takes_no_scope_and_a_ttl_only_from_4_5_on() {
    let t = spawn().await;
    let marked = |marker: Value| {
        with(
            body("hi"),
            "messages",
            json!([{"role": "user", "content": [{"type": "text", "text": "part", "cache_control": marker}]}]),
        )
    };
    let scoped = marked(json!({"type": "ephemeral", "scope": "global"}));
    assert_eq!(
        refused(&t, SONNET_45, &scoped).await,
        format!("{MODEL_ERRORS}cache_control.scope: Extra inputs are not permitted")
    );
    let ttl = marked(json!({"type": "ephemeral", "ttl": "5m"}));
    assert_eq!(
        refused(&t, "us.anthropic.claude-sonnet-4-20250514-v1:0", &ttl).await,
        format!("{MODEL_ERRORS}cache_control.ttl: Extra inputs are not permitted")
    );
    let answer = invoke(&t, SONNET_45, &ttl).await;
    assert!(answer.is_ok(), "4.5 takes a ttl: {answer:?}");
}

#[tokio::test]
async fn a_source_type_the_block_does_not_take_is_refused() {
    let t = spawn().await;
    let block = |kind: &str, source: Value| {
        let content = json!([{"type": kind, "source": source}, {"type": "text", "text": "?"}]);
        with(
            body("hi"),
            "messages",
            json!([{"role": "user", "content": content}]),
        )
    };
    let ftp = block("image", json!({"type": "ftp", "url": "ftp://x"}));
    assert_eq!(
        refused(&t, SONNET_45, &ftp).await,
        format!("{MODEL_ERRORS}messages.0.content.0.image.source: Input tag 'ftp' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'")
    );
    let text_image = block(
        "image",
        json!({"type": "text", "data": "x", "media_type": "text/plain"}),
    );
    assert!(refused(&t, SONNET_45, &text_image)
        .await
        .contains("Input tag 'text'"));
    let text_document = block(
        "document",
        json!({"type": "text", "data": "x", "media_type": "text/plain"}),
    );
    invoke(&t, SONNET_45, &text_document)
        .await
        .expect("a document takes a text source");
}
