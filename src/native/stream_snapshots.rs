//! The relay's SSE output, byte for byte, for the events it writes itself (its own
//! `message_start`, the final `message_delta`'s usage, `message_stop`, `error`) and the ones it
//! relays: taken before the relay moved onto the typed event model (`anthropic::events`) and
//! kept unchanged since, but for the one case its test names. Our own message id is random and
//! shows as `[id]`.

use bytes::Bytes;
use serde_json::{json, Value};

use super::tests::ctx;
use super::NativeStream;
use crate::error::ApiError;

fn text(out: &[Bytes]) -> String {
    let all: String = out
        .iter()
        .map(|b| std::str::from_utf8(b).expect("UTF-8").to_owned())
        .collect();
    match all.find("\"id\":\"msg_bdrk_") {
        Some(at) => {
            let start = at + "\"id\":\"".len();
            let len = all[start..].find('"').expect("closing quote");
            all.replace(&all[start..start + len], "[id]")
        }
        None => all,
    }
}

fn chunk(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn bedrock_start() -> Vec<u8> {
    chunk(
        &json!({"type": "message_start", "message": {"id": "msg_bdrk_01", "type": "message",
        "role": "assistant", "model": "claude-opus-5-5", "content": [], "stop_reason": null,
        "stop_sequence": null, "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 2000, "output_tokens": 1}}}),
    )
}

const BLOCK: &[&[u8]] = &[
    br#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
    br#"{"type":"content_block_stop","index":0}"#,
];

fn stop() -> Vec<u8> {
    chunk(
        &json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 3, "outputTokenCount": 5, "invocationLatency": 900,
        "firstByteLatency": 200, "cacheReadInputTokenCount": 2000,
        "cacheWriteInputTokenCount": 1000}}),
    )
}

/// A whole stream whose last delta carries `usage` (or none).
fn whole(estimated: bool, usage: Option<Value>) -> String {
    let mut s = NativeStream::new(ctx(estimated));
    let mut out = s.on_chunk(&bedrock_start());
    for c in BLOCK {
        out.extend(s.on_chunk(c));
    }
    let mut delta = json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null}});
    if let Some(u) = usage {
        delta["usage"] = u;
    }
    out.extend(s.on_chunk(&chunk(&delta)));
    out.extend(s.on_chunk(&stop()));
    text(&out)
}

#[test]
fn a_relayed_stream_with_bedrocks_usage_is_as_before() {
    let only_output = whole(false, Some(json!({"output_tokens": 5})));
    let full = whole(
        true,
        Some(
            json!({"input_tokens": 3, "cache_creation_input_tokens": 1000,
            "cache_read_input_tokens": 2000, "output_tokens": 5,
            "server_tool_use": {"web_search_requests": 1}, "service_tier": "standard"}),
        ),
    );
    insta::assert_snapshot!([only_output, full].join("----\n"));
}

#[test]
fn our_own_message_start_and_a_stream_ended_by_finish_are_as_before() {
    let mut s = NativeStream::new(ctx(false));
    let mut out = s.start();
    out.extend(s.on_chunk(&bedrock_start()));
    out.extend(s.on_chunk(BLOCK[1]));
    out.extend(s.on_chunk(&chunk(&json!({"type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
        "usage": {"output_tokens": 1}}))));
    out.extend(s.finish());
    insta::assert_snapshot!(text(&out));
}

#[test]
fn failures_of_a_relayed_stream_are_as_before() {
    let mut failed = NativeStream::new(ctx(false));
    let mut out = failed.on_chunk(br#"{"keepalive":true}"#);
    out.extend(failed.fail(&ApiError::Overloaded("Bedrock is busy".into())));
    let mut errored = NativeStream::new(ctx(false));
    let mut relayed = errored.on_chunk(&bedrock_start());
    relayed.extend(errored.on_chunk(
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    ));
    let mut broken = NativeStream::new(ctx(false));
    let mut cut = broken.on_chunk(&bedrock_start());
    cut.extend(broken.finish());
    insta::assert_snapshot!([text(&out), text(&relayed), text(&cut)].join("----\n"));
}

/// Bedrock always sends `usage` with the last delta (PROTOCOL.md: `output_tokens` is required);
/// this is what the relay writes when it does not. The one change the typed model made: the keys
/// come in [`crate::anthropic::events::DeltaUsage`]'s order (`output_tokens` second, as on
/// Converse) where the relay used to put it after the cache counts; the object is the same.
#[test]
fn a_last_delta_without_usage_is_as_before() {
    insta::assert_snapshot!(whole(false, None));
}
