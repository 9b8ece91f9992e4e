//! Sampling, thinking, betas, output and metadata rules.

use serde_json::{json, Value};

use super::super::test_support::{body, convert, convert_with, error};
use super::adaptive_budget;

const SONNET: &str = "claude-sonnet-4-5";

fn with(fields: Value) -> Value {
    let mut request = json!({"messages": [{"role": "user", "content": "hi"}]});
    if let (Some(target), Value::Object(extra)) = (request.as_object_mut(), fields) {
        target.extend(extra);
    }
    request
}

#[test]
fn sampling_parameters_go_to_inference_config() {
    let cases = [
        (
            SONNET,
            json!({"max_tokens": 100, "temperature": 0}),
            json!({"maxTokens": 100, "temperature": 0.0}),
        ),
        (
            SONNET,
            json!({"max_tokens": 100, "top_p": 0.9}),
            json!({"maxTokens": 100, "topP": 0.9}),
        ),
        (
            SONNET,
            json!({"max_tokens": 100, "temperature": 0.5, "top_p": 0.9}),
            json!({"maxTokens": 100, "temperature": 0.5}),
        ),
        (
            "claude-3-5-haiku-20241022",
            json!({"max_tokens": 100, "temperature": 0.5, "top_p": 0.9}),
            json!({"maxTokens": 100, "temperature": 0.5, "topP": 0.9}),
        ),
        (
            SONNET,
            json!({"max_tokens": 7, "stop_sequences": ["", "\n\nHuman:", " "]}),
            json!({"maxTokens": 7, "stopSequences": ["\n\nHuman:", " "]}),
        ),
    ];
    for (model, fields, want) in cases {
        let out = body(model, with(fields.clone()));
        assert_eq!(out["inferenceConfig"], want, "{model} {fields}");
    }
}

#[test]
fn dropped_sampling_parameters_are_noted() {
    let out = convert(
        SONNET,
        with(json!({"temperature": 1, "top_p": 0.5, "stop_sequences": ["", "END"]})),
    )
    .expect("converts");
    assert_eq!(out.stop_sequences, ["END"]);
    assert!(out.dropped.contains(&"top_p".to_owned()));
    assert!(out.dropped.contains(&"stop_sequences(empty)".to_owned()));
    let out = convert("qwen3-32b", with(json!({"top_k": 5}))).expect("converts");
    assert!(out.dropped.contains(&"top_k".to_owned()));
    assert_eq!(out.body.get("additionalModelRequestFields"), None);
    assert_eq!(out.body.get("additionalModelResponseFieldPaths"), None);
}

#[test]
fn out_of_range_parameters_are_rejected_naming_the_field() {
    let cases = [
        (json!({"max_tokens": 0}), "max_tokens: must be at least 1"),
        (
            json!({"temperature": 1.5}),
            "temperature: must be between 0 and 1",
        ),
        (json!({"top_p": -0.1}), "top_p: must be between 0 and 1"),
        (
            json!({"stop_sequences": ["a", "b", "c", "d", "e"]}),
            "stop_sequences: Bedrock accepts at most 4",
        ),
        (
            json!({"thinking": {"type": "enabled"}}),
            "thinking.budget_tokens: field required",
        ),
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 1000}}),
            "thinking.budget_tokens: must be at least 1024",
        ),
        (
            json!({"max_tokens": 2000, "thinking": {"type": "enabled", "budget_tokens": 2000}}),
            "thinking.budget_tokens: must be less than max_tokens (2000)",
        ),
        (
            json!({"output_config": {"format": {"type": "regex", "schema": {}}}}),
            "output_config.format.type: only `json_schema`",
        ),
        (
            json!({"output_config": {"format": {"type": "json_schema"}}}),
            "output_config.format.schema: must be a JSON object",
        ),
    ];
    for (fields, want) in cases {
        let message = error(SONNET, with(fields));
        assert!(message.starts_with(want), "got {message}\nwant {want}");
    }
}

#[test]
fn thinking_goes_to_additional_fields_as_the_model_supports_it() {
    let cases = [
        (
            SONNET,
            json!({"max_tokens": 4096, "thinking": {"type": "enabled", "budget_tokens": 2048}}),
            Some(json!({"type": "enabled", "budget_tokens": 2048})),
        ),
        (
            SONNET,
            json!({"max_tokens": 32000, "thinking": {"type": "enabled", "budget_tokens": 31999, "display": "omitted"}}),
            Some(json!({"type": "enabled", "budget_tokens": 31999, "display": "omitted"})),
        ),
        (
            "claude-opus-4-6",
            json!({"thinking": {"type": "adaptive", "display": "summarized"}}),
            Some(json!({"type": "adaptive", "display": "summarized"})),
        ),
        (
            SONNET,
            json!({"max_tokens": 32000, "thinking": {"type": "adaptive"}}),
            Some(json!({"type": "enabled", "budget_tokens": 16000})),
        ),
        (
            SONNET,
            json!({"max_tokens": 1024, "thinking": {"type": "adaptive"}}),
            None,
        ),
        (SONNET, json!({"thinking": {"type": "disabled"}}), None),
        (
            "claude-3-5-haiku-20241022",
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
            None,
        ),
        ("qwen3-32b", json!({"thinking": {"type": "adaptive"}}), None),
    ];
    for (model, fields, want) in cases {
        let out = body(model, with(fields.clone()));
        assert_eq!(
            out.pointer("/additionalModelRequestFields/thinking")
                .cloned(),
            want,
            "{model} {fields}"
        );
    }
}

