//! Parser tests: paths in errors, every block type, byte-exact opaque strings, URL sources.

use serde_json::json;

use super::*;

fn parse(body: &serde_json::Value) -> Result<MessagesRequest, ApiError> {
    parse_messages_request(body.to_string().as_bytes())
}

fn request_with(content: serde_json::Value) -> serde_json::Value {
    let mut message = json!({"role": "user"});
    message["content"] = content;
    json!({"model": "m", "max_tokens": 10, "messages": [message]})
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table of bad bodies with the path each error must name"
)]
fn parse_errors_name_the_json_path_of_the_bad_field() {
    let cases = [
        (
            request_with(json!([{"type": "text", "text": "a"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": 5}}])),
            "messages.0.content.1.source.data: invalid type: integer `5`, expected a string",
        ),
        (
            request_with(json!([{"tool_use_id": "t", "type": "tool_result",
                "content": [{"type": "text", "text": false}]}])),
            "messages.0.content.0.content.0.text: invalid type: boolean `false`, expected a string",
        ),
        (
            request_with(json!([{"type": "document", "source": {"type": "s3", "uri": "x"}}])),
            "messages.0.content.0.source.type: unknown source type `s3`",
        ),
        (
            request_with(json!([{"text": "no type"}])),
            "messages.0.content.0: missing field `type`",
        ),
        (
            request_with(json!(7)),
            "messages.0.content: invalid type: integer `7`, expected a string or an array",
        ),
        (
            json!({"model": "m", "max_tokens": 1, "messages": [], "thinking": {"type": "sometimes"}}),
            "thinking.type: unknown variant `sometimes`",
        ),
        (
            json!({"model": "m", "max_tokens": 1, "messages": [], "temperature": "hot"}),
            "temperature: invalid type: string",
        ),
        (
            json!({"model": "m", "max_tokens": -1, "messages": []}),
            "max_tokens: invalid value: integer `-1`",
        ),
        (
            json!({"model": "m", "messages": []}),
            "max_tokens: field required",
        ),
        (
            json!({"max_tokens": 1, "messages": []}),
            "missing field `model`",
        ),
        (json!([1, 2]), "request body must be a JSON object"),
    ];
    for (body, want) in cases {
        let err = parse(&body).expect_err(&body.to_string());
        assert_eq!(err.kind(), "invalid_request_error");
        assert!(err.to_string().starts_with(want), "got {err}, want {want}");
    }
    let err = parse_messages_request(b"{\"model\": ").expect_err("truncated JSON");
    assert!(
        err.to_string()
            .starts_with("request body is not valid JSON"),
        "{err}"
    );
    let malformed: [(&[u8], &str); 5] = [
        (b"{} trailing", "request body is not valid JSON"),
        (b"  [1", "request body is not valid JSON"),
        (b"", "request body is not valid JSON"),
        (b" \n \"text\"", "request body must be a JSON object"),
        (
            b"{\"model\": \"m\", \"model\": \"n\", \"max_tokens\": 1, \"messages\": []}",
            "duplicate field `model`",
        ),
    ];
    for (body, want) in malformed {
        let err = parse_messages_request(body).expect_err(want);
        assert_eq!(err.kind(), "invalid_request_error");
        assert!(err.to_string().starts_with(want), "got {err}, want {want}");
    }
}

#[test]
fn count_tokens_bodies_may_omit_max_tokens() {
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let req = parse_count_tokens_request(body.to_string().as_bytes()).expect("parses");
    assert_eq!(req.max_tokens, None);
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one table: every block type with the variant it parses to"
)]
fn every_block_type_parses_to_its_own_variant() {
    let cases = [
        (
            json!({"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}),
            "text",
        ),
        (
            json!({"type": "image", "source": {"type": "url", "url": "https://x"}}),
            "image",
        ),
        (
            json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}, "title": "t"}),
            "document",
        ),
        (
            json!({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "c"}]}}),
            "document",
        ),
        (
            json!({"type": "document", "source": {"type": "file", "file_id": "f"}}),
            "document",
        ),
        (
            json!({"type": "search_result", "source": "s", "title": "t", "content": [{"type": "text", "text": "c"}]}),
            "search_result",
        ),
        (
            json!({"type": "tool_use", "id": "i", "name": "n", "input": {"b": 1, "a": 2}}),
            "tool_use",
        ),
        (
            json!({"type": "tool_result", "tool_use_id": "i", "content": "ok", "is_error": false}),
            "tool_result",
        ),
        (
            json!({"type": "thinking", "thinking": "", "signature": "sig"}),
            "thinking",
        ),
        (
            json!({"type": "redacted_thinking", "data": "ZGF0YQ=="}),
            "redacted_thinking",
        ),
        (
            json!({"type": "tool_reference", "tool_name": "WebFetch"}),
            "tool_reference",
        ),
        (
            json!({"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}}),
            "server_tool_use",
        ),
        (
            json!({"type": "web_search_tool_result", "tool_use_id": "s", "content": []}),
            "web_search_tool_result",
        ),
        (
            json!({"type": "code_execution_tool_result", "tool_use_id": "s", "content": {}}),
            "code_execution_tool_result",
        ),
        (
            json!({"type": "container_upload", "file_id": "f"}),
            "container_upload",
        ),
        (
            json!({"type": "mid_conversation_system", "content": "x"}),
            "mid_conversation_system",
        ),
        (json!({"type": "hologram", "depth": 3}), "hologram"),
    ];
    for (block, want) in cases {
        let req = parse(&request_with(json!([block]))).expect(want);
        let MessageContent::Blocks(blocks) = &req.messages[0].content else {
            panic!("{want}: not blocks");
        };
        assert_eq!(blocks[0].type_name(), want);
    }
}

#[test]
fn unknown_top_level_fields_are_kept_by_name_and_tool_input_keeps_key_order() {
    let body = json!({"model": "m", "max_tokens": 5, "context_management": {"edits": []}, "speed": "fast",
        "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "i", "name": "n",
            "input": {"zeta": 1, "alpha": 2, "mid": 3}}]}]});
    let req = parse(&body).expect("parses");
    assert_eq!(
        req.extra.keys().collect::<Vec<_>>(),
        ["context_management", "speed"]
    );
    let MessageContent::Blocks(blocks) = &req.messages[0].content else {
        panic!("blocks")
    };
    let ContentBlock::ToolUse(tool_use) = &blocks[0] else {
        panic!("tool_use")
    };
    assert_eq!(
        tool_use.input.to_string(),
        r#"{"zeta":1,"alpha":2,"mid":3}"#
    );
}

