//! The per-model rules of [`super::rules`] on Converse, ConverseStream and CountTokens (converse).
//!
//! Bedrock turns a Converse request into the model's native body before the Anthropic back end
//! sees it: `inferenceConfig.temperature` / `topP` become `temperature` / `top_p`,
//! `toolConfig.toolChoice` becomes `tool_choice`, and `additionalModelRequestFields` (`thinking`,
//! `top_k`) is merged in as it is. So the back end applies the same rules whatever the API
//! (NATIVE §7.3), and answers in the same words: this module builds those Anthropic fields and
//! runs the native path's checks on them. It must hold no rule of its own.
//!
//! Errors are the back end's, behind `The model returned the following errors: `, and for 4.7+
//! models a whole Anthropic envelope, as on InvokeModel: tinovyatkin/amazon-bedrock-copilot-chat
//! #526 shows the envelope on a ConverseStream client (NATIVE §5.2). Converse has no JSON-schema
//! layer (Bedrock builds the body itself), so that voice is never used here.

use serde_json::{json, Map, Value};

use super::error::BedrockError;
use super::model_id::Model;
use super::native::{self, Voice};
use super::rules;
use super::wire::{ConverseBody, ToolChoice};

/// Runs the model's rules on a Claude request; returns whether thinking is on.
/// `fields` is `additionalModelRequestFields` as an object.
pub(crate) fn check(
    req: &ConverseBody,
    model: &Model,
    fields: &Map<String, Value>,
) -> Result<bool, BedrockError> {
    let rules = rules::for_model(&model.base_id);
    let voice = Voice {
        schema: false,
        envelope: rules.envelope,
    };
    let max_tokens = req.inference_config.as_ref().and_then(|c| c.max_tokens);
    let thinking = native::model_rules(&anthropic_fields(req, fields), &rules, max_tokens, voice)?;
    let last_role = req
        .messages
        .iter()
        .rev()
        .map(|m| m.role.as_str())
        .find(|r| *r != "system");
    native::prefill(last_role == Some("assistant"), &rules, voice)?;
    Ok(thinking)
}

