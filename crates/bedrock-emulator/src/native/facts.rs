//! The request facts a native reply is planned from (not validation: the request has passed it).

use serde_json::{Map, Value};

use super::content::{blocks, kind};

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
