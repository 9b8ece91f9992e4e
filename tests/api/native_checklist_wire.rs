//! NATIVE.md §10 stream items the emulator cannot provoke, against a stand-in Bedrock that answers
//! with exact bytes: an exception frame before the first chunk, chunks with odd spacing or a raw
//! newline, a stream that ends without `message_stop`, and usage split over the three places
//! Bedrock puts it. The gateway's real `aws-sdk-bedrockruntime` client parses every answer; the
//! stand-in is shared with `native_checklist_errors.rs`. docs/api.md ("NATIVE.md §10 checklist")
//! maps items to tests.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Uri;
use axum::response::Response;
use bedrock_eventstream as eventstream;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::{assert_error, spawn_app_routed, TestApp};
use crate::streaming::read_events;

/// The native path pinned, and no `ListInferenceProfiles` call to the stand-in.
pub(crate) const INVOKE: &[(&str, &str)] = &[
    ("CHATRIX_CLAUDE_API", "invoke"),
    ("CHATRIX_DISCOVERY_INTERVAL_SECS", "0"),
];
/// Whichever path this run of the suite uses.
pub(crate) const EITHER: &[(&str, &str)] = &[("CHATRIX_DISCOVERY_INTERVAL_SECS", "0")];
const MODEL: &str = "claude-opus-5-5";

type Answer = Arc<dyn Fn(&str) -> Response + Send + Sync>;