/// The Anthropic fields the rules read, as Bedrock forwards them.
fn anthropic_fields(req: &ConverseBody, fields: &Map<String, Value>) -> Map<String, Value> {
    let mut map = Map::new();
    for key in ["thinking", "top_k"] {
        if let Some(v) = fields.get(key) {
            map.insert(key.to_owned(), v.clone());
        }
    }
    if let Some(config) = &req.inference_config {
        for (key, value) in [("temperature", config.temperature), ("top_p", config.top_p)] {
            if let Some(v) = value {
                map.insert(key.to_owned(), json!(v));
            }
        }
    }
    let choice = req
        .tool_config
        .as_ref()
        .and_then(|t| t.tool_choice.as_ref());
    if let Some(choice) = choice {
        let native = match choice {
            ToolChoice::Auto(_) => json!({"type": "auto"}),
            ToolChoice::Any(_) => json!({"type": "any"}),
            ToolChoice::Tool(t) => json!({"type": "tool", "name": t.name}),
        };
        map.insert("tool_choice".to_owned(), native);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Catalog;
    use crate::validate::{self, Checked};
    use crate::{model_id, wire};

    const MODEL_ERRORS: &str = "The model returned the following errors: ";

    fn run(model: &str, body: &Value) -> Result<Checked, BedrockError> {
        let catalog = Catalog::embedded().expect("catalog");
        let model = model_id::for_inference(&catalog, model).expect("model");
        let req: ConverseBody = wire::parse(body).expect("parses");
        validate::check(&req, &model, false)
    }

    fn refused(model: &str, body: &Value) -> String {
        run(model, body).expect_err("must be refused").message
    }

    /// The back end's words for a 4.7+ model: an Anthropic envelope after Bedrock's prefix.
    fn envelope(message: &str) -> String {
        let inner = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
        format!("{MODEL_ERRORS}{inner}")
    }

    fn ask(extra: &Value) -> Value {
        let mut body = json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    }

    fn fields(value: &Value) -> Value {
        ask(&json!({"additionalModelRequestFields": value}))
    }

    const OPUS_47: &str = "global.anthropic.claude-opus-4-7";
    const SONNET_55: &str = "global.anthropic.claude-sonnet-5-5";
    const OPUS_55: &str = "global.anthropic.claude-opus-5-5";

    #[test]
    fn converse_fields_become_the_anthropic_fields_bedrock_forwards() {
        let body = ask(&json!({
            "inferenceConfig": {"temperature": 0.5, "topP": 0.9},
            "toolConfig": {"tools": [{"toolSpec": {"name": "get", "inputSchema": {"json": {}}}}],
                           "toolChoice": {"tool": {"name": "get"}}},
            "additionalModelRequestFields": {"top_k": 5, "thinking": {"type": "adaptive"},
                                             "anthropic_beta": ["x"]}}));
        let req: ConverseBody = wire::parse(&body).expect("parses");
        let extra = body["additionalModelRequestFields"]
            .as_object()
            .expect("map");
        let map = anthropic_fields(&req, extra);
        assert_eq!(
            Value::Object(map),
            json!({"temperature": 0.5, "top_p": 0.9, "top_k": 5,
                   "thinking": {"type": "adaptive"},
                   "tool_choice": {"type": "tool", "name": "get"}})
        );
    }

    #[test]
    fn enabled_thinking_is_refused_from_4_7_in_the_invoke_paths_words() {
        let enabled = fields(&json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}));
        assert!(run("us.anthropic.claude-sonnet-4-5-20250929-v1:0", &enabled).is_ok());
        assert_eq!(
            refused(OPUS_47, &enabled),
            envelope("\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.")
        );
        let on = run(OPUS_47, &fields(&json!({"thinking": {"type": "adaptive"}})));
        assert!(on.expect("adaptive").thinking);
    }

    #[test]
    fn disabled_thinking_is_refused_where_thinking_is_always_on() {
        let disabled = fields(&json!({"thinking": {"type": "disabled"}}));
        assert!(run("global.anthropic.claude-haiku-5-5", &disabled).is_ok());
        assert!(refused(OPUS_55, &disabled).contains("\\\"thinking.type.disabled\\\" is not"));
        assert!(refused(SONNET_55, &disabled).contains("between_tools"));
        // Always on: thinking without being asked, so the reply opens with reasoning.
        assert!(run(OPUS_55, &ask(&json!({}))).expect("ok").thinking);
    }

    #[test]
    fn between_tools_is_sonnet_5_5_only() {
        let between = fields(&json!({"thinking": {"type": "between_tools"}}));
        assert!(run(SONNET_55, &between).expect("between_tools").thinking);
        assert_eq!(
            refused(OPUS_55, &between),
            envelope("thinking: Input tag 'between_tools' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'")
        );
    }

    #[test]
    fn sampling_is_refused_where_only_defaults_are_allowed() {
        let sonnet5 = "global.anthropic.claude-sonnet-5";
        let at = |t: f64| ask(&json!({"inferenceConfig": {"temperature": t}}));
        assert!(run(sonnet5, &at(1.0)).is_ok());
        assert_eq!(
            refused(sonnet5, &at(0.3)),
            envelope("`temperature` is deprecated for this model.")
        );
        let top_p = ask(&json!({"inferenceConfig": {"topP": 1.0}}));
        assert_eq!(
            refused(sonnet5, &top_p),
            envelope("`top_p` is deprecated for this model.")
        );
        let top_k = fields(&json!({"top_k": 5}));
        assert_eq!(
            refused(sonnet5, &top_k),
            envelope("`top_k` is deprecated for this model.")
        );
        assert!(run("us.anthropic.claude-sonnet-4-20250514-v1:0", &top_k).is_ok());
    }

    #[test]
    fn temperature_with_top_p_is_a_model_error_where_the_table_says() {
        let both = ask(&json!({"inferenceConfig": {"temperature": 0.5, "topP": 0.9}}));
        assert_eq!(
            refused("us.anthropic.claude-haiku-4-5-20251001-v1:0", &both),
            format!("{MODEL_ERRORS}`temperature` and `top_p` cannot both be specified for this model. Please use only one.")
        );
        assert!(run("us.anthropic.claude-opus-4-1-20250805-v1:0", &both).is_ok());
    }

    #[test]
    fn forced_tool_choice_is_refused_where_the_table_says() {
        let tools = json!([{"toolSpec": {"name": "get", "inputSchema": {"json": {}}}}]);
        let choose =
            |choice: Value| ask(&json!({"toolConfig": {"tools": tools, "toolChoice": choice}}));
        let words = "tool_choice: type \"tool\" and \"any\" are not supported for this model.";
        for choice in [json!({"any": {}}), json!({"tool": {"name": "get"}})] {
            assert!(run("global.anthropic.claude-opus-5", &choose(choice.clone())).is_ok());
            // Fable 5 thinks unasked, yet takes a forced choice (NATIVE §7.3 refuses it from 5.1).
            assert!(run("global.anthropic.claude-fable-5", &choose(choice.clone())).is_ok());
            assert_eq!(refused(OPUS_55, &choose(choice.clone())), envelope(words));
            assert_eq!(refused(SONNET_55, &choose(choice)), envelope(words));
        }
        assert!(run(OPUS_55, &choose(json!({"auto": {}}))).is_ok());
        let mut thinking = choose(json!({"any": {}}));
        thinking["additionalModelRequestFields"] = json!({"thinking": {"type": "adaptive"}});
        assert_eq!(
            refused(OPUS_47, &thinking),
            envelope("Thinking may not be enabled when tool_choice forces tool use.")
        );
    }

    #[test]
    fn prefill_is_refused_by_sonnet_4_6_sonnet_5_and_haiku_5_5() {
        let prefill = json!({"messages": [
            {"role": "user", "content": [{"text": "hi"}]},
            {"role": "assistant", "content": [{"text": "Sure,"}]}]});
        let words = "This model does not support assistant message prefill. The conversation must end with a user message.";
        assert!(run("us.anthropic.claude-sonnet-4-5-20250929-v1:0", &prefill).is_ok());
        assert_eq!(
            refused("us.anthropic.claude-sonnet-4-6", &prefill),
            format!("{MODEL_ERRORS}{words}")
        );
        for model in [
            "global.anthropic.claude-sonnet-5",
            "global.anthropic.claude-haiku-5-5",
        ] {
            assert_eq!(refused(model, &prefill), envelope(words), "{model}");
        }
        assert!(run("qwen.qwen3-32b-v1:0", &prefill).is_ok());
    }
}
