//! Bedrock's refusals on the native path: a refused beta or optional field is learned (one retry,
//! then removed up front for that model), a refusal the client must see reaches it in Bedrock's
//! words, and the Fable models' data-retention refusal names the mode Bedrock wants.

use bedrock_emulator::Script;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

const INVOKE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "invoke")];
const BETAS: &str = "context-management-2025-06-27,effort-2025-11-24";

fn refusal(message: &str) -> Script {
    serde_json::from_value(json!({"error": {"type": "ValidationException", "message": message}}))
        .expect("script")
}

fn sent_bodies(app: &TestApp) -> Vec<Value> {
    app.emulator
        .requests()
        .into_iter()
        .map(|r| serde_json::from_str(&r.raw_body.expect("raw body")).expect("JSON"))
        .collect()
}

fn with_context_management(model: &str) -> String {
    json!({"model": model, "max_tokens": 64, "metadata": {"user_id": "dev-7"},
           "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
           "messages": [{"role": "user", "content": "hello"}]})
    .to_string()
}

#[tokio::test]
async fn a_refused_beta_costs_one_retry_and_is_then_left_out_for_that_model() {
    let app = spawn_app_with(INVOKE).await;
    app.emulator.push_script(refusal(
        "The model returned the following errors: invalid beta flag",
    ));
    let body = with_context_management("claude-opus-5-5");
    let r = app.post_raw("/v1/messages", &body, BETAS).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = sent_bodies(&app);
    assert_eq!(sent.len(), 2, "one refusal, one retry");
    assert_eq!(
        sent[0]["anthropic_beta"],
        json!(["context-management-2025-06-27", "effort-2025-11-24"])
    );
    // The beta's paired field goes with it; the rest of the body is as the client sent it.
    assert!(sent[1].get("anthropic_beta").is_none(), "{}", sent[1]);
    assert!(sent[1].get("context_management").is_none(), "{}", sent[1]);
    assert_eq!(sent[1]["metadata"], sent[0]["metadata"]);
    assert_eq!(sent[1]["messages"], sent[0]["messages"]);
    let changes = r.headers["x-chatrix-changes"].to_str().expect("ascii");
    assert!(
        changes.contains("removed:beta:context-management-2025-06-27"),
        "{changes}"
    );

    app.emulator.clear();
    let again = app.post_raw("/v1/messages", &body, BETAS).await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    let sent = sent_bodies(&app);
    assert_eq!(
        sent.len(),
        1,
        "the refusal is remembered, so no second refusal"
    );
    assert!(sent[0].get("anthropic_beta").is_none(), "{}", sent[0]);

    // Another model is not affected by what this one refused.
    app.emulator.clear();
    let other = with_context_management("claude-sonnet-5-5");
    assert_eq!(
        app.post_raw("/v1/messages", &other, BETAS).await.status,
        200
    );
    assert!(sent_bodies(&app)[0].get("context_management").is_some());
}

#[tokio::test]
async fn an_optional_field_the_model_layer_refuses_is_dropped_on_a_stream_too() {
    let app = spawn_app_with(INVOKE).await;
    let envelope = json!({"type": "error", "error": {"type": "invalid_request_error",
        "message": "metadata: Extra inputs are not permitted"}});
    app.emulator.push_script(refusal(&format!(
        "The model returned the following errors: {envelope}"
    )));
    let mut body: Value =
        serde_json::from_str(&with_context_management("claude-opus-5-5")).expect("JSON");
    body["stream"] = json!(true);
    let r = app.post_raw("/v1/messages", &body.to_string(), BETAS).await;
    assert_eq!(r.status, 200);
    let content_type = r.headers["content-type"].to_str().expect("ascii");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let sent = sent_bodies(&app);
    assert_eq!(sent.len(), 2);
    assert!(sent[1].get("metadata").is_none());
    assert!(
        sent[1].get("context_management").is_some(),
        "only the refused field goes"
    );
    assert!(r.headers["x-chatrix-changes"]
        .to_str()
        .expect("ascii")
        .contains("removed:metadata"));
}

#[tokio::test]
async fn a_refusal_of_what_the_client_chose_reaches_it_unchanged_and_is_not_retried() {
    let app = spawn_app_with(INVOKE).await;
    let message = "thinking: Extra inputs are not permitted";
    app.emulator.push_script(refusal(&format!(
        "The model returned the following errors: {message}"
    )));
    let body = json!({"model": "claude-opus-5-5", "max_tokens": 64,
        "thinking": {"type": "adaptive"}, "messages": [{"role": "user", "content": "hi"}]});
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["error"]["message"], message);
    assert_eq!(app.emulator.requests().len(), 1);
}

#[tokio::test]
async fn a_fable_data_retention_refusal_names_the_mode_bedrock_wants() {
    // Both paths: Converse answers the same refusal.
    let app = spawn_app().await;
    let bedrock = "The model returned following errors: data retention mode 'default' is not available for this model";
    app.emulator.push_script(refusal(bedrock));
    let body = json!({"model": "claude-fable-5-1", "max_tokens": 64,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let message = r.body["error"]["message"].as_str().expect("message");
    assert!(message.starts_with(bedrock), "{message}");
    assert!(message.contains("`aws_review`"), "{message}");
}

#[tokio::test]
async fn bedrocks_request_id_comes_back_beside_the_gateways_own() {
    let app = spawn_app_with(INVOKE).await;
    for stream in [false, true] {
        let body = json!({"model": "claude-haiku-4-5", "max_tokens": 16, "stream": stream,
                          "messages": [{"role": "user", "content": "hi"}]});
        let r = app.post_messages(&body).await;
        assert_eq!(r.status, 200);
        let upstream = r.headers["x-amzn-requestid"].to_str().expect("ascii");
        let ours = r.headers["request-id"].to_str().expect("ascii");
        assert!(uuid::Uuid::parse_str(upstream).is_ok(), "{upstream}");
        assert!(ours.starts_with("req_"), "{ours}");
    }
}
