//! The AWS event-stream frames Bedrock sends: `event` frames (Converse events, or InvokeModel
//! `chunk`s carrying base64 Anthropic events) with Bedrock's random `"p"` padding, and
//! `exception` frames. Encoded by [`bedrock_eventstream`], the codec shared with the gateway's
//! pass-through routes.

use std::io;

use base64::Engine;
use bytes::Bytes;
use rand::distr::{Alphanumeric, SampleString};
use rand::Rng;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::stream::Event;
use bedrock_eventstream as eventstream;

/// An `event` frame, with Bedrock's random `"p"` padding added to the payload. A native chunk's
/// frame is `:event-type` `chunk` with `{"bytes": <base64 of the Anthropic event>, "p": …}`.
pub(crate) fn event_frame(event: &Event) -> io::Result<Bytes> {
    let (kind, mut payload) = if event.chunk {
        let bytes =
            base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&event.payload)?);
        ("chunk", json!({ "bytes": bytes }))
    } else {
        (event.kind, event.payload.clone())
    };
    let mut rng = rand::rng();
    let pad_len = rng.random_range(1..=48);
    payload["p"] = Value::String(Alphanumeric.sample_string(&mut rng, pad_len));
    eventstream::event(kind, serde_json::to_vec(&payload)?)
}

/// An `exception` frame (`:exception-type` `throttlingException`, …).
pub(crate) fn exception_frame(error: &BedrockError) -> io::Result<Bytes> {
    eventstream::exception(&error.stream_type(), serde_json::to_vec(&error.payload())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use bedrock_eventstream::header;

    #[test]
    fn event_frames_round_trip_with_padding() {
        let event = Event::new(
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        );
        let frame = event_frame(&event).expect("encodes");
        let message = read_message_from(frame).expect("decodes");
        assert_eq!(header(&message, ":event-type"), Some("contentBlockDelta"));
        assert_eq!(header(&message, ":message-type"), Some("event"));
        assert_eq!(header(&message, ":content-type"), Some("application/json"));
        let payload: Value = serde_json::from_slice(message.payload()).expect("json");
        assert_eq!(payload["delta"]["text"], "Hello");
        assert!(payload["p"].as_str().is_some_and(|p| !p.is_empty()));
    }

    #[test]
    fn native_chunks_carry_the_anthropic_event_in_base64_bytes() {
        let event = Event::chunk(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
        );
        let message = read_message_from(event_frame(&event).expect("encodes")).expect("decodes");
        assert_eq!(header(&message, ":event-type"), Some("chunk"));
        assert_eq!(header(&message, ":message-type"), Some("event"));
        let payload: Value = serde_json::from_slice(message.payload()).expect("json");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(payload["bytes"].as_str().expect("bytes"))
            .expect("base64");
        let inner: Value = serde_json::from_slice(&bytes).expect("inner json");
        assert_eq!(inner, event.payload);
    }

    #[test]
    fn exception_frames_carry_the_camel_case_type() {
        let error = BedrockError::named("ThrottlingException", None, None);
        let message =
            read_message_from(exception_frame(&error).expect("encodes")).expect("decodes");
        assert_eq!(
            header(&message, ":exception-type"),
            Some("throttlingException")
        );
        assert_eq!(header(&message, ":message-type"), Some("exception"));
        let payload: Value = serde_json::from_slice(message.payload()).expect("json");
        assert_eq!(
            payload["message"],
            "Too many requests, please wait before trying again."
        );
    }
}
