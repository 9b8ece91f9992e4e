//! `count_tokens` for Claude on each path: on the native path (the default) bedrock-runtime
//! CountTokens gets `input.invokeModel.body`, the body InvokeModel would get for the same request;
//! with `CHATRIX_CLAUDE_API=converse` it gets `input.converse`. Each test pins its path.

use chatrix::models::{Catalog, InferenceProfile};
use serde_json::{json, Value};

use crate::count_tokens::{
    bad_image_body, count, count_tokens_calls, local_estimate, runtime_input, tokens_of,
};
use crate::helpers::spawn_app_with;

const INVOKE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "invoke")];
const CONVERSE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "converse")];
/// Counted by bedrock-runtime CountTokens.
const MODEL: &str = "claude-sonnet-4-5";
const BARE_ID: &str = "anthropic.claude-sonnet-4-5-20250929-v1:0";
/// Odd spacing, an escape and key order that a parse-and-serialize would change.
const TOOLS: &str = r#"[{"name":"TideTable","input_schema":{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"string","description":"harbour \u00e9 \/ name"}}},  "description":"High and low water."}]"#;

/// A Claude Code-shaped count body, sent as these exact bytes.
fn raw_body(question: &str) -> String {
    format!(
        r#"{{"model":"{MODEL}","system":[{{"type":"text","text":"x-anthropic-billing-header: cc_version=3.1.4;"}},{{"type":"text","text":"You answer questions about tides."}}],"tools":{TOOLS},"messages":[{{"role":"user","content":"{question}"}}]}}"#
    )
}

/// A beta the catalog allows for [`MODEL`].
fn allowed_beta() -> String {
    let catalog = Catalog::embedded().expect("catalog");
    let model = catalog
        .resolve(MODEL, InferenceProfile::Global)
        .expect("resolves");
    model
        .spec
        .and_then(|s| s.betas.first().cloned())
        .expect("the catalog lists a beta for Sonnet 4.5")
}

#[tokio::test]
async fn on_the_invoke_path_runtime_counts_the_native_body_with_the_clients_tools_unchanged() {
    let app = spawn_app_with(INVOKE).await;
    let beta = allowed_beta();
    let body = raw_body("When is high water at Whitby?");
    let n = tokens_of(
        &app.post_raw(
            "/v1/messages/count_tokens?beta=true",
            &body,
            &format!("claude-code-20250219,{beta}"),
        )
        .await,
    );

    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].model_id, BARE_ID);
    assert!(calls[0].body["input"].get("converse").is_none());
    let sent = runtime_input(&calls[0]);
    let text = sent.to_string();
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert!(sent.get("model").is_none(), "{text}");
    assert_eq!(sent["max_tokens"], 1);
    assert_eq!(sent["anthropic_beta"], json!([beta]), "filtered per model");
    assert_eq!(sent["system"].as_array().map(Vec::len), Some(1), "{text}");
    assert!(!text.contains("x-anthropic-billing-header"));

    // Byte for byte: find the client's tools in the body as decoded, before any re-parse.
    let b64 = calls[0].body["input"]["invokeModel"]["body"]
        .as_str()
        .expect("base64");
    let native = base64_decode(b64);
    assert!(
        native.contains(&format!(r#""tools":{TOOLS}"#)),
        "tools changed: {native}"
    );

    // The same prompt as a real request: InvokeModel bills what CountTokens counted.
    let mut real: Value = serde_json::from_str(&body).expect("JSON");
    real["max_tokens"] = json!(64);
    let r = app.post_messages(&real).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["usage"]["input_tokens"].as_u64(), Some(n));
    let last = app.emulator.requests().pop().expect("the model call");
    assert_eq!(last.operation, "InvokeModel");
}

#[tokio::test]
async fn on_the_invoke_path_a_thinking_budget_is_counted_with_a_max_tokens_above_it() {
    let app = spawn_app_with(INVOKE).await;
    let mut request = json!({"model": MODEL, "thinking": {"type": "enabled", "budget_tokens": 2048},
                             "messages": [{"role": "user", "content": "Plan a passage to Whitby."}]});
    let n = tokens_of(&count(&app, &request).await);
    let sent = runtime_input(&count_tokens_calls(&app)[0]);
    assert_eq!(sent["max_tokens"], 2049);
    assert_eq!(sent["thinking"]["budget_tokens"], 2048);
    request["max_tokens"] = json!(4096);
    let r = app.post_messages(&request).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["usage"]["input_tokens"].as_u64(),
        Some(n),
        "counted by Bedrock, not estimated"
    );
}

#[tokio::test]
async fn on_the_converse_path_runtime_still_counts_a_converse_body() {
    let app = spawn_app_with(CONVERSE).await;
    let body = raw_body("When is low water at Whitby?");
    tokens_of(
        &app.post_raw(
            "/v1/messages/count_tokens?beta=true",
            &body,
            "claude-code-20250219",
        )
        .await,
    );
    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].model_id, BARE_ID);
    assert!(calls[0].body["input"].get("invokeModel").is_none());
    let converse = &calls[0].body["input"]["converse"];
    assert_eq!(
        converse["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "TideTable"
    );
    assert_eq!(
        converse["system"][0]["text"],
        "You answer questions about tides."
    );
}

#[tokio::test]
async fn the_count_cache_tells_apart_bodies_that_differ_only_in_the_betas_sent() {
    let app = spawn_app_with(INVOKE).await;
    let body = raw_body("Is the harbour bar passable at half tide?");
    let beta = allowed_beta();
    for betas in ["claude-code-20250219", beta.as_str(), beta.as_str()] {
        tokens_of(
            &app.post_raw("/v1/messages/count_tokens?beta=true", &body, betas)
                .await,
        );
    }
    // The allowed beta changes the native body, so it is counted again; the repeat is cached.
    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(runtime_input(&calls[0]).get("anthropic_beta").is_none());
    assert_eq!(runtime_input(&calls[1])["anthropic_beta"], json!([beta]));
}

#[tokio::test]
async fn on_the_invoke_path_media_bedrock_refuses_gets_the_estimate() {
    // The native path leaves media to Bedrock (as `/v1/messages` does), and a count Bedrock
    // refuses is answered by the estimate, never an error.
    let app = spawn_app_with(INVOKE).await;
    let body = bad_image_body();
    assert_eq!(tokens_of(&count(&app, &body).await), local_estimate(&body));
    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let sent = runtime_input(&calls[0]);
    assert_eq!(sent["messages"][0]["content"][0]["source"]["data"], "@@@");
}

fn base64_decode(b64: &str) -> String {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("standard base64");
    String::from_utf8(bytes).expect("utf8")
}
