//! ConverseStream events → Anthropic SSE events, as a pure fold.
//!
//! [`StreamState::on_event`] takes one Bedrock event and returns the Anthropic events it produces;
//! [`StreamState::finish`] closes a stream that ended without usage, and [`StreamState::fail`]
//! turns an upstream failure into an `error` event. No clock, no I/O: the async shell in
//! `routes` owns the network and the keep-alive pings.
//!
//! Bedrock sends no block start for text and reasoning, so a delta with a new block index opens a
//! block. Output indices are renumbered densely from 0, as the SDK accumulators require. Bedrock
//! reports the stop reason in `messageStop` and usage only in the later `metadata` event, while
//! Anthropic wants both in one `message_delta`: the stop reason is held until usage arrives.

use aws_sdk_bedrockruntime::types::{
    Citation, CitationSourceContent, CitationsDelta, ContentBlockDelta, ContentBlockStart,
    ConverseStreamOutput, ReasoningContentBlockDelta, TokenUsage,
};
use base64::Engine;
use serde_json::{json, Value};

use crate::anthropic::response::{new_message_id, Usage};
use crate::convert::response::{
    convert_citation, convert_stop_reason, convert_usage, stop_sequence,
};
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;
use crate::models::ModelPrice;
use crate::native::usage::priced;
use crate::pricing::CurrencyConversion;

/// One named SSE event (`event: <name>` + `data: <json>`).
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub name: &'static str,
    pub data: Value,
}

impl SseEvent {
    fn new(name: &'static str, data: Value) -> Self {
        Self { name, data }
    }

    /// The wire form: `event:` line, `data:` line, blank line.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("event: {}\ndata: {}\n\n", self.name, self.data).into_bytes()
    }

    pub fn ping() -> Self {
        Self::new("ping", json!({"type": "ping"}))
    }
}

/// What the fold needs to know about the request; owned, so the state can live in a stream.
#[derive(Debug, Clone)]
pub struct StreamContext {
    pub client_model: String,
    pub tool_names: ToolNameMap,
    pub stop_sequences: Vec<String>,
    /// Non-zero estimate for `message_start` (Claude Code's context meter ignores 0).
    pub input_estimate: u64,
    pub price: Option<ModelPrice>,
    pub currency: Option<CurrencyConversion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Text,
    Thinking,
    RedactedThinking,
    ToolUse,
}

#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    bedrock_index: i32,
    out_index: u32,
    kind: BlockKind,
}

/// The fold's state for one response.
#[derive(Debug)]
pub struct StreamState {
    ctx: StreamContext,
    id: String,
    started: bool,
    next_index: u32,
    open: Option<OpenBlock>,
    stop_reason: Option<&'static str>,
    stop_sequence: Option<String>,
    done: bool,
    /// The `error.type` the stream ended with, if it failed.
    failure: Option<&'static str>,
    final_usage: Option<Usage>,
    /// Content deltas relayed: each carries at least one output token.
    deltas: u64,
}

impl StreamState {
    pub fn new(ctx: StreamContext) -> Self {
        Self {
            ctx,
            id: new_message_id(),
            started: false,
            next_index: 0,
            open: None,
            stop_reason: None,
            stop_sequence: None,
            done: false,
            failure: None,
            final_usage: None,
            deltas: 0,
        }
    }

    /// Whether `message_stop` (or an error) has been emitted.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether Bedrock has ended the message and only its usage (`metadata`) is outstanding.
    pub fn awaits_usage(&self) -> bool {
        !self.done && self.stop_reason.is_some()
    }

    /// The final usage (with cost), once `metadata` has been folded; after a failure, what was
    /// known then: the input estimate and one output token per delta (a lower bound).
    pub fn final_usage(&self) -> Option<&Usage> {
        self.final_usage.as_ref()
    }

    /// `message_start`, for a stream that must show life before Bedrock's first event.
    pub fn on_start(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        out
    }

