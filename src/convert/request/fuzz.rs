//! Property tests of whole-request conversion: random and mangled request bodies never panic,
//! parse errors are 400s, and whatever converts keeps the invariants Bedrock enforces (alternating
//! roles, no blank text, `toolConfig` with tool history, at most four cache points).

use proptest::prelude::*;
use serde_json::{json, Value};

use super::test_support::CATALOG;
use super::{to_converse, to_count_tokens, ConvertOptions};
use crate::anthropic::request::{parse_count_tokens_request, parse_messages_request};
use crate::models::InferenceProfile;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("  \n".to_owned()),
        Just("tail  ".to_owned()),
        "[a-z ]{0,6}"
    ]
}

fn cache() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop_oneof![
        Just(json!({"type": "ephemeral"})),
        Just(json!({"type": "ephemeral", "ttl": "1h"})),
    ])
}

fn cached(mut block: Value, cache: Option<Value>) -> Value {
    if let Some(cc) = cache {
        block["cache_control"] = cc;
    }
    block
}

fn tool_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Bash".to_owned()),
        Just("mcp.files/read".to_owned()),
        Just("n".repeat(80)),
        Just(String::new())
    ]
}

fn tool_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("toolu_1".to_owned()),
        Just("call/2".to_owned()),
        Just("i".repeat(70))
    ]
}

fn leaf_block() -> impl Strategy<Value = Value> {
    prop_oneof![
        (text(), cache()).prop_map(|(t, c)| cached(json!({"type": "text", "text": t}), c)),
        (
            prop::sample::select(vec!["image/png", "image/bmp"]),
            prop::sample::select(vec!["iVBORw0KGgo=", "@@"]),
            cache()
        )
            .prop_map(|(m, d, c)| cached(
                json!({"type": "image", "source": {"type": "base64", "media_type": m, "data": d}}),
                c
            )),
        (
            text(),
            prop::option::of(prop::sample::select(vec!["", "c2ln"]))
        )
            .prop_map(|(t, s)| json!({"type": "thinking", "thinking": t, "signature": s})),
        Just(json!({"type": "redacted_thinking", "data": "cmVk"})),
        (tool_id(), tool_name(), cache()).prop_map(|(id, name, c)| cached(
            json!({"type": "tool_use", "id": id, "name": name, "input": {"b": 1, "a": 2}}),
            c
        )),
        (prop::option::of(text()), cache()).prop_map(|(title, c)| cached(
            json!({"type": "document", "title": title, "source": {"type": "text", "data": "d"}}),
            c
        )),
        Just(json!({"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}})),
        Just(json!({"type": "tool_reference", "tool_name": "Bash"})),
        Just(json!({"type": "hologram"})),
    ]
}

fn block() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => leaf_block(),
        1 => (tool_id(), prop::collection::vec(leaf_block(), 0..3), any::<bool>(), cache()).prop_map(|(id, content, err, c)| {
            cached(json!({"type": "tool_result", "tool_use_id": id, "content": content, "is_error": err}), c)
        }),
    ]
}

fn message() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["user", "assistant", "system"]),
        prop_oneof![
            text().prop_map(Value::String),
            prop::collection::vec(block(), 0..4).prop_map(Value::Array)
        ],
    )
        .prop_map(|(role, content)| json!({"role": role, "content": content}))
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(message(), 0..6),
        prop::option::of(prop::collection::vec((tool_name(), cache()), 0..3)),
        prop::option::of(prop::sample::select(vec!["auto", "any", "none"])),
        prop::option::of(prop::collection::vec((text(), cache()), 0..3)),
        prop::option::of(prop::sample::select(vec![
            "adaptive", "enabled", "disabled",
        ])),
        prop::sample::select(vec![1u32, 100, 2048, 32000]),
        cache(),
    )
        .prop_map(
            |(messages, tools, choice, system, thinking, max_tokens, top_cache)| {
                let mut r = json!({"messages": messages, "max_tokens": max_tokens});
                if let Some(tools) = tools {
                    r["tools"] = tools
                        .into_iter()
                        .map(|(n, c)| {
                            cached(json!({"name": n, "input_schema": {"type": "object"}}), c)
                        })
                        .collect();
                }
                if let Some(choice) = choice {
                    r["tool_choice"] = json!({"type": choice});
                }
                if let Some(system) = system {
                    r["system"] = system
                        .into_iter()
                        .map(|(t, c)| cached(json!({"type": "text", "text": t}), c))
                        .collect();
                }
                if let Some(kind) = thinking {
                    r["thinking"] = json!({"type": kind, "budget_tokens": 1024});
                }
                if let Some(cc) = top_cache {
                    r["cache_control"] = cc;
                }
                r
            },
        )
}