#[test]
fn thinking_signatures_and_redacted_data_are_kept_exactly() {
    let signature = "EqQBCkgIBxABGAIiQL+/sig==\u{00e9}";
    let body = request_with(json!([
        {"type": "thinking", "thinking": "", "signature": signature},
        {"type": "redacted_thinking", "data": "AbC+/9=="}]));
    let req = parse(&body).expect("parses");
    let MessageContent::Blocks(blocks) = &req.messages[0].content else {
        panic!("blocks")
    };
    assert!(
        matches!(&blocks[0], ContentBlock::Thinking(t) if t.signature.as_deref() == Some(signature))
    );
    assert!(matches!(&blocks[1], ContentBlock::RedactedThinking(r) if r.data == "AbC+/9=="));
}

#[test]
fn url_sources_are_found_everywhere_and_can_be_replaced_in_place() {
    let body = request_with(json!([
        {"type": "image", "source": {"type": "url", "url": "https://a/1.png"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}},
        {"type": "document", "source": {"type": "url", "url": "https://a/2.pdf"}},
        {"type": "document", "source": {"type": "content", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://a/3.png"}}]}},
        {"type": "tool_result", "tool_use_id": "t", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://a/4.png"}}]}]));
    let mut req = parse(&body).expect("parses");
    let urls: Vec<String> = req
        .url_sources_mut()
        .iter()
        .filter_map(|s| match s {
            Source::Url { url } => Some(url.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        urls,
        [
            "https://a/1.png",
            "https://a/2.pdf",
            "https://a/3.png",
            "https://a/4.png"
        ]
    );
    for source in req.url_sources_mut() {
        *source = Source::Base64 {
            media_type: "image/png".into(),
            data: "AA==".into(),
        };
    }
    assert!(req.url_sources_mut().is_empty());
}

#[test]
fn beta_values_split_trim_and_keep_the_first_of_each() {
    let raw = ["a, b,,a", " c ", "b,d"];
    assert_eq!(super::beta_values(raw), ["a", "b", "c", "d"]);
    assert!(super::beta_values([""]).is_empty());
}

fn with_blocks(blocks: &str) -> String {
    format!(r#"{{"model":"m","max_tokens":5,"messages":[{{"role":"user","content":{blocks}}}]}}"#)
}

#[test]
fn a_block_reads_the_same_whether_its_type_comes_first_or_last() {
    // `type` first is read straight through; `type` last has to be buffered first.
    let first = with_blocks(
        r#"[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"aGk="}},
            {"type":"server_tool_use","id":"s1","name":"web_search"},{"type":"hologram","x":1}]"#,
    );
    let last = with_blocks(
        r#"[{"text":"hi","cache_control":{"type":"ephemeral"},"type":"text"},
            {"source":{"media_type":"image/png","data":"aGk=","type":"base64"},"type":"image"},
            {"id":"s1","name":"web_search","type":"server_tool_use"},{"x":1,"type":"hologram"}]"#,
    );
    let a = parse_messages_request(first.as_bytes()).expect("type first");
    let b = parse_messages_request(last.as_bytes()).expect("type last");
    let MessageContent::Blocks(blocks) = &a.messages[0].content else {
        panic!("blocks");
    };
    assert!(matches!(&blocks[0], ContentBlock::Text(t) if t.text == "hi"));
    assert!(matches!(&blocks[3], ContentBlock::Unknown { block_type } if block_type == "hologram"));
    let ContentBlock::ServerToolUse(raw) = &blocks[2] else {
        panic!("server_tool_use kept as JSON");
    };
    // Read straight through, the kept block still has `type` first, as the client sent it.
    assert_eq!(
        raw.to_string(),
        r#"{"type":"server_tool_use","id":"s1","name":"web_search"}"#
    );
    // Apart from the kept block's key order, both reads are the same.
    let mut a = format!("{:?}", a.messages);
    let b = format!("{:?}", b.messages);
    a = a.replace(
        r#""type": String("server_tool_use"), "id": String("s1"), "name": String("web_search")"#,
        r#""id": String("s1"), "name": String("web_search"), "type": String("server_tool_use")"#,
    );
    assert_eq!(a, b);
}

#[test]
fn a_bad_field_is_named_by_the_same_path_whether_type_comes_first_or_last() {
    for blocks in [
        r#"[{"type":"text","text":"ok"},{"type":"text","text":5}]"#,
        r#"[{"type":"text","text":"ok"},{"text":5,"type":"text"}]"#,
    ] {
        let err = parse_messages_request(with_blocks(blocks).as_bytes()).expect_err("a number");
        assert!(
            err.to_string()
                .contains("messages.0.content.1.text: invalid type: integer `5`"),
            "{err}"
        );
    }
}

#[test]
fn a_key_repeated_in_a_block_is_refused_whether_type_comes_first_or_not() {
    for (blocks, key) in [
        (r#"[{"type":"text","text":"x","type":"image"}]"#, "type"),
        (r#"[{"text":"x","type":"text","type":"image"}]"#, "type"),
        (r#"[{"type":"text","text":"a","text":"b"}]"#, "text"),
        (r#"[{"text":"a","text":"b","type":"text"}]"#, "text"),
        (
            r#"[{"type":"server_tool_use","id":"s","id":"t","name":"n"}]"#,
            "id",
        ),
    ] {
        let err = parse_messages_request(with_blocks(blocks).as_bytes()).expect_err(blocks);
        assert!(
            err.to_string()
                .contains(&format!("duplicate field `{key}`")),
            "{blocks}: {err}"
        );
    }
}
