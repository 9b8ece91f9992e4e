use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::*;

fn split(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).expect("serializes")
}

fn ask(messages: &Value) -> Vec<u8> {
    split(&json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": messages}))
}

fn outline(bytes: &[u8]) -> Outline {
    RequestBody::split(bytes, Kind::Messages)
        .and_then(|b| b.outline())
        .expect("outline")
}

fn message(e: ApiError) -> String {
    match e {
        ApiError::InvalidRequest(m) => m,
        other => panic!("not a 400: {other:?}"),
    }
}

#[test]
fn each_field_is_the_clients_bytes_in_the_clients_order() {
    let bytes = br#"{ "max_tokens" : 8,"model":"m" , "messages":[ {"role":"user","content":"a\u00e9"} ],"x":{"b":1,"a":2}}"#;
    let body = RequestBody::split(bytes, Kind::Messages).expect("splits");
    let got: Vec<(&str, &str)> = body
        .fields()
        .iter()
        .map(|(k, v)| (k.as_ref(), v.get()))
        .collect();
    assert_eq!(
        got,
        [
            ("max_tokens", "8"),
            ("model", "\"m\""),
            ("messages", r#"[ {"role":"user","content":"a\u00e9"} ]"#),
            ("x", r#"{"b":1,"a":2}"#),
        ]
    );
    assert_eq!(body.bytes(), bytes);
}

#[test]
fn a_key_twice_at_the_top_level_is_refused() {
    let bytes = br#"{"model":"m","max_tokens":1,"messages":[],"context_management":{},"context_management":{}}"#;
    let err = RequestBody::split(bytes, Kind::Messages).expect_err("refused");
    assert!(
        message(err).starts_with("duplicate field `context_management`"),
        "names the key"
    );
}

#[test]
fn head_and_messages_read_what_the_whole_body_parse_reads() {
    let bytes = split(&json!({
        "model": "claude-opus-5-5", "max_tokens": 64, "stream": true,
        "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "t", "input_schema": {"type": "object"}, "defer_loading": true}],
        "thinking": {"type": "adaptive"}, "context_management": {"edits": []},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                     {"role": "assistant", "content": "yo"}],
    }));
    let body = RequestBody::split(&bytes, Kind::Messages).expect("splits");
    let mut head = body.head().expect("head");
    assert!(head.messages.is_empty(), "content is not read by the head");
    head.messages = body.messages().expect("messages");
    let whole = parse_messages_request(&bytes).expect("parses");
    assert_eq!(format!("{head:?}"), format!("{whole:?}"));
}

#[test]
fn refusals_read_as_the_whole_body_parse_words_them() {
    let bodies = [
        r#"{"model": "m", "max_"#.to_owned(),
        r#"{"model":"m","max_tokens":1,"messages":[]} x"#.to_owned(),
        "[]".to_owned(),
        r#"{"model": 123, "max_tokens": 1, "messages": []}"#.to_owned(),
        r#"{"model": "m", "messages": []}"#.to_owned(),
        r#"{"model": "m", "max_tokens": "1", "messages": []}"#.to_owned(),
        r#"{"model": "m", "max_tokens": 1}"#.to_owned(),
        r#"{"model": "m", "max_tokens": 1, "messages": {}}"#.to_owned(),
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "bot", "content": "x"}]}"#
            .to_owned(),
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user"}]}"#.to_owned(),
    ];
    for text in bodies {
        let bytes = text.as_bytes();
        let whole = message(parse_messages_request(bytes).expect_err("whole parse refuses"));
        let stepwise = RequestBody::split(bytes, Kind::Messages)
            .and_then(|b| b.head().and_then(|_| b.outline()).map(|_| ()))
            .expect_err("refused step by step");
        assert_eq!(message(stepwise), whole, "{text}");
    }
}

#[test]
fn a_count_needs_no_max_tokens() {
    let bytes = br#"{"model": "m", "messages": [{"role": "user", "content": "x"}]}"#;
    let body = RequestBody::split(bytes, Kind::CountTokens).expect("splits");
    assert!(body.head().is_ok());
    let body = RequestBody::split(bytes, Kind::Messages).expect("splits");
    assert_eq!(
        message(body.head().expect_err("refused")),
        "max_tokens: field required"
    );
}

