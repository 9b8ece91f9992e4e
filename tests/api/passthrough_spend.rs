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
    // count-tokens is free, but the key's list reads the same on every route.
    for operation in ["invoke", "invoke-with-response-stream", "count-tokens"] {
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

/// The length of the first whole event-stream frame in `buf` (its prelude's total length), if
/// all of it has arrived.
fn whole_frame(buf: &[u8]) -> Option<usize> {
    let total = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    (buf.len() >= total).then_some(total)
}

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one scenario, read top to bottom: stream, drop, poll the report, check the bill"
)]
async fn a_stream_the_client_drops_is_billed_what_bedrock_reported_and_what_was_relayed() {
    let budget = 5.0;
    let app = app_with_keys(&json!({
        "api_keys": {"quitter": {"key": "sk-pt-quitter", "budget_usd": {"month": budget}}},
        "admin_keys": {"finance": "sk-pt-finance"}}))
    .await;
    let mut resp = app
        .http
        .post(format!(
            "{}/model/{OPUS}/invoke-with-response-stream",
            app.url
        ))
        .header("authorization", "Bearer sk-pt-quitter")
        .body(native_body("[[emu:drip 40]] [[emu:long 300]]"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), 200);
    // message_start, content_block_start, then six deltas; then the client goes away.
    let (mut buf, mut whole) = (Vec::new(), Vec::new());
    while chunk_events(&frames(bytes::Bytes::from(whole.clone()))).len() < 8 {
        let more = resp
            .chunk()
            .await
            .expect("read")
            .expect("the stream went on");
        buf.extend_from_slice(&more);
        while let Some(n) = whole_frame(&buf) {
            whole.extend(buf.drain(..n));
        }
    }
    drop(resp);
    let events = chunk_events(&frames(bytes::Bytes::from(whole)));
    let input = events[0]["message"]["usage"]["input_tokens"]
        .as_u64()
        .expect("message_start reports the input");
    let text: usize = events
        .iter()
        .filter_map(|e| {
            let delta = &e["delta"];
            delta["text"].as_str().or(delta["thinking"].as_str())
        })
        .map(str::len)
        .sum();
    assert!(
        text > 0 && events.iter().all(|e| e["type"] != "message_stop"),
        "{events:?}"
    );

    // The drop settles in a task of its own: poll the usage report until the row is there.
    let today = time::OffsetDateTime::now_utc().date();
    let path = format!(
        "/v1/organizations/usage_report/messages?starting_at={today}T00:00:00Z&group_by[]=api_key_id"
    );
    let mut row = Value::Null;
    for _ in 0..100 {
        let report = crate::reports::get(&app, &path, Some("sk-pt-finance")).await;
        if let Some(r) = report.body["data"][0]["results"].get(0) {
            row = r.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(row["api_key_id"], "quitter", "never billed: {row}");
    // The input Bedrock reported, and at least the text relayed at four bytes a token.
    assert_eq!(row["uncached_input_tokens"].as_u64(), Some(input), "{row}");
    let output = row["output_tokens"].as_u64().expect("output tokens");
    assert!(
        output >= (text as u64).div_ceil(4),
        "{output} for {text} bytes"
    );
    // The budget was charged that bill, not the reservation.
    let billed = (input as f64 * PRICE.0 + output as f64 * PRICE.1) / 1e6;
    let (status, headers, _) = call(&app, "sk-pt-quitter", "invoke", &native_body("hi")).await;
    assert_eq!(status, 200);
    let spent = spent_before(&headers, budget);
    assert!((spent - billed).abs() < 1e-9, "{spent} vs {billed}");
}
