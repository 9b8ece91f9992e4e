//! Request parameters: `inferenceConfig`, `additionalModelRequestFields` (thinking, `top_k`,
//! betas), `outputConfig`, `requestMetadata`, and the top-level fields Bedrock has no place for.
//!
//! Claude-only settings (thinking, `top_k`, `anthropic_beta`) never go to other models: Bedrock
//! merges `additionalModelRequestFields` into the model's native body, where other models reject
//! them.
//!
//! Pure: no I/O, and nothing here logs.

use serde_json::{json, Map, Value};

use super::{ConvertOptions, Ctx};
use crate::anthropic::request::{beta_values, truncate, MessagesRequest, ThinkingKind};
use crate::error::ApiError;

/// Bedrock's Converse caps `stopSequences` at four for Anthropic models.
const MAX_STOP_SEQUENCES: usize = 4;
/// Anthropic's minimum thinking budget.
const MIN_THINKING_BUDGET: u32 = 1024;
/// `requestMetadata` values: `[a-zA-Z0-9\s:_@$#=/+,-.]{0,256}`.
const MAX_METADATA_VALUE: usize = 256;

/// `max_tokens` for a Messages call.
pub(super) fn max_tokens(req: &MessagesRequest) -> Result<u32, ApiError> {
    match req.max_tokens {
        None => Err(ApiError::invalid("max_tokens: field required")),
        // Anthropic allows 0 (cache pre-warming); Bedrock's minimum is 1 and there is no
        // equivalent, so say so rather than silently generating a token.
        Some(0) => Err(ApiError::invalid(
            "max_tokens: must be at least 1 (0, for cache pre-warming, is not supported through Bedrock)",
        )),
        Some(n) => Ok(n),
    }
}

/// `inferenceConfig` and the stop sequences it carries.
pub(super) fn inference_config(
    req: &MessagesRequest,
    max_tokens: u32,
    ctx: &mut Ctx<'_>,
) -> Result<(Map<String, Value>, Vec<String>), ApiError> {
    let mut config = Map::new();
    config.insert("maxTokens".into(), json!(max_tokens));
    if let Some(t) = req.temperature {
        check_unit_range("temperature", t)?;
        config.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        check_unit_range("top_p", p)?;
        if req.temperature.is_some() && ctx.caps.temperature_top_p_exclusive {
            // The model answers 400 to both; temperature is the one clients mean to set.
            ctx.drop_note("top_p");
        } else {
            config.insert("topP".into(), json!(p));
        }
    }
    let requested = req.stop_sequences.as_deref().unwrap_or_default();
    let stops: Vec<String> = requested
        .iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    if stops.len() < requested.len() {
        ctx.drop_note("stop_sequences(empty)");
    }
    if stops.len() > MAX_STOP_SEQUENCES {
        return Err(ApiError::invalid(format!(
            "stop_sequences: Bedrock accepts at most {MAX_STOP_SEQUENCES} stop sequences, got {}",
            stops.len()
        )));
    }
    if !stops.is_empty() {
        config.insert("stopSequences".into(), json!(stops));
    }
    Ok((config, stops))
}

fn check_unit_range(field: &str, value: f64) -> Result<(), ApiError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "{field}: must be between 0 and 1, got {value}"
        )))
    }
}