#[test]
fn the_outline_finds_system_turns_prefill_and_the_word_url() {
    let user = json!({"role": "user", "content": "hi"});
    assert_eq!(outline(&ask(&json!([user]))), Outline::default());
    let system = json!({"role": "system", "content": "be brief"});
    assert!(outline(&ask(&json!([user, system, user]))).system_turns);
    let prefill = json!({"role": "assistant", "content": [{"type": "text", "text": "{"}]});
    assert!(outline(&ask(&json!([user, prefill]))).ends_with_assistant);
    for empty in [json!(""), json!("  "), json!([])] {
        let turn = json!({"role": "assistant", "content": empty});
        assert!(
            !outline(&ask(&json!([user, turn]))).ends_with_assistant,
            "{empty}"
        );
    }
    let image = json!({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}});
    let with_url = json!({"role": "user", "content": [image]});
    assert!(outline(&ask(&json!([with_url]))).may_have_url_sources);
}

#[test]
fn url_sources_are_found_where_the_fetcher_looks_and_a_url_input_is_none() {
    let source = json!({"type": "url", "url": "https://x/y.pdf"});
    let document = json!({"type": "document", "source": source});
    let image = json!({"type": "image", "source": source});
    let in_result = json!({"type": "tool_result", "tool_use_id": "t", "content": [image]});
    let in_document =
        json!({"type": "document", "source": {"type": "content", "content": [image]}});
    for block in [document, in_result, in_document] {
        let turn = json!({"role": "user", "content": [block]});
        assert!(
            outline(&ask(&json!([turn]))).may_have_url_sources,
            "{block}"
        );
    }
    let fetch = json!({"type": "tool_use", "id": "t", "name": "WebFetch",
                       "input": {"url": "https://x", "type": "url"}});
    let said = json!({"type": "text", "text": "the \"url\" key"});
    let base64 = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}});
    let turns = json!([{"role": "user", "content": "go"},
                       {"role": "assistant", "content": [said, fetch]},
                       {"role": "user", "content": [base64]}]);
    assert!(!outline(&ask(&turns)).may_have_url_sources);
}

#[test]
fn the_outline_leaves_content_to_bedrock() {
    // A text block without `text`: the typed parse refuses it; the native path sends it on and
    // Bedrock answers in its own words.
    let bytes = ask(&json!([{"role": "user", "content": [{"type": "text"}]}]));
    assert!(parse_messages_request(&bytes).is_err());
    assert_eq!(outline(&bytes), Outline::default());
}

fn recorded_bodies() -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/claude-code");
    let mut out = Vec::new();
    for version in std::fs::read_dir(&root).expect("fixtures") {
        let dir = version.expect("entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("version dir") {
            let path = file.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("reads");
            let fixture: Value = serde_json::from_str(&text).expect("JSON");
            if fixture["method"] == "POST" && fixture["body"].is_object() {
                out.push((path, serde_json::to_vec(&fixture["body"]).expect("body")));
            }
        }
    }
    out
}

#[test]
fn recorded_claude_code_requests_read_the_same_step_by_step() {
    let bodies = recorded_bodies();
    assert!(bodies.len() > 50, "{} recorded bodies", bodies.len());
    for (path, bytes) in bodies {
        let Ok(whole) = parse_count_tokens_request(&bytes) else {
            panic!("{}: the whole-body parse refuses it", path.display());
        };
        let body = RequestBody::split(&bytes, Kind::CountTokens).expect("splits");
        let mut head = body.head().expect("head");
        head.messages = body.messages().expect("messages");
        assert_eq!(
            format!("{head:?}"),
            format!("{whole:?}"),
            "{}",
            path.display()
        );
        let outline = body.outline().expect("outline");
        let one_scan = RequestBody::split_with_outline(&bytes, Kind::CountTokens).expect("splits");
        assert_eq!(one_scan.outline, Some(outline), "{}", path.display());
        assert_eq!(outline.system_turns, whole.has_system_turns());
        let view = crate::models::rules::View::of(&whole);
        assert_eq!(outline.ends_with_assistant, view.ends_with_assistant);
    }
}
