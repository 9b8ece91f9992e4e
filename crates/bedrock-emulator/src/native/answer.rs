//! What InvokeModel answers: the Anthropic `Message` JSON, and for the streaming operation the
//! Anthropic event sequence (one event per `chunk` frame, no `ping`s, as Bedrock sends it;
//! NATIVE §3.2–§4).

use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use crate::output::{signature, Block};
use crate::plan::Reply;
use crate::stream::{json_pieces, text_pieces, Event, INVOCATION_METRICS};
use crate::tokens::InputUsage;

/// The usage numbers of one call, with a script's overrides applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Usage {
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub(crate) cache_read: u64,
    pub(crate) cache_write: u64,
    write_5m: u64,
    write_1h: u64,
}

impl Usage {
    pub(crate) fn of(input: &InputUsage, reply: &Reply) -> Self {
        let over = &reply.usage;
        let by_ttl = |ttl: &str| {
            input
                .writes_by_ttl
                .iter()
                .filter(|(t, _)| t == ttl)
                .map(|(_, n)| n)
                .sum()
        };
        Self {
            input: over.input_tokens.unwrap_or(input.input),
            output: reply.output_tokens(),
            cache_read: over.cache_read_input_tokens.unwrap_or(input.cache_read),
            cache_write: over.cache_write_input_tokens.unwrap_or(input.cache_write),
            write_5m: by_ttl("5m"),
            write_1h: by_ttl("1h"),
        }
    }

    /// The `usage` object; `output` is what the caller says has been produced so far.
    fn json(&self, output: u64) -> Value {
        json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.write_5m,
                "ephemeral_1h_input_tokens": self.write_1h,
            },
            "output_tokens": output,
        })
    }
}

/// `msg_bdrk_` and 24 random characters, as Bedrock numbers its messages.
pub(crate) fn message_id() -> String {
    format!(
        "msg_bdrk_01{}",
        Alphanumeric.sample_string(&mut rand::rng(), 22)
    )
}

/// Bedrock's Anthropic tool-use ids (`toolu_bdrk_…`); a script's own ids are kept.
fn tool_id(id: &str) -> String {
    id.strip_prefix("tooluse_")
        .map_or_else(|| id.to_owned(), |rest| format!("toolu_bdrk_01{rest}"))
}

fn block(block: &Block) -> Value {
    match block {
        Block::Text(text) => json!({"type": "text", "text": text}),
        Block::Reasoning { text, signature: s } => json!({
            "type": "thinking",
            "thinking": text,
            "signature": s.clone().unwrap_or_else(signature),
        }),
        Block::Redacted(data) => json!({"type": "redacted_thinking", "data": data}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": tool_id(id), "name": name, "input": input})
        }
    }
}

fn stop_sequence(reply: &Reply) -> Value {
    match (&reply.stop_sequence, reply.stop_reason.as_str()) {
        (Some(s), "stop_sequence") => json!(s),
        _ => Value::Null,
    }
}

/// The InvokeModel response body.
pub(crate) fn message(reply: &Reply, usage: &Usage, model: &str) -> Value {
    json!({
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.blocks.iter().map(block).collect::<Vec<_>>(),
        "stop_reason": reply.stop_reason,
        "stop_sequence": stop_sequence(reply),
        "usage": usage.json(usage.output),
    })
}

/// The InvokeModelWithResponseStream events for `reply`; `message_stop`'s latencies are filled
/// in when it is sent.
pub(crate) fn events(reply: &Reply, usage: &Usage, model: &str) -> Vec<Event> {
    let mut message = message(reply, usage, model);
    message["content"] = json!([]);
    message["stop_reason"] = Value::Null;
    message["stop_sequence"] = Value::Null;
    message["usage"] = usage.json(1);
    let mut out = vec![Event::chunk(
        "message_start",
        json!({"type": "message_start", "message": message}),
    )];
    for (index, b) in reply.blocks.iter().enumerate() {
        out.extend(block_events(index, b));
    }
    out.push(Event::chunk(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": stop_sequence(reply)},
            "usage": {"output_tokens": usage.output},
        }),
    ));
    out.push(Event::chunk(
        "message_stop",
        json!({
            "type": "message_stop",
            INVOCATION_METRICS: {
                "inputTokenCount": usage.input,
                "outputTokenCount": usage.output,
                "invocationLatency": 0,
                "firstByteLatency": 0,
                "cacheReadInputTokenCount": usage.cache_read,
                "cacheWriteInputTokenCount": usage.cache_write,
            },
        }),
    ));
    out
}

fn block_events(index: usize, b: &Block) -> Vec<Event> {
    let delta = |delta: Value| {
        Event::chunk(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let mut start = block(b);
    let deltas: Vec<Event> = match b {
        Block::Text(text) => {
            start["text"] = json!("");
            text_pieces(text)
                .into_iter()
                .map(|t| delta(json!({"type": "text_delta", "text": t})))
                .collect()
        }
        Block::Reasoning { text, .. } => {
            let sig = start["signature"].clone();
            start["thinking"] = json!("");
            start["signature"] = json!("");
            let mut deltas: Vec<Event> = text_pieces(text)
                .into_iter()
                .map(|t| delta(json!({"type": "thinking_delta", "thinking": t})))
                .collect();
            deltas.push(delta(json!({"type": "signature_delta", "signature": sig})));
            deltas
        }
        Block::Redacted(_) => Vec::new(),
        Block::ToolUse { input, .. } => {
            start["input"] = json!({});
            json_pieces(&input.to_string())
                .into_iter()
                .map(|p| delta(json!({"type": "input_json_delta", "partial_json": p})))
                .collect()
        }
    };
    let mut out = vec![Event::chunk(
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": start}),
    )];
    out.extend(deltas);
    out.push(Event::chunk(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    ));
    out
}
