//! Native-path validation, second half: `system`, `tools` and `messages` as the Anthropic back
//! end checks them (block types, prefill, tool-use pairing, thinking signatures, `cache_control`),
//! and the request facts the reply is planned from.

use base64::Engine;
use serde_json::{Map, Value};

use super::voice::{expect, Kind, Voice};
use crate::error::BedrockError;
use crate::output::{is_our_redacted_data, is_our_signature};
use crate::rules::Rules;
use crate::validate::thinking_first;

const MAX_CACHE_CONTROL: usize = 4;
const BLOCK_TYPES: &str = "'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', 'tool_use', 'tool_result', 'server_tool_use', 'web_search_tool_result', 'tool_reference'";
const TOOLS_REQUIRED: &str =
    "Requests which include `tool_use` or `tool_result` blocks must define tools.";

/// A message's blocks, with string content seen as one text block.
fn blocks(message: &Value) -> Vec<Value> {
    match message.get("content") {
        Some(Value::String(text)) => {
            vec![serde_json::json!({"type": "text", "text": text})]
        }
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn kind(block: &Value) -> &str {
    block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Every content check, in the back end's order.
pub(crate) fn check(
    map: &Map<String, Value>,
    rules: &Rules,
    thinking: bool,
    voice: Voice,
) -> Result<(), BedrockError> {
    let messages = map["messages"].as_array().map_or(&[][..], Vec::as_slice);
    check_system(map.get("system"), voice)?;
    check_tools(map.get("tools"), voice)?;
    check_tool_choice(map, voice)?;
    if messages.is_empty() {
        return Err(
            voice.model("messages: List should have at least 1 item after validation, not 0")
        );
    }
    for (i, message) in messages.iter().enumerate() {
        check_message(i, message, messages.len(), rules.system_messages, voice)?;
    }
    let last_role = messages
        .last()
        .and_then(|m| m.get("role"))
        .and_then(Value::as_str);
    super::check::prefill(last_role == Some("assistant"), rules, voice)?;
    check_pairing(messages, map.contains_key("tools"), voice)?;
    if thinking {
        check_thinking_first(messages, voice)?;
    }
    check_cache_control(map, messages, rules, voice)
}

fn check_system(system: Option<&Value>, voice: Voice) -> Result<(), BedrockError> {
    match system {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                if kind(block) != "text" {
                    return Err(voice.model(format!("system.{i}.type: Input should be 'text'")));
                }
                expect(
                    voice,
                    &format!("system.{i}.text"),
                    Kind::String,
                    &block["text"],
                )?;
            }
            Ok(())
        }
        Some(other) => Err(voice.wrong_type("system", Kind::String, other)),
    }
}

/// Media types Claude takes, per block type, as Anthropic's validation names them.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];
const DOCUMENT_TYPES: [&str; 2] = ["application/pdf", "text/plain"];

/// A `base64` source must hold decodable, non-empty data of a media type the block takes. Bedrock
/// has no `url` sources (the gateway downloads them).
fn check_source(
    at: &str,
    block_type: &str,
    source: Option<&Value>,
    voice: Voice,
) -> Result<(), BedrockError> {
    let Some(source) = source else {
        return Err(voice.model(format!("{at}.{block_type}.source: Field required")));
    };
    let kind = source
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind != "base64" {
        // `text`, `content` and `file` sources carry no bytes to check.
        return match kind {
            "url" => Err(voice.model(format!(
                "{at}.{block_type}.source: url sources are not supported on Amazon Bedrock"
            ))),
            _ => Ok(()),
        };
    }
    let media = source
        .get("media_type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let allowed: &[&str] = if block_type == "image" {
        &IMAGE_TYPES
    } else {
        &DOCUMENT_TYPES
    };
    if !allowed.contains(&media) {
        let names: Vec<String> = allowed.iter().map(|m| format!("'{m}'")).collect();
        return Err(voice.model(format!(
            "{at}.{block_type}.source.base64.media_type: Input should be {}",
            names.join(", ")
        )));
    }
    let data = source
        .get("data")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD.decode(data);
    if data.is_empty() || decoded.is_err() {
        let what = if block_type == "image" {
            "image"
        } else {
            "document"
        };
        return Err(voice.model(format!(
            "{at}.{block_type}.source.base64.data: Could not process {what}"
        )));
    }
    Ok(())
}

/// `tool_choice: {"type": "tool", "name": N}` must name a tool the request defines.
pub(crate) fn check_tool_choice(
    map: &Map<String, Value>,
    voice: Voice,
) -> Result<(), BedrockError> {
    let Some(choice) = map.get("tool_choice") else {
        return Ok(());
    };
    if choice.get("type").and_then(Value::as_str) != Some("tool") {
        return Ok(());
    }
    let name = choice
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let defined = map
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| {
            tools
                .iter()
                .any(|t| t.get("name").and_then(Value::as_str) == Some(name))
        });
    if defined {
        Ok(())
    } else {
        Err(voice.model(format!(
            "tool_choice: Tool '{name}' not found in provided tools"
        )))
    }
}

