//! The Converse JSON response and the pieces ConverseStream shares with it (usage, metrics,
//! `additionalModelResponseFields`).

use serde_json::{json, Map, Value};

use super::output::Block;
use super::plan::Reply;
use super::tokens::InputUsage;

/// The `usage` object (`TokenUsage`), with the script's overrides applied.
pub(crate) fn usage(input: &InputUsage, reply: &Reply) -> Value {
    let over = &reply.usage;
    let input_tokens = over.input_tokens.unwrap_or(input.input);
    let output_tokens = reply.output_tokens();
    let cache_read = over.cache_read_input_tokens.unwrap_or(input.cache_read);
    let cache_write = over.cache_write_input_tokens.unwrap_or(input.cache_write);
    let mut usage = json!({
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens + cache_read + cache_write,
        "cacheReadInputTokens": cache_read,
        "cacheWriteInputTokens": cache_write,
    });
    if let Some(details) = input.cache_details() {
        usage["cacheDetails"] = details;
    }
    usage
}

pub(crate) fn metrics(latency_ms: u64) -> Value {
    json!({ "latencyMs": latency_ms })
}

/// `additionalModelResponseFields`, when the client asked for `/stop_sequence`.
pub(crate) fn additional_fields(reply: &Reply, requested_paths: &[String]) -> Option<Value> {
    if !requested_paths.iter().any(|p| p == "/stop_sequence") {
        return None;
    }
    let stop_sequence = if reply.stop_reason == "stop_sequence" {
        reply
            .stop_sequence
            .clone()
            .map_or(Value::Null, Value::String)
    } else {
        Value::Null
    };
    Some(json!({ "stop_sequence": stop_sequence }))
}

/// One output block as `ContentBlock` JSON.
pub(crate) fn block(block: &Block) -> Value {
    match block {
        Block::Text(text) => json!({ "text": text }),
        Block::Reasoning { text, signature } => {
            let mut reasoning = Map::new();
            reasoning.insert("text".into(), json!(text));
            if let Some(signature) = signature {
                reasoning.insert("signature".into(), json!(signature));
            }
            json!({ "reasoningContent": { "reasoningText": reasoning } })
        }
        Block::Redacted(data) => json!({ "reasoningContent": { "redactedContent": data } }),
        Block::ToolUse { id, name, input } => {
            json!({ "toolUse": { "toolUseId": id, "name": name, "input": input } })
        }
    }
}

/// The whole `ConverseResponse` body.
pub(crate) fn converse_body(
    reply: &Reply,
    usage: &Value,
    latency_ms: u64,
    paths: &[String],
) -> Value {
    let content: Vec<Value> = reply.blocks.iter().map(block).collect();
    let mut body = json!({
        "output": { "message": { "role": "assistant", "content": content } },
        "stopReason": reply.stop_reason,
        "usage": usage,
        "metrics": metrics(latency_ms),
    });
    if let Some(fields) = additional_fields(reply, paths) {
        body["additionalModelResponseFields"] = fields;
    }
    body
}
