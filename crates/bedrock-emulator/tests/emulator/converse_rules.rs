//! The per-model rules on Converse, ConverseStream and CountTokens (converse), through the SDK:
//! the fields travel in `additionalModelRequestFields`, `inferenceConfig` and
//! `toolConfig.toolChoice`, and are refused in the same words as on InvokeModel.

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::types::{
    AnyToolChoice, ContentBlock, ConversationRole, ConverseTokensRequest, CountTokensInput,
    InferenceConfiguration, SpecificToolChoice, ToolChoice, ToolConfiguration,
};
use serde_json::{json, Value};

use crate::helpers::{
    ask_model, doc, message, spawn, user, validation_message, weather_tools, TestEmulator,
};

const MODEL_ERRORS: &str = "The model returned the following errors: ";
const OPUS_47: &str = "global.anthropic.claude-opus-4-7";
const OPUS_55: &str = "global.anthropic.claude-opus-5-5";
const SONNET_55: &str = "global.anthropic.claude-sonnet-5-5";
const SONNET_5: &str = "global.anthropic.claude-sonnet-5";

/// The back end's envelope, as 4.7+ models word their errors.
fn envelope(message: &str) -> String {
    let inner =
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
    format!("{MODEL_ERRORS}{inner}")
}

async fn refused_with(t: &TestEmulator, model: &str, fields: &Value) -> String {
    validation_message(ask_model(t, model, "hi").additional_model_request_fields(doc(fields))).await
}

fn forced(choice: ToolChoice) -> ToolConfiguration {
    let tools = weather_tools();
    ToolConfiguration::builder()
        .set_tools(Some(tools.tools().to_vec()))
        .tool_choice(choice)
        .build()
        .expect("tool config")
}

#[tokio::test]
async fn enabled_thinking_is_refused_from_4_7_on_converse_too() {
    let t = spawn().await;
    let enabled = json!({"thinking": {"type": "enabled", "budget_tokens": 2048}});
    assert_eq!(
        refused_with(&t, OPUS_47, &enabled).await,
        envelope("\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.")
    );
    ask_model(&t, OPUS_47, "hi")
        .additional_model_request_fields(doc(&json!({"thinking": {"type": "adaptive"}})))
        .send()
        .await
        .expect("adaptive");
}

#[tokio::test]
async fn always_on_models_refuse_disabled_and_sonnet_5_5_wants_between_tools() {
    let t = spawn().await;
    let disabled = json!({"thinking": {"type": "disabled"}});
    for model in [OPUS_55, "global.anthropic.claude-fable-5-2"] {
        let message = refused_with(&t, model, &disabled).await;
        assert!(
            message.contains("\\\"thinking.type.disabled\\\" is not supported"),
            "{model}: {message}"
        );
    }
    assert!(refused_with(&t, SONNET_55, &disabled)
        .await
        .contains("Use \\\"thinking.type.between_tools\\\" for the lowest amount of thinking"));
    let between = json!({"thinking": {"type": "between_tools"}});
    ask_model(&t, SONNET_55, "hi")
        .additional_model_request_fields(doc(&between))
        .send()
        .await
        .expect("between_tools on Sonnet 5.5");
    assert!(refused_with(&t, OPUS_55, &between)
        .await
        .contains("Input tag 'between_tools' found"));
    ask_model(&t, "global.anthropic.claude-haiku-5-5", "hi")
        .additional_model_request_fields(doc(&disabled))
        .send()
        .await
        .expect("Haiku 5.5 may stop thinking");
}

#[tokio::test]
async fn sampling_is_refused_where_only_defaults_are_allowed() {
    let t = spawn().await;
    let config = |t: f32| InferenceConfiguration::builder().temperature(t).build();
    ask_model(&t, SONNET_5, "hi")
        .inference_config(config(1.0))
        .send()
        .await
        .expect("default temperature");
    let message =
        validation_message(ask_model(&t, SONNET_5, "hi").inference_config(config(0.25))).await;
    assert_eq!(
        message,
        envelope("`temperature` is deprecated for this model.")
    );
    let top_p = InferenceConfiguration::builder().top_p(0.5).build();
    let message = validation_message(ask_model(&t, OPUS_47, "hi").inference_config(top_p)).await;
    assert_eq!(message, envelope("`top_p` is deprecated for this model."));
    assert_eq!(
        refused_with(&t, SONNET_55, &json!({"top_k": 10})).await,
        envelope("`top_k` is deprecated for this model.")
    );
}

