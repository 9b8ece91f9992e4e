use std::path::Path;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::anthropic::request::{Kind, RequestBody};
use crate::models::rules::{self, View};
use crate::models::{Catalog, InferenceProfile};
use crate::native::request::{invoke_body, invoke_parts, NativeOptions, Payload, Purpose};
use crate::native::splice::ROOM;

/// The body both ways: written whole, and assembled from parts into a copy of `body` (a buffer
/// with room to spare, as `read_body` leaves, when `room`). `shared` keeps another handle on
/// that buffer while it is assembled.
fn both_ways(
    model: &str,
    body: &[u8],
    betas: &[String],
    room: bool,
    shared: bool,
) -> (Vec<u8>, Bytes) {
    let catalog = Catalog::embedded().expect("catalog");
    let resolved = catalog
        .resolve(model, InferenceProfile::Global)
        .expect("model");
    let split = RequestBody::split(body, Kind::CountTokens).expect("splits");
    let mut typed = split.head().expect("head");
    typed.messages = split.messages().expect("messages");
    let changes = rules::plan(&resolved.rules, &View::of(&typed), betas).expect("plan");
    let opts = NativeOptions {
        model: &resolved,
        betas,
        changes: &changes,
        strip_billing_header: true,
        system_turns: typed.has_system_turns(),
        purpose: Purpose::Invoke,
    };
    let whole = invoke_body(split.fields(), &opts).expect("whole").bytes;
    let mut buf = BytesMut::with_capacity(body.len() + if room { ROOM } else { 0 });
    buf.extend_from_slice(body);
    let client = buf.freeze();
    // The parts are built against the buffer they are assembled into, as the route does.
    let split = RequestBody::split(&client, Kind::CountTokens).expect("splits");
    let parts = invoke_parts(split.fields(), &client, &opts).expect("parts");
    drop(split);
    let other = shared.then(|| client.clone());
    let assembled = parts.body.assemble(client);
    drop(other);
    (whole, assembled)
}

fn ask(messages: &Value) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"model": "claude-opus-5-5", "max_tokens": 64, "stream": true,
                               "messages": messages, "metadata": {"user_id": "u"}}),
    )
    .expect("serializes")
}

#[test]
fn parts_assembled_in_place_or_joined_are_the_whole_body_byte_for_byte() {
    let long = "x".repeat(20_000);
    let bodies = [
        ask(&json!([{"role": "user", "content": long}])),
        // `messages` last, first, and a body whose largest field a rule rewrites.
        br#"{"model":"claude-opus-5-5","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#.to_vec(),
        br#"{"messages":[{"role":"user","content":"hi \u00e9"}],"model":"claude-opus-5-5","max_tokens":8,"stream":false}"#.to_vec(),
        serde_json::to_vec(&json!({"model": "claude-opus-5-5", "max_tokens": 8,
            "system": [{"type": "text", "text": long, "cache_control": {"type": "ephemeral", "scope": "global"}}],
            "messages": [{"role": "user", "content": "hi"}]})).expect("body"),
    ];
    for body in bodies {
        for (room, shared) in [(true, false), (false, false), (true, true)] {
            let (whole, assembled) = both_ways("claude-opus-5-5", &body, &[], room, shared);
            assert_eq!(
                assembled.as_ref(),
                whole.as_slice(),
                "room {room}, shared {shared}"
            );
        }
    }
}

#[test]
fn a_body_with_room_is_written_into_the_clients_own_buffer() {
    let body = ask(&json!([{"role": "user", "content": "y".repeat(100_000)}]));
    let mut buf = BytesMut::with_capacity(body.len() + ROOM);
    buf.extend_from_slice(&body);
    let client = buf.freeze();
    let at = client.as_ptr();
    let catalog = Catalog::embedded().expect("catalog");
    let model = catalog
        .resolve("claude-opus-5-5", InferenceProfile::Global)
        .expect("model");
    let opts = NativeOptions {
        model: &model,
        betas: &[],
        changes: &[],
        strip_billing_header: true,
        system_turns: false,
        purpose: Purpose::Invoke,
    };
    let split = RequestBody::split(&client, Kind::Messages).expect("splits");
    let parts = invoke_parts(split.fields(), &client, &opts).expect("parts");
    drop(split);
    assert!(matches!(parts.body, Payload::Spliced(_)));
    let sent = parts.body.assemble(client);
    assert_eq!(sent.as_ptr(), at, "no second buffer for the body");
    assert!(sent.starts_with(
        br#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"#
    ));
}

#[test]
fn recorded_claude_code_requests_assemble_to_the_whole_body() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code");
    let mut checked = 0;
    for version in ["2.1.197", "2.1.332"] {
        for file in std::fs::read_dir(root.join(version)).expect("fixtures") {
            let text = std::fs::read_to_string(file.expect("entry").path()).expect("reads");
            let fixture: Value = serde_json::from_str(&text).expect("JSON");
            if fixture["path"] != "/v1/messages?beta=true" && fixture["path"] != "/v1/messages" {
                continue;
            }
            let body = serde_json::to_vec(&fixture["body"]).expect("body");
            let betas: Vec<String> = fixture["headers"]["anthropic-beta"]
                .as_str()
                .map(|b| vec![b.to_owned()])
                .unwrap_or_default();
            let model = fixture["body"]["model"].as_str().expect("model");
            let (whole, assembled) = both_ways(model, &body, &betas, true, false);
            assert_eq!(assembled.as_ref(), whole.as_slice());
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} requests");
}

proptest! {
    #[test]
    fn any_field_order_and_sizes_assemble_to_the_whole_body(
        order in Just(["model", "messages", "max_tokens", "stream", "metadata", "system"]).prop_shuffle(),
        text in "[a-z\"\\\\é\n]{0,300}",
        room in any::<bool>(),
        shared in any::<bool>(),
    ) {
        let values = |key: &str| match key {
            "model" => json!("claude-opus-5-5"),
            "messages" => json!([{"role": "user", "content": text}]),
            "max_tokens" => json!(32),
            "stream" => json!(true),
            "metadata" => json!({"user_id": text}),
            _ => json!([{"type": "text", "text": text}]),
        };
        let fields: Vec<String> = order
            .iter()
            .map(|k| format!("{}:{}", json!(k), values(k)))
            .collect();
        let body = format!("{{{}}}", fields.join(","));
        let (whole, assembled) = both_ways("claude-opus-5-5", body.as_bytes(), &[], room, shared);
        prop_assert_eq!(assembled.as_ref(), whole.as_slice());
    }
}
