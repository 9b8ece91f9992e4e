//! ConverseStream's event sequence for a reply, and the paced streaming body both stream
//! operations share (silence, drip, in-stream exceptions, truncation, corruption, stamps, the
//! open-streams count). Each frame ([`super::frame`]) is flushed as its own chunk.

use std::io;
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use futures::Stream;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::frame::{event_frame, exception_frame};
use super::output::Block;
use super::plan::Reply;
use super::respond;

/// The member of a native `message_stop` that carries Bedrock's own counts and latencies.
pub(crate) const INVOCATION_METRICS: &str = "amazon-bedrock-invocationMetrics";

/// One event of the stream, before framing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    /// The Converse event type, or the Anthropic event `type` of an InvokeModel chunk.
    pub(crate) kind: &'static str,
    pub(crate) payload: Value,
    /// An InvokeModelWithResponseStream `chunk`: the payload travels base64-encoded in `bytes`.
    pub(crate) chunk: bool,
}

impl Event {
    pub(crate) fn new(kind: &'static str, payload: Value) -> Self {
        Self {
            kind,
            payload,
            chunk: false,
        }
    }

    /// A native chunk carrying one Anthropic streaming event.
    pub(crate) fn chunk(kind: &'static str, payload: Value) -> Self {
        Self {
            kind,
            payload,
            chunk: true,
        }
    }

    fn is_delta(&self) -> bool {
        matches!(self.kind, "contentBlockDelta" | "content_block_delta")
    }

    fn is_stop(&self) -> bool {
        matches!(self.kind, "messageStop" | "message_stop")
    }
}

/// The events Bedrock sends for `reply`; `metadata` gets its `metrics` when it is sent.
pub(crate) fn events(reply: &Reply, usage: &Value, paths: &[String]) -> Vec<Event> {
    let mut out = vec![Event::new("messageStart", json!({"role": "assistant"}))];
    for (index, block) in reply.blocks.iter().enumerate() {
        let delta = |delta: Value| {
            Event::new(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": delta}),
            )
        };
        match block {
            Block::Text(text) => {
                out.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({"text": t}))),
                );
            }
            Block::Reasoning { text, signature } => {
                out.extend(
                    text_pieces(text)
                        .into_iter()
                        .map(|t| delta(json!({"reasoningContent": {"text": t}}))),
                );
                if let Some(signature) = signature {
                    out.push(delta(json!({"reasoningContent": {"signature": signature}})));
                }
            }
            Block::Redacted(data) => {
                out.push(delta(
                    json!({"reasoningContent": {"redactedContent": data}}),
                ));
            }
            Block::ToolUse { id, name, input } => {
                out.push(Event::new(
                    "contentBlockStart",
                    json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": id, "name": name}}}),
                ));
                out.extend(
                    json_pieces(&input.to_string())
                        .into_iter()
                        .map(|f| delta(json!({"toolUse": {"input": f}}))),
                );
            }
        }
        out.push(Event::new(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
    }
    let mut stop = json!({"stopReason": reply.stop_reason});
    if let Some(fields) = respond::additional_fields(reply, paths) {
        stop["additionalModelResponseFields"] = fields;
    }
    out.push(Event::new("messageStop", stop));
    out.push(Event::new("metadata", json!({"usage": usage})));
    out
}

/// Two words per delta, as Claude streams roughly.
pub(crate) fn text_pieces(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_inclusive(' ').collect();
    words.chunks(2).map(|c| c.concat()).collect()
}

