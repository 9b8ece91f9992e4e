use base64::Engine as _;
use serde_json::{json, Value};

use super::*;
use crate::anthropic::request::parse_count_tokens_request;
use crate::models::rules::{self, View};
use crate::models::{Catalog, InferenceProfile};

/// A count body and the body `/v1/messages` would send for the same request (with `max_tokens`
/// 4096 and `stream`), both built under the same rules and betas.
fn both(model: &str, count_body: &Value, betas: &[&str]) -> (Value, Value) {
    let catalog = Catalog::embedded().expect("catalog");
    let resolved = catalog
        .resolve(model, InferenceProfile::Global)
        .expect("model");
    let bytes = count_body.to_string().into_bytes();
    let typed = parse_count_tokens_request(&bytes).expect("typed");
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
    let input = count_tokens_input(&bytes, &opts).expect("builds");
    let mut real = count_body.clone();
    real["max_tokens"] = json!(4096);
    real["stream"] = json!(true);
    let invoke = to_invoke(real.to_string().as_bytes(), &opts).expect("builds");
    let invoked: Value = serde_json::from_slice(&invoke.bytes).expect("JSON");
    (decoded(&input), invoked)
}

/// The native body inside a CountTokens `invokeModel` input.
fn decoded(input: &[u8]) -> Value {
    let wire: Value = serde_json::from_slice(input).expect("JSON");
    let object = wire["input"].as_object().expect("input");
    assert_eq!(object.len(), 1, "one input kind: {wire}");
    let b64 = wire["input"]["invokeModel"]["body"]
        .as_str()
        .expect("a base64 string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("standard base64");
    serde_json::from_slice(&bytes).expect("the body is JSON")
}

#[test]
fn the_count_body_is_the_invoke_body_of_the_same_request_with_the_counts_max_tokens() {
    let body = json!({"model": "claude-sonnet-5",
        "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=9.9.9;"},
                   {"type": "text", "text": "You keep the harbour log."}],
        "tools": [{"name": "Log", "defer_loading": true, "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "first"},
                     {"role": "system", "content": "Tide tables loaded."},
                     {"role": "user", "content": "When is high water?"}]});
    let (counted, mut invoked) = both(
        "claude-sonnet-5",
        &body,
        &["claude-code-20250219,context-1m-2025-08-07"],
    );
    assert_eq!(counted["max_tokens"], json!(COUNT_MAX_TOKENS));
    invoked["max_tokens"] = json!(COUNT_MAX_TOKENS);
    assert_eq!(counted, invoked);
    assert_eq!(
        counted["anthropic_version"],
        super::super::request::BEDROCK_VERSION
    );
    assert!(counted.get("model").is_none() && counted.get("stream").is_none());
    assert_eq!(counted["system"][0]["text"], "You keep the harbour log.");
    assert_eq!(counted["tools"], body["tools"]);
}

#[test]
fn the_clients_max_tokens_is_replaced_by_the_counts() {
    let mut body = json!({"model": "claude-sonnet-4-5",
                          "messages": [{"role": "user", "content": "hi"}]});
    body["max_tokens"] = json!(900_000);
    let (counted, _) = both("claude-sonnet-4-5", &body, &[]);
    assert_eq!(counted["max_tokens"], json!(COUNT_MAX_TOKENS));
}

#[test]
fn a_manual_thinking_budget_gets_a_max_tokens_above_it() {
    let body = json!({"model": "claude-sonnet-4-5",
                      "thinking": {"type": "enabled", "budget_tokens": 2048},
                      "messages": [{"role": "user", "content": "hi"}]});
    let (counted, _) = both("claude-sonnet-4-5", &body, &[]);
    assert_eq!(counted["thinking"]["budget_tokens"], 2048);
    assert_eq!(counted["max_tokens"], 2049);
    // Where the catalog turns the budget adaptive, no budget is left to exceed.
    let (counted, _) = both("claude-opus-5-5", &body, &[]);
    assert_eq!(counted["thinking"]["type"], "adaptive");
    assert_eq!(counted["max_tokens"], json!(COUNT_MAX_TOKENS));
}

#[test]
fn the_wire_form_is_one_invoke_model_input_in_standard_base64() {
    let native = br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":1,"messages":[]}"#;
    let wire = wrap(native);
    let text = std::str::from_utf8(&wire).expect("utf8");
    assert!(
        text.starts_with(r#"{"input":{"invokeModel":{"body":""#),
        "{text}"
    );
    let back = base64::engine::general_purpose::STANDARD
        .decode(decoded_b64(text))
        .expect("base64");
    assert_eq!(back, native);
}

fn decoded_b64(wire: &str) -> String {
    let v: Value = serde_json::from_str(wire).expect("JSON");
    v["input"]["invokeModel"]["body"]
        .as_str()
        .expect("body")
        .to_owned()
}