/// `additionalModelRequestFields`, or `None` when empty.
pub(super) fn additional_fields(
    req: &MessagesRequest,
    opts: &ConvertOptions<'_>,
    max_tokens: Option<u32>,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, ApiError> {
    let mut fields = Map::new();
    if let Some(thinking) = thinking(req, max_tokens, ctx)? {
        fields.insert("thinking".into(), thinking);
    }
    if let Some(k) = req.top_k {
        if ctx.caps.claude {
            fields.insert("top_k".into(), json!(k));
        } else {
            ctx.drop_note("top_k");
        }
    }
    let betas = betas(opts, ctx);
    if !betas.is_empty() {
        fields.insert("anthropic_beta".into(), json!(betas));
    }
    Ok((!fields.is_empty()).then_some(Value::Object(fields)))
}

/// The `thinking` field for Bedrock. `max_tokens` is `None` only for count-tokens requests, where
/// the budget's upper bound cannot be checked.
fn thinking(
    req: &MessagesRequest,
    max_tokens: Option<u32>,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, ApiError> {
    let Some(config) = &req.thinking else {
        return Ok(None);
    };
    if config.kind == ThinkingKind::Disabled {
        return Ok(None);
    }
    if !ctx.keeps_thinking() {
        ctx.drop_note("thinking");
        return Ok(None);
    }
    if ctx.unthought_tool_turn {
        // Anthropic and Bedrock reject this request outright ("Expected `thinking` … but found
        // `tool_use`"); answering it without thinking for this turn is what the caller wants.
        ctx.drop_note("thinking(last assistant tool turn has no thinking block)");
        return Ok(None);
    }
    let budget = match config.kind {
        ThinkingKind::Disabled => return Ok(None),
        // Sonnet 5.5's lowest setting (a catalog rule's answer to `disabled`); takes no options.
        ThinkingKind::BetweenTools => return Ok(Some(json!({"type": "between_tools"}))),
        ThinkingKind::Adaptive if ctx.caps.adaptive_thinking => None,
        ThinkingKind::Adaptive => match adaptive_budget(max_tokens) {
            Some(budget) => Some(budget),
            None => {
                ctx.drop_note("thinking(adaptive, max_tokens too small)");
                return Ok(None);
            }
        },
        ThinkingKind::Enabled => {
            let budget = config
                .budget_tokens
                .ok_or_else(|| ApiError::invalid("thinking.budget_tokens: field required"))?;
            if budget < MIN_THINKING_BUDGET {
                return Err(ApiError::invalid(format!(
                    "thinking.budget_tokens: must be at least {MIN_THINKING_BUDGET}, got {budget}"
                )));
            }
            if let Some(max) = max_tokens.filter(|max| budget >= *max) {
                return Err(ApiError::invalid(format!(
                    "thinking.budget_tokens: must be less than max_tokens ({max}), got {budget}"
                )));
            }
            Some(budget)
        }
    };
    let mut out = Map::new();
    match budget {
        None => {
            out.insert("type".into(), json!("adaptive"));
        }
        Some(budget) => {
            out.insert("type".into(), json!("enabled"));
            out.insert("budget_tokens".into(), json!(budget));
        }
    }
    if let Some(display) = &config.display {
        out.insert("display".into(), json!(display));
    }
    Ok(Some(Value::Object(out)))
}

/// Adaptive thinking on a model that only knows budgets: half of `max_tokens` (at least the
/// minimum budget, always below `max_tokens`), which leaves room for the answer as adaptive
/// thinking would. `None` when `max_tokens` leaves no room for the minimum budget; without
/// `max_tokens` (count-tokens) the minimum budget.
fn adaptive_budget(max_tokens: Option<u32>) -> Option<u32> {
    match max_tokens {
        None => Some(MIN_THINKING_BUDGET),
        Some(max) if max <= MIN_THINKING_BUDGET => None,
        Some(max) => Some((max / 2).max(MIN_THINKING_BUDGET).min(max - 1)),
    }
}

/// `anthropic-beta` values Bedrock accepts for this model: comma lists split, trimmed, first
/// occurrence kept, then filtered by the model's allow-list (Bedrock answers `invalid beta flag`
/// to anything else).
fn betas(opts: &ConvertOptions<'_>, ctx: &mut Ctx<'_>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    for beta in beta_values(opts.betas.iter().map(String::as_str)) {
        if ctx.caps.claude && opts.model.allows_beta(beta) {
            kept.push(beta.to_owned());
        } else {
            ctx.drop_note(format!("beta:{}", truncate(beta, 64)));
        }
    }
    kept
}

/// `outputConfig`: effort (Claude only) and a JSON-schema response format.
pub(super) fn output_config(
    req: &MessagesRequest,
    ctx: &mut Ctx<'_>,
) -> Result<Option<Value>, ApiError> {
    let Some(config) = &req.output_config else {
        return Ok(None);
    };
    for key in config.extra.keys() {
        ctx.drop_note(format!("output_config.{}", truncate(key, 64)));
    }
    let mut out = Map::new();
    if let Some(effort) = &config.effort {
        if ctx.caps.claude {
            out.insert("effort".into(), json!(effort));
        } else {
            ctx.drop_note("output_config.effort");
        }
    }
    if let Some(format) = &config.format {
        if format.kind != "json_schema" {
            return Err(ApiError::invalid(format!(
                "output_config.format.type: only `json_schema` is supported, got `{}`",
                truncate(&format.kind, 64)
            )));
        }
        let Some(schema @ Value::Object(_)) = &format.schema else {
            return Err(ApiError::invalid(
                "output_config.format.schema: must be a JSON object",
            ));
        };
        // Converse takes the schema as a string; serialising the `Value` keeps its key order.
        let schema = serde_json::to_string(schema).map_err(|e| ApiError::Internal(e.into()))?;
        out.insert(
            "textFormat".into(),
            json!({"type": "json_schema", "structure": {"jsonSchema": {"schema": schema, "name": "response"}}}),
        );
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// `metadata.user_id` → `requestMetadata.user_id`, for Bedrock invocation-log filtering. Claude
/// Code sends a JSON string, which Bedrock's pattern forbids, so characters outside the allowed
/// set are removed (the ids inside stay readable) rather than the value being dropped.
pub(super) fn request_metadata(req: &MessagesRequest) -> Option<Value> {
    let user_id = req.metadata.as_ref()?.user_id.as_deref()?;
    let cleaned: String = user_id
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || " :_@$#=/+,-.".contains(*c))
        .take(MAX_METADATA_VALUE)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| json!({ "user_id": cleaned }))
}

/// Top-level fields Bedrock has no place for.
pub(super) fn note_ignored_fields(req: &MessagesRequest, ctx: &mut Ctx<'_>) {
    if req.service_tier.is_some() {
        // `auto` and `standard_only` both mean the default Bedrock tier.
        ctx.drop_note("service_tier");
    }
    for key in req.extra.keys() {
        ctx.drop_note(truncate(key, 64).to_owned());
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
