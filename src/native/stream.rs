//! The InvokeModelWithResponseStream relay as a pure fold: each `chunk` (one Anthropic event as
//! JSON) in, SSE bytes out, one `event:`/`data:` pair per chunk, the client's bytes untouched
//! except where a rule below says otherwise:
//! - `message_start`: `message.model` becomes the name the client sent; its usage is remembered;
//! - `message_delta`: held until `message_stop` arrives (they come back to back), so that usage
//!   Bedrock reports only in `amazon-bedrock-invocationMetrics` can be put where clients read it;
//!   it leaves with the cumulative usage, `cost` and `cost_estimated`;
//! - `message_stop` leaves as Anthropic's plain `{"type":"message_stop"}`;
//! - a chunk without `type` is a keep-alive and is dropped; an `error` event is relayed and ends
//!   the stream.
//!
//! The async shell (`routes::stream`) owns I/O, pings and time. No logging here.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::usage::{self, Metrics, Reported};
use crate::anthropic::events::{StartUsage, StreamEvent};
use crate::anthropic::response::Usage;
use crate::error::ApiError;
use crate::models::ModelPrice;
use crate::pricing::CurrencyConversion;

/// What the relay needs to know about the request.
#[derive(Debug, Clone)]
pub struct NativeContext {
    pub client_model: String,
    /// Input tokens for a `message_start` of our own (see [`NativeStream::start`]); never 0.
    pub input_estimate: u64,
    pub price: Option<ModelPrice>,
    pub currency: Option<CurrencyConversion>,
}

/// The relay's state for one stream.
#[derive(Debug)]
pub struct NativeStream {
    ctx: NativeContext,
    reported: Reported,
    held_delta: Option<Map<String, Value>>,
    final_usage: Option<Usage>,
    failure: Option<&'static str>,
    done: bool,
    /// A `message_start` was sent before Bedrock's arrived.
    started: bool,
    /// `content_block_delta` chunks relayed: each carries at least one output token.
    deltas: u64,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

impl NativeStream {
    pub fn new(ctx: NativeContext) -> Self {
        Self {
            ctx,
            reported: Reported::default(),
            held_delta: None,
            final_usage: None,
            failure: None,
            done: false,
            started: false,
            deltas: 0,
        }
    }

    /// Bedrock was silent for a whole ping interval before its first event: the client gets a
    /// `message_start` of ours (clients require it before anything else, pings included), and
    /// Bedrock's, when it comes, only lends its usage to the final `message_delta`.
    pub fn start(&mut self) -> Vec<Bytes> {
        if self.started || self.done {
            return Vec::new();
        }
        self.started = true;
        let usage = StartUsage::estimate(self.ctx.input_estimate);
        vec![StreamEvent::message_start(self.ctx.client_model.clone(), usage).to_sse()]
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// `message_delta` has arrived and `message_stop` has not.
    pub fn awaits_usage(&self) -> bool {
        self.held_delta.is_some() && !self.done
    }

    /// The billed usage once the message completed; after a failure, what was known then:
    /// `message_start`'s input and cache counts (the estimate before it) and at least one output
    /// token per delta (a lower bound).
    pub fn final_usage(&self) -> Option<&Usage> {
        self.final_usage.as_ref()
    }

    pub fn failure(&self) -> Option<&'static str> {
        self.failure
    }

    /// What Bedrock has reported so far (`message_start`'s usage, before the final delta): what a
    /// stream the client abandoned is billed for.
    pub fn reported_counts(&self) -> Option<crate::pricing::TokenCounts> {
        self.reported
            .input_tokens
            .is_some()
            .then(|| self.reported.to_usage().token_counts())
    }

