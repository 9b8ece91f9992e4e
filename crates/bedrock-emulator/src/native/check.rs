//! Native-path validation, first half: the content type, `anthropic_version`, the top-level key
//! allow-list, `anthropic_beta`, and the per-model parameter rules of [`super::super::rules`],
//! each answered in the model's [`Voice`].

use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use super::voice::{expect, Kind, Voice};
use crate::error::BedrockError;
use crate::model_id::Model;
use crate::rules::{Rules, Sampling, Thinking};

pub(crate) const API_VERSION: &str = "bedrock-2023-05-31";
const NEW_API_VERSION: &str = "2026-10-21";
const CONTENT_TYPE: &str = "The provided Content Type is invalid or not supported for this model";
const ALLOWED_KEYS: [&str; 15] = [
    "anthropic_version",
    "max_tokens",
    "messages",
    "anthropic_beta",
    "system",
    "stop_sequences",
    "temperature",
    "top_p",
    "top_k",
    "tools",
    "tool_choice",
    "thinking",
    "metadata",
    "output_config",
    "context_management",
];
const ENABLED: &str = "\"thinking.type.enabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.";
const DISABLED: &str = "\"thinking.type.disabled\" is not supported for this model. Use \"thinking.type.adaptive\" and \"output_config.effort\" to control thinking behavior.";
const DISABLED_BETWEEN_TOOLS: &str = "\"thinking.type.disabled\" is not supported for this model. Use \"thinking.type.between_tools\" for the lowest amount of thinking, or \"thinking.type.adaptive\".";
const FORCED_TOOL_CHOICE: &str =
    "tool_choice: type \"tool\" and \"any\" are not supported for this model.";
const TEMPERATURE_AND_TOP_P: &str =
    "`temperature` and `top_p` cannot both be specified for this model. Please use only one.";
const PREFILL: &str = "This model does not support assistant message prefill. The conversation must end with a user message.";
const THINKING_DOCS: &str = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking";

/// What the top-level checks learnt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checked {
    /// Thinking is on (`enabled`, `adaptive` or `between_tools`).
    pub(crate) thinking: bool,
    pub(crate) max_tokens: i64,
}

/// The front end takes only `application/json` bodies: the Rust SDK's default
/// `application/octet-stream` is refused (NATIVE §1.2; the Ruby SDK hit the same wording when it
/// began sending a default, aws/aws-sdk-ruby#3033). A request without the header is taken as
/// JSON, as boto3 samples that omit `contentType` work.
pub(crate) fn content_type(headers: &HeaderMap) -> Result<(), BedrockError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let media = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if media.as_deref() == Some("application/json") {
        Ok(())
    } else {
        Err(BedrockError::validation(CONTENT_TYPE))
    }
}

/// `anthropic_version`, allowed keys, required members and `anthropic_beta`, in that order.
pub(crate) fn envelope_keys<'a>(
    body: &'a Value,
    model: &Model,
    voice: Voice,
) -> Result<&'a Map<String, Value>, BedrockError> {
    let Some(map) = body.as_object() else {
        return Err(voice.wrong_type("", Kind::Object, body));
    };
    match map.get("anthropic_version") {
        None => return Err(voice.required("anthropic_version")),
        Some(Value::String(v)) if v == API_VERSION => {}
        // Anthropic SDK majors from late 2026 send the new API version even through Bedrock;
        // only the 4.7+ back end takes it (NATIVE §1.3).
        Some(Value::String(v)) if v == NEW_API_VERSION && voice.envelope => {}
        Some(Value::String(v)) => {
            return Err(BedrockError::validation(format!(
                "Invalid API version: {v}"
            )))
        }
        Some(other) => {
            return Err(BedrockError::validation(format!(
                "Invalid API version: {other}"
            )))
        }
    }
    let extra: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !ALLOWED_KEYS.contains(k))
        .collect();
    if let Some(first) = extra.first() {
        if voice.schema {
            let violations: Vec<String> = extra
                .iter()
                .map(|k| format!("#: extraneous key [{k}] is not permitted"))
                .collect();
            return Err(Voice::malformed(&violations));
        }
        return Err(voice.model(format!("{first}: Extra inputs are not permitted")));
    }
    for key in ["max_tokens", "messages"] {
        if !map.contains_key(key) {
            return Err(voice.required(key));
        }
    }
    expect(voice, "max_tokens", Kind::Integer, &map["max_tokens"])?;
    expect(voice, "messages", Kind::Array, &map["messages"])?;
    if let Some(betas) = map.get("anthropic_beta") {
        check_betas(betas, model, voice)?;
    }
    Ok(map)
}