    /// Folds one Bedrock event.
    pub fn on_event(&mut self, event: &ConverseStreamOutput) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.ensure_started(&mut out);
        match event {
            ConverseStreamOutput::MessageStart(_) => {}
            ConverseStreamOutput::ContentBlockStart(e) => {
                if let Some(ContentBlockStart::ToolUse(t)) = &e.start {
                    self.close(&mut out);
                    let name = self.ctx.tool_names.to_client(&t.name).into_owned();
                    let block =
                        json!({"type": "tool_use", "id": t.tool_use_id, "name": name, "input": {}});
                    self.open_block(e.content_block_index, BlockKind::ToolUse, &block, &mut out);
                }
            }
            ConverseStreamOutput::ContentBlockDelta(e) => {
                self.deltas += 1;
                if let Some(delta) = &e.delta {
                    self.on_delta(e.content_block_index, delta, &mut out);
                }
            }
            ConverseStreamOutput::ContentBlockStop(e)
                if self
                    .open
                    .is_some_and(|b| b.bedrock_index == e.content_block_index) =>
            {
                self.close(&mut out);
            }
            ConverseStreamOutput::MessageStop(e) => {
                self.close(&mut out);
                let reason = convert_stop_reason(&e.stop_reason);
                self.stop_reason = Some(reason);
                if reason == "stop_sequence" {
                    self.stop_sequence = stop_sequence(
                        e.additional_model_response_fields.as_ref(),
                        &self.ctx.stop_sequences,
                    );
                }
            }
            ConverseStreamOutput::Metadata(_) if self.stop_reason.is_none() => {
                // Usage without `messageStop`: Bedrock never ended the message.
                out.extend(self.fail(&ApiError::Upstream(
                    "Bedrock sent usage before the message was complete".into(),
                )));
            }
            ConverseStreamOutput::Metadata(e) => self.complete(e.usage.as_ref(), &mut out),
            _ => {}
        }
        out
    }

    /// Closes a stream whose upstream has ended. After `messageStop` a missing `metadata` event is
    /// tolerated (usage falls back to the estimate); before it, the answer is incomplete and the
    /// client gets an `error` event, never a silent end that SDKs would take for a full answer.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.ensure_started(&mut out);
        if self.stop_reason.is_none() {
            out.extend(self.fail(&ApiError::Upstream(
                "Bedrock ended the stream before the message was complete".into(),
            )));
            return out;
        }
        self.complete(None, &mut out);
        out
    }

    /// Ends the stream with an `error` event (after the 200 has gone out).
    pub fn fail(&mut self, error: &ApiError) -> Vec<SseEvent> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        self.failure = Some(error.kind());
        let known = Usage {
            input_tokens: self.ctx.input_estimate,
            output_tokens: self.deltas,
            service_tier: "standard",
            ..Usage::default()
        };
        self.final_usage = Some(self.priced(known));
        vec![SseEvent::new("error", error.body())]
    }

    /// The `error.type` the stream ended with, or `None` if it completed (or is still going).
    pub fn failure(&self) -> Option<&'static str> {
        self.failure
    }

    fn ensure_started(&mut self, out: &mut Vec<SseEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(SseEvent::new(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": self.id, "type": "message", "role": "assistant", "model": self.ctx.client_model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": self.ctx.input_estimate.max(1), "output_tokens": 1,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                          "service_tier": "standard"}}}),
        ));
    }

    fn on_delta(&mut self, index: i32, delta: &ContentBlockDelta, out: &mut Vec<SseEvent>) {
        let kind = match delta {
            ContentBlockDelta::Text(_) | ContentBlockDelta::Citation(_) => BlockKind::Text,
            ContentBlockDelta::ToolUse(_) => BlockKind::ToolUse,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(_)) => {
                BlockKind::RedactedThinking
            }
            ContentBlockDelta::ReasoningContent(_) => BlockKind::Thinking,
            _ => return,
        };
        let fits = self
            .open
            .is_some_and(|b| b.bedrock_index == index && b.kind == kind);
        if !fits {
            self.close(out);
            let block = match (kind, delta) {
                (BlockKind::Text, _) => json!({"type": "text", "text": ""}),
                (BlockKind::Thinking, _) => {
                    json!({"type": "thinking", "thinking": "", "signature": ""})
                }
                (
                    BlockKind::RedactedThinking,
                    ContentBlockDelta::ReasoningContent(
                        ReasoningContentBlockDelta::RedactedContent(b),
                    ),
                ) => {
                    // Redacted thinking arrives whole in its start event, with no deltas.
                    let data = base64::engine::general_purpose::STANDARD.encode(b.as_ref());
                    let block = json!({"type": "redacted_thinking", "data": data});
                    self.open_block(index, kind, &block, out);
                    return;
                }
                // A tool delta without its start event: nothing to name the tool by.
                _ => return,
            };
            self.open_block(index, kind, &block, out);
        }
        let Some(open) = self.open else { return };
        let payload = match delta {
            ContentBlockDelta::Text(t) => json!({"type": "text_delta", "text": t}),
            ContentBlockDelta::ToolUse(t) => {
                json!({"type": "input_json_delta", "partial_json": t.input})
            }
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
                json!({"type": "thinking_delta", "thinking": t})
            }
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(s)) => {
                json!({"type": "signature_delta", "signature": s})
            }
            ContentBlockDelta::Citation(c) => {
                json!({"type": "citations_delta", "citation": convert_citation(&citation_from_delta(c))})
            }
            _ => return,
        };
        out.push(SseEvent::new(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": open.out_index, "delta": payload}),
        ));
    }

    fn open_block(
        &mut self,
        bedrock_index: i32,
        kind: BlockKind,
        block: &Value,
        out: &mut Vec<SseEvent>,
    ) {
        let out_index = self.next_index;
        self.next_index += 1;
        self.open = Some(OpenBlock {
            bedrock_index,
            out_index,
            kind,
        });
        out.push(SseEvent::new(
            "content_block_start",
            json!({"type": "content_block_start", "index": out_index, "content_block": block}),
        ));
    }

    fn close(&mut self, out: &mut Vec<SseEvent>) {
        if let Some(block) = self.open.take() {
            out.push(SseEvent::new(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": block.out_index}),
            ));
        }
    }

    fn priced(&self, usage: Usage) -> Usage {
        priced(usage, self.ctx.price.as_ref(), self.ctx.currency.as_ref())
    }

    fn complete(&mut self, usage: Option<&TokenUsage>, out: &mut Vec<SseEvent>) {
        self.close(out);
        let usage = usage.map(convert_usage).unwrap_or_else(|| Usage {
            input_tokens: self.ctx.input_estimate,
            service_tier: "standard",
            ..Usage::default()
        });
        let usage = self.priced(usage);
        let mut usage_json = json!({
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens,
            "cache_read_input_tokens": usage.cache_read_input_tokens,
            "cache_creation": usage.cache_creation,
        });
        if let Some(cost) = &usage.cost {
            usage_json["cost"] = json!(cost);
        }
        if usage.cost_estimated {
            usage_json["cost_estimated"] = json!(true);
        }
        out.push(SseEvent::new(
            "message_delta",
            json!({"type": "message_delta",
                   "delta": {"stop_reason": self.stop_reason.unwrap_or("end_turn"), "stop_sequence": self.stop_sequence},
                   "usage": usage_json}),
        ));
        out.push(SseEvent::new(
            "message_stop",
            json!({"type": "message_stop"}),
        ));
        self.final_usage = Some(usage);
        self.done = true;
    }
}

fn citation_from_delta(d: &CitationsDelta) -> Citation {
    let source_content = d.source_content.as_ref().map(|items| {
        items
            .iter()
            .filter_map(|s| s.text.clone().map(CitationSourceContent::Text))
            .collect()
    });
    Citation::builder()
        .set_title(d.title.clone())
        .set_source(d.source.clone())
        .set_source_content(source_content)
        .set_location(d.location.clone())
        .build()
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "stream_fuzz.rs"]
mod fuzz;

#[cfg(test)]
#[path = "stream_snapshots.rs"]
mod snapshots;