#[test]
fn adaptive_budget_stays_between_the_minimum_and_max_tokens() {
    let cases = [
        (None, Some(1024)),
        (Some(1024), None),
        (Some(1025), Some(1024)),
        (Some(3000), Some(1500)),
        (Some(64000), Some(32000)),
    ];
    for (max, want) in cases {
        assert_eq!(adaptive_budget(max), want, "{max:?}");
    }
}

#[test]
fn betas_are_split_deduplicated_and_filtered_per_model() {
    let headers = vec![
        "claude-code-20250219, interleaved-thinking-2025-05-14,context-1m-2025-08-07".to_owned(),
        "interleaved-thinking-2025-05-14,,prompt-caching-scope-2026-01-05".to_owned(),
    ];
    let cases = [
        (
            SONNET,
            Some(json!([
                "interleaved-thinking-2025-05-14",
                "context-1m-2025-08-07"
            ])),
        ),
        (
            "claude-opus-4-8",
            Some(json!(["interleaved-thinking-2025-05-14"])),
        ),
        ("qwen3-32b", None),
    ];
    for (model, want) in cases {
        let out = convert_with(model, with(json!({})), &headers).expect("converts");
        assert_eq!(
            out.body
                .pointer("/additionalModelRequestFields/anthropic_beta")
                .cloned(),
            want,
            "{model}"
        );
        assert!(out
            .dropped
            .contains(&"beta:claude-code-20250219".to_owned()));
        assert_eq!(
            out.dropped
                .iter()
                .filter(|d| d.starts_with("beta:interleaved"))
                .count(),
            usize::from(model == "qwen3-32b")
        );
    }
}

#[test]
fn claude_fields_sit_in_additional_fields_in_a_fixed_order() {
    let out = convert_with(
        SONNET,
        with(json!({"top_k": 40, "max_tokens": 5000, "thinking": {"type": "enabled", "budget_tokens": 1024}})),
        &["interleaved-thinking-2025-05-14".to_owned()],
    )
    .expect("converts");
    let keys: Vec<&String> = out.body["additionalModelRequestFields"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["thinking", "top_k", "anthropic_beta"]);
    assert_eq!(
        out.body["additionalModelResponseFieldPaths"],
        json!(["/stop_sequence", "/delta/stop_sequence"])
    );
}

#[test]
fn output_config_maps_effort_and_json_schema_format() {
    let schema = json!({"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"], "additionalProperties": false});
    let out = convert(SONNET, with(json!({"output_config": {"effort": "high", "format": {"type": "json_schema", "schema": schema}, "task_budget": 1}})))
        .expect("converts");
    assert_eq!(
        out.body["outputConfig"],
        json!({"effort": "high", "textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
            "schema": r#"{"type":"object","properties":{"title":{"type":"string"}},"required":["title"],"additionalProperties":false}"#,
            "name": "response"}}}})
    );
    assert!(out
        .dropped
        .contains(&"output_config.task_budget".to_owned()));
    let out = convert(
        "qwen3-32b",
        with(json!({"output_config": {"effort": "low"}})),
    )
    .expect("converts");
    assert_eq!(out.body.get("outputConfig"), None);
    assert!(out.dropped.contains(&"output_config.effort".to_owned()));
}

#[test]
fn metadata_user_id_is_sanitized_into_request_metadata() {
    let claude_code_id = r#"{"device_id":"ab12","account_uuid":"","session_id":"5f0c-77"}"#;
    let cases = [
        (
            json!({"metadata": {"user_id": claude_code_id}}),
            Some(json!({"user_id": "device_id:ab12,account_uuid:,session_id:5f0c-77"})),
        ),
        (
            json!({"metadata": {"user_id": "user_1\tteam@x"}}),
            Some(json!({"user_id": "user_1 team@x"})),
        ),
        (json!({"metadata": {"user_id": "{}\"\""}}), None),
        (json!({"metadata": {"user_id": null}}), None),
        (
            json!({"metadata": {"user_id": "x".repeat(300)}}),
            Some(json!({"user_id": "x".repeat(256)})),
        ),
    ];
    for (fields, want) in cases {
        assert_eq!(
            body(SONNET, with(fields.clone()))
                .get("requestMetadata")
                .cloned(),
            want,
            "{fields}"
        );
    }
}

#[test]
fn fields_bedrock_has_no_place_for_are_dropped_by_name() {
    let out = convert(
        SONNET,
        with(json!({"service_tier": "standard_only", "context_management": {"edits": []}, "container": "c",
                    "mcp_servers": [], "inference_geo": "us", "speed": "fast", "stream": true})),
    )
    .expect("converts");
    for name in [
        "service_tier",
        "context_management",
        "container",
        "mcp_servers",
        "inference_geo",
        "speed",
    ] {
        assert!(
            out.dropped.contains(&name.to_owned()),
            "{name}: {:?}",
            out.dropped
        );
    }
    assert!(!out.dropped.contains(&"stream".to_owned()));
    assert_eq!(out.body.get("serviceTier"), None);
}
