//! Request validation, second half: modeled-shape constraints (Coral wording), inference
//! parameters, tool definitions and `additionalModelRequestFields` (betas, `top_k`); the per-model
//! rules (thinking, sampling, forced tool choice, prefill) run through [`super::converse_rules`].

use std::collections::HashSet;

use serde_json::Value;

use super::error::BedrockError;
use super::model_id::Model;
use super::validate::Checked;
use super::wire::{CachePointBlock, ConverseBody, InferenceConfig, Tool, ToolChoice, ToolConfig};

/// Claude-only members Bedrock forwards into the native body; other models reject them.
const CLAUDE_ONLY_FIELDS: [&str; 3] = ["thinking", "top_k", "anthropic_beta"];
const CONTEXT_1M_BETA: &str = "context-1m-2025-08-07";

pub(crate) fn check_tools_supported(
    req: &ConverseBody,
    model: &Model,
    streaming: bool,
) -> Result<(), BedrockError> {
    if req.tool_config.is_none() || model.capabilities.tools {
        return Ok(());
    }
    let mode = if streaming { " in streaming mode" } else { "" };
    Err(BedrockError::validation(format!(
        "This model doesn't support tool use{mode}."
    )))
}

/// Coral-style constraints on the top-level members.
pub(crate) fn check_shapes(req: &ConverseBody) -> Result<(), BedrockError> {
    if let Some(config) = &req.inference_config {
        check_inference_config(config)?;
    }
    if let Some(config) = &req.tool_config {
        check_tool_config(config)?;
    }
    for block in &req.system {
        if let super::wire::SystemBlock::CachePoint(c) = block {
            cache_point_shape(c, "system.member.cachePoint")?;
        }
    }
    check_response_field_paths(&req.additional_model_response_field_paths)?;
    check_request_metadata(req)?;
    if let Some(p) = &req.performance_config {
        one_of(
            &p.latency,
            "performanceConfig.latency",
            &["standard", "optimized"],
        )?;
    }
    if let Some(t) = &req.service_tier {
        one_of(
            &t.kind,
            "serviceTier.type",
            &["priority", "default", "flex", "reserved"],
        )?;
    }
    Ok(())
}

fn check_inference_config(config: &InferenceConfig) -> Result<(), BedrockError> {
    if let Some(max) = config.max_tokens {
        if max < 1 {
            return Err(BedrockError::constraint(
                &max.to_string(),
                "inferenceConfig.maxTokens",
                "Member must have value greater than or equal to 1",
            ));
        }
    }
    unit_interval(config.temperature, "inferenceConfig.temperature")?;
    unit_interval(config.top_p, "inferenceConfig.topP")?;
    let stops = config.stop_sequences.as_deref().unwrap_or_default();
    if stops.len() > 2500 {
        return Err(BedrockError::constraint(
            "[…]",
            "inferenceConfig.stopSequences",
            "Member must have length less than or equal to 2500",
        ));
    }
    for (i, stop) in stops.iter().enumerate() {
        length(
            stop,
            &format!("inferenceConfig.stopSequences.{}.member", i + 1),
            1,
            usize::MAX,
        )?;
    }
    Ok(())
}

fn check_tool_config(config: &ToolConfig) -> Result<(), BedrockError> {
    if config.tools.is_empty() {
        return Err(BedrockError::constraint(
            "[]",
            "toolConfig.tools",
            "Member must have length greater than or equal to 1",
        ));
    }
    for (i, tool) in config.tools.iter().enumerate() {
        let at = format!("toolConfig.tools.{}.member", i + 1);
        match tool {
            Tool::ToolSpec(spec) => tool_name(&spec.name, &format!("{at}.toolSpec.name"))?,
            Tool::System(t) => length(&t.name, &format!("{at}.systemTool.name"), 1, 64)?,
            Tool::CachePoint(c) => cache_point_shape(c, &format!("{at}.cachePoint"))?,
        }
    }
    if let Some(ToolChoice::Tool(t)) = &config.tool_choice {
        tool_name(&t.name, "toolConfig.toolChoice.tool.name")?;
    }
    Ok(())
}

fn check_response_field_paths(paths: &[String]) -> Result<(), BedrockError> {
    if paths.len() > 10 {
        return Err(BedrockError::constraint(
            &format!("{paths:?}"),
            "additionalModelResponseFieldPaths",
            "Member must have length less than or equal to 10",
        ));
    }
    for (i, path) in paths.iter().enumerate() {
        length(
            path,
            &format!("additionalModelResponseFieldPaths.{}.member", i + 1),
            1,
            256,
        )?;
        if !path.starts_with('/') {
            return Err(BedrockError::validation(format!(
                "The additionalModelResponseFieldPaths value {path} isn't a valid JSON Pointer. A JSON Pointer starts with '/', for example /stop_sequence."
            )));
        }
    }
    Ok(())
}

