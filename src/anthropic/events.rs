//! Anthropic's streaming events, typed: every event the gateway writes itself on either upstream
//! path (the Converse fold builds all of its events here; the native relay passes Bedrock's own
//! events on as bytes and builds only the ones it writes: its `message_start`, the final usage,
//! `message_stop`, `error`). Serde only, no I/O.
//!
//! The SSE `event:` name is derived from the variant, the same name serde writes as `type`, so
//! the two can never disagree (a unit test checks every variant).
//!
//! The framing is our own rather than `axum::response::sse::Event`: the native relay forwards
//! Bedrock's event bytes without parsing them, and the folds are pure functions that yield
//! `Bytes`, which axum's `Event` (a builder that owns a `String` and is only written by axum's
//! `Sse` response) does not give.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::response::{new_message_id, CacheCreation, MessagesResponse, ResponseBlock, Usage};
use crate::error::{ApiError, ErrorObject};
use crate::pricing::Cost;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    MessageStart {
        message: MessagesResponse<StartUsage>,
    },
    ContentBlockStart {
        index: u32,
        content_block: ResponseBlock,
    },
    ContentBlockDelta {
        index: u32,
        delta: BlockDelta,
    },
    ContentBlockStop {
        index: u32,
    },
    MessageDelta {
        delta: StopDelta,
        usage: DeltaUsage,
    },
    MessageStop,
    Ping,
    Error {
        error: ErrorObject,
    },
}

/// A `content_block_delta`'s `delta`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockDelta {
    TextDelta { text: String },
    InputJsonDelta { partial_json: String },
    ThinkingDelta { thinking: String },
    SignatureDelta { signature: String },
    CitationsDelta { citation: Value },
}

/// `message_delta.delta`: how the message ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopDelta {
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
}

/// `message_start.message.usage`: a placeholder until the final `message_delta`; the input count
/// is an estimate (never 0: Claude Code's context meter ignores 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StartUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<&'static str>,
}

impl StartUsage {
    /// `input_estimate` input tokens (at least 1) and nothing else.
    pub fn estimate(input_estimate: u64) -> Self {
        Self {
            input_tokens: input_estimate.max(1),
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
            service_tier: None,
        }
    }
}

/// The final `message_delta.usage`: cumulative figures, with Chatrix's `cost` and
/// `cost_estimated`. Written from a [`Usage`] by [`DeltaUsage::of`] on both paths (the native
/// relay merges it into the usage object Bedrock sent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeltaUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
    /// The 5-minute / 1-hour split of the cache writes; `None` leaves it out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cost_estimated: bool,
}

impl DeltaUsage {
    /// `usage`'s figures, split, cost and estimate flag (`service_tier` is not a delta field).
    pub fn of(usage: &Usage) -> Self {
        Self {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_creation_input_tokens: usage.cache_creation_input_tokens,
            cache_read_input_tokens: usage.cache_read_input_tokens,
            cache_creation: Some(usage.cache_creation),
            cost: usage.cost.clone(),
            cost_estimated: usage.cost_estimated,
        }
    }
}

impl StreamEvent {
    /// A `message_start` with a fresh id: an empty assistant message of `model`.
    pub fn message_start(model: String, usage: StartUsage) -> Self {
        Self::MessageStart {
            message: MessagesResponse {
                id: new_message_id(),
                kind: "message",
                role: "assistant",
                model,
                content: Vec::new(),
                stop_reason: None,
                stop_sequence: None,
                usage,
            },
        }
    }

    /// The `error` event for a failure after the 200 has gone out.
    pub fn error(error: &ApiError) -> Self {
        Self::Error {
            error: error.object(),
        }
    }

    /// The SSE `event:` name, which is also the `type` field.
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Ping => "ping",
            Self::Error { .. } => "error",
        }
    }

    /// The wire form: `event:` line, `data:` line (the event as compact JSON, which never holds a
    /// raw newline), blank line. Serialized straight into the buffer, with no JSON tree between.
    pub fn to_sse(&self) -> Bytes {
        let name = self.name();
        let mut out = Vec::with_capacity(name.len() + 64);
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        if serde_json::to_writer(&mut out, self).is_err() {
            // Unreachable: every field is a string, number, bool or a JSON value, and writing to
            // a `Vec` cannot fail. Should that change, the client still gets an `error` event.
            return Self::error(&ApiError::Upstream("event not serializable".into())).to_sse();
        }
        out.extend_from_slice(b"\n\n");
        Bytes::from(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_events_sse_name_is_its_type() {
        let events = [
            StreamEvent::message_start("m".into(), StartUsage::estimate(0)),
            StreamEvent::ContentBlockStart {
                index: 0,
                content_block: ResponseBlock::RedactedThinking { data: "x".into() },
            },
            StreamEvent::ContentBlockDelta {
                index: 0,
                delta: BlockDelta::SignatureDelta {
                    signature: "s".into(),
                },
            },
            StreamEvent::ContentBlockStop { index: 0 },
            StreamEvent::MessageDelta {
                delta: StopDelta {
                    stop_reason: "end_turn",
                    stop_sequence: None,
                },
                usage: DeltaUsage::of(&Usage::default()),
            },
            StreamEvent::MessageStop,
            StreamEvent::Ping,
            StreamEvent::error(&ApiError::Overloaded("busy".into())),
        ];
        for e in events {
            let text = String::from_utf8(e.to_sse().to_vec()).expect("UTF-8");
            let (head, data) = text.split_once("\ndata: ").expect("two lines");
            assert_eq!(head, format!("event: {}", e.name()));
            assert!(
                data.ends_with("}\n\n") && !data.trim_end().contains('\n'),
                "{text}"
            );
            let data: Value = serde_json::from_str(data).expect("JSON");
            assert_eq!(data["type"], e.name(), "{text}");
        }
    }

    #[test]
    fn message_starts_get_fresh_ids_and_a_non_zero_input_count() {
        let a = StreamEvent::message_start("m".into(), StartUsage::estimate(0));
        let b = StreamEvent::message_start("m".into(), StartUsage::estimate(7));
        match (a, b) {
            (
                StreamEvent::MessageStart { message: a },
                StreamEvent::MessageStart { message: b },
            ) => {
                assert_ne!(a.id, b.id);
                assert_eq!((a.usage.input_tokens, b.usage.input_tokens), (1, 7));
            }
            other => panic!("{other:?}"),
        }
    }
}
