use serde_json::{json, Value};

use super::*;
use crate::models::rules::{self, View};
use crate::models::{Catalog, InferenceProfile};

fn catalog() -> Catalog {
    Catalog::embedded().expect("catalog")
}

fn build(model: &str, body: &Value, betas: &[&str]) -> (Vec<u8>, Vec<String>) {
    let c = catalog();
    let resolved = c.resolve(model, InferenceProfile::Global).expect("model");
    let bytes = body.to_string().into_bytes();
    let typed = crate::anthropic::request::parse_messages_request(&bytes).expect("typed");
    let betas: Vec<String> = betas.iter().map(|b| (*b).to_owned()).collect();
    let changes = rules::plan(&resolved.rules, &View::of(&typed), &betas).expect("plan");
    let opts = NativeOptions {
        model: &resolved,
        betas: &betas,
        changes: &changes,
        strip_billing_header: true,
        system_turns: true,
        purpose: Purpose::Invoke,
    };
    let out = to_invoke(&bytes, &opts).expect("builds");
    (out.bytes, out.dropped)
}

fn parsed(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

#[test]
fn model_and_stream_go_and_the_bedrock_version_comes_first() {
    let body = json!({"model": "claude-opus-5-5", "stream": true, "max_tokens": 10,
                      "anthropic_version": "2026-10-21",
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build("claude-opus-5-5", &body, &[]);
    let text = std::str::from_utf8(&bytes).expect("utf8");
    assert!(
        text.starts_with(r#"{"anthropic_version":"bedrock-2023-05-31","#),
        "{text}"
    );
    let v = parsed(&bytes);
    assert!(v.get("model").is_none() && v.get("stream").is_none());
    assert_eq!(v["max_tokens"], 10);
}

#[test]
fn everything_no_rule_touches_keeps_its_exact_bytes() {
    // Odd spacing, escapes and key order that a parse-and-serialize would normalise.
    let tools = r#"[{"name":"ToolSearch","defer_loading":true,"input_schema":{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"number","description":"caf\u00e9 \/ 1.50"}}}}]"#;
    let messages = r#"[{"role":"user","content":[{"type":"tool_reference","tool_name":"ToolSearch"},{"type":"text","text":"line\nbreak é","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]"#;
    let ctx = r#"{"edits":[{"type":"clear_thinking_20251015","keep":{"type":"thinking_turns","value":1}}]}"#;
    let body = format!(
        r#"{{"model":"claude-opus-5-5","max_tokens":1000,"tools":{tools},"messages":{messages},"context_management":{ctx},"thinking":{{"type":"adaptive"}},"output_config":{{"effort":"high"}}}}"#
    );
    let c = catalog();
    let resolved = c
        .resolve("claude-opus-5-5", InferenceProfile::Global)
        .expect("model");
    let betas = ["context-management-2025-06-27".to_owned()];
    let opts = NativeOptions {
        model: &resolved,
        betas: &betas,
        changes: &[],
        strip_billing_header: true,
        system_turns: true,
        purpose: Purpose::Invoke,
    };
    let out = to_invoke(body.as_bytes(), &opts).expect("builds");
    let text = String::from_utf8(out.bytes).expect("utf8");
    for part in [tools, messages, ctx, r#""output_config":{"effort":"high"}"#] {
        assert!(text.contains(part), "{part} changed in {text}");
    }
    assert!(out.dropped.is_empty());
}

#[test]
fn betas_are_split_trimmed_deduplicated_and_filtered_per_model() {
    let body = json!({"model": "claude-opus-5-5", "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, dropped) = build(
        "claude-opus-5-5",
        &body,
        &[
            "claude-code-20250219, effort-2025-11-24",
            "effort-2025-11-24,,oauth-2025-04-20",
            " compact-2026-01-12",
        ],
    );
    assert_eq!(
        parsed(&bytes)["anthropic_beta"],
        json!(["effort-2025-11-24", "compact-2026-01-12"])
    );
    assert_eq!(
        dropped,
        ["beta:claude-code-20250219", "beta:oauth-2025-04-20"]
    );
    let (bytes, _) = build("claude-opus-5-5", &body, &["claude-code-20250219"]);
    assert!(
        parsed(&bytes).get("anthropic_beta").is_none(),
        "no empty list"
    );
}

#[test]
fn fields_bedrock_has_no_place_for_are_dropped_by_name() {
    let body = json!({"model": "claude-opus-5-5", "max_tokens": 10, "service_tier": "auto",
                      "container": "c", "speed": "fast", "metadata": {"user_id": "u"},
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, dropped) = build("claude-opus-5-5", &body, &[]);
    let v = parsed(&bytes);
    for key in ["service_tier", "container", "speed"] {
        assert!(v.get(key).is_none(), "{key}");
    }
    assert_eq!(v["metadata"]["user_id"], "u", "metadata travels");
    assert_eq!(dropped, ["service_tier", "container", "speed"]);
}

#[test]
fn output_config_is_dropped_for_models_before_4_6() {
    let body = json!({"model": "m", "max_tokens": 10, "output_config": {"effort": "low"},
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, dropped) = build("claude-sonnet-4-5", &body, &[]);
    assert!(parsed(&bytes).get("output_config").is_none());
    assert_eq!(dropped, ["output_config"]);
    let (bytes, _) = build("claude-sonnet-4-6", &body, &[]);
    assert_eq!(parsed(&bytes)["output_config"]["effort"], "low");
}

#[test]
fn catalog_rules_rewrite_only_their_fields() {
    let body = json!({"model": "m", "max_tokens": 2000, "temperature": 0.2, "top_p": 0.5,
                      "thinking": {"type": "enabled", "budget_tokens": 20000, "display": "summarized"},
                      "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
                      "tool_choice": {"type": "tool", "name": "Bash", "disable_parallel_tool_use": true},
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build("claude-opus-5-5", &body, &[]);
    let v = parsed(&bytes);
    assert_eq!(
        v["thinking"],
        json!({"type": "adaptive", "display": "summarized"})
    );
    assert_eq!(v["output_config"]["effort"], "high");
    assert_eq!(v["output_config"]["format"]["type"], "json_schema");
    assert!(v.get("temperature").is_none() && v.get("top_p").is_none());
    assert_eq!(
        v["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );

    let disabled = json!({"model": "m", "max_tokens": 10, "thinking": {"type": "disabled"},
                          "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build("claude-sonnet-5-5", &disabled, &[]);
    assert_eq!(parsed(&bytes)["thinking"], json!({"type": "between_tools"}));
    let (bytes, _) = build("claude-haiku-5-5", &disabled, &[]);
    assert_eq!(parsed(&bytes)["thinking"], json!({"type": "disabled"}));
}

#[test]
fn display_updates_travels_only_with_its_beta() {
    let body = json!({"model": "m", "max_tokens": 10, "thinking": {"type": "adaptive", "display": "updates"},
                      "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build("claude-opus-5-5", &body, &[]);
    assert_eq!(parsed(&bytes)["thinking"], json!({"type": "adaptive"}));
    let (bytes, _) = build("claude-opus-5-5", &body, &[rules::DISPLAY_UPDATES_BETA]);
    let v = parsed(&bytes);
    assert_eq!(v["thinking"]["display"], "updates");
    assert_eq!(v["anthropic_beta"], json!([rules::DISPLAY_UPDATES_BETA]));
}

#[test]
fn the_billing_header_block_is_removed_and_the_rest_of_system_keeps_its_bytes() {
    let rest =
        r#"{"type":"text","text":"You are   a test agent.","cache_control":{"type":"ephemeral"}}"#;
    let body = format!(
        r#"{{"model":"m","max_tokens":10,"system":[{{"type":"text","text":"x-anthropic-billing-header: cc_version=9.9.9; cch=ab12;"}},{rest}],"messages":[{{"role":"user","content":"hi"}}]}}"#
    );
    let c = catalog();
    let resolved = c
        .resolve("claude-opus-5-5", InferenceProfile::Global)
        .expect("model");
    let mut opts = NativeOptions {
        model: &resolved,
        betas: &[],
        changes: &[],
        strip_billing_header: true,
        system_turns: true,
        purpose: Purpose::Invoke,
    };
    let out =
        String::from_utf8(to_invoke(body.as_bytes(), &opts).expect("ok").bytes).expect("utf8");
    assert!(out.contains(&format!(r#""system":[{rest}]"#)), "{out}");
    assert!(!out.contains("billing"));
    opts.strip_billing_header = false;
    let kept =
        String::from_utf8(to_invoke(body.as_bytes(), &opts).expect("ok").bytes).expect("utf8");
    assert!(kept.contains("x-anthropic-billing-header"));
    // A string system, or a billing line that is not first, is left alone.
    let plain =
        br#"{"model":"m","max_tokens":1,"system":"x-anthropic-billing-header: a","messages":[]}"#;
    opts.strip_billing_header = true;
    let out = String::from_utf8(to_invoke(plain, &opts).expect("ok").bytes).expect("utf8");
    assert!(out.contains(r#""system":"x-anthropic-billing-header: a""#));
}

#[test]
fn url_sources_are_found_where_the_typed_request_finds_them_and_nowhere_else() {
    let mut body = json!({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://a/1.png"}},
        {"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "document", "source": {"type": "url", "url": "https://a/2.pdf"}}]},
        {"type": "document", "source": {"type": "content", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://a/3.png"}}]}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]},
      {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Fetch",
        "input": {"source": {"type": "url", "url": "https://not/me"}}}]}]});
    let urls: Vec<String> = url_sources_mut(&mut body)
        .iter()
        .map(|s| s["url"].as_str().expect("url").to_owned())
        .collect();
    assert_eq!(
        urls,
        ["https://a/1.png", "https://a/2.pdf", "https://a/3.png"]
    );
}

#[test]
fn system_messages_are_folded_into_user_turns_where_the_model_refuses_the_role() {
    let body = json!({"model": "m", "max_tokens": 10, "messages": [
        {"role": "user", "content": "first"},
        {"role": "system", "content": "Agents available: none."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "system", "content": [{"type": "text", "text": "reminder"}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}]});
    let (bytes, dropped) = build("claude-sonnet-5", &body, &[]);
    let messages = parsed(&bytes)["messages"].clone();
    assert_eq!(
        messages,
        json!([
        {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "Agents available: none."}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}, {"type": "text", "text": "reminder"}]}])
    );
    assert!(dropped.iter().any(|d| d.starts_with("messages(")));
    // A model that takes the role gets the messages byte for byte.
    let (bytes, _) = build("claude-opus-5-5", &body, &[]);
    assert_eq!(parsed(&bytes)["messages"], body["messages"]);
    // No system message: untouched, even where the model refuses the role.
    let plain = json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]});
    let (bytes, dropped) = build("claude-sonnet-5", &plain, &[]);
    assert_eq!(parsed(&bytes)["messages"], plain["messages"]);
    assert!(dropped.is_empty());
}

#[test]
fn advanced_tool_use_is_sent_as_bedrocks_tool_search_beta() {
    let body =
        json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build(
        "claude-opus-5-5",
        &body,
        &["advanced-tool-use-2025-11-20,tool-search-tool-2025-10-19"],
    );
    assert_eq!(
        parsed(&bytes)["anthropic_beta"],
        json!(["tool-search-tool-2025-10-19"])
    );
}

#[test]
fn context_management_travels_only_with_a_beta_the_model_allows() {
    let body = json!({"model": "m", "max_tokens": 10,
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "messages": [{"role": "user", "content": "hi"}]});
    let (bytes, _) = build("claude-opus-5-5", &body, &["context-management-2025-06-27"]);
    assert!(parsed(&bytes).get("context_management").is_some());
    // Opus 4.8's allow-list has no context-management beta: the field goes with it.
    let (bytes, dropped) = build("claude-opus-4-8", &body, &["context-management-2025-06-27"]);
    assert!(parsed(&bytes).get("context_management").is_none());
    assert!(
        dropped.iter().any(|d| d.starts_with("context_management(")),
        "{dropped:?}"
    );
    let (bytes, _) = build("claude-opus-5-5", &body, &[]);
    assert!(
        parsed(&bytes).get("context_management").is_none(),
        "no beta sent, no field"
    );
}

#[test]
fn the_output_cap_rewrites_max_tokens_and_nothing_else() {
    let messages = r#"[{"role":"user","content":"caf\u00e9  \/ odd  spacing"}]"#;
    let body = format!(r#"{{"model":"claude-opus-4-5","max_tokens":32000,"messages":{messages}}}"#);
    let c = catalog();
    let resolved = c
        .resolve("claude-opus-4-5", InferenceProfile::Global)
        .expect("model");
    let opts = NativeOptions {
        model: &resolved,
        betas: &[],
        changes: &[Change::CapMaxTokens(8192)],
        strip_billing_header: true,
        system_turns: true,
        purpose: Purpose::Invoke,
    };
    let out = to_invoke(body.as_bytes(), &opts).expect("builds");
    let text = std::str::from_utf8(&out.bytes).expect("utf8");
    assert!(text.contains(r#""max_tokens":8192"#), "{text}");
    assert!(
        text.contains(messages),
        "the messages lost their bytes: {text}"
    );
}

#[test]
fn the_output_cap_lowers_a_thinking_budget_that_no_longer_fits() {
    let body = r#"{"model":"claude-opus-4-5","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":31999},"messages":[{"role":"user","content":"hi"}]}"#;
    let c = catalog();
    let resolved = c
        .resolve("claude-opus-4-5", InferenceProfile::Global)
        .expect("model");
    let opts = NativeOptions {
        model: &resolved,
        betas: &[],
        changes: &[Change::CapMaxTokens(8192)],
        strip_billing_header: true,
        system_turns: true,
        purpose: Purpose::Invoke,
    };
    let v = parsed(&to_invoke(body.as_bytes(), &opts).expect("builds").bytes);
    assert_eq!(v["max_tokens"], 8192);
    assert_eq!(
        v["thinking"],
        json!({"type": "enabled", "budget_tokens": 8191})
    );
}
