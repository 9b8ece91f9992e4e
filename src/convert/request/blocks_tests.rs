//! Block conversion rules, one table per block family.

use serde_json::{json, Value};

use super::super::sources::normalize_document_name;
use super::super::test_support::{body, convert, convert_opts, error};

const PNG: &str = "iVBORw0KGgo=";
const SONNET: &str = "claude-sonnet-4-5";

fn user(content: Value) -> Value {
    let mut message = json!({"role": "user"});
    message["content"] = content;
    json!({"messages": [message]})
}

fn first_block(model: &str, block: Value) -> Value {
    body(model, user(Value::Array(vec![block])))["messages"][0]["content"][0].clone()
}

fn image(media_type: &str, data: &str) -> Value {
    json!({"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}})
}

#[test]
fn images_keep_their_base64_and_get_a_lowercase_format() {
    let cases = [
        ("image/png", PNG, "png", PNG),
        ("image/jpeg", PNG, "jpeg", PNG),
        ("IMAGE/JPG", PNG, "jpeg", PNG),
        ("image/gif", PNG, "gif", PNG),
        ("image/webp", PNG, "webp", PNG),
        ("image/png", "iVBORw0KGgo", "png", PNG),
    ];
    for (media_type, data, format, bytes) in cases {
        assert_eq!(
            first_block(SONNET, image(media_type, data)),
            json!({"image": {"format": format, "source": {"bytes": bytes}}}),
            "{media_type}"
        );
    }
}

#[test]
fn bad_sources_are_rejected_naming_the_field() {
    let doc = |source: Value| json!({"type": "document", "source": source});
    let cases = [
        (
            image("image/bmp", PNG),
            "messages.0.content.0.source.media_type: unsupported image type `image/bmp`",
        ),
        (
            image("image/png", "not base64!"),
            "messages.0.content.0.source.data: invalid base64",
        ),
        (
            image("image/png", ""),
            "messages.0.content.0.source.data: must not be empty",
        ),
        (
            json!({"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}),
            "messages.0.content.0.source: this `url` source",
        ),
        (
            json!({"type": "image", "source": {"type": "file", "file_id": "f"}}),
            "messages.0.content.0.source: `file` sources",
        ),
        (
            json!({"type": "image", "source": {"type": "text", "data": "x"}}),
            "messages.0.content.0.source: an image needs",
        ),
        (
            doc(json!({"type": "base64", "media_type": "application/zip", "data": PNG})),
            "messages.0.content.0.source.media_type: unsupported document type",
        ),
        (
            doc(json!({"type": "base64", "media_type": "application/pdf", "data": "%%%"})),
            "messages.0.content.0.source.data: invalid base64",
        ),
        (
            doc(json!({"type": "url", "url": "https://x/y.pdf"})),
            "messages.0.content.0.source: this `url` source",
        ),
        (
            json!({"type": "redacted_thinking", "data": "***"}),
            "messages.0.content.0.data: invalid base64",
        ),
        (
            json!({"type": "tool_result", "tool_use_id": "t", "content": [image("image/tiff", PNG)]}),
            "messages.0.content.0.content.0.source.media_type: unsupported image type",
        ),
    ];
    for (block, want) in cases {
        let message = error(SONNET, user(json!([block])));
        assert!(message.starts_with(want), "got {message}\nwant {want}");
    }
}

#[test]
fn documents_map_each_source_kind() {
    let cases = [
        (
            json!({"type": "document", "title": "Q3 report.final.pdf", "context": "finance", "citations": {"enabled": true},
                   "source": {"type": "base64", "media_type": "application/pdf", "data": PNG}}),
            json!({"document": {"format": "pdf", "name": "Q3 report final pdf", "source": {"bytes": PNG},
                   "context": "finance", "citations": {"enabled": true}}}),
        ),
        (
            json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}}),
            json!({"document": {"format": "txt", "name": "document-1", "source": {"text": "plain words"}}}),
        ),
        (
            json!({"type": "document", "title": "  ", "source": {"type": "content", "content": [
                {"type": "text", "text": "part one"}, image("image/png", PNG), {"type": "text", "text": " "}]}}),
            json!({"document": {"name": "document-1", "source": {"content": [{"text": "part one"}]}}}),
        ),
        (
            json!({"type": "document", "source": {"type": "content", "content": "just a string"}}),
            json!({"document": {"name": "document-1", "source": {"content": [{"text": "just a string"}]}}}),
        ),
    ];
    for (block, want) in cases {
        assert_eq!(first_block(SONNET, block.clone()), want, "{block}");
    }
}

#[test]
fn document_names_use_only_bedrock_characters_and_are_unique() {
    let cases = [
        ("notes_v2.md", "notes v2 md"),
        ("a  b\t\tc", "a b c"),
        ("[draft] (final) - x", "[draft] (final) - x"),
        ("日本語.txt", "txt"),
        ("...", ""),
    ];
    for (title, want) in cases {
        assert_eq!(normalize_document_name(title), want, "{title:?}");
    }
    assert_eq!(normalize_document_name(&"x".repeat(500)).len(), 190);

    let doc = |title: &str| {
        json!({"type": "document", "title": title,
        "source": {"type": "text", "media_type": "text/plain", "data": "d"}})
    };
    let out = body(
        SONNET,
        user(json!([doc("a.txt"), doc("a txt"), doc("a?txt"), doc("")])),
    );
    let names: Vec<&str> = out["messages"][0]["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["document"]["name"].as_str())
        .collect();
    assert_eq!(names, ["a txt", "a txt (2)", "a txt (3)", "document-4"]);
}

#[test]
fn search_results_become_search_result_blocks() {
    let block = json!({"type": "search_result", "source": "https://kb/1", "title": "KB", "citations": {"enabled": false},
        "content": [{"type": "text", "text": "fact"}, {"type": "text", "text": ""}]});
    assert_eq!(
        first_block(SONNET, block),
        json!({"searchResult": {"source": "https://kb/1", "title": "KB", "content": [{"text": "fact"}],
               "citations": {"enabled": false}}})
    );
}

#[test]
fn tool_results_carry_status_and_every_supported_content_kind() {
    let result = |content: Value, is_error: Value| json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": content, "is_error": is_error});
    let cases = [
        (
            result(json!("done"), json!(false)),
            json!([{"text": "done"}]),
            "success",
        ),
        (
            result(json!(""), json!(true)),
            json!([{"text": "error"}]),
            "error",
        ),
        (
            result(json!([]), Value::Null),
            json!([{"text": "(empty)"}]),
            "success",
        ),
        (
            result(
                json!([{"type": "text", "text": "see"}, image("image/gif", PNG),
                          {"type": "tool_reference", "tool_name": "WebFetch"},
                          {"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "c"}]},
                          {"type": "document", "source": {"type": "text", "data": "d"}}]),
                json!(true),
            ),
            json!([{"text": "see"}, {"image": {"format": "gif", "source": {"bytes": PNG}}},
                   {"text": "Tool `WebFetch` is now available."},
                   {"searchResult": {"source": "s", "title": "t", "content": [{"text": "c"}]}},
                   {"document": {"format": "txt", "name": "document-1", "source": {"text": "d"}}}]),
            "error",
        ),
    ];
    for (block, content, status) in cases {
        let out = first_block(SONNET, block.clone());
        assert_eq!(out["toolResult"]["content"], content, "{block}");
        assert_eq!(out["toolResult"]["status"], status, "{block}");
        assert_eq!(out["toolResult"]["toolUseId"], "toolu_1");
    }
    let qwen = first_block("qwen3-32b", result(json!("boom"), json!(true)));
    assert_eq!(
        qwen,
        json!({"toolResult": {"toolUseId": "toolu_1", "content": [{"text": "boom"}]}})
    );
}

#[test]
fn tool_use_ids_and_names_are_sanitized_consistently_in_history() {
    let long_name = format!("mcp__server__{}", "n".repeat(70));
    let out = convert(
        SONNET,
        json!({"tools": [{"name": long_name, "input_schema": {"type": "object"}}],
               "messages": [
                   {"role": "user", "content": "go"},
                   {"role": "assistant", "content": [{"type": "tool_use", "id": "call/1 x", "name": long_name,
                       "input": {"z": 1, "a": {"y": 2, "b": 3}}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call/1 x", "content": "ok"}]}]}),
    )
    .expect("converts");
    let tool_use = &out.body["messages"][1]["content"][0]["toolUse"];
    let result = &out.body["messages"][2]["content"][0]["toolResult"];
    assert_eq!(tool_use["toolUseId"], result["toolUseId"]);
    assert!(tool_use["toolUseId"]
        .as_str()
        .is_some_and(|id| id.starts_with("call_1_x_")));
    assert_eq!(
        tool_use["name"],
        out.body["toolConfig"]["tools"][0]["toolSpec"]["name"]
    );
    assert_eq!(
        tool_use["input"].to_string(),
        r#"{"z":1,"a":{"y":2,"b":3}}"#,
        "key order kept"
    );
    let safe = tool_use["name"].as_str().unwrap_or_default();
    assert_eq!(safe.len(), 64);
    assert_eq!(out.tool_names.to_client(safe), long_name);
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of thinking-block histories with their fate, read side by side"
)]
fn thinking_blocks_round_trip_exactly_or_are_dropped_never_forged() {
    let signed = json!({"type": "thinking", "thinking": "step", "signature": "c2ln+/=="});
    let omitted = json!({"type": "thinking", "thinking": "", "signature": "b21pdHRlZA=="});
    let unsigned = json!({"type": "thinking", "thinking": "from elsewhere"});
    let empty_sig = json!({"type": "thinking", "thinking": "x", "signature": ""});
    let redacted = json!({"type": "redacted_thinking", "data": "cmVkYWN0ZWQ="});
    let history = |block: &Value| {
        json!({"messages": [{"role": "user", "content": "q"},
            {"role": "assistant", "content": [block, {"type": "text", "text": "answer"}]},
            {"role": "user", "content": "next"}]})
    };
    let cases = [
        (
            SONNET,
            &signed,
            Some(
                json!({"reasoningContent": {"reasoningText": {"text": "step", "signature": "c2ln+/=="}}}),
            ),
            None,
        ),
        (
            SONNET,
            &omitted,
            Some(
                json!({"reasoningContent": {"reasoningText": {"text": "", "signature": "b21pdHRlZA=="}}}),
            ),
            None,
        ),
        (SONNET, &unsigned, None, Some("block:thinking(unsigned)")),
        (SONNET, &empty_sig, None, Some("block:thinking(unsigned)")),
        (
            SONNET,
            &redacted,
            Some(json!({"reasoningContent": {"redactedContent": "cmVkYWN0ZWQ="}})),
            None,
        ),
        (
            "claude-3-5-haiku-20241022",
            &signed,
            None,
            Some("block:thinking"),
        ),
        (
            "qwen3-32b",
            &redacted,
            None,
            Some("block:redacted_thinking"),
        ),
    ];
    for (model, block, want, note) in cases {
        let out = convert(model, history(block)).expect("converts");
        let content = &out.body["messages"][1]["content"];
        match &want {
            Some(first) => assert_eq!(&content[0], first, "{model} {block}"),
            None => assert_eq!(content[0], json!({"text": "answer"}), "{model} {block}"),
        }
        if let Some(note) = note {
            assert!(
                out.dropped.contains(&note.to_owned()),
                "{model} {block}: {:?}",
                out.dropped
            );
        }
    }
}

#[test]
fn server_tool_and_unknown_blocks_are_dropped_by_name() {
    let out = convert(
        SONNET,
        json!({"messages": [{"role": "user", "content": "search"}, {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {"query": "q"}},
            {"type": "web_search_tool_result", "tool_use_id": "srv_1", "content": []},
            {"type": "container_upload", "file_id": "f"},
            {"type": "hologram"},
            {"type": "text", "text": "found it", "citations": [{"type": "char_location"}]}]}]}),
    )
    .expect("converts");
    assert_eq!(
        out.body["messages"][1]["content"],
        json!([{"text": "found it"}])
    );
    for name in [
        "block:server_tool_use",
        "block:web_search_tool_result",
        "block:container_upload",
        "block:hologram",
        "text.citations",
    ] {
        assert!(
            out.dropped.contains(&name.to_owned()),
            "{name}: {:?}",
            out.dropped
        );
    }
}

#[test]
fn claude_codes_billing_header_block_is_stripped_only_when_asked() {
    let request = json!({"system": [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=9.9.9; cc_entrypoint=cli;"},
        {"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "hi"}]});
    let cases = [(true, 2), (false, 3)];
    for (strip, len) in cases {
        let out = convert_opts(SONNET, request.clone(), &[], strip).expect("converts");
        let system = out.body["system"].as_array().cloned().unwrap_or_default();
        assert_eq!(system.len(), len, "strip={strip}");
        assert_eq!(system[len - 2], json!({"text": "You are helpful."}));
    }
    let message = error(
        SONNET,
        json!({"system": [image("image/png", PNG)], "messages": [{"role": "user", "content": "x"}]}),
    );
    assert!(
        message.starts_with("system.0: only `text` blocks"),
        "{message}"
    );
}