fn check_betas(betas: &Value, model: &Model, voice: Voice) -> Result<(), BedrockError> {
    expect(voice, "anthropic_beta", Kind::Array, betas)?;
    for (i, beta) in betas.as_array().into_iter().flatten().enumerate() {
        expect(voice, &format!("anthropic_beta.{i}"), Kind::String, beta)?;
        let name = beta.as_str().unwrap_or_default();
        if !model.betas.iter().any(|b| b == name) {
            return Err(voice.model("invalid beta flag"));
        }
    }
    Ok(())
}

/// `max_tokens`, `thinking`, sampling and `tool_choice` against the model's rules.
pub(crate) fn parameters(
    map: &Map<String, Value>,
    rules: &Rules,
    model_name: &str,
    voice: Voice,
) -> Result<Checked, BedrockError> {
    let max_tokens = map["max_tokens"].as_i64().unwrap_or(i64::MAX);
    if max_tokens < 1 {
        return Err(voice.model("max_tokens: Input should be greater than or equal to 1"));
    }
    if u64::try_from(max_tokens).is_ok_and(|m| m > rules.max_output) {
        return Err(voice.model(format!(
            "max_tokens: {max_tokens} > {}, which is the maximum allowed number of output tokens for {model_name}",
            rules.max_output
        )));
    }
    let thinking = model_rules(map, rules, Some(max_tokens), voice)?;
    if let Some(stops) = map.get("stop_sequences") {
        expect(voice, "stop_sequences", Kind::Array, stops)?;
        for (i, stop) in stops.as_array().into_iter().flatten().enumerate() {
            expect(voice, &format!("stop_sequences.{i}"), Kind::String, stop)?;
        }
    }
    Ok(Checked {
        thinking,
        max_tokens,
    })
}

/// `thinking`, sampling and `tool_choice` against the model's rules; returns whether thinking is
/// on. Shared with Converse, whose `additionalModelRequestFields`, `inferenceConfig` and
/// `toolConfig.toolChoice` Bedrock forwards to the same back end as these Anthropic fields.
/// Without `max_tokens` (Converse's `maxTokens` is optional) the budget is not compared with it.
pub(crate) fn model_rules(
    map: &Map<String, Value>,
    rules: &Rules,
    max_tokens: Option<i64>,
    voice: Voice,
) -> Result<bool, BedrockError> {
    let thinking = match map.get("thinking") {
        Some(t) => check_thinking(t, rules, max_tokens, voice)?,
        None => rules.thinking == Thinking::AlwaysOn,
    };
    sampling(map, rules, thinking, voice)?;
    let forced = map
        .get("tool_choice")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .is_some_and(|t| t == "any" || t == "tool");
    if forced && !rules.forced_tool_choice {
        return Err(voice.model(FORCED_TOOL_CHOICE));
    }
    // Only thinking the request turns on conflicts: Fable 5 thinks unasked yet takes a forced
    // choice (NATIVE §7.3 refuses forcing only from Fable 5.1 on) [I].
    if forced && thinking && map.contains_key("thinking") {
        return Err(voice.model("Thinking may not be enabled when tool_choice forces tool use."));
    }
    Ok(thinking)
}

/// A conversation that ends with an assistant turn, on a model that refuses prefill.
pub(crate) fn prefill(
    ends_with_assistant: bool,
    rules: &Rules,
    voice: Voice,
) -> Result<(), BedrockError> {
    if ends_with_assistant && !rules.prefill {
        return Err(voice.model(PREFILL));
    }
    Ok(())
}

