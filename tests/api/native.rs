//! Claude on Bedrock's native path (the default): what reaches InvokeModel is the client's body
//! with named changes only, and what comes back is Bedrock's, with the cost added.

use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};

const INVOKE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "invoke")];

fn last_invoke(app: &TestApp) -> bedrock_emulator::RecordedRequest {
    let sent = app.emulator.requests().pop().expect("a call");
    assert!(
        sent.operation.starts_with("InvokeModel"),
        "{}",
        sent.operation
    );
    sent
}

#[tokio::test]
async fn tool_search_context_management_and_effort_reach_bedrock_byte_for_byte() {
    let app = spawn_app_with(INVOKE).await;
    // A thinking block the emulator signed, for the replayed assistant turn.
    let first = json!({"model": "claude-opus-5-5", "max_tokens": 4096, "thinking": {"type": "adaptive"},
                       "messages": [{"role": "user", "content": "[[emu:thinking]] find the deploy tool"}]});
    let signed = app.post_messages(&first).await;
    let thinking = signed.body["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "thinking"))
        .expect("a signed thinking block")
        .to_string();
    // Spacing, escapes and key order a parse-and-serialize would change.
    let tools = r#"[{"name":"ToolSearch","description":"Finds tools.","input_schema":{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","description":"at most \u0031\u0030"}},"required":["query"]}},{"name":"Deploy","description":"Ships it.","defer_loading":true,"input_schema":{"type":"object","properties":{"env":{"enum":["prod","staging"]}}}}]"#;
    let messages = r#"[{"role":"user","content":"find the deploy tool"},{"role":"assistant","content":[THINKING,{"type":"tool_use","id":"toolu_01","name":"ToolSearch","input":{"query":"deploy"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":[{"type":"tool_reference","tool_name":"Deploy"}]}]}]"#;
    let messages = messages.replace("THINKING", &thinking);
    let context = r#"{"edits":[{"type":"clear_thinking_20251015","keep":{"type":"thinking_turns","value":1}}]}"#;
    let body = format!(
        r#"{{"model":"claude-opus-5-5","max_tokens":4096,"stream":false,"thinking":{{"type":"adaptive"}},"output_config":{{"effort":"xhigh"}},"context_management":{context},"tools":{tools},"messages":{messages}}}"#
    );
    let betas = "advanced-tool-use-2025-11-20,context-management-2025-06-27,effort-2025-11-24";
    let r = app.post_raw("/v1/messages?beta=true", &body, betas).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let sent = last_invoke(&app);
    assert_eq!(sent.model_id, "global.anthropic.claude-opus-5-5");
    let raw = sent
        .raw_body
        .expect("the emulator keeps invoke bodies as sent");
    for part in [
        format!(r#""tools":{tools}"#),
        format!(r#""messages":{messages}"#),
        format!(r#""context_management":{context}"#),
        r#""thinking":{"type":"adaptive"}"#.to_owned(),
        r#""output_config":{"effort":"xhigh"}"#.to_owned(),
    ] {
        assert!(raw.contains(&part), "{part}\nnot in\n{raw}");
    }
    assert!(raw.starts_with(r#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["tool-search-tool-2025-10-19","context-management-2025-06-27","effort-2025-11-24"]"#), "{raw}");
    assert!(!raw.contains(r#""model""#) && !raw.contains(r#""stream""#));
}

#[tokio::test]
async fn a_json_answer_is_bedrocks_message_with_the_clients_model_and_its_cost() {
    let app = spawn_app_with(INVOKE).await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 64,
                      "messages": [{"role": "user", "content": "[[emu:text tides turn twice a day]]"}]});
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["model"], "claude-sonnet-4-5");
    assert_eq!(r.body["content"][0]["text"], "tides turn twice a day");
    assert!(r.body["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("msg_bdrk_")));
    let usage = &r.body["usage"];
    let (input, output) = (
        usage["input_tokens"].as_f64().expect("in"),
        usage["output_tokens"].as_f64().expect("out"),
    );
    let expected = (input * 3.0 + output * 15.0) / 1e6;
    assert!((usage["cost"]["total_cost"].as_f64().expect("cost") - expected).abs() < 1e-9);
    let header: f64 = r.headers["x-chatrix-cost-usd"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    assert!((header - expected).abs() < 1e-9);
    assert_eq!(last_invoke(&app).operation, "InvokeModel");
}

#[tokio::test]
async fn bedrocks_model_errors_reach_the_client_in_their_own_words() {
    let app = spawn_app_with(INVOKE).await;
    // A 4.7+ model wraps a whole Anthropic envelope in its ValidationException; older models
    // put plain text after the prefix. Either way the client gets the words, not the wrapper.
    for model in ["claude-opus-5-5", "claude-sonnet-4-5"] {
        let body = json!({"model": model, "max_tokens": 64,
            "tools": [{"name": "get weather!", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "hi"}]});
        let r = app.post_messages(&body).await;
        assert_eq!(r.status, 400, "{model}: {:?}", r.body);
        assert_eq!(r.body["error"]["type"], "invalid_request_error");
        assert_eq!(
            r.body["error"]["message"],
            "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
            "{model}"
        );
    }
}

#[tokio::test]
async fn claude_goes_through_converse_when_configured_and_other_models_always_do() {
    let app = spawn_app_with(&[("CHATRIX_CLAUDE_API", "converse")]).await;
    let ask = |model: &str| json!({"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(app.post_messages(&ask("claude-opus-5-5")).await.status, 200);
    assert_eq!(
        app.emulator.requests().pop().expect("call").operation,
        "Converse"
    );
    let app = spawn_app_with(INVOKE).await;
    assert_eq!(app.post_messages(&ask("qwen3-32b")).await.status, 200);
    assert_eq!(
        app.emulator.requests().pop().expect("call").operation,
        "Converse"
    );
}

#[tokio::test]
async fn cache_markers_lose_scope_everywhere_and_ttl_only_on_models_before_4_5() {
    let app = spawn_app_with(INVOKE).await;
    let marker = json!({"type": "ephemeral", "scope": "global", "ttl": "1h"});
    let ask = |model: &str| {
        json!({"model": model, "max_tokens": 32,
            "system": [{"type": "text", "text": "be brief", "cache_control": marker}],
            "tools": [{"name": "Read", "input_schema": {"type": "object"}, "cache_control": marker}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi \"scope\"", "cache_control": marker}]}]})
    };
    for (model, kept) in [
        ("claude-opus-5-5", json!({"type": "ephemeral", "ttl": "1h"})),
        ("claude-sonnet-4-20250514", json!({"type": "ephemeral"})),
    ] {
        let r = app.post_messages(&ask(model)).await;
        assert_eq!(r.status, 200, "{model}: {:?}", r.body);
        let sent: serde_json::Value =
            serde_json::from_str(&last_invoke(&app).raw_body.expect("raw")).expect("JSON");
        assert_eq!(sent["system"][0]["cache_control"], kept, "{model}");
        assert_eq!(sent["tools"][0]["cache_control"], kept, "{model}");
        assert_eq!(sent["messages"][0]["content"][0]["cache_control"], kept);
        assert_eq!(sent["messages"][0]["content"][0]["text"], "hi \"scope\"");
    }
}
