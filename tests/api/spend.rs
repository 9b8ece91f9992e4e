//! Spend control with the in-process ledger (no table): model lists, budgets, rates and headers,
//! for JSON and streamed answers. The DynamoDB ledger is tested against moto's server in
//! tests/clients/test_ledger.py.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app_with, TestApp};

const MODEL: &str = "claude-sonnet-4-6";

/// A key file in a fresh temporary directory; returns its path.
fn key_file(doc: &Value) -> String {
    let dir = std::env::temp_dir().join(format!("chatrix-spend-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("keys.json");
    std::fs::write(&path, doc.to_string()).expect("written");
    path.to_string_lossy().into_owned()
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

pub(crate) async fn app_with_keys(doc: &Value) -> TestApp {
    let path = key_file(doc);
    spawn_app_with(&[("CHATRIX_KEYS_FILE", &path)]).await
}

fn body(text: &str, stream: bool) -> Value {
    json!({"model": MODEL, "max_tokens": 50, "stream": stream,
           "messages": [{"role": "user", "content": text}]})
}

async fn send(app: &TestApp, key: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = app
        .http
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .expect("sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn a_model_outside_the_keys_list_is_a_403_permission_error() {
    let app = app_with_keys(&json!({"api_keys": {
        "haiku-only": {"key": "sk-haiku-only", "models": ["claude-haiku-*"]}}}))
    .await;
    let reply = app
        .post(
            "/v1/messages",
            &body("hi", false),
            &[("x-api-key", "sk-haiku-only")],
        )
        .await;
    assert_error(&reply, 403, "permission_error");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("haiku-only") && message.contains(MODEL),
        "{message}"
    );
}

#[tokio::test]
async fn count_tokens_for_a_model_outside_the_keys_list_is_the_same_403() {
    let app = app_with_keys(&json!({"api_keys": {
        "haiku-only": {"key": "sk-count-haiku", "models": ["claude-haiku-*"]}}}))
    .await;
    let count = |model: &str| json!({"model": model, "messages": [{"role": "user", "content": "how many tokens?"}]});
    let key = [("x-api-key", "sk-count-haiku")];
    let refused = app
        .post("/v1/messages/count_tokens", &count(MODEL), &key)
        .await;
    assert_error(&refused, 403, "permission_error");
    let message = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    let answered = app.post("/v1/messages", &body("hi", false), &key).await;
    assert_eq!(
        answered.body["error"]["message"], message,
        "the same refusal as /v1/messages"
    );
    let allowed = app
        .post(
            "/v1/messages/count_tokens",
            &count("claude-haiku-4-5"),
            &key,
        )
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(allowed.body["input_tokens"].as_u64().is_some_and(|n| n > 0));
}

#[tokio::test]
async fn a_key_with_a_budget_may_not_use_a_model_without_a_price() {
    // A raw Bedrock id the catalog does not know has no price: it would reserve and settle $0.
    let app = app_with_keys(&json!({"api_keys": {
        "capped": {"key": "sk-capped", "budget_usd": {"day": 5}},
        "free": {"key": "sk-free", "rpm": 100}}}))
    .await;
    let unpriced = json!({"model": "us.anthropic.claude-3-5-sonnet-20241022-v2:0", "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]});
    let reply = app
        .post("/v1/messages", &unpriced, &[("x-api-key", "sk-capped")])
        .await;
    assert_error(&reply, 403, "permission_error");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no price"), "{message}");
    // Without a budget nothing is spent from, so the model stays usable.
    let reply = app
        .post("/v1/messages", &unpriced, &[("x-api-key", "sk-free")])
        .await;
    assert_ne!(reply.status, 403, "{:?}", reply.body);
}

/// Sends until refused; returns the USD charged to the client and the refusal.
async fn spend_until_refused(app: &TestApp, key: &str, stream: bool) -> (f64, u32, Value) {
    let mut charged = 0.0;
    for n in 0..200 {
        let (status, headers, text) = send(
            app,
            key,
            &body("[[emu:text some words to pay for]]", stream),
        )
        .await;
        if status != 200 {
            assert_eq!(status, 402, "{text}");
            return (charged, n, serde_json::from_str(&text).expect("error json"));
        }
        assert!(header(&headers, "x-chatrix-budget-remaining-usd").is_some());
        charged += if stream {
            let delta = text
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find(|v| v["type"] == "message_delta")
                .expect("a message_delta");
            delta["usage"]["cost"]["total_cost"].as_f64().expect("cost")
        } else {
            header(&headers, "x-chatrix-cost-usd")
                .and_then(|v| v.parse::<f64>().ok())
                .expect("cost header")
        };
    }
    panic!("never refused");
}

#[tokio::test]
async fn a_daily_budget_is_enforced_for_json_and_streamed_answers_with_a_402_naming_it() {
    for stream in [false, true] {
        let app = app_with_keys(&json!({"api_keys": {
            "capped": {"key": "sk-capped", "budget_usd": {"day": 0.01}}}}))
        .await;
        let (charged, admitted, refusal) = spend_until_refused(&app, "sk-capped", stream).await;
        assert!(admitted >= 2, "{admitted}");
        // One request at a time: never past the budget.
        assert!(charged <= 0.01, "{charged}");
        assert_eq!(refusal["error"]["type"], "billing_error");
        let message = refusal["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("daily budget of API key `capped`") && message.contains("resets at"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_team_budget_is_shared_by_its_keys() {
    let app = app_with_keys(&json!({
        "api_keys": {"a": {"key": "sk-team-a", "team": "t"}, "b": {"key": "sk-team-b", "team": "t"}},
        "teams": {"t": {"budget_usd": {"month": 0.01}}}}))
    .await;
    let (_, admitted_a, _) = spend_until_refused(&app, "sk-team-a", false).await;
    assert!(admitted_a >= 2);
    let (status, _, text) = send(&app, "sk-team-b", &body("hi", false)).await;
    assert_eq!(status, 402, "{text}");
    assert!(text.contains("monthly budget of team `t`"), "{text}");
}

#[tokio::test]
async fn requests_past_the_rpm_get_429_with_retry_after_and_ratelimit_headers() {
    let app = app_with_keys(&json!({"api_keys": {
        "slow": {"key": "sk-slow", "rpm": 2, "tpm": 1000000}}}))
    .await;
    let (status, headers, _) = send(&app, "sk-slow", &body("hi", false)).await;
    assert_eq!(status, 200);
    assert_eq!(
        header(&headers, "anthropic-ratelimit-requests-limit"),
        Some("2")
    );
    assert_eq!(
        header(&headers, "anthropic-ratelimit-requests-remaining"),
        Some("1")
    );
    assert!(
        header(&headers, "anthropic-ratelimit-requests-reset").is_some_and(|v| v.ends_with('Z'))
    );
    assert_eq!(
        header(&headers, "anthropic-ratelimit-tokens-limit"),
        Some("1000000")
    );
    assert!(header(&headers, "x-chatrix-budget-remaining-usd").is_none());
    let (status, _, _) = send(&app, "sk-slow", &body("hi", true)).await;
    assert_eq!(status, 200);
    let (status, headers, text) = send(&app, "sk-slow", &body("hi", false)).await;
    // Unless the minute turned over in between.
    if status != 200 {
        assert_eq!(status, 429, "{text}");
        assert!(text.contains("rate_limit_error") && text.contains("2 requests per minute"));
        let wait: u64 = header(&headers, "retry-after")
            .and_then(|v| v.parse().ok())
            .expect("retry-after");
        assert!((1..=60).contains(&wait));
    }
}

#[tokio::test]
async fn keys_without_limits_get_no_ratelimit_headers() {
    let app = app_with_keys(&json!({"api_keys": {"plain": "sk-plain-key"}})).await;
    let (status, headers, _) = send(&app, "sk-plain-key", &body("hi", false)).await;
    assert_eq!(status, 200);
    assert!(header(&headers, "anthropic-ratelimit-requests-limit").is_none());
    assert!(header(&headers, "x-chatrix-budget-remaining-usd").is_none());
}