fn assert_bedrock_invariants(body: &Value, model: &str) {
    let messages = body["messages"].as_array().expect("messages array");
    assert!(!messages.is_empty());
    let mut has_tool_blocks = false;
    for (i, message) in messages.iter().enumerate() {
        assert_eq!(
            message["role"],
            if i % 2 == 0 { "user" } else { "assistant" },
            "roles alternate from user"
        );
        let content = message["content"].as_array().expect("content array");
        assert!(
            content
                .first()
                .is_some_and(|b| b.get("cachePoint").is_none()),
            "starts with a real block"
        );
        for block in content {
            let texts = std::iter::once(block).chain(
                block
                    .pointer("/toolResult/content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
            for t in texts.filter_map(|b| b.get("text")) {
                assert!(
                    t.as_str().is_some_and(|s| !s.trim().is_empty()),
                    "blank text: {body}"
                );
            }
            has_tool_blocks |= block.get("toolUse").is_some() || block.get("toolResult").is_some();
        }
    }
    if let Some(system) = body["system"].as_array() {
        assert!(system
            .iter()
            .filter_map(|b| b.get("text"))
            .all(|t| t.as_str().is_some_and(|s| !s.trim().is_empty())));
    }
    if has_tool_blocks {
        assert!(
            body.pointer("/toolConfig/tools/0").is_some(),
            "toolConfig required with tool history"
        );
    }
    let cache_points = body.to_string().matches("\"cachePoint\"").count();
    assert!(cache_points <= 4, "{cache_points} cache points");
    if !model.starts_with("claude") {
        assert_eq!(cache_points, 0);
        assert_eq!(body.get("additionalModelRequestFields"), None);
    }
}

/// A valid request's bytes with a few bytes overwritten, inserted or cut: mostly broken JSON, some
/// of it still JSON with odd values in odd places.
fn mangled_request() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..6);
    (request(), edits).prop_map(|(request, edits)| {
        let mut bytes = request.to_string().into_bytes();
        for (at, byte, how) in edits {
            let i = at.index(bytes.len() + 1);
            match how {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => bytes.truncate(i.max(1)),
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(crate::test_support::fuzz_config(256))]

    #[test]
    fn fuzz_request_bytes_never_panic(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..64), mangled_request()],
    ) {
        let resolved = CATALOG.resolve("claude-sonnet-4-5", InferenceProfile::Global).expect("model");
        let opts = ConvertOptions { model: &resolved, betas: &[], strip_billing_header: true };
        match parse_messages_request(&bytes) {
            Ok(req) => match to_converse(&req, &opts) {
                Ok(out) => assert_bedrock_invariants(&out.body, "claude-sonnet-4-5"),
                Err(e) => prop_assert!(e.status().is_client_error(), "{}", e),
            },
            Err(e) => prop_assert_eq!(e.status().as_u16(), 400, "{}", e),
        }
        if let Err(e) = parse_count_tokens_request(&bytes) {
            prop_assert_eq!(e.status().as_u16(), 400, "{}", e);
        }
    }

    #[test]
    fn fuzz_request_conversion(
        request in request(),
        model in prop::sample::select(vec!["claude-sonnet-4-5", "claude-opus-4-6", "claude-3-5-haiku-20241022", "qwen3-32b"]),
    ) {
        let mut request = request;
        request["model"] = json!(model);
        let resolved = CATALOG.resolve(model, InferenceProfile::Global).expect("model");
        if let Ok(req) = parse_messages_request(request.to_string().as_bytes()) {
            let opts = ConvertOptions { model: &resolved, betas: &[], strip_billing_header: true };
            match to_converse(&req, &opts) {
                Ok(out) => assert_bedrock_invariants(&out.body, model),
                Err(e) => prop_assert!(e.status().is_client_error(), "{}", e),
            }
            let _ = to_count_tokens(&req, &opts);
        }
    }
}