/// A Bedrock that answers every request with `answer(path)`; returns its URL.
pub(crate) async fn stand_in(answer: impl Fn(&str) -> Response + Send + Sync + 'static) -> String {
    let answer: Answer = Arc::new(answer);
    let router = axum::Router::new().fallback(move |uri: Uri, _body: Bytes| {
        let answer = Arc::clone(&answer);
        async move { answer(uri.path()) }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

pub(crate) fn response(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Response {
    let mut builder = Response::builder()
        .status(status)
        .header("x-amzn-requestid", "5f0c7d2e-0000-4000-8000-000000000001");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body)).expect("response")
}

/// InvokeModelWithResponseStream's 200: these frames, then the end of the body.
fn event_stream(frames: &[Bytes]) -> Response {
    let content_type = [("content-type", eventstream::CONTENT_TYPE)];
    response(200, &content_type, frames.concat())
}

fn chunk(event: &str) -> Bytes {
    eventstream::chunk(event.as_bytes()).expect("chunk frame")
}

fn exception(kind: &str, payload: &Value) -> Bytes {
    eventstream::exception(kind, payload.to_string().into_bytes()).expect("exception frame")
}

/// A Bedrock HTTP error as the SDK parses it: the name in `x-amzn-errortype`, fields in the body.
pub(crate) fn http_error(status: u16, name: &str, body: &Value) -> Response {
    let error_type = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    let headers = [
        ("x-amzn-errortype", error_type.as_str()),
        ("content-type", "application/json"),
    ];
    response(status, &headers, body.to_string().into_bytes())
}

async fn app_over(extra: &[(&str, &str)], frames: Vec<Bytes>) -> TestApp {
    let url = stand_in(move |_| event_stream(&frames)).await;
    spawn_app_routed(extra, &url).await
}

pub(crate) fn ask(stream: bool) -> Value {
    json!({"model": MODEL, "max_tokens": 64, "stream": stream,
           "messages": [{"role": "user", "content": "hi"}]})
}

async fn stream_text(app: &TestApp) -> (u16, String) {
    let r = app.send_messages(&ask(true)).await;
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

const START: &str = r#"{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-opus-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":1000,"cache_read_input_tokens":2000,"output_tokens":1}}}"#;
const BLOCK_START: &str =
    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#;
const BLOCK_STOP: &str = r#"{"type":"content_block_stop","index":0}"#;
const DELTA: &str = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":50}}"#;

#[tokio::test]
async fn an_exception_frame_before_the_first_chunk_is_a_real_http_error() {
    let envelope = json!({"type": "error", "error": {"type": "invalid_request_error",
        "message": "messages.0.content: Field required"}});
    let cases = [
        (
            "throttlingException",
            json!({"message": "Too many tokens, please wait before trying again."}),
            429,
            "rate_limit_error",
        ),
        (
            "serviceUnavailableException",
            json!({"message": "Bedrock is unable to process your request."}),
            529,
            "overloaded_error",
        ),
        (
            "modelStreamErrorException",
            json!({"message": "The model is busy.", "originalStatusCode": 429, "originalMessage": "Rate limited"}),
            429,
            "rate_limit_error",
        ),
        (
            "modelTimeoutException",
            json!({"message": "Model has timed out in processing the request."}),
            504,
            "timeout_error",
        ),
        (
            "internalServerException",
            json!({"message": "The system encountered an unexpected error."}),
            500,
            "api_error",
        ),
        (
            "validationException",
            json!({"message": format!("The model returned the following errors: {envelope}")}),
            400,
            "invalid_request_error",
        ),
    ];
    for (kind, payload, status, error_type) in cases {
        let app = app_over(INVOKE, vec![exception(kind, &payload)]).await;
        let r = app.post_messages(&ask(true)).await;
        assert_error(&r, status, error_type);
        // Bedrock's words; an embedded Anthropic envelope's own message.
        let words = match kind {
            "validationException" => "messages.0.content: Field required",
            _ => payload["message"].as_str().expect("words"),
        };
        let message = r.body["error"]["message"].as_str().expect("message");
        assert!(message.ends_with(words), "{kind}: {message}");
        assert_eq!(
            r.headers.contains_key("retry-after"),
            status == 429,
            "{kind}: {:?}",
            r.headers
        );
    }
}

#[tokio::test]
async fn chunks_keep_their_bytes_and_only_a_raw_newline_is_reencoded() {
    let odd = r#"{"type": "content_block_delta","index":0, "delta":{"type":"text_delta","text":"caf\u00e9 \/ \"q\""}}"#;
    let broken = "{\"type\":\"content_block_delta\",\n\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"!\"}}";
    let frames = [START, BLOCK_START, odd, broken, BLOCK_STOP, DELTA]
        .iter()
        .map(|e| chunk(e))
        .chain([chunk(r#"{"type":"message_stop"}"#)])
        .collect();
    let app = app_over(INVOKE, frames).await;
    let (status, sse) = stream_text(&app).await;
    assert_eq!(status, 200, "{sse}");
    for relayed in [odd, BLOCK_START, BLOCK_STOP] {
        let name = serde_json::from_str::<Value>(relayed).expect("JSON")["type"].clone();
        let event = format!(
            "event: {}\ndata: {relayed}\n\n",
            name.as_str().expect("type")
        );
        assert!(sse.contains(&event), "not byte for byte: {relayed}\n{sse}");
    }
    let events: Vec<&str> = sse.split_terminator("\n\n").collect();
    assert!(
        events.iter().all(|e| e.lines().count() == 2),
        "every event is one event: line and one data: line\n{sse}"
    );
    let newline = events
        .iter()
        .find(|e| e.contains(r#""text":"!""#))
        .expect("the delta that had a raw newline");
    let data = newline.split_once("\ndata: ").expect("data line").1;
    assert_eq!(
        serde_json::from_str::<Value>(data).expect("JSON"),
        serde_json::from_str::<Value>(broken).expect("JSON")
    );
}

#[tokio::test]
async fn a_stream_that_ends_without_message_stop_ends_with_an_error_event() {
    let delta =
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"half"}}"#;
    let frames = [START, BLOCK_START, delta]
        .iter()
        .map(|e| chunk(e))
        .collect();
    let app = app_over(INVOKE, frames).await;
    let r = app.send_messages(&ask(true)).await;
    assert_eq!(r.status(), 200);
    let events = read_events(r, std::time::Instant::now()).await;
    let last = events.last().expect("events");
    assert_eq!(last.name, "error", "{:?}", last.data);
    assert_eq!(last.data["error"]["type"], "api_error");
    assert!(!events.iter().any(|e| e.name == "message_stop"));
}

/// The final `message_delta`'s usage and the `message_stop` data for a stream whose
/// `message_start` usage is `start_usage` and whose `message_stop` carries `metrics`.
async fn final_usage(start_usage: &Value, metrics: &Value) -> (Value, Value) {
    let mut start: Value = serde_json::from_str(START).expect("JSON");
    start["message"]["usage"] = start_usage.clone();
    let stop = json!({"type": "message_stop", "amazon-bedrock-invocationMetrics": metrics});
    let text =
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}"#;
    let frames = [
        &start.to_string(),
        BLOCK_START,
        text,
        BLOCK_STOP,
        DELTA,
        &stop.to_string(),
    ]
    .iter()
    .map(|e| chunk(e))
    .collect();
    let app = app_over(INVOKE, frames).await;
    let r = app.send_messages(&ask(true)).await;
    let events = read_events(r, std::time::Instant::now()).await;
    let delta = crate::streaming::message_delta(&events).data["usage"].clone();
    let last = events.last().expect("events").data.clone();
    (delta, last)
}

#[tokio::test]
async fn usage_from_message_start_message_delta_and_the_invocation_metrics_meets_in_the_final_delta(
) {
    let metrics = json!({"inputTokenCount": 3, "outputTokenCount": 50, "invocationLatency": 900,
        "firstByteLatency": 200, "cacheReadInputTokenCount": 2000, "cacheWriteInputTokenCount": 1000});
    // Opus 5.5 (global): $4 in, $20 out, $5 per 5-minute cache write, $0.20 per cache read.
    let expected_cost = (3.0 * 4.0 + 1000.0 * 5.0 + 2000.0 * 0.2 + 50.0 * 20.0) / 1e6;
    let full_start = json!({"input_tokens": 3, "cache_creation_input_tokens": 1000,
                            "cache_read_input_tokens": 2000, "output_tokens": 1});
    // Some deployments report the cache split only in the metrics.
    let bare_start = json!({"input_tokens": 3, "output_tokens": 1});
    for start in [full_start, bare_start] {
        let (usage, stop) = final_usage(&start, &metrics).await;
        assert_eq!(
            [
                &usage["input_tokens"],
                &usage["cache_creation_input_tokens"],
                &usage["cache_read_input_tokens"],
                &usage["output_tokens"]
            ],
            [&json!(3), &json!(1000), &json!(2000), &json!(50)],
            "start usage {start}: {usage}"
        );
        let cost = usage["cost"]["total_cost"].as_f64().expect("cost");
        assert!((cost - expected_cost).abs() < 1e-9, "{cost} for {start}");
        assert_eq!(stop, json!({"type": "message_stop"}));
    }
}