    /// One `chunk` payload (already base64-decoded by the SDK).
    pub fn on_chunk(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        if self.done {
            return Vec::new();
        }
        let kind = match serde_json::from_slice::<TypeOnly<'_>>(chunk) {
            Ok(TypeOnly { kind: Some(k) }) => k.into_owned(),
            // A keep-alive. Before anything was sent, the client still needs a `message_start`
            // first (pings may follow it).
            Ok(TypeOnly { kind: None }) => return self.start(),
            Err(_) => {
                return self.fail(&ApiError::Upstream(
                    "Bedrock sent a stream event that is not JSON".into(),
                ))
            }
        };
        match kind.as_str() {
            "message_start" => self.on_start(chunk),
            "message_delta" => self.on_delta(chunk),
            "message_stop" => self.on_stop(chunk),
            "content_block_delta" => {
                self.deltas += 1;
                vec![sse(&kind, chunk)]
            }
            k if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
                Vec::new()
            }
            "error" => {
                self.done = true;
                self.failure = Some("upstream error event");
                vec![sse("error", chunk)]
            }
            _ => vec![sse(&kind, chunk)],
        }
    }

    /// The stream failed (an exception frame, a broken connection, silence): one `event: error`.
    pub fn fail(&mut self, error: &ApiError) -> Vec<Bytes> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        self.failure = Some(error.kind());
        let mut known = self.reported;
        known.input_tokens = known.input_tokens.or(Some(self.ctx.input_estimate));
        known.output_tokens = Some(known.output_tokens.unwrap_or(0).max(self.deltas));
        self.final_usage = Some(usage::priced(
            known.to_usage(),
            self.ctx.price.as_ref(),
            self.ctx.currency.as_ref(),
        ));
        vec![StreamEvent::error(error).to_sse()]
    }

    /// The upstream ended (or went quiet after `message_delta`). With the message's last delta
    /// in hand the message is complete; without it, it broke off.
    pub fn finish(&mut self) -> Vec<Bytes> {
        if self.done {
            return Vec::new();
        }
        match self.held_delta.is_some() {
            true => self.complete(&Metrics::default()),
            false => self.fail(&ApiError::Upstream(
                "the Bedrock stream ended before the message was complete".into(),
            )),
        }
    }

    fn on_start(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        let Ok(mut event) = serde_json::from_slice::<Map<String, Value>>(chunk) else {
            return vec![sse("message_start", chunk)];
        };
        if let Some(Value::Object(message)) = event.get_mut("message") {
            if let Some(u) = message.get("usage") {
                self.reported = serde_json::from_value(u.clone()).unwrap_or_default();
            }
            message.insert("model".into(), Value::String(self.ctx.client_model.clone()));
        }
        if std::mem::replace(&mut self.started, true) {
            return Vec::new();
        }
        vec![sse_value("message_start", &Value::Object(event))]
    }

    fn on_delta(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        let Ok(event) = serde_json::from_slice::<Map<String, Value>>(chunk) else {
            return self.fail(&ApiError::Upstream(
                "Bedrock sent a message_delta that is not an object".into(),
            ));
        };
        if let Some(u) = event.get("usage") {
            let later: Reported = serde_json::from_value(u.clone()).unwrap_or_default();
            self.reported = self.reported.updated(&later);
        }
        self.held_delta = Some(event);
        Vec::new()
    }

    fn on_stop(&mut self, chunk: &[u8]) -> Vec<Bytes> {
        #[derive(Deserialize, Default)]
        struct Stop {
            #[serde(rename = "amazon-bedrock-invocationMetrics", default)]
            metrics: Metrics,
        }
        let metrics = serde_json::from_slice::<Stop>(chunk)
            .unwrap_or_default()
            .metrics;
        if self.held_delta.is_none() {
            return self.fail(&ApiError::Upstream(
                "Bedrock ended the message without a message_delta".into(),
            ));
        }
        self.complete(&metrics)
    }

    fn complete(&mut self, metrics: &Metrics) -> Vec<Bytes> {
        let usage = usage::priced(
            self.reported.filled_from(metrics).to_usage(),
            self.ctx.price.as_ref(),
            self.ctx.currency.as_ref(),
        );
        let mut delta = self.held_delta.take().unwrap_or_default();
        let mut target = match delta.remove("usage") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        usage::write_into(&mut target, &usage);
        delta.insert("usage".into(), Value::Object(target));
        self.final_usage = Some(usage);
        self.done = true;
        // Bedrock's `amazon-bedrock-invocationMetrics` have been folded into the delta's usage;
        // the client gets Anthropic's plain `message_stop`.
        vec![
            sse_value("message_delta", &Value::Object(delta)),
            StreamEvent::MessageStop.to_sse(),
        ]
    }
}

/// `event: <name>` with `data:` the chunk's own bytes. JSON never needs a raw newline; a chunk
/// that has one is re-serialized so that it stays one `data:` line.
fn sse(name: &str, data: &[u8]) -> Bytes {
    if data.contains(&b'\n') || data.contains(&b'\r') {
        if let Ok(v) = serde_json::from_slice::<Value>(data) {
            return sse_value(name, &v);
        }
    }
    let mut out = Vec::with_capacity(name.len() + data.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

fn sse_value(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "stream_snapshots.rs"]
mod snapshots;
