//! Whole-request conversions: snapshots of our fixtures (`tests/fixtures/requests/`), the
//! count-tokens body, and the thinking rule for tool turns (property tests: `fuzz.rs`).

use std::path::PathBuf;

use serde_json::{json, Value};

use super::test_support::{body, CATALOG};
use super::{to_converse, to_count_tokens, ConvertOptions};
use crate::anthropic::request::{parse_count_tokens_request, parse_messages_request};
use crate::models::InferenceProfile;

/// A fixture: the captured-style envelope `{path, headers, body}`.
fn fixture(name: &str) -> (Vec<String>, Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/requests")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let raw: Value = serde_json::from_slice(&bytes).expect("fixture is JSON");
    let betas = raw["headers"]["anthropic-beta"]
        .as_str()
        .map(|s| vec![s.to_owned()])
        .unwrap_or_default();
    (betas, raw["body"].clone())
}

fn converted(name: &str) -> Value {
    let (betas, request) = fixture(&format!("{name}.json"));
    let model = CATALOG
        .resolve(
            request["model"].as_str().expect("model"),
            InferenceProfile::Global,
        )
        .expect("model resolves");
    let req = parse_messages_request(request.to_string().as_bytes()).expect("parses");
    let opts = ConvertOptions {
        model: &model,
        betas: &betas,
        strip_billing_header: true,
    };
    let out = to_converse(&req, &opts).expect("converts");
    json!({
        "modelId": model.bedrock_model_id,
        "body": out.body,
        "stop_sequences": out.stop_sequences,
        "dropped": out.dropped,
    })
}

macro_rules! assert_fixture_snapshot {
    ($name:literal, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!($name, $value);
        });
    };
}

#[test]
fn a_claude_code_tool_round_trip_converts_as_snapshotted() {
    assert_fixture_snapshot!("cc_tool_round_trip", converted("cc_tool_round_trip"));
}

#[test]
fn signed_thinking_history_converts_as_snapshotted() {
    assert_fixture_snapshot!("thinking_history", converted("thinking_history"));
}

#[test]
fn documents_images_and_a_prefill_convert_as_snapshotted() {
    assert_fixture_snapshot!("documents_prefill", converted("documents_prefill"));
}

#[test]
fn a_title_generation_request_converts_as_snapshotted() {
    assert_fixture_snapshot!("title_generation", converted("title_generation"));
}

#[test]
fn a_non_claude_model_with_tool_choice_none_converts_as_snapshotted() {
    assert_fixture_snapshot!("qwen_tool_choice_none", converted("qwen_tool_choice_none"));
}

#[test]
fn count_tokens_body_wraps_the_same_conversion_without_inference_settings() {
    let (betas, mut request) = fixture("cc_tool_round_trip.json");
    if let Some(o) = request.as_object_mut() {
        o.remove("max_tokens");
    }
    let model = CATALOG
        .resolve("claude-opus-4-8", InferenceProfile::Global)
        .expect("model");
    let req = parse_count_tokens_request(request.to_string().as_bytes()).expect("parses");
    let opts = ConvertOptions {
        model: &model,
        betas: &betas,
        strip_billing_header: true,
    };
    let counted = to_count_tokens(&req, &opts).expect("converts");
    assert_fixture_snapshot!("cc_tool_round_trip_count_tokens", &counted);

    let converse = &counted["input"]["converse"];
    let keys: Vec<&String> = converse
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "messages",
            "system",
            "toolConfig",
            "additionalModelRequestFields"
        ]
    );
    let mut full = request.clone();
    full["max_tokens"] = json!(64000);
    let converse_body = body("claude-opus-4-8", full);
    assert_eq!(
        converse["messages"], converse_body["messages"],
        "same rules as Converse"
    );
}

#[test]
fn count_tokens_checks_the_thinking_budget_only_against_the_minimum() {
    let model = CATALOG
        .resolve("claude-sonnet-4-5", InferenceProfile::Global)
        .expect("model");
    let opts = ConvertOptions {
        model: &model,
        betas: &[],
        strip_billing_header: true,
    };
    let cases = [
        (
            json!({"type": "enabled", "budget_tokens": 50000}),
            Ok(json!({"type": "enabled", "budget_tokens": 50000})),
        ),
        (
            json!({"type": "adaptive"}),
            Ok(json!({"type": "enabled", "budget_tokens": 1024})),
        ),
        (
            json!({"type": "enabled", "budget_tokens": 10}),
            Err("thinking.budget_tokens: must be at least 1024"),
        ),
    ];
    for (thinking, want) in cases {
        let request = json!({"model": "claude-sonnet-4-5", "thinking": thinking,
            "messages": [{"role": "user", "content": "count me"}]});
        let req = parse_count_tokens_request(request.to_string().as_bytes()).expect("parses");
        match (to_count_tokens(&req, &opts), want) {
            (Ok(out), Ok(want)) => {
                assert_eq!(
                    out["input"]["converse"]["additionalModelRequestFields"]["thinking"],
                    want
                );
            }
            (Err(e), Err(want)) => assert!(e.to_string().starts_with(want), "{e}"),
            (got, want) => panic!("{thinking}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn thinking_is_dropped_when_the_last_tool_turn_has_no_thinking_block() {
    let history = |assistant: Value| {
        json!({
            "model": "claude-opus-4-8", "max_tokens": 4096, "thinking": {"type": "adaptive"},
            "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
            "messages": [
                {"role": "user", "content": "run it"},
                {"role": "assistant", "content": assistant},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}
            ]
        })
    };
    let tool = json!({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}});
    let unthought = body(
        "claude-opus-4-8",
        history(json!([{"type": "text", "text": "Running."}, tool])),
    );
    assert!(
        unthought["additionalModelRequestFields"]
            .get("thinking")
            .is_none(),
        "{unthought}"
    );

    let thought = body(
        "claude-opus-4-8",
        history(json!([{"type": "thinking", "thinking": "t", "signature": "sig"}, tool])),
    );
    assert_eq!(
        thought["additionalModelRequestFields"]["thinking"],
        json!({"type": "adaptive"})
    );
}
