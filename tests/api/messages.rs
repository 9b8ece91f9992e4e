use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, spawn_app_with, KEY};

/// For tests of the Converse translation itself: Claude through Converse whatever the run's path.
pub(crate) const CONVERSE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "converse")];

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[tokio::test]
async fn a_plain_request_is_answered_with_usage_and_cost() {
    let app = spawn_app().await;
    let r = app
        .post_messages(
            &json!({"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [user("hi")]}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["type"], "message");
    assert_eq!(r.body["model"], "claude-sonnet-4-5");
    assert_eq!(
        r.body["content"][0]["text"],
        "Hello from the Bedrock emulator."
    );
    let usage = &r.body["usage"];
    let (input, output) = (
        usage["input_tokens"].as_u64().expect("input"),
        usage["output_tokens"].as_u64().expect("output"),
    );
    assert!(input > 0 && output > 0);
    let expected = (input as f64 * 3.0 + output as f64 * 15.0) / 1e6;
    let total = usage["cost"]["total_cost"].as_f64().expect("cost");
    assert!((total - expected).abs() < 1e-9, "{total} vs {expected}");
    let header: f64 = r.headers["x-chatrix-cost-usd"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    assert!((header - expected).abs() < 1e-9);
    let sent = app.emulator.requests();
    assert_eq!(
        sent.last().expect("one call").model_id,
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
}

#[tokio::test]
async fn claude_code_shaped_requests_are_cleaned_for_bedrock() {
    let app = spawn_app_with(CONVERSE).await;
    let body = json!({
        "model": "claude-opus-4-8",
        "max_tokens": 64000,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=9.9.9; cc_entrypoint=test;"},
            {"type": "text", "text": "You are a test agent.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            user("first question"),
            {"role": "system", "content": "Agents available: none."},
            {"role": "assistant", "content": [{"type": "text", "text": "ok"}]},
            {"role": "user", "content": [{"type": "text", "text": "   "}, {"type": "text", "text": "second", "cache_control": {"type": "ephemeral"}}]}
        ],
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "{\"device_id\":\"abc\",\"session_id\":\"s\"}"},
        "stream": false
    });
    let r = app
        .post("/v1/messages?beta=true", &body, &[
            ("x-api-key", KEY),
            ("anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14,interleaved-thinking-2025-05-14,prompt-caching-scope-2026-01-05"),
        ])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = app.last_converse();
    let system = sent["system"].to_string();
    assert!(
        !system.contains("x-anthropic-billing-header"),
        "billing header forwarded: {system}"
    );
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
    assert!(
        sent["messages"]
            .to_string()
            .contains("Agents available: none."),
        "system turn lost"
    );
    assert_eq!(
        sent["additionalModelRequestFields"]["anthropic_beta"],
        json!(["interleaved-thinking-2025-05-14"])
    );
    assert!(sent.get("context_management").is_none() && sent.get("metadata").is_none());
}

#[tokio::test]
async fn temperature_zero_reaches_bedrock() {
    let app = spawn_app_with(CONVERSE).await;
    let r = app
        .post_messages(&json!({"model": "claude-haiku-4-5", "max_tokens": 16, "temperature": 0, "messages": [user("hi")]}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        app.last_converse()["inferenceConfig"]["temperature"],
        json!(0.0)
    );
}

#[tokio::test]
async fn tool_names_bedrock_refuses_are_mapped_and_restored() {
    let app = spawn_app_with(CONVERSE).await;
    let name = "mcp__some.server__a_tool_with_a_name_that_is_far_too_long_for_bedrock_to_accept";
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "tools": [{"name": name, "description": "d", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
        "messages": [user(&format!("[[emu:tool {} {{\"q\": \"x\"}}]]", chatrix_safe_name(&app, name).await))]
    });
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let call = r.body["content"]
        .as_array()
        .expect("content")
        .iter()
        .find(|b| b["type"] == "tool_use")
        .cloned()
        .expect("tool_use");
    assert_eq!(call["name"], name);
    assert_eq!(call["input"], json!({"q": "x"}));
}

/// The name the gateway sent to Bedrock for `name` (learnt from a first request).
async fn chatrix_safe_name(app: &crate::helpers::TestApp, name: &str) -> String {
    let probe = json!({
        "model": "claude-sonnet-4-5", "max_tokens": 8,
        "tools": [{"name": name, "input_schema": {"type": "object"}}],
        "messages": [user("probe")]
    });
    let r = app.post_messages(&probe).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = app.last_converse();
    let safe = sent["toolConfig"]["tools"][0]["toolSpec"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert_ne!(safe, name);
    assert!(
        safe.len() <= 64
            && safe
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    );
    safe
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    let app = spawn_app().await;
    let r = app
        .post_messages(&json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [user("[[emu:error ThrottlingException]]")]}))
        .await;
    assert_error(&r, 429, "rate_limit_error");
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn unknown_models_are_404_and_never_reach_bedrock() {
    let app = spawn_app().await;
    let r = app
        .post_messages(&json!({"model": "gpt-4o", "max_tokens": 8, "messages": [user("hi")]}))
        .await;
    assert_error(&r, 404, "not_found_error");
    assert!(app.emulator.requests().is_empty());
}

#[tokio::test]
async fn missing_fields_are_named_in_the_error() {
    let app = spawn_app().await;
    let r = app
        .post_messages(&json!({"model": "claude-sonnet-4-5", "messages": [user("hi")]}))
        .await;
    assert_error(&r, 400, "invalid_request_error");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("max_tokens"),
        "{:?}",
        r.body
    );
}

#[tokio::test]
async fn every_request_fixture_converts_to_a_request_bedrock_accepts() {
    let app = spawn_app_with(CONVERSE).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
            .expect("fixture is JSON");
        let mut body = fixture["body"].clone();
        body["stream"] = json!(false);
        let beta = fixture["headers"]["anthropic-beta"].as_str().unwrap_or("");
        let path_q = fixture["path"].as_str().unwrap_or("/v1/messages");
        let r = app
            .post(
                path_q,
                &body,
                &[("x-api-key", KEY), ("anthropic-beta", beta)],
            )
            .await;
        assert_eq!(r.status, 200, "{}: {:?}", path.display(), r.body);
        seen += 1;
    }
    assert!(
        seen >= 4,
        "expected at least 4 request fixtures, found {seen}"
    );
}