#[tokio::test]
async fn forced_tool_choice_is_refused_where_the_table_says() {
    let t = spawn().await;
    let any = ToolChoice::Any(AnyToolChoice::builder().build());
    let named = ToolChoice::Tool(
        SpecificToolChoice::builder()
            .name("get_weather")
            .build()
            .expect("choice"),
    );
    for model in [
        "global.anthropic.claude-opus-5",
        // Thinks unasked, yet takes a forced choice: only requested thinking conflicts.
        "global.anthropic.claude-fable-5",
    ] {
        ask_model(&t, model, "hi")
            .tool_config(forced(any.clone()))
            .send()
            .await
            .expect(model);
    }
    let words = "tool_choice: type \"tool\" and \"any\" are not supported for this model.";
    for (model, choice) in [
        (OPUS_55, any.clone()),
        (SONNET_55, named.clone()),
        ("global.anthropic.claude-fable-5-1", any),
    ] {
        let request = ask_model(&t, model, "hi").tool_config(forced(choice));
        assert_eq!(
            validation_message(request).await,
            envelope(words),
            "{model}"
        );
    }
}

#[tokio::test]
async fn prefill_is_refused_on_converse_stream_as_on_converse() {
    let t = spawn().await;
    let prefill = message(
        ConversationRole::Assistant,
        vec![ContentBlock::Text("Sure,".into())],
    );
    let words = "This model does not support assistant message prefill. The conversation must end with a user message.";
    let err = t
        .client
        .converse_stream()
        .model_id(SONNET_5)
        .messages(user("hi"))
        .messages(prefill.clone())
        .send()
        .await
        .expect_err("prefill refused")
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert_eq!(err.message(), Some(envelope(words).as_str()));
    let request = ask_model(&t, "us.anthropic.claude-sonnet-4-6", "hi").messages(prefill.clone());
    assert_eq!(
        validation_message(request).await,
        format!("{MODEL_ERRORS}{words}")
    );
    ask_model(&t, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "hi")
        .messages(prefill)
        .send()
        .await
        .expect("Sonnet 4.5 takes a prefill");
}

#[tokio::test]
async fn count_tokens_applies_the_rules_of_the_model_it_counts_for() {
    let t = spawn().await;
    let count = |model: &str, input: ConverseTokensRequest| {
        t.client
            .count_tokens()
            .model_id(model)
            .input(CountTokensInput::Converse(input))
            .send()
    };
    let prefill = ConverseTokensRequest::builder()
        .messages(user("hi"))
        .messages(message(
            ConversationRole::Assistant,
            vec![ContentBlock::Text("Sure,".into())],
        ))
        .build();
    let err = count("anthropic.claude-sonnet-4-6", prefill.clone())
        .await
        .expect_err("Sonnet 4.6 refuses a prefill")
        .into_service_error();
    assert!(err.is_validation_exception(), "{err:?}");
    assert!(
        err.message()
            .is_some_and(|m| m.starts_with(&format!("{MODEL_ERRORS}This model does not support"))),
        "{err:?}"
    );
    count("anthropic.claude-sonnet-4-20250514-v1:0", prefill)
        .await
        .expect("Sonnet 4 counts a prefill");
    let thinking = ConverseTokensRequest::builder()
        .messages(user("hi"))
        .additional_model_request_fields(doc(&json!({"thinking": {"type": "adaptive"}})))
        .build();
    let err = count("anthropic.claude-sonnet-4-5-20250929-v1:0", thinking)
        .await
        .expect_err("4.5 has no adaptive thinking")
        .into_service_error();
    assert_eq!(
        err.message(),
        Some("The model returned the following errors: thinking: Input tag 'adaptive' found using 'type' does not match any of the expected tags: 'disabled', 'enabled'")
    );
}
