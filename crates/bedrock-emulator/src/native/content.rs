//! Native-path validation, second half: `system`, `tools` and `messages` as the Anthropic back
//! end checks them (block types, prefill, thinking signatures), in its order. Checks that span
//! messages (tool-use pairing, thinking first, `cache_control`) are in `turns`; the request facts
//! the reply is planned from in `facts`.

use base64::Engine;
use serde_json::{Map, Value};

use super::turns::{check_cache_control, check_pairing, check_thinking_first};
use super::voice::{expect, Kind, Voice};
use crate::error::BedrockError;
use crate::output::{is_our_redacted_data, is_our_signature};
use crate::rules::Rules;

const BLOCK_TYPES: &str = "'text', 'image', 'document', 'search_result', 'thinking', 'redacted_thinking', 'tool_use', 'tool_result', 'server_tool_use', 'web_search_tool_result', 'tool_reference'";

/// A message's blocks, with string content seen as one text block.
pub(super) fn blocks(message: &Value) -> Vec<Value> {
    match message.get("content") {
        Some(Value::String(text)) => {
            vec![serde_json::json!({"type": "text", "text": text})]
        }
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

pub(super) fn kind(block: &Value) -> &str {
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

/// Source types per block type, as Anthropic's validation lists them. An unknown tag is refused in
/// the wording of its tagged unions ("Input tag 'x' found using 'type' does not match any of the
/// expected tags: …", as reported in AstrBotDevs/AstrBot#4444 for block types).
const IMAGE_SOURCES: [&str; 3] = ["base64", "url", "file"];
const DOCUMENT_SOURCES: [&str; 5] = ["base64", "url", "text", "content", "file"];

/// A source's `type` must be one the block takes, and a `base64` source must hold decodable,
/// non-empty data of a media type the block takes. Bedrock has no `url` sources (the gateway
/// downloads them).
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
    let kinds: &[&str] = if block_type == "image" {
        &IMAGE_SOURCES
    } else {
        &DOCUMENT_SOURCES
    };
    if !kinds.contains(&kind) {
        let names: Vec<String> = kinds.iter().map(|k| format!("'{k}'")).collect();
        return Err(voice.model(format!(
            "{at}.{block_type}.source: Input tag '{kind}' found using 'type' does not match any \
             of the expected tags: {}",
            names.join(", ")
        )));
    }
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