fn check_tools(tools: Option<&Value>, voice: Voice) -> Result<(), BedrockError> {
    let Some(tools) = tools else { return Ok(()) };
    expect(voice, "tools", Kind::Array, tools)?;
    let mut names = Vec::new();
    for (i, tool) in tools.as_array().into_iter().flatten().enumerate() {
        let name = tool.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() {
            return Err(voice.model(format!("tools.{i}.custom.name: Field required")));
        }
        let custom = matches!(kind(tool), "" | "custom");
        let valid_name = name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if custom && !valid_name {
            return Err(voice.model(format!(
                "tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
            )));
        }
        if custom && tool.get("input_schema").is_none() {
            return Err(voice.model(format!("tools.{i}.custom.input_schema: Field required")));
        }
        if names.contains(&name) {
            return Err(voice.model("tools: Tool names must be unique."));
        }
        names.push(name);
    }
    Ok(())
}

fn check_message(
    i: usize,
    message: &Value,
    count: usize,
    system_messages: bool,
    voice: Voice,
) -> Result<(), BedrockError> {
    let role = message
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let allowed = role == "user" || role == "assistant" || (system_messages && role == "system");
    if !allowed {
        return Err(voice.model(format!(
            "messages.{i}.role: Input should be 'user' or 'assistant'"
        )));
    }
    let content = message.get("content").unwrap_or(&Value::Null);
    if !(content.is_string() || content.is_array()) {
        return Err(voice.wrong_type(&format!("messages.{i}.content"), Kind::Array, content));
    }
    let blocks = blocks(message);
    let final_assistant = i + 1 == count && role == "assistant";
    if blocks.is_empty() && !final_assistant {
        return Err(voice.model(format!(
            "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
        )));
    }
    for (j, block) in blocks.iter().enumerate() {
        check_block(&format!("messages.{i}.content.{j}"), block, voice)?;
    }
    Ok(())
}

fn check_block(at: &str, block: &Value, voice: Voice) -> Result<(), BedrockError> {
    match kind(block) {
        "text" => {
            let text = block.get("text").and_then(Value::as_str);
            match text {
                None => Err(voice.model(format!("{at}.text.text: Field required"))),
                Some("") => Err(voice.model("messages: text content blocks must be non-empty")),
                Some(t) if t.trim().is_empty() => Err(voice.model(
                    "messages: text content blocks must contain non-whitespace text",
                )),
                Some(_) => Ok(()),
            }
        }
        "thinking" => match block.get("signature").and_then(Value::as_str) {
            None => Err(voice.model(format!("{at}.thinking.signature: Field required"))),
            Some(sig) if !is_our_signature(sig) => Err(voice.model(format!(
                "{at}: Invalid `signature` in `thinking` block"
            ))),
            Some(_) => Ok(()),
        },
        "redacted_thinking" => match block.get("data").and_then(Value::as_str) {
            Some(data) if is_our_redacted_data(data) => Ok(()),
            _ => Err(voice.model(format!(
                "{at}: Invalid `data` in `redacted_thinking` block"
            ))),
        },
        "tool_use" | "server_tool_use" => {
            for key in ["id", "name", "input"] {
                if block.get(key).is_none() {
                    return Err(voice.model(format!("{at}.tool_use.{key}: Field required")));
                }
            }
            Ok(())
        }
        "tool_result" => match block.get("tool_use_id") {
            Some(Value::String(_)) => Ok(()),
            _ => Err(voice.model(format!("{at}.tool_result.tool_use_id: Field required"))),
        },
        "image" | "document" => check_source(at, kind(block), block.get("source"), voice),
        "search_result" | "web_search_tool_result" | "tool_reference" => Ok(()),
        other => Err(voice.model(format!(
            "{at}: Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TYPES}"
        ))),
    }
}

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

fn check_pairing(messages: &[Value], has_tools: bool, voice: Voice) -> Result<(), BedrockError> {
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
fn check_thinking_first(messages: &[Value], voice: Voice) -> Result<(), BedrockError> {
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

fn check_cache_control(
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

/// The text of a `tool_result`'s content (a string or text blocks).
fn result_text(block: &Value) -> String {
    match block.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// What the reply is planned from: the last user message's text (tool results included), its
/// tool results' texts, and the defined tool names.
pub(crate) struct Facts {
    pub(crate) last_user_text: String,
    pub(crate) tool_results: Vec<String>,
    pub(crate) tool_names: Vec<String>,
}

pub(crate) fn facts(map: &Map<String, Value>) -> Facts {
    let messages = map["messages"].as_array().map_or(&[][..], Vec::as_slice);
    let last_user = messages
        .iter()
        .rfind(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    let blocks = last_user.map(blocks).unwrap_or_default();
    let mut text = String::new();
    let mut tool_results = Vec::new();
    for block in &blocks {
        match kind(block) {
            "text" => text.push_str(block["text"].as_str().unwrap_or_default()),
            "tool_result" => {
                let result = result_text(block);
                text.push_str(&result);
                tool_results.push(result);
            }
            _ => {}
        }
        text.push('\n');
    }
    let tool_names = map
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    Facts {
        last_user_text: text,
        tool_results,
        tool_names,
    }
}
