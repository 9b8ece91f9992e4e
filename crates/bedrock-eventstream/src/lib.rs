//! AWS event-stream frames as Bedrock writes them (`application/vnd.amazon.eventstream`), encoded
//! with `aws-smithy-eventstream`, the SDK's own codec. Shared by the Bedrock emulator (which plays
//! Bedrock) and the gateway's Bedrock pass-through routes (which relay what Bedrock sent), so it is
//! a crate of its own that neither owns. Pure; no padding, no knowledge of what the payloads mean.

use std::io;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use aws_smithy_types::str_bytes::StrBytes;
use base64::Engine;
use bytes::Bytes;

/// The response content type of every Bedrock streaming operation.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

fn string_header(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(StrBytes::from(value.to_owned())))
}

fn encode(message: &Message) -> io::Result<Bytes> {
    let mut buf = Vec::new();
    write_message_to(message, &mut buf).map_err(io::Error::other)?;
    Ok(Bytes::from(buf))
}

/// An `event` frame: `:event-type` `kind`, `:content-type` `application/json`, `payload` as given.
///
/// # Errors
/// Only if the codec refuses the frame (a payload over its 16 MB limit).
pub fn event(kind: &str, payload: Vec<u8>) -> io::Result<Bytes> {
    let message = Message::new(payload)
        .add_header(string_header(":event-type", kind))
        .add_header(string_header(":content-type", "application/json"))
        .add_header(string_header(":message-type", "event"));
    encode(&message)
}

/// An `exception` frame: `:exception-type` `kind` (lowerCamel, e.g. `throttlingException`) and a
/// JSON payload such as `{"message":…}`.
///
/// # Errors
/// As [`event`].
pub fn exception(kind: &str, payload: Vec<u8>) -> io::Result<Bytes> {
    let message = Message::new(payload)
        .add_header(string_header(":exception-type", kind))
        .add_header(string_header(":content-type", "application/json"))
        .add_header(string_header(":message-type", "exception"));
    encode(&message)
}

/// InvokeModelWithResponseStream's `chunk` frame around one Anthropic event: the payload is
/// `{"bytes":"<base64 of the event>"}` (`PayloadPart`).
///
/// # Errors
/// As [`event`].
pub fn chunk(bytes: &[u8]) -> io::Result<Bytes> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut payload = Vec::with_capacity(encoded.len() + 12);
    payload.extend_from_slice(br#"{"bytes":""#);
    payload.extend_from_slice(encoded.as_bytes());
    payload.extend_from_slice(br#""}"#);
    event("chunk", payload)
}

/// A string header of a decoded frame, for tests that read frames back.
pub fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(StrBytes::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;
    use serde_json::Value;

    #[test]
    fn a_chunk_frame_carries_the_event_bytes_in_base64_as_bedrock_sends_them() {
        let event = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\u00e9"}}"#;
        let message = read_message_from(chunk(event).expect("encodes")).expect("decodes");
        assert_eq!(header(&message, ":event-type"), Some("chunk"));
        assert_eq!(header(&message, ":message-type"), Some("event"));
        assert_eq!(header(&message, ":content-type"), Some("application/json"));
        let payload: Value = serde_json::from_slice(message.payload()).expect("json");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(payload["bytes"].as_str().expect("bytes"))
            .expect("base64");
        assert_eq!(decoded, event);
    }

    #[test]
    fn an_exception_frame_names_its_type_and_keeps_its_payload() {
        let frame = exception(
            "throttlingException",
            br#"{"message":"slow down"}"#.to_vec(),
        );
        let message = read_message_from(frame.expect("encodes")).expect("decodes");
        assert_eq!(header(&message, ":message-type"), Some("exception"));
        assert_eq!(
            header(&message, ":exception-type"),
            Some("throttlingException")
        );
        assert_eq!(message.payload().as_ref(), br#"{"message":"slow down"}"#);
    }
}