fn check_request_metadata(req: &ConverseBody) -> Result<(), BedrockError> {
    let Some(metadata) = &req.request_metadata else {
        return Ok(());
    };
    if metadata.len() > 16 {
        return Err(BedrockError::constraint(
            "{…}",
            "requestMetadata",
            "Member must have length less than or equal to 16",
        ));
    }
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || c.is_whitespace() || ":_@$#=/+,-.".contains(c);
    for (key, value) in metadata {
        for (text, what, min) in [(key, "key", 1), (value, "value", 0)] {
            length(text, &format!("requestMetadata.{what}"), min, 256)?;
            if !text.chars().all(allowed) {
                return Err(BedrockError::constraint(
                    text,
                    &format!("requestMetadata.{what}"),
                    r"Member must satisfy regular expression pattern: [a-zA-Z0-9\s:_@$#=/+,-.]{0,256}",
                ));
            }
        }
    }
    Ok(())
}

fn unit_interval(value: Option<f64>, path: &str) -> Result<(), BedrockError> {
    match value {
        Some(v) if v < 0.0 => Err(BedrockError::constraint(
            &v.to_string(),
            path,
            "Member must have value greater than or equal to 0",
        )),
        Some(v) if v > 1.0 => Err(BedrockError::constraint(
            &v.to_string(),
            path,
            "Member must have value less than or equal to 1",
        )),
        _ => Ok(()),
    }
}

pub(crate) fn one_of(value: &str, path: &str, allowed: &[&str]) -> Result<(), BedrockError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(BedrockError::constraint(
        value,
        path,
        &format!(
            "Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        ),
    ))
}

pub(crate) fn length(value: &str, path: &str, min: usize, max: usize) -> Result<(), BedrockError> {
    let n = value.chars().count();
    if n < min {
        return Err(BedrockError::constraint(
            value,
            path,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(BedrockError::constraint(
            value,
            path,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn pattern(value: &str, path: &str, extra: &str, regex: &str) -> Result<(), BedrockError> {
    length(value, path, 1, 64)?;
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
    {
        return Ok(());
    }
    Err(BedrockError::constraint(
        value,
        path,
        &format!("Member must satisfy regular expression pattern: {regex}"),
    ))
}

pub(crate) fn tool_name(value: &str, path: &str) -> Result<(), BedrockError> {
    pattern(value, path, "_-", "[a-zA-Z0-9_-]+")
}

pub(crate) fn tool_use_id(value: &str, path: &str) -> Result<(), BedrockError> {
    pattern(value, path, "_.:-", "[a-zA-Z0-9_.:-]+")
}

pub(crate) fn cache_point_shape(c: &CachePointBlock, path: &str) -> Result<(), BedrockError> {
    one_of(&c.kind, &format!("{path}.type"), &["default"])?;
    match &c.ttl {
        Some(ttl) => one_of(ttl, &format!("{path}.ttl"), &["5m", "1h"]),
        None => Ok(()),
    }
}

/// Inference parameters and `additionalModelRequestFields`, the model-specific rules.
pub(crate) fn check_parameters(req: &ConverseBody, model: &Model) -> Result<Checked, BedrockError> {
    if let Some(config) = &req.tool_config {
        let mut names = HashSet::new();
        let specs = config.tools.iter().filter_map(|t| match t {
            Tool::ToolSpec(s) => Some(s.name.as_str()),
            _ => None,
        });
        if model.capabilities.claude && !specs.into_iter().all(|n| names.insert(n)) {
            return Err(BedrockError::model("tools: Tool names must be unique."));
        }
    }
    let fields = match &req.additional_model_request_fields {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(BedrockError::validation(
                "Malformed input request: additionalModelRequestFields: expected a JSON object, please reformat your input and try again.",
            ))
        }
    };
    if !model.capabilities.claude {
        if let Some(key) = CLAUDE_ONLY_FIELDS.iter().find(|k| fields.contains_key(**k)) {
            return Err(BedrockError::validation(format!(
                "Malformed input request: #: extraneous key [{key}] is not permitted, please reformat your input and try again."
            )));
        }
        return Ok(Checked {
            thinking: false,
            context_window: 128_000,
        });
    }
    let betas = check_betas(fields.get("anthropic_beta"), model)?;
    if let Some(top_k) = fields.get("top_k") {
        if top_k.as_u64().is_none() {
            return Err(BedrockError::model(
                "top_k: Input should be a valid integer",
            ));
        }
    }
    let thinking = super::converse_rules::check(req, model, &fields)?;
    let context_window = if betas.iter().any(|b| b == CONTEXT_1M_BETA) {
        1_000_000
    } else {
        200_000
    };
    Ok(Checked {
        thinking,
        context_window,
    })
}

fn check_betas(value: Option<&Value>, model: &Model) -> Result<Vec<String>, BedrockError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                BedrockError::model("anthropic_beta.0: Input should be a valid string")
            })?,
        _ => {
            return Err(BedrockError::model(
                "anthropic_beta: Input should be a valid list",
            ))
        }
    };
    if list.iter().any(|b| !model.betas.contains(b)) {
        return Err(BedrockError::validation("invalid beta flag"));
    }
    Ok(list)
}
