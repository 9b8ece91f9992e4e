//! `stream: true`: SSE transcripts for each emulator script, keep-alive pings, errors before and
//! after the first byte, and unbuffered delivery.

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{assert_error, converse_path, spawn_app, spawn_app_with, TestApp, KEY};

pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) data: Value,
    pub(crate) at: Duration,
}

pub(crate) fn request(prompt: &str) -> Value {
    json!({
        "model": "claude-sonnet-4-6", "max_tokens": 512, "stream": true,
        "tools": [{"name": "Bash", "description": "Run a shell command.",
                   "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}],
        "messages": [{"role": "user", "content": prompt}]
    })
}

/// Sends a streaming request and reads the SSE events as they arrive.
pub(crate) async fn stream(app: &TestApp, body: &Value) -> (u16, Vec<Event>) {
    let started = Instant::now();
    let resp = app
        .http
        .post(format!("{}/v1/messages?beta=true", app.url))
        .header("x-api-key", KEY)
        .json(body)
        .send()
        .await
        .expect("sent");
    let status = resp.status().as_u16();
    if status == 200 {
        let ct = resp.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
    }
    (status, read_events(resp, started).await)
}

/// The SSE events of a response, as they arrive (`at`: since `started`).
pub(crate) async fn read_events(resp: reqwest::Response, started: Instant) -> Vec<Event> {
    let mut events = Vec::new();
    let mut buf = String::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        buf.push_str(std::str::from_utf8(&chunk.expect("chunk")).expect("utf8"));
        while let Some(end) = buf.find("\n\n") {
            let raw: String = buf.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = Value::Null;
            for line in raw.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).expect("data is JSON");
                }
            }
            assert!(
                !name.is_empty(),
                "an SSE event without an event: line: {raw:?}"
            );
            assert_eq!(
                data["type"],
                name.as_str(),
                "event name and data type differ"
            );
            events.push(Event {
                name,
                data,
                at: started.elapsed(),
            });
        }
    }
    assert!(buf.trim().is_empty(), "trailing partial event: {buf:?}");
    events
}

/// The transcript with ids and signatures redacted, for snapshots.
/// Each Claude path has its own transcripts: Converse's are rebuilt by the gateway, the native
/// path's are Bedrock's events relayed.
fn snapshot(name: &str) -> String {
    if converse_path() {
        name.to_owned()
    } else {
        format!("{name}_invoke")
    }
}

fn transcript(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        let mut data = e.data.clone();
        if let Some(m) = data.get_mut("message") {
            m["id"] = json!("[id]");
        }
        if let Some(b) = data.get_mut("content_block") {
            if b.get("id").is_some() {
                b["id"] = json!("[tool-id]");
            }
            if b["type"] == "redacted_thinking" {
                b["data"] = json!("[redacted]");
            }
        }
        if data["delta"]["type"] == "signature_delta" {
            data["delta"]["signature"] = json!("[signature]");
        }
        // Bedrock's own timings in the native stream's last event.
        if let Some(m) = data.get_mut("amazon-bedrock-invocationMetrics") {
            for timing in ["invocationLatency", "firstByteLatency"] {
                if m.get(timing).is_some() {
                    m[timing] = json!("[ms]");
                }
            }
        }
        out.push_str(&format!("event: {}\ndata: {data}\n\n", e.name));
    }
    out
}

/// Checks Anthropic's event grammar: message_start first, dense indices, one block open at a time.
pub(crate) fn assert_grammar(events: &[Event]) {
    let names: Vec<&str> = events
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| *n != "ping")
        .collect();
    assert_eq!(names.first(), Some(&"message_start"));
    let mut open: Option<u64> = None;
    let mut next = 0;
    for e in events {
        match e.name.as_str() {
            "content_block_start" => {
                assert!(open.is_none(), "block opened while another is open");
                assert_eq!(e.data["index"], next);
                open = Some(next);
                next += 1;
            }
            "content_block_delta" => {
                assert_eq!(e.data["index"].as_u64(), open, "delta outside its block")
            }
            "content_block_stop" => {
                assert_eq!(e.data["index"].as_u64(), open);
                open = None;
            }
            _ => {}
        }
    }
}

pub(crate) fn message_delta(events: &[Event]) -> &Event {
    events
        .iter()
        .find(|e| e.name == "message_delta")
        .expect("a message_delta event")
}

