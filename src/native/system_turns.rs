//! Claude Code's mid-conversation `role: "system"` messages, for models that refuse the role
//! (`SystemMessages::Fold` in the catalog): folded into user turns of the InvokeModel body. Only
//! the InvokeModel body builder calls it, and only when the outline of `messages` saw a system
//! turn ([`crate::anthropic::request::Outline`]).
//!
//! Pure: no I/O, no logging.

use std::borrow::Cow;

use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::request::{parse, raw, Fields};
use crate::error::ApiError;

/// Folds `role: "system"` messages into user turns where the model refuses the role: each becomes
/// a user turn in place, consecutive same-role turns are merged (string content as a text block),
/// and in a merged user turn `tool_result` blocks come first, as Claude requires. The messages are
/// parsed and written again only when a system message is present. Returns whether it changed.
pub(super) fn fold(fields: &mut Fields<'_>) -> Result<bool, ApiError> {
    #[derive(serde::Deserialize)]
    struct RoleOnly<'a> {
        #[serde(borrow)]
        role: Option<Cow<'a, str>>,
    }
    // A clone of the field (a pointer while it is the client's bytes) rather than of its text.
    let Some(raw_messages) = fields.get("messages").cloned() else {
        return Ok(false);
    };
    let items: Vec<&RawValue> = serde_json::from_str(&raw_messages)
        .map_err(|e| ApiError::invalid(format!("messages: {e}")))?;
    let role = |m: &RawValue| {
        serde_json::from_str::<RoleOnly<'_>>(m.get())
            .ok()
            .and_then(|r| r.role)
            .is_some_and(|r| r == "system")
    };
    if !items.iter().any(|m| role(m)) {
        return Ok(false);
    }
    let mut out: Vec<Map<String, Value>> = Vec::with_capacity(items.len());
    for item in items {
        let mut message: Map<String, Value> = parse("messages", item.get())?;
        if message.get("role").and_then(Value::as_str) == Some("system") {
            message.insert("role".into(), json!("user"));
        }
        match out.last_mut() {
            Some(last) if last.get("role") == message.get("role") => merge_turn(last, message),
            _ => out.push(message),
        }
    }
    let messages = Value::Array(out.into_iter().map(Value::Object).collect());
    fields.insert("messages".into(), raw(&messages)?);
    Ok(true)
}

fn merge_turn(into: &mut Map<String, Value>, mut next: Map<String, Value>) {
    let as_blocks = |content: Option<Value>| match content {
        Some(Value::String(text)) => vec![json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => blocks,
        _ => Vec::new(),
    };
    let mut blocks = as_blocks(into.remove("content"));
    blocks.extend(as_blocks(next.remove("content")));
    if into.get("role").and_then(Value::as_str) == Some("user") {
        let is_result = |b: &Value| b.get("type").and_then(Value::as_str) == Some("tool_result");
        let (mut results, rest): (Vec<_>, Vec<_>) = blocks.into_iter().partition(is_result);
        results.extend(rest);
        blocks = results;
    }
    into.insert("content".into(), Value::Array(blocks));
}
