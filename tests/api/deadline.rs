//! The Lambda invocation deadline, given the way the Lambda Web Adapter gives it: an
//! `x-amzn-lambda-context` header whose `deadline` is in epoch milliseconds. With 4 s left the
//! margin is 0.8 s, so the gateway must be done with Bedrock 3.2 s after the request.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::helpers::{assert_error, spawn_app, TestApp, KEY};
use crate::streaming::{assert_grammar, read_events, request};

/// The adapter's header for an invocation that ends `secs` from now.
fn context_ending_in(secs: f64) -> String {
    let deadline = SystemTime::now() + Duration::from_secs_f64(secs);
    let ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis();
    format!(
        r#"{{"request_id":"r-1","deadline":{ms},"invoked_function_arn":"arn:aws:lambda:us-east-1:1:function:f"}}"#
    )
}

async fn send(app: &TestApp, body: &serde_json::Value, context: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", KEY)
        .header("x-amzn-lambda-context", context)
        .json(body)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn a_stream_still_running_at_the_deadline_ends_with_an_overloaded_error_before_it() {
    let app = spawn_app().await;
    let started = Instant::now();
    let resp = send(
        &app,
        &request("[[emu:long 400]] [[emu:drip 100]]"),
        &context_ending_in(4.0),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let events = read_events(resp, started).await;
    let last = events.last().expect("events");
    assert_eq!(last.name, "error");
    assert_eq!(last.data["error"]["type"], "overloaded_error");
    assert!(
        last.at >= Duration::from_millis(2900) && last.at < Duration::from_millis(3800),
        "the error came at {:?}, not 0.8 s before the 4 s deadline",
        last.at
    );
    assert!(events.iter().any(|e| e.name == "content_block_delta"));
    assert_grammar(&events);
    let closed = Instant::now();
    while app.emulator.open_streams() > 0 && closed.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.emulator.open_streams(),
        0,
        "the Bedrock stream was left open"
    );
}

#[tokio::test]
async fn a_json_answer_that_would_outlast_the_deadline_is_a_529_before_it() {
    let app = spawn_app().await;
    let mut body = request("[[emu:silence 20000]] hi");
    body["stream"] = json!(false);
    let started = Instant::now();
    let resp = send(&app, &body, &context_ending_in(4.0)).await;
    let took = started.elapsed();
    let reply = crate::helpers::Reply {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.json().await.expect("error JSON"),
    };
    assert_error(&reply, 529, "overloaded_error");
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_millis(3800),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn a_stream_silent_until_the_deadline_is_a_529_clients_retry() {
    let app = spawn_app().await;
    let resp = send(
        &app,
        &request("[[emu:silence 20000]] hi"),
        &context_ending_in(3.0),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 529);
    let body: serde_json::Value = resp.json().await.expect("error JSON");
    assert_eq!(body["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn a_deadline_too_close_to_start_refuses_without_calling_bedrock() {
    let app = spawn_app().await;
    let resp = send(&app, &request("hi"), &context_ending_in(0.0)).await;
    assert_eq!(resp.status().as_u16(), 529);
    assert!(app.emulator.requests().is_empty(), "Bedrock was called");
}

#[tokio::test]
async fn a_context_without_a_real_deadline_changes_nothing() {
    let app = spawn_app().await;
    // cargo-lambda's local runtime API sends a duration where Lambda sends an epoch time.
    let context = r#"{"request_id":"r-1","deadline":600000}"#;
    let started = Instant::now();
    let resp = send(&app, &request("[[emu:text all of it]]"), context).await;
    assert_eq!(resp.status().as_u16(), 200);
    let events = read_events(resp, started).await;
    assert_eq!(events.last().map(|e| e.name.as_str()), Some("message_stop"));
}
