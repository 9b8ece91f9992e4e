//! ConverseStream events → Anthropic SSE events, as a pure fold.
//!
//! [`StreamState::on_event`] takes one Bedrock event and returns the Anthropic events it produces,
//! typed ([`StreamEvent`], which also writes their SSE bytes);
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

use crate::anthropic::events::{BlockDelta, DeltaUsage, StartUsage, StopDelta, StreamEvent};
use crate::anthropic::response::{ResponseBlock, Usage};
use crate::convert::response::{
    convert_citation, convert_stop_reason, convert_usage, stop_sequence,
};
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;
use crate::models::ModelPrice;
use crate::native::usage::priced;
use crate::pricing::CurrencyConversion;

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
    pub fn on_start(&mut self) -> Vec<StreamEvent> {
        let mut out = Vec::new();
        self.ensure_started(&mut out);
        out
    }

    /// Folds one Bedrock event.
    pub fn on_event(&mut self, event: &ConverseStreamOutput) -> Vec<StreamEvent> {
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
                    let block = ResponseBlock::ToolUse {
                        id: t.tool_use_id.clone(),
                        name,
                        input: serde_json::Value::Object(serde_json::Map::new()),
                    };
                    self.open_block(e.content_block_index, BlockKind::ToolUse, block, &mut out);
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
    pub fn finish(&mut self) -> Vec<StreamEvent> {
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
    pub fn fail(&mut self, error: &ApiError) -> Vec<StreamEvent> {
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
        vec![StreamEvent::error(error)]
    }

    /// The `error.type` the stream ended with, or `None` if it completed (or is still going).
    pub fn failure(&self) -> Option<&'static str> {
        self.failure
    }

    fn ensure_started(&mut self, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        // Output 1 and the tier: what this path has always sent (the native relay's own start
        // has neither); clients take the real figures from `message_delta`.
        let usage = StartUsage {
            output_tokens: 1,
            service_tier: Some("standard"),
            ..StartUsage::estimate(self.ctx.input_estimate)
        };
        out.push(StreamEvent::message_start(
            self.ctx.client_model.clone(),
            usage,
        ));
    }

    fn on_delta(&mut self, index: i32, delta: &ContentBlockDelta, out: &mut Vec<StreamEvent>) {
        let Some(kind) = block_kind(delta) else {
            return;
        };
        let fits = self
            .open
            .is_some_and(|b| b.bedrock_index == index && b.kind == kind);
        if !fits {
            self.close(out);
            // `None` for a tool delta without its start event: nothing to name the tool by.
            let Some(block) = opened_block(delta) else {
                return;
            };
            self.open_block(index, kind, block, out);
        }
        let (Some(open), Some(delta)) = (self.open, block_delta(delta)) else {
            return;
        };
        out.push(StreamEvent::ContentBlockDelta {
            index: open.out_index,
            delta,
        });
    }

    fn open_block(
        &mut self,
        bedrock_index: i32,
        kind: BlockKind,
        block: ResponseBlock,
        out: &mut Vec<StreamEvent>,
    ) {
        let out_index = self.next_index;
        self.next_index += 1;
        self.open = Some(OpenBlock {
            bedrock_index,
            out_index,
            kind,
        });
        out.push(StreamEvent::ContentBlockStart {
            index: out_index,
            content_block: block,
        });
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(block) = self.open.take() {
            out.push(StreamEvent::ContentBlockStop {
                index: block.out_index,
            });
        }
    }

    fn priced(&self, usage: Usage) -> Usage {
        priced(usage, self.ctx.price.as_ref(), self.ctx.currency.as_ref())
    }

    fn complete(&mut self, usage: Option<&TokenUsage>, out: &mut Vec<StreamEvent>) {
        self.close(out);
        let usage = usage.map(convert_usage).unwrap_or_else(|| Usage {
            input_tokens: self.ctx.input_estimate,
            service_tier: "standard",
            ..Usage::default()
        });
        let usage = self.priced(usage);
        out.push(StreamEvent::MessageDelta {
            delta: StopDelta {
                stop_reason: self.stop_reason.unwrap_or("end_turn"),
                stop_sequence: self.stop_sequence.clone(),
            },
            usage: DeltaUsage::of(&usage),
        });
        out.push(StreamEvent::MessageStop);
        self.final_usage = Some(usage);
        self.done = true;
    }
}

fn block_kind(delta: &ContentBlockDelta) -> Option<BlockKind> {
    Some(match delta {
        ContentBlockDelta::Text(_) | ContentBlockDelta::Citation(_) => BlockKind::Text,
        ContentBlockDelta::ToolUse(_) => BlockKind::ToolUse,
        ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(_)) => {
            BlockKind::RedactedThinking
        }
        ContentBlockDelta::ReasoningContent(_) => BlockKind::Thinking,
        _ => return None,
    })
}

/// The block a delta opens when Bedrock sent no start for it (text and reasoning never get one).
fn opened_block(delta: &ContentBlockDelta) -> Option<ResponseBlock> {
    Some(match delta {
        ContentBlockDelta::Text(_) | ContentBlockDelta::Citation(_) => ResponseBlock::Text {
            text: String::new(),
            citations: None,
        },
        // Redacted thinking arrives whole in its start event, with no deltas.
        ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(b)) => {
            ResponseBlock::RedactedThinking {
                data: base64::engine::general_purpose::STANDARD.encode(b.as_ref()),
            }
        }
        ContentBlockDelta::ReasoningContent(_) => ResponseBlock::Thinking {
            thinking: String::new(),
            signature: String::new(),
        },
        _ => return None,
    })
}

/// The Anthropic delta for a Bedrock one (`None` for redacted thinking: it has no deltas).
fn block_delta(delta: &ContentBlockDelta) -> Option<BlockDelta> {
    Some(match delta {
        ContentBlockDelta::Text(t) => BlockDelta::TextDelta { text: t.clone() },
        ContentBlockDelta::ToolUse(t) => BlockDelta::InputJsonDelta {
            partial_json: t.input.clone(),
        },
        ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t)) => {
            BlockDelta::ThinkingDelta {
                thinking: t.clone(),
            }
        }
        ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(s)) => {
            BlockDelta::SignatureDelta {
                signature: s.clone(),
            }
        }
        ContentBlockDelta::Citation(c) => BlockDelta::CitationsDelta {
            citation: convert_citation(&citation_from_delta(c)),
        },
        _ => return None,
    })
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
