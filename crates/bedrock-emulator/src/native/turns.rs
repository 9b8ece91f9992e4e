//! Native-path checks that span messages or the whole request, as the Anthropic back end makes
//! them: every `tool_result` answers a `tool_use` of the message before and every `tool_use` is
//! answered in the next, the last tool-calling assistant turn opens with its thinking, and
//! `cache_control` marks are well formed and at most four.

use serde_json::{Map, Value};

use super::content::{blocks, kind};
use super::voice::Voice;
use crate::error::BedrockError;
use crate::rules::Rules;
use crate::validate::thinking_first;

const MAX_CACHE_CONTROL: usize = 4;
const TOOLS_REQUIRED: &str =
    "Requests which include `tool_use` or `tool_result` blocks must define tools.";

fn ids<'a>(message: Option<&'a Value>, block_type: &str, key: &str) -> Vec<(usize, &'a str)> {
    let Some(Value::Array(items)) = message.and_then(|m| m.get("content")) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter(|(_, b)| kind(b) == block_type)
        .filter_map(|(j, b)| Some((j, b.get(key)?.as_str()?)))
        .collect()
}

pub(super) fn check_pairing(
    messages: &[Value],
    has_tools: bool,
    voice: Voice,
) -> Result<(), BedrockError> {
    let uses = |i: usize| ids(messages.get(i), "tool_use", "id");
    let results = |i: usize| ids(messages.get(i), "tool_result", "tool_use_id");
    let any_tool_blocks =
        (0..messages.len()).any(|i| !uses(i).is_empty() || !results(i).is_empty());
    if any_tool_blocks && !has_tools {
        return Err(voice.model(TOOLS_REQUIRED));
    }
    for i in 0..messages.len() {
        let previous: Vec<&str> = if i == 0 {
            Vec::new()
        } else {
            uses(i - 1).into_iter().map(|(_, id)| id).collect()
        };
        if let Some((j, id)) = results(i)
            .into_iter()
            .find(|(_, id)| !previous.contains(id))
        {
            return Err(voice.model(format!(
                "messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            )));
        }
        if i + 1 < messages.len() {
            let answered: Vec<&str> = results(i + 1).into_iter().map(|(_, id)| id).collect();
            let missing: Vec<&str> = uses(i)
                .into_iter()
                .map(|(_, id)| id)
                .filter(|id| !answered.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(voice.model(format!(
                    "messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                    missing.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// With thinking on, the last assistant turn that calls tools must open with its thinking.
pub(super) fn check_thinking_first(messages: &[Value], voice: Voice) -> Result<(), BedrockError> {
    let Some((i, message)) = messages
        .iter()
        .enumerate()
        .rfind(|(_, m)| m.get("role").and_then(Value::as_str) == Some("assistant"))
    else {
        return Ok(());
    };
    let blocks = blocks(message);
    if !blocks.iter().any(|b| kind(b) == "tool_use") {
        return Ok(());
    }
    match blocks.first().map(kind) {
        Some("thinking" | "redacted_thinking") | None => Ok(()),
        Some(found) => Err(voice.model(thinking_first(i, found))),
    }
}

pub(super) fn check_cache_control(
    map: &Map<String, Value>,
    messages: &[Value],
    rules: &Rules,
    voice: Voice,
) -> Result<(), BedrockError> {
    let lists = [map.get("tools"), map.get("system")]
        .into_iter()
        .chain(messages.iter().map(|m| m.get("content")));
    let marked: Vec<&Value> = lists
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|item| item.get("cache_control"))
        .collect();
    for c in &marked {
        if c.get("type").and_then(Value::as_str) != Some("ephemeral") {
            return Err(voice.model("cache_control.type: Input should be 'ephemeral'"));
        }
        // `scope` belongs to the Anthropic API's prompt-caching-scope beta, which Bedrock does
        // not offer; `ttl` came with 4.5 (NATIVE.md §1.3, §1.5).
        let extra = c
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
            .find(|k| *k != "type" && (*k != "ttl" || !rules.cache_ttl));
        if let Some(extra) = extra {
            return Err(voice.model(format!(
                "cache_control.{extra}: Extra inputs are not permitted"
            )));
        }
        if let Some(ttl) = c.get("ttl") {
            if ttl != "5m" && ttl != "1h" {
                return Err(voice.model("cache_control.ttl: Input should be '5m' or '1h'"));
            }
        }
    }
    if marked.len() > MAX_CACHE_CONTROL {
        return Err(voice.model(format!(
            "A maximum of {MAX_CACHE_CONTROL} blocks with cache_control may be provided. Found {}.",
            marked.len()
        )));
    }
    Ok(())
}
