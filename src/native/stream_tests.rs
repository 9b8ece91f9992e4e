use serde_json::{json, Value};

use super::*;
use crate::models::Price;

pub(super) fn ctx(estimated: bool) -> NativeContext {
    NativeContext {
        client_model: "claude-opus-5-5".into(),
        input_estimate: 42,
        price: Some(ModelPrice {
            base: Price {
                input: 4.0,
                output: 20.0,
                cache_write: Some(5.0),
                cache_read: Some(0.2),
            },
            long_context: None,
            estimated,
        }),
        currency: None,
    }
}

fn chunk(v: &Value) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// (event name, data) of each SSE event in `out`.
fn events(out: &[Bytes]) -> Vec<(String, Value)> {
    out.iter()
        .map(|b| {
            let text = std::str::from_utf8(b).expect("utf8");
            let (head, data) = text.trim_end().split_once("\ndata: ").expect("two lines");
            assert!(text.ends_with("\n\n"), "{text}");
            let name = head.strip_prefix("event: ").expect("event line").to_owned();
            (name, serde_json::from_str(data).expect("json"))
        })
        .collect()
}

fn start() -> Value {
    json!({"type": "message_start", "message": {"id": "msg_bdrk_1", "type": "message", "role": "assistant",
        "model": "claude-opus-5-5-bedrock", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 3, "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 2000, "output_tokens": 1}}})
}

#[test]
fn events_are_relayed_one_by_one_with_the_clients_model_and_bytes() {
    let mut s = NativeStream::new(ctx(false));
    let started = events(&s.on_chunk(&chunk(&start())));
    assert_eq!(started[0].0, "message_start");
    assert_eq!(started[0].1["message"]["model"], "claude-opus-5-5");
    assert_eq!(started[0].1["message"]["id"], "msg_bdrk_1");
    let delta = br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\u00e9"}}"#;
    let out = s.on_chunk(delta);
    assert_eq!(out.len(), 1);
    assert_eq!(
        &out[0][..],
        &[&b"event: content_block_delta\ndata: "[..], delta, b"\n\n"].concat()[..]
    );
}

#[test]
fn usage_reported_only_in_start_and_metrics_reaches_the_final_delta_with_its_cost() {
    let mut s = NativeStream::new(ctx(false));
    s.on_chunk(&chunk(&start()));
    let held = s.on_chunk(&chunk(&json!({"type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 50}})));
    assert!(
        held.is_empty() && s.awaits_usage(),
        "held until message_stop"
    );
    let out = events(&s.on_chunk(&chunk(&json!({"type": "message_stop",
        "amazon-bedrock-invocationMetrics": {"inputTokenCount": 3, "outputTokenCount": 50,
            "invocationLatency": 900, "firstByteLatency": 200}}))));
    assert_eq!(
        out.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["message_delta", "message_stop"]
    );
    let usage = &out[0].1["usage"];
    assert_eq!(usage["input_tokens"], 3);
    assert_eq!(usage["cache_creation_input_tokens"], 1000);
    assert_eq!(usage["cache_read_input_tokens"], 2000);
    assert_eq!(usage["output_tokens"], 50);
    // 3 × 4 + 1000 × 5 + 2000 × 0.2 + 50 × 20, per million.
    assert_eq!(usage["cost"]["total_cost"], 0.006412);
    assert!(usage.get("cost_estimated").is_none());
    assert_eq!(out[0].1["delta"]["stop_reason"], "end_turn");
    assert!(s.is_done());
    assert_eq!(s.final_usage().map(|u| u.output_tokens), Some(50));
}

#[test]
fn metrics_fill_only_what_the_usage_reports_lack() {
    let mut s = NativeStream::new(ctx(true));
    s.on_chunk(&chunk(&json!({"type": "message_start", "message": {"content": [], "usage": {"output_tokens": 1}}})));
    s.on_chunk(&chunk(&json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 7}})));
    let out = events(&s.on_chunk(&chunk(&json!({"type": "message_stop",
        "amazon-bedrock-invocationMetrics": {"inputTokenCount": 40, "outputTokenCount": 9,
            "cacheReadInputTokenCount": 5, "cacheWriteInputTokenCount": 6}}))));
    let usage = &out[0].1["usage"];
    assert_eq!(
        (
            usage["input_tokens"].clone(),
            usage["output_tokens"].clone()
        ),
        (json!(40), json!(7))
    );
    assert_eq!(
        (
            usage["cache_read_input_tokens"].clone(),
            usage["cache_creation_input_tokens"].clone()
        ),
        (json!(5), json!(6))
    );
    assert_eq!(usage["cost_estimated"], true);
}

#[test]
fn a_stream_that_breaks_off_before_its_last_delta_ends_with_an_error_event() {
    let mut s = NativeStream::new(ctx(false));
    s.on_chunk(&chunk(&start()));
    let out = events(&s.finish());
    assert_eq!(out[0].0, "error");
    assert_eq!(out[0].1["error"]["type"], "api_error");
    assert!(s.is_done() && s.failure().is_some());
    assert!(
        s.on_chunk(&chunk(&start())).is_empty(),
        "nothing after the end"
    );
}

#[test]
fn a_missing_message_stop_after_the_last_delta_still_completes_the_message() {
    let mut s = NativeStream::new(ctx(false));
    s.on_chunk(&chunk(&start()));
    s.on_chunk(&chunk(&json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}})));
    let out = events(&s.finish());
    assert_eq!(
        out.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["message_delta", "message_stop"]
    );
    assert!(s.failure().is_none());
}

#[test]
fn error_chunks_are_relayed_verbatim_and_keep_alives_are_dropped() {
    let mut s = NativeStream::new(ctx(false));
    s.on_chunk(&chunk(&start()));
    assert!(s.on_chunk(br#"{"keepalive":true}"#).is_empty());
    assert!(s.on_chunk(br#"{"type":"bad\nname"}"#).is_empty());
    assert!(s.on_chunk(br#"{"type":""}"#).is_empty());
    let err = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let out = s.on_chunk(err);
    assert_eq!(
        &out[0][..],
        &[&b"event: error\ndata: "[..], err, b"\n\n"].concat()[..]
    );
    assert!(s.is_done());
}

#[test]
fn a_mid_stream_failure_is_one_error_event() {
    let mut s = NativeStream::new(ctx(false));
    s.on_chunk(&chunk(&start()));
    let out = events(&s.fail(&ApiError::Overloaded(
        "Bedrock is unable to process your request.".into(),
    )));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1["error"]["type"], "overloaded_error");
    assert_eq!(
        out[0].1["error"]["message"],
        "Bedrock is unable to process your request."
    );
    assert!(s.fail(&ApiError::Upstream("again".into())).is_empty());
}

#[test]
fn a_chunk_with_a_raw_newline_stays_one_data_line() {
    let mut s = NativeStream::new(ctx(false));
    let out = events(&s.on_chunk(b"{\"type\":\"content_block_stop\",\n\"index\":0}"));
    assert_eq!(out[0].1, json!({"type": "content_block_stop", "index": 0}));
}

#[test]
fn after_a_silent_start_our_message_start_stands_and_bedrocks_only_lends_its_usage() {
    let mut s = NativeStream::new(ctx(false));
    let ours = events(&s.start());
    assert_eq!(ours[0].0, "message_start");
    assert_eq!(ours[0].1["message"]["model"], "claude-opus-5-5");
    assert_eq!(ours[0].1["message"]["usage"]["input_tokens"], 42);
    assert!(
        s.on_chunk(&chunk(&start())).is_empty(),
        "no second message_start"
    );
    s.on_chunk(&chunk(&json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}})));
    let out = events(&s.on_chunk(br#"{"type":"message_stop"}"#));
    assert_eq!(
        out[0].1["usage"]["cache_read_input_tokens"], 2000,
        "Bedrock's start usage is kept"
    );
    assert!(s.start().is_empty());
}

#[test]
fn a_keep_alive_before_anything_else_opens_the_message_first() {
    let mut s = NativeStream::new(ctx(false));
    let out = events(&s.on_chunk(br#"{}"#));
    assert_eq!(out[0].0, "message_start");
    assert!(s.on_chunk(&chunk(&start())).is_empty());
}

#[test]
fn a_failed_stream_keeps_message_starts_usage_and_counts_its_deltas() {
    let mut s = NativeStream::new(ctx(false));
    let _ = s.on_chunk(&chunk(&start()));
    let delta =
        br#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}"#;
    for _ in 0..4 {
        let _ = s.on_chunk(delta);
    }
    let _ = s.fail(&ApiError::Overloaded("deadline".into()));
    let usage = s.final_usage().expect("usage after a failure");
    assert_eq!(
        (
            usage.input_tokens,
            usage.cache_creation_input_tokens,
            usage.cache_read_input_tokens,
            usage.output_tokens
        ),
        (3, 1000, 2000, 4)
    );
    assert!(usage.cost.as_ref().is_some_and(|c| c.total_cost > 0.0));
}