/// Tool input JSON in at most ~20 fragments of at least 16 characters.
pub(crate) fn json_pieces(json: &str) -> Vec<String> {
    let chars: Vec<char> = json.chars().collect();
    let size = (chars.len() / 20).max(16);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Counts an open stream for as long as it lives (it is moved into the body).
#[derive(Debug)]
pub(crate) struct OpenStream(std::sync::Arc<std::sync::atomic::AtomicUsize>);

/// The failure a reply asks for, split the way both streaming operations need it: one before any
/// output is the whole answer (sent after the reply's silence); one after N deltas travels in the
/// stream as an exception frame.
pub(crate) async fn in_stream_error(
    reply: &Reply,
) -> Result<Option<(usize, BedrockError)>, BedrockError> {
    match (reply.error.clone(), reply.stream_error_after) {
        (Some(error), None) => {
            tokio::time::sleep(reply.silence).await;
            Err(error)
        }
        (Some(error), Some(after)) => Ok(Some((after, error))),
        (None, _) => Ok(None),
    }
}

impl Pacing {
    /// How `reply` goes out on the wire.
    pub(crate) fn of(
        reply: &Reply,
        open: OpenStream,
        started: Instant,
        error: Option<(usize, BedrockError)>,
    ) -> Self {
        Self {
            open,
            started,
            silence: reply.silence,
            drip: reply.drip,
            error,
            truncate_after: reply.truncate_after,
            corrupt_after: reply.corrupt_after,
            stamp: reply.stamp,
        }
    }
}

impl OpenStream {
    pub(crate) fn new(count: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// How the body is paced and where it breaks.
pub(crate) struct Pacing {
    /// Dropped with the body, whether it ran to the end or the client went away.
    pub(crate) open: OpenStream,
    pub(crate) started: Instant,
    pub(crate) silence: Duration,
    pub(crate) drip: Duration,
    /// Exception frame sent once this many deltas went out.
    pub(crate) error: Option<(usize, BedrockError)>,
    /// Half a frame, then the connection drops, once this many deltas went out.
    pub(crate) truncate_after: Option<usize>,
    /// A frame with a bad message checksum, then the end of the body, once this many deltas
    /// went out.
    pub(crate) corrupt_after: Option<usize>,
    /// Text deltas say when they were sent (`@<µs since the Unix epoch> `) instead of their words.
    pub(crate) stamp: bool,
}

/// `@` and the wall-clock time in microseconds, 16 digits: a client on the same machine subtracts
/// it from its own clock to see how long the delta took to reach it, free of timer jitter.
fn send_stamp() -> String {
    format!("@{:016} ", unix_micros())
}

fn unix_micros() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// The streaming body: one chunk per frame.
pub(crate) fn body(events: Vec<Event>, pacing: Pacing) -> Body {
    Body::from_stream(frames(events, pacing))
}

fn frames(events: Vec<Event>, pacing: Pacing) -> impl Stream<Item = io::Result<Bytes>> {
    async_stream::try_stream! {
        let _open = &pacing.open;
        tokio::time::sleep(pacing.silence).await;
        let mut deltas = 0usize;
        let mut first_byte_ms = None;
        for (i, mut event) in events.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pacing.drip).await;
            }
            // Breaks happen where a delta (or, after the last delta, `messageStop`) would go.
            let breakpoint = event.is_delta() || event.is_stop();
            if let Some((_, error)) = pacing.error.as_ref().filter(|(after, _)| breakpoint && deltas >= *after) {
                yield exception_frame(error)?;
                break;
            }
            if pacing.stamp {
                if let Some(text) = event.payload.pointer_mut("/delta/text") {
                    *text = Value::String(send_stamp());
                }
            }
            let latency = u64::try_from(pacing.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let first_byte = *first_byte_ms.get_or_insert(latency);
            if event.kind == "metadata" {
                event.payload["metrics"] = respond::metrics(latency);
            }
            if let Some(metrics) = event.payload.get_mut(INVOCATION_METRICS) {
                metrics["invocationLatency"] = json!(latency);
                metrics["firstByteLatency"] = json!(first_byte);
            }
            let frame = event_frame(&event)?;
            if breakpoint && pacing.truncate_after.is_some_and(|after| deltas >= after) {
                yield frame.slice(..frame.len() / 2);
                // Let the half frame reach the client before the connection is dropped.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(io::Error::new(io::ErrorKind::ConnectionAborted, "emulated truncated stream"))?;
            }
            if breakpoint && pacing.corrupt_after.is_some_and(|after| deltas >= after) {
                // The last four bytes are the message CRC; flipping one fails the check.
                let mut bad = frame.to_vec();
                if let Some(last) = bad.last_mut() {
                    *last ^= 0xff;
                }
                yield Bytes::from(bad);
                break;
            }
            if event.is_delta() {
                deltas += 1;
            }
            yield frame;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    #[test]
    fn text_and_tool_input_are_split_into_several_deltas() {
        assert_eq!(
            text_pieces("Hello from the Bedrock emulator."),
            vec!["Hello from ", "the Bedrock ", "emulator."]
        );
        let json = r#"{"command":"ls -la /tmp && echo done"}"#;
        let pieces = json_pieces(json);
        assert!(pieces.len() > 1);
        assert_eq!(pieces.concat(), json);
    }

    #[tokio::test]
    async fn stamped_text_deltas_carry_their_send_time() -> anyhow::Result<()> {
        use futures::TryStreamExt;
        let events = vec![
            Event::new("messageStart", json!({"role": "assistant"})),
            Event::new(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "a "}}),
            ),
            Event::new(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": "b"}}),
            ),
            Event::new("contentBlockStop", json!({"contentBlockIndex": 0})),
        ];
        let pacing = Pacing {
            open: OpenStream::new(std::sync::Arc::default()),
            started: Instant::now(),
            silence: Duration::ZERO,
            drip: Duration::from_millis(20),
            error: None,
            truncate_after: None,
            corrupt_after: None,
            stamp: true,
        };
        let before = unix_micros();
        let frames: Vec<Bytes> = frames(events, pacing).try_collect().await?;
        let after = unix_micros();
        let mut stamps = Vec::new();
        for frame in frames {
            let message = read_message_from(frame)?;
            let payload: Value = serde_json::from_slice(message.payload())?;
            if let Some(text) = payload.pointer("/delta/text").and_then(Value::as_str) {
                let digits = text.strip_prefix('@').and_then(|t| t.strip_suffix(' '));
                let digits = digits.ok_or_else(|| anyhow::anyhow!("not a stamp: {text}"))?;
                assert_eq!(digits.len(), 16, "{text}");
                stamps.push(digits.parse::<u128>()?);
            }
        }
        assert_eq!(stamps.len(), 2);
        assert!(
            stamps.iter().all(|s| (before..=after).contains(s)),
            "{stamps:?}"
        );
        // Sent 20 ms apart (the drip), so each stamp is the send time, not the build time.
        assert!(stamps[1] - stamps[0] >= 19_000, "{stamps:?}");
        Ok(())
    }
}
