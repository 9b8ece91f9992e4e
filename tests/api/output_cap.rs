//! `CHATRIX_MAX_OUTPUT_TOKENS`: the operator's bound on what one request can generate (and cost)
//! when nothing else stops it, e.g. a client that left a stream on Lambda. Requests above the cap
//! are lowered to it and told so in `x-chatrix-changes`; the rest are untouched.

use serde_json::json;

use crate::helpers::{converse_path, spawn_app_with, TestApp};

/// `max_tokens` as Bedrock received it, on whichever Claude path this run uses.
fn sent_max_tokens(app: &TestApp) -> serde_json::Value {
    if converse_path() {
        return app.last_converse()["inferenceConfig"]["maxTokens"].clone();
    }
    let sent = app.emulator.requests().pop().expect("a Bedrock call");
    assert!(
        sent.operation.starts_with("InvokeModel"),
        "{}",
        sent.operation
    );
    sent.body["max_tokens"].clone()
}

#[tokio::test]
async fn a_request_above_the_output_cap_is_lowered_to_it_and_says_so() {
    let app = spawn_app_with(&[("CHATRIX_MAX_OUTPUT_TOKENS", "4096")]).await;
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 32000,
                      "thinking": {"type": "enabled", "budget_tokens": 31999},
                      "messages": [{"role": "user", "content": "[[emu:text capped]]"}]});
    let reply = app.post_messages(&body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(sent_max_tokens(&app), 4096);
    let changes = reply.headers["x-chatrix-changes"].to_str().expect("ascii");
    assert!(changes.contains("max_tokens-capped"), "{changes}");
}

#[tokio::test]
async fn a_request_within_the_output_cap_is_sent_as_asked() {
    let app = spawn_app_with(&[("CHATRIX_MAX_OUTPUT_TOKENS", "4096")]).await;
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 1000,
                      "messages": [{"role": "user", "content": "[[emu:text as asked]]"}]});
    let reply = app.post_messages(&body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(sent_max_tokens(&app), 1000);
    assert!(reply.headers.get("x-chatrix-changes").is_none());
}
