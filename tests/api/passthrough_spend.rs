//! Spend control on the Bedrock pass-through routes (in-process ledger): the key's model list,
//! budgets and rates answered in Bedrock's error form, and pass-through costs billed to the same
//! counters as `/v1/messages`.

use serde_json::{json, Value};

use crate::helpers::TestApp;
use crate::passthrough::{chunk_events, frames, native_body};
use crate::spend::app_with_keys;

const OPUS: &str = "us.anthropic.claude-opus-5-5";
/// The catalog's price of Opus 5.5, USD per million input and output tokens.
const PRICE: (f64, f64) = (4.0, 20.0);

async fn call(
    app: &TestApp,
    key: &str,
    operation: &str,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, bytes::Bytes) {
    let resp = app
        .http
        .post(format!("{}/model/{OPUS}/{operation}", app.url))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.bytes().await.expect("body"))
}

fn usd(headers: &reqwest::header::HeaderMap, name: &str) -> f64 {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn error_code(headers: &reqwest::header::HeaderMap) -> &str {
    headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_model_outside_the_keys_list_is_refused_with_bedrocks_access_denied() {
    let app = app_with_keys(&json!({"api_keys": {
        "haiku-only": {"key": "sk-pt-haiku", "models": ["claude-haiku-*"]}}}))
    .await;
    for operation in ["invoke", "invoke-with-response-stream"] {
        let (status, headers, body) =
            call(&app, "sk-pt-haiku", operation, &native_body("hi")).await;
        assert_eq!(status, 403, "{operation}");
        assert_eq!(error_code(&headers), "AccessDeniedException");
        let error: Value = serde_json::from_slice(&body).expect("json");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.contains("haiku-only"), "{message}");
    }
    assert!(app.emulator.requests().is_empty());
}

#[tokio::test]
async fn a_budget_spent_through_the_pass_through_ends_in_402_service_quota_exceeded() {
    let app = app_with_keys(&json!({"api_keys": {
        "capped": {"key": "sk-pt-capped", "budget_usd": {"day": 0.01}}}}))
    .await;
    let body = native_body("[[emu:text some words to pay for]]");
    let mut charged = 0.0;
    let mut admitted = 0;
    let (status, headers, refusal) = loop {
        let (status, headers, text) = call(&app, "sk-pt-capped", "invoke", &body).await;
        if status != 200 {
            break (status, headers, text);
        }
        charged += usd(&headers, "x-chatrix-cost-usd");
        admitted += 1;
        assert!(admitted < 200, "never refused");
    };
    assert_eq!(status, 402);
    assert_eq!(error_code(&headers), "ServiceQuotaExceededException");
    assert!(admitted >= 2 && charged <= 0.01, "{admitted}: {charged}");
    let error: Value = serde_json::from_slice(&refusal).expect("json");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("daily budget of API key `capped`")),
        "{error}"
    );
}

/// What the budget lost to the call before this one: the budget, less what is left after this
/// call's reservation, less that reservation.
fn spent_before(headers: &reqwest::header::HeaderMap, budget: f64) -> f64 {
    budget - usd(headers, "x-chatrix-budget-remaining-usd") - usd(headers, "x-chatrix-reserved-usd")
}

#[tokio::test]
async fn json_and_streamed_calls_are_billed_their_exact_cost_on_the_keys_one_ledger() {
    let budget = 5.0;
    let app = app_with_keys(&json!({"api_keys": {
        "metered": {"key": "sk-pt-metered", "budget_usd": {"month": budget}}}}))
    .await;
    let body = native_body("[[emu:text one two three four]]");
    let (status, headers, _) = call(&app, "sk-pt-metered", "invoke", &body).await;
    assert_eq!(status, 200);
    let json_cost = usd(&headers, "x-chatrix-cost-usd");
    let (status, headers, stream) =
        call(&app, "sk-pt-metered", "invoke-with-response-stream", &body).await;
    assert_eq!(status, 200);
    assert!(json_cost > 0.0 && (spent_before(&headers, budget) - json_cost).abs() < 1e-9);
    let events = chunk_events(&frames(stream));
    let metrics = &events.last().expect("events")["amazon-bedrock-invocationMetrics"];
    let stream_cost = (metrics["inputTokenCount"].as_f64().expect("in") * PRICE.0
        + metrics["outputTokenCount"].as_f64().expect("out") * PRICE.1)
        / 1e6;
    // One ledger: the Anthropic route sees what the pass-through spent.
    let reply = app
        .post(
            "/v1/messages",
            &json!({"model": "claude-opus-5-5", "max_tokens": 50,
                    "messages": [{"role": "user", "content": "hi"}]}),
            &[("x-api-key", "sk-pt-metered")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let both = spent_before(&reply.headers, budget);
    assert!(
        (both - json_cost - stream_cost).abs() < 1e-9,
        "{both} vs {json_cost} + {stream_cost}"
    );
}

#[tokio::test]
async fn a_call_past_the_rpm_is_a_throttling_exception_with_retry_after() {
    let app = app_with_keys(&json!({"api_keys": {
        "slow": {"key": "sk-pt-slow", "rpm": 1}}}))
    .await;
    let body = native_body("hi");
    let (status, headers, _) = call(&app, "sk-pt-slow", "invoke", &body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["anthropic-ratelimit-requests-remaining"], "0");
    let (status, headers, body) =
        call(&app, "sk-pt-slow", "invoke-with-response-stream", &body).await;
    // Unless the minute turned over in between.
    if status != 200 {
        assert_eq!(status, 429, "{body:?}");
        assert_eq!(error_code(&headers), "ThrottlingException");
        let wait: u64 = headers["retry-after"]
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("retry-after");
        assert!((1..=60).contains(&wait));
    }
}