fn sampling(
    map: &Map<String, Value>,
    rules: &Rules,
    thinking: bool,
    voice: Voice,
) -> Result<(), BedrockError> {
    for key in ["temperature", "top_p"] {
        if let Some(v) = map.get(key) {
            expect(voice, key, Kind::Number, v)?;
            let v = v.as_f64().unwrap_or_default();
            if !(0.0..=1.0).contains(&v) {
                let bound = if v < 0.0 {
                    "greater than or equal to 0"
                } else {
                    "less than or equal to 1"
                };
                return Err(voice.model(format!("{key}: Input should be {bound}")));
            }
        }
    }
    if let Some(v) = map.get("top_k") {
        expect(voice, "top_k", Kind::Integer, v)?;
    }
    let temperature = map.get("temperature").and_then(Value::as_f64);
    let not_one = temperature.is_some_and(|t| (t - 1.0).abs() > f64::EPSILON);
    match rules.sampling {
        Sampling::Deprecated => {
            // Probed: temperature 1 passes; top_p and top_k fail at any value (NATIVE §7.3).
            let deprecated = if not_one {
                Some("temperature")
            } else {
                ["top_p", "top_k"]
                    .into_iter()
                    .find(|k| map.contains_key(*k))
            };
            if let Some(key) = deprecated {
                return Err(voice.model(format!("`{key}` is deprecated for this model.")));
            }
        }
        Sampling::TemperatureXorTopP if temperature.is_some() && map.contains_key("top_p") => {
            return Err(voice.model(TEMPERATURE_AND_TOP_P));
        }
        _ => {}
    }
    if thinking && not_one {
        return Err(voice.model(format!(
            "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at {THINKING_DOCS}#important-considerations-when-using-extended-thinking"
        )));
    }
    Ok(())
}

/// Returns whether thinking is on.
fn check_thinking(
    t: &Value,
    rules: &Rules,
    max_tokens: Option<i64>,
    voice: Voice,
) -> Result<bool, BedrockError> {
    if rules.thinking == Thinking::None {
        return Err(voice.model("thinking: Extra inputs are not permitted"));
    }
    expect(voice, "thinking", Kind::Object, t)?;
    let kind = t.get("type").and_then(Value::as_str).unwrap_or_default();
    let expected = match rules.thinking {
        Thinking::Budget => "'disabled', 'enabled'",
        Thinking::BetweenTools => "'adaptive', 'between_tools', 'disabled', 'enabled'",
        _ => "'adaptive', 'disabled', 'enabled'",
    };
    let adaptive_ok = !matches!(rules.thinking, Thinking::Budget);
    match kind {
        "disabled" => match rules.thinking {
            Thinking::AlwaysOn => Err(voice.model(DISABLED)),
            Thinking::BetweenTools => Err(voice.model(DISABLED_BETWEEN_TOOLS)),
            _ => Ok(false),
        },
        "adaptive" if adaptive_ok => Ok(true),
        "between_tools" if rules.thinking == Thinking::BetweenTools => {
            if let Some(key) = ["display", "budget_tokens", "block_binding"]
                .into_iter()
                .find(|k| t.get(*k).is_some())
            {
                return Err(voice.model(format!(
                    "thinking.between_tools.{key}: Extra inputs are not permitted"
                )));
            }
            Ok(true)
        }
        "enabled" if matches!(rules.thinking, Thinking::Budget | Thinking::BudgetOrAdaptive) => {
            let budget = t
                .get("budget_tokens")
                .and_then(Value::as_i64)
                .ok_or_else(|| voice.model("thinking.enabled.budget_tokens: Field required"))?;
            if budget < 1024 {
                return Err(voice.model(
                    "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
                ));
            }
            if max_tokens.is_some_and(|max| max <= budget) {
                return Err(voice.model(format!(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at {THINKING_DOCS}#max-tokens-and-context-window-size"
                )));
            }
            Ok(true)
        }
        "enabled" => Err(voice.model(ENABLED)),
        other => Err(voice.model(format!(
            "thinking: Input tag '{other}' found using 'type' does not match any of the expected tags: {expected}"
        ))),
    }
}
