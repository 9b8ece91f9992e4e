//! Usage read from what the pass-through relays, never changing it: Bedrock's Anthropic Message
//! (`usage`), or the stream's chunks (`message_start.message.usage`, `message_delta.usage`, and
//! the `amazon-bedrock-invocationMetrics` Bedrock adds to the last chunk of every model's stream).
//! Folded as on the native path ([`crate::native::usage`]): later reports override earlier ones,
//! the invocation metrics fill what no report carried. Pure.

use serde::Deserialize;

use crate::anthropic::response::Usage;
use crate::models::ModelPrice;
use crate::native::usage::{priced, Metrics, Reported};
use crate::pricing::{CurrencyConversion, TokenCounts};

/// One chunk, reduced to the parts that carry usage.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    message: Option<Nested>,
    #[serde(default)]
    usage: Option<Reported>,
    #[serde(rename = "amazon-bedrock-invocationMetrics", default)]
    metrics: Option<Metrics>,
}

#[derive(Deserialize)]
struct Nested {
    #[serde(default)]
    usage: Option<Reported>,
}

/// Usage seen so far in one stream.
#[derive(Debug, Default)]
pub struct Meter {
    reported: Reported,
    metrics: Metrics,
    seen: bool,
    /// Bedrock's invocation metrics arrived: they ride on the stream's last chunk.
    ended: bool,
}

impl Meter {
    /// Reads one chunk's bytes (one Anthropic event, or another model's JSON chunk).
    pub fn on_chunk(&mut self, chunk: &[u8]) {
        let Ok(parsed) = serde_json::from_slice::<Chunk>(chunk) else {
            return;
        };
        for report in [parsed.message.and_then(|m| m.usage), parsed.usage]
            .into_iter()
            .flatten()
        {
            self.reported = self.reported.updated(&report);
            self.seen = true;
        }
        if let Some(metrics) = parsed.metrics {
            self.metrics = metrics;
            self.seen = true;
            self.ended = true;
        }
    }

    /// Whether the chunk just read was the stream's last (it carried the invocation metrics), so
    /// spend control settles before it is sent.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The token counts seen so far (what a stream the client left is billed by).
    pub fn counts(&self) -> Option<TokenCounts> {
        self.seen.then(|| {
            self.reported
                .filled_from(&self.metrics)
                .to_usage()
                .token_counts()
        })
    }

    /// The usage and its cost; `None` when nothing reported any usage.
    pub fn usage(
        &self,
        price: Option<&ModelPrice>,
        currency: Option<&CurrencyConversion>,
    ) -> Option<Usage> {
        self.seen.then(|| {
            priced(
                self.reported.filled_from(&self.metrics).to_usage(),
                price,
                currency,
            )
        })
    }
}

/// A non-streaming answer's usage: the Message's `usage` (Anthropic models) or nothing.
pub fn message_usage(
    body: &[u8],
    price: Option<&ModelPrice>,
    currency: Option<&CurrencyConversion>,
) -> Option<Usage> {
    let mut meter = Meter::default();
    meter.on_chunk(body);
    meter.usage(price, currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Price;

    fn price() -> ModelPrice {
        ModelPrice {
            base: Price {
                input: 4.0,
                output: 20.0,
                cache_write: Some(5.0),
                cache_read: Some(0.2),
            },
            long_context: None,
            estimated: false,
        }
    }

    #[test]
    fn a_stream_is_metered_from_start_delta_and_invocation_metrics_without_double_counting() {
        let mut meter = Meter::default();
        for chunk in [
            r#"{"type":"message_start","message":{"id":"msg_bdrk_1","usage":{"input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":1}}}"#,
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#,
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":50}}"#,
            r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":100,"outputTokenCount":50,"cacheReadInputTokenCount":1000,"cacheWriteInputTokenCount":20}}"#,
        ] {
            meter.on_chunk(chunk.as_bytes());
        }
        let usage = meter.usage(Some(&price()), None).expect("usage");
        assert_eq!(
            (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_input_tokens,
                usage.cache_creation_input_tokens
            ),
            (100, 50, 1000, 20)
        );
        let cost = usage.cost.expect("priced").total_cost;
        let want = (100.0 * 4.0 + 50.0 * 20.0 + 1000.0 * 0.2 + 20.0 * 5.0) / 1e6;
        assert!((cost - want).abs() < 1e-12, "{cost} vs {want}");
    }

    #[test]
    fn another_models_stream_is_metered_from_the_invocation_metrics_alone() {
        let mut meter = Meter::default();
        meter.on_chunk(br#"{"choices":[{"delta":{"content":"hi"}}]}"#);
        assert!(meter.usage(None, None).is_none());
        meter.on_chunk(br#"{"choices":[],"amazon-bedrock-invocationMetrics":{"inputTokenCount":7,"outputTokenCount":3}}"#);
        let usage = meter.usage(None, None).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (7, 3));
        assert!(usage.cost.is_none());
    }

    #[test]
    fn a_message_is_metered_from_its_usage_and_anything_else_is_not() {
        let body = br#"{"id":"msg_bdrk_1","content":[{"type":"text","text":"{\"usage\":1}"}],"usage":{"input_tokens":10,"output_tokens":2}}"#;
        let usage = message_usage(body, Some(&price()), None).expect("usage");
        assert_eq!((usage.input_tokens, usage.output_tokens), (10, 2));
        assert!(message_usage(b"not json", None, None).is_none());
        assert!(message_usage(br#"{"outputs":[]}"#, None, None).is_none());
    }

    #[test]
    fn the_chunk_with_invocation_metrics_ends_the_stream_and_counts_are_kept_until_then() {
        let mut meter = Meter::default();
        assert_eq!(meter.counts(), None);
        meter.on_chunk(br#"{"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}}"#);
        assert!(!meter.ended());
        assert_eq!(meter.counts().map(|c| (c.input, c.output)), Some((12, 1)));
        meter.on_chunk(br#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":12,"outputTokenCount":30}}"#);
        assert!(meter.ended());
    }
}
