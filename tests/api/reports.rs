//! The Admin API-shaped reports (`/v1/organizations/usage_report/messages`, `…/cost_report`) on
//! the in-process ledger: what keys spent, by key, model and day, for admin keys only.

use serde_json::{json, Value};

use crate::helpers::{assert_error, Reply, TestApp};
use crate::passthrough::native_body;
use crate::spend::app_with_keys;

const ADMIN: &str = "sk-reports-admin";

async fn app() -> TestApp {
    // Keys with a limit are counted by the in-process ledger (without a table, others are not).
    app_with_keys(&json!({
        "api_keys": {
            "alice": {"key": "sk-reports-alice", "rpm": 1000},
            "bob": {"key": "sk-reports-bob", "budget_usd": {"month": 100}}},
        "admin_keys": {"finance": ADMIN}}))
    .await
}

pub(crate) async fn get(app: &TestApp, path: &str, key: Option<&str>) -> Reply {
    let mut req = app.http.get(format!("{}{path}", app.url));
    if let Some(key) = key {
        req = req.header("x-api-key", key);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

fn yesterday() -> String {
    let day = time::OffsetDateTime::now_utc().date() - time::Duration::DAY;
    format!("{day}T00:00:00Z")
}

/// Spends as alice (JSON, stream, pass-through) and bob; returns each one's cost in nano-dollars.
async fn spend(app: &TestApp) -> (i64, i64) {
    let nanos = |usd: f64| (usd * 1e9).round() as i64;
    let mut alice = 0;
    for stream in [false, true] {
        let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 50, "stream": stream,
                          "messages": [{"role": "user", "content": "[[emu:text counted words]]"}]});
        let resp = app
            .http
            .post(format!("{}/v1/messages", app.url))
            .header("x-api-key", "sk-reports-alice")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 200);
        let text = resp.text().await.expect("body");
        let cost = text
            .lines()
            .map(|l| l.strip_prefix("data: ").unwrap_or(l))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .find_map(|v| v["usage"]["cost"]["total_cost"].as_f64())
            .expect("a cost");
        alice += nanos(cost);
    }
    let resp = app
        .http
        .post(format!(
            "{}/model/us.anthropic.claude-opus-5-5/invoke",
            app.url
        ))
        .header("x-api-key", "sk-reports-alice")
        .body(native_body("[[emu:text pass-through words]]"))
        .send()
        .await
        .expect("sent");
    let cost: f64 = resp.headers()["x-chatrix-cost-usd"]
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("cost header");
    alice += nanos(cost);
    let reply = app
        .post(
            "/v1/messages",
            &json!({"model": "claude-haiku-4-5", "max_tokens": 20,
                    "messages": [{"role": "user", "content": "hi"}]}),
            &[("x-api-key", "sk-reports-bob")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let bob = nanos(
        reply.body["usage"]["cost"]["total_cost"]
            .as_f64()
            .expect("cost"),
    );
    (alice, bob)
}

/// Every result of every bucket.
fn results(report: &Value) -> Vec<Value> {
    report["data"]
        .as_array()
        .expect("data")
        .iter()
        .flat_map(|b| b["results"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn the_cost_report_gives_each_keys_spend_in_cents_by_key_and_model() {
    let app = app().await;
    let (alice, bob) = spend(&app).await;
    let path = format!(
        "/v1/organizations/cost_report?starting_at={}&group_by[]=api_key_id&group_by[]=description",
        yesterday()
    );
    let reply = get(&app, &path, Some(ADMIN)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["has_more"], false);
    let buckets = reply.body["data"].as_array().expect("data");
    assert_eq!(buckets.len(), 2, "yesterday and today");
    assert!(buckets[1]["starting_at"]
        .as_str()
        .is_some_and(|s| s.ends_with("T00:00:00Z")));
    let mut by_key = std::collections::HashMap::<String, f64>::new();
    let mut models = std::collections::HashSet::new();
    for r in results(&reply.body) {
        assert_eq!(r["currency"], "USD");
        let cents: f64 = r["amount"]
            .as_str()
            .expect("a string")
            .parse()
            .expect("decimal");
        *by_key
            .entry(r["api_key_id"].as_str().expect("key").to_owned())
            .or_default() += cents;
        models.insert(r["model"].as_str().expect("model").to_owned());
    }
    // Cents, exactly: nano-dollars / 1e7.
    assert!(
        (by_key["alice"] - alice as f64 / 1e7).abs() < 1e-6,
        "{by_key:?} vs {alice}"
    );
    assert!(
        (by_key["bob"] - bob as f64 / 1e7).abs() < 1e-6,
        "{by_key:?} vs {bob}"
    );
    assert_eq!(models.len(), 3, "{models:?}");
}

#[tokio::test]
async fn the_usage_report_counts_tokens_per_key_and_sums_what_is_not_grouped() {
    let app = app().await;
    spend(&app).await;
    let base = format!(
        "/v1/organizations/usage_report/messages?starting_at={}",
        yesterday()
    );
    let grouped = get(&app, &format!("{base}&group_by[]=api_key_id"), Some(ADMIN)).await;
    assert_eq!(grouped.status, 200, "{}", grouped.body);
    let rows = results(&grouped.body);
    let keys: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["api_key_id"].as_str())
        .collect();
    assert_eq!(keys, ["alice", "bob"]);
    assert!(rows
        .iter()
        .all(|r| r["model"].is_null() && r["output_tokens"].as_u64() > Some(0)));
    let total = get(&app, &base, Some(ADMIN)).await;
    let all = results(&total.body);
    assert_eq!(all.len(), 1);
    let sum = |rows: &[Value], field: &str| -> u64 {
        rows.iter().filter_map(|r| r[field].as_u64()).sum()
    };
    assert_eq!(sum(&all, "output_tokens"), sum(&rows, "output_tokens"));
    assert_eq!(
        sum(&all, "uncached_input_tokens"),
        sum(&rows, "uncached_input_tokens")
    );
    let only_bob = get(
        &app,
        &format!("{base}&api_key_ids[]=bob&group_by[]=model"),
        Some(ADMIN),
    )
    .await;
    let bob_rows = results(&only_bob.body);
    assert_eq!(bob_rows.len(), 1);
    // Rows are kept under the catalog id, as Anthropic's reports name models, not the alias sent.
    assert_eq!(bob_rows[0]["model"], "claude-haiku-4-5-20251001");
}

#[tokio::test]
async fn reports_are_for_admin_keys_and_admin_keys_call_no_model() {
    let app = app().await;
    let path = format!("/v1/organizations/cost_report?starting_at={}", yesterday());
    assert_error(&get(&app, &path, None).await, 401, "authentication_error");
    assert_error(
        &get(&app, &path, Some("sk-reports-alice")).await,
        403,
        "permission_error",
    );
    let bad = get(&app, "/v1/organizations/cost_report", Some(ADMIN)).await;
    assert_error(&bad, 400, "invalid_request_error");
    let reply = app
        .post(
            "/v1/messages",
            &json!({"model": "claude-haiku-4-5", "max_tokens": 20,
                    "messages": [{"role": "user", "content": "hi"}]}),
            &[("x-api-key", ADMIN)],
        )
        .await;
    assert_error(&reply, 403, "permission_error");
}

#[tokio::test]
async fn an_admin_key_counts_no_tokens_and_invokes_nothing_on_any_route() {
    let app = app().await;
    let count = app
        .post(
            "/v1/messages/count_tokens",
            &json!({"model": "claude-haiku-4-5",
                    "messages": [{"role": "user", "content": "hi"}]}),
            &[("x-api-key", ADMIN)],
        )
        .await;
    assert_error(&count, 403, "permission_error");
    for operation in ["invoke", "invoke-with-response-stream", "count-tokens"] {
        let resp = app
            .http
            .post(format!(
                "{}/model/us.anthropic.claude-opus-5-5/{operation}",
                app.url
            ))
            .header("authorization", format!("Bearer {ADMIN}"))
            .body(native_body("hi"))
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status(), 403, "{operation}");
        assert_eq!(resp.headers()["x-amzn-errortype"], "AccessDeniedException");
    }
    assert!(app.emulator.requests().is_empty(), "Bedrock was called");
}

#[tokio::test]
async fn a_range_longer_than_the_limit_pages_by_day() {
    let app = app().await;
    let start = time::OffsetDateTime::now_utc().date() - time::Duration::days(4);
    let path =
        format!("/v1/organizations/usage_report/messages?starting_at={start}T08:30:00Z&limit=2");
    let first = get(&app, &path, Some(ADMIN)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["has_more"], true);
    assert_eq!(
        first.body["data"][0]["starting_at"],
        format!("{start}T00:00:00Z")
    );
    let page = first.body["next_page"].as_str().expect("next page");
    let second = get(&app, &format!("{path}&page={page}"), Some(ADMIN)).await;
    let next = start + time::Duration::days(2);
    assert_eq!(
        second.body["data"][0]["starting_at"],
        format!("{next}T00:00:00Z")
    );
}