fn text_of(events: &[Event], delta: &str, field: &str) -> String {
    events
        .iter()
        .filter(|e| e.data["delta"]["type"] == delta)
        .map(|e| e.data["delta"][field].as_str().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn text_streams_in_anthropics_grammar_with_usage_and_cost() {
    let app = spawn_app().await;
    let (status, events) = stream(&app, &request("hello")).await;
    assert_eq!(status, 200);
    assert_grammar(&events);
    assert_eq!(
        text_of(&events, "text_delta", "text"),
        "Hello from the Bedrock emulator."
    );
    let start = &events[0].data["message"]["usage"];
    assert!(
        start["input_tokens"].as_u64().unwrap_or(0) > 0,
        "message_start needs a non-zero estimate"
    );
    let md = message_delta(&events);
    assert_eq!(md.data["delta"]["stop_reason"], "end_turn");
    assert!(md.data["usage"]["output_tokens"].as_u64().unwrap_or(0) > 0);
    assert!(
        md.data["usage"]["cost"]["total_cost"]
            .as_f64()
            .unwrap_or(0.0)
            > 0.0
    );
    assert_eq!(events.last().map(|e| e.name.as_str()), Some("message_stop"));
    insta::assert_snapshot!(snapshot("sse_text"), transcript(&events));
}

#[tokio::test]
async fn tool_calls_stream_their_input_across_deltas() {
    let app = spawn_app().await;
    let (_, events) = stream(
        &app,
        &request(r#"[[emu:tool Bash {"command": "echo streamed-ok"}]]"#),
    )
    .await;
    assert_grammar(&events);
    let start = events
        .iter()
        .find(|e| e.data["content_block"]["type"] == "tool_use")
        .expect("tool_use block");
    assert_eq!(start.data["content_block"]["name"], "Bash");
    assert_eq!(start.data["content_block"]["input"], json!({}));
    let parts = events
        .iter()
        .filter(|e| e.data["delta"]["type"] == "input_json_delta")
        .count();
    assert!(
        parts > 1,
        "input should arrive in several fragments, got {parts}"
    );
    let input: Value = serde_json::from_str(&text_of(&events, "input_json_delta", "partial_json"))
        .expect("valid JSON");
    assert_eq!(input, json!({"command": "echo streamed-ok"}));
    let md = message_delta(&events);
    assert_eq!(md.data["delta"]["stop_reason"], "tool_use");
    insta::assert_snapshot!(snapshot("sse_tool_use"), transcript(&events));
}

#[tokio::test]
async fn thinking_streams_with_its_signature() {
    let app = spawn_app().await;
    let mut body = request("think first");
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    body["max_tokens"] = json!(4096);
    let (_, events) = stream(&app, &body).await;
    assert_grammar(&events);
    assert_eq!(
        events[1].data["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert!(!text_of(&events, "thinking_delta", "thinking").is_empty());
    assert!(text_of(&events, "signature_delta", "signature").starts_with("emu-sig-"));
    insta::assert_snapshot!(snapshot("sse_thinking"), transcript(&events));
}

#[tokio::test]
async fn redacted_reasoning_arrives_as_a_whole_block() {
    let app = spawn_app().await;
    let mut body = request("[[emu:redacted]] hi");
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    body["max_tokens"] = json!(4096);
    let (_, events) = stream(&app, &body).await;
    assert_grammar(&events);
    let block = events
        .iter()
        .find(|e| e.data["content_block"]["type"] == "redacted_thinking")
        .expect("redacted block");
    assert!(block.data["content_block"]["data"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    insta::assert_snapshot!(snapshot("sse_redacted"), transcript(&events));
}

#[tokio::test]
async fn stop_sequences_end_the_stream_with_the_sequence() {
    let app = spawn_app().await;
    let mut body = request("[[emu:text one two HALT three]]");
    body["stop_sequences"] = json!(["HALT"]);
    let (_, events) = stream(&app, &body).await;
    let md = message_delta(&events);
    assert_eq!(
        md.data["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "HALT"})
    );
    assert!(!text_of(&events, "text_delta", "text").contains("HALT"));
    insta::assert_snapshot!(snapshot("sse_stop_sequence"), transcript(&events));
}

#[tokio::test]
async fn errors_before_the_stream_are_http_errors_clients_can_retry() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/messages",
            &request("[[emu:error ThrottlingException]]"),
            &[("x-api-key", KEY)],
        )
        .await;
    assert_error(&r, 429, "rate_limit_error");
    let r = app
        .post(
            "/v1/messages",
            &request("[[emu:error ServiceUnavailableException]]"),
            &[("x-api-key", KEY)],
        )
        .await;
    assert_error(&r, 529, "overloaded_error");
}

#[tokio::test]
async fn a_mid_stream_exception_becomes_an_error_event() {
    let app = spawn_app().await;
    let (status, events) = stream(
        &app,
        &request("[[emu:long 40]] [[emu:stream-error serviceUnavailableException after=3]]"),
    )
    .await;
    assert_eq!(status, 200);
    let last = events.last().expect("events");
    assert_eq!(last.name, "error");
    assert_eq!(
        last.data["error"]["type"], "overloaded_error",
        "{}",
        last.data
    );
    assert!(!events.iter().any(|e| e.name == "message_stop"));
    insta::assert_snapshot!(snapshot("sse_mid_stream_error"), transcript(&events));
}

#[tokio::test]
async fn a_truncated_upstream_frame_is_an_error_never_a_silent_end() {
    let app = spawn_app().await;
    let (status, events) = stream(&app, &request("[[emu:long 40]] [[emu:truncate after=3]]")).await;
    assert_eq!(status, 200);
    let last = events.last().expect("events");
    assert_eq!(last.name, "error", "{}", transcript(&events));
    assert_eq!(last.data["error"]["type"], "api_error");
}

#[tokio::test]
async fn silence_before_the_first_token_is_filled_with_pings() {
    let app = spawn_app_with(&[("CHATRIX_PING_INTERVAL_SECS", "1")]).await;
    let (status, events) = stream(&app, &request("[[emu:silence 2600]] hi")).await;
    assert_eq!(status, 200);
    assert_eq!(events[0].name, "message_start");
    let pings_before_text = events
        .iter()
        .take_while(|e| e.name != "content_block_start")
        .filter(|e| e.name == "ping")
        .count();
    assert!(pings_before_text >= 2, "{}", transcript(&events));
    assert_grammar(&events);
    assert_eq!(events.last().map(|e| e.name.as_str()), Some("message_stop"));
}

#[tokio::test]
async fn a_slow_drip_is_relayed_event_by_event() {
    let app = spawn_app().await;
    let (_, events) = stream(&app, &request("[[emu:long 6]] [[emu:drip 150]]")).await;
    let deltas: Vec<Duration> = events
        .iter()
        .filter(|e| e.name == "content_block_delta")
        .map(|e| e.at)
        .collect();
    assert!(deltas.len() >= 3, "{}", deltas.len());
    let spread = *deltas.last().expect("deltas") - deltas[0];
    // Buffering would deliver them together; relayed as they come they span the drip.
    assert!(
        spread >= Duration::from_millis(150 * (deltas.len() as u64 - 2)),
        "deltas arrived together: {deltas:?}"
    );
}

/// Starts a stream, reads until the first text delta, drops the connection, and returns how long
/// the emulator's response stayed open afterwards.
async fn cancel_after_first_delta(app: &TestApp, prompt: &str) -> Duration {
    let resp = app.send_messages(&request(prompt)).await;
    let mut chunks = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("content_block_delta") {
        let chunk = chunks.next().await.expect("stream open").expect("chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(
        app.emulator.open_streams(),
        1,
        "the upstream stream should be open"
    );
    drop(chunks);
    let dropped = Instant::now();
    while app.emulator.open_streams() > 0 && dropped.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    dropped.elapsed()
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_bedrock_stream_within_a_second() {
    let app = spawn_app().await;
    let took = cancel_after_first_delta(&app, "[[emu:long 400]] [[emu:drip 50]]").await;
    assert!(
        took < Duration::from_secs(1),
        "upstream stayed open {took:?} after the client left"
    );
}

#[tokio::test]
async fn a_disconnect_during_upstream_silence_also_cancels_within_a_second() {
    let app = spawn_app().await;
    let took = cancel_after_first_delta(&app, "[[emu:long 5]] [[emu:drip 4000]]").await;
    assert!(
        took < Duration::from_secs(1),
        "upstream stayed open {took:?} after the client left"
    );
}
