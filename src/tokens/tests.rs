use base64::Engine;
use serde_json::{json, Value};

use super::media::{BINARY_DOCUMENT, IMAGE_FALLBACK, PDF_PAGE};
use super::*;
use crate::anthropic::request::parse_count_tokens_request;

fn parse(mut body: Value) -> MessagesRequest {
    body["model"] = json!("claude-sonnet-4-5");
    parse_count_tokens_request(body.to_string().as_bytes()).expect("request parses")
}

fn with_blocks(blocks: Value) -> MessagesRequest {
    let mut body = json!({"messages": [{"role": "user"}]});
    body["messages"][0]["content"] = blocks;
    parse(body)
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn png(width: u32, height: u32) -> String {
    let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    png.extend_from_slice(&width.to_be_bytes());
    png.extend_from_slice(&height.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b64(&png)
}

fn image(data: &str) -> Value {
    json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}})
}

#[test]
fn an_empty_conversation_still_costs_something() {
    let e = estimate(&parse(json!({"messages": []})));
    assert_eq!(e.text + e.media, 0);
    assert!(e.total() >= 1);
    assert_eq!(Estimate::default().total(), 1);
}

#[test]
fn every_non_empty_input_is_non_zero() {
    for content in [
        json!("x"),
        json!([{"type": "text", "text": "."}]),
        json!([image("AAAA")]),
    ] {
        let e = estimate(&with_blocks(content.clone()));
        assert!(e.text + e.media > 0, "{content}");
    }
}

#[test]
fn text_is_priced_by_the_text_rule_plus_framing() {
    let e = estimate(&parse(json!({
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "How tall is the lighthouse?"}]
    })));
    assert_eq!(
        e.text,
        text_tokens("Be brief.") + text_tokens("How tall is the lighthouse?")
    );
    assert_eq!(e.framing, REQUEST_FRAMING + 2 * MESSAGE_FRAMING);
    assert_eq!(e.media, 0);
}

#[test]
fn images_are_sized_from_their_headers_not_their_base64() {
    let small = estimate(&with_blocks(json!([image(&png(100, 100))])));
    assert_eq!(small.media, image_tokens(100, 100));
    // A header claiming 100×100 followed by a megabyte of data: the data is not text.
    let padded = format!("{}{}", png(100, 100), "A".repeat(1 << 20));
    let padded = estimate(&with_blocks(json!([image(&padded)])));
    assert_eq!((padded.media, padded.text), (small.media, 0));
    let unreadable = estimate(&with_blocks(json!([image("AAAA")])));
    assert_eq!(unreadable.media, IMAGE_FALLBACK);
    let url = estimate(&with_blocks(
        json!([{"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]),
    ));
    assert_eq!(url.media, IMAGE_FALLBACK);
}

#[test]
fn documents_count_by_kind() {
    let pdf = b64(b"%PDF-1.4\n<</Type /Page>>\n<</Type /Page>>\n<</Type /Page>>\n");
    let cases = [
        (
            json!({"type": "base64", "media_type": "application/pdf", "data": pdf}),
            3 * PDF_PAGE,
            0,
        ),
        (
            json!({"type": "text", "media_type": "text/plain", "data": "Minutes of the meeting."}),
            0,
            text_tokens("Minutes of the meeting."),
        ),
        (
            json!({"type": "content", "content": [{"type": "text", "text": "First chunk"}]}),
            0,
            text_tokens("First chunk"),
        ),
        (
            json!({"type": "url", "url": "https://example.com/paper.pdf"}),
            BINARY_DOCUMENT,
            0,
        ),
    ];
    for (source, media, text) in cases {
        let e = estimate(&with_blocks(
            json!([{"type": "document", "source": source, "title": "Notes"}]),
        ));
        assert_eq!(e.media, media, "{source}");
        assert_eq!(e.text, text + text_tokens("Notes"), "{source}");
    }
}

#[test]
fn tool_definitions_and_tool_calls_count_as_compact_json() {
    let schema = json!({"type": "object", "properties": {"path": {"type": "string"}}});
    let input = json!({"path": "/srv/app/main.rs"});
    let without = estimate(&parse(json!({
        "messages": [{"role": "user", "content": "read it"}]
    })));
    let with = estimate(&parse(json!({
        "tools": [{"name": "Read", "description": "Reads a file.", "input_schema": schema}],
        "messages": [
            {"role": "user", "content": "read it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": input}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "fn main() {}"}]}
        ]
    })));
    let pieces = text_tokens("Read") * 2
        + text_tokens("Reads a file.")
        + text_tokens(&schema.to_string())
        + text_tokens(&input.to_string())
        + text_tokens("fn main() {}");
    assert_eq!(with.text - without.text, pieces);
    assert_eq!(
        with.framing - without.framing,
        TOOL_PROMPT_AUTO
            + TOOL_FRAMING
            + TOOL_USE_FRAMING
            + TOOL_RESULT_FRAMING
            + 2 * MESSAGE_FRAMING
    );
}

#[test]
fn a_forced_tool_choice_uses_the_shorter_tool_prompt() {
    let tools = json!([{"name": "Pick", "input_schema": {"type": "object"}}]);
    let messages = json!([{"role": "user", "content": "go"}]);
    let auto = estimate(&parse(json!({"tools": tools, "messages": messages})));
    let forced = estimate(&parse(
        json!({"tools": tools, "tool_choice": {"type": "any"}, "messages": messages}),
    ));
    assert_eq!(
        auto.framing - forced.framing,
        TOOL_PROMPT_AUTO - TOOL_PROMPT_FORCED
    );
}

#[test]
fn only_the_last_assistant_turn_keeps_its_thinking() {
    let thinking = |text: &str| json!({"type": "thinking", "thinking": text, "signature": "sig"});
    let e = estimate(&parse(json!({"messages": [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": [thinking("an old chain of thought"), {"type": "text", "text": "a"}]},
        {"role": "user", "content": "two"},
        {"role": "assistant", "content": [thinking("the current plan"), {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"}]}
    ]})));
    let texts = ["one", "a", "two", "the current plan"];
    assert_eq!(e.text, texts.iter().map(|t| text_tokens(t)).sum::<u64>());
}

#[test]
fn search_results_and_tool_references_count_their_text() {
    let e = estimate(&with_blocks(json!([
        {"type": "search_result", "source": "https://wiki.example/tides", "title": "Tides",
         "content": [{"type": "text", "text": "High water at 06:12."}]},
        {"type": "tool_reference", "tool_name": "WebFetch"}
    ])));
    let texts = [
        "https://wiki.example/tides",
        "Tides",
        "High water at 06:12.",
        "WebFetch",
    ];
    assert_eq!(e.text, texts.iter().map(|t| text_tokens(t)).sum::<u64>());
}

#[test]
fn blocks_the_converter_drops_cost_nothing() {
    let e = estimate(&with_blocks(json!([
        {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {"query": "tide tables"}},
        {"type": "web_search_tool_result", "tool_use_id": "s1", "content": []},
        {"type": "brand_new_block", "payload": "whatever"}
    ])));
    assert_eq!((e.text, e.media), (0, 0));
}

#[test]
fn url_sources_are_replaced_and_estimated_everywhere() {
    let url_image =
        json!({"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}});
    let url_doc = json!({"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"},
                         "cache_control": {"type": "ephemeral"}});
    let mut req = with_blocks(json!([
        url_image,
        {"type": "tool_result", "tool_use_id": "t", "content": [url_image]},
        url_doc,
        image(&png(10, 10))
    ]));
    let replaced = stand_in_url_sources(&mut req);
    assert_eq!(
        replaced,
        2 * (MEDIA_FRAMING + IMAGE_FALLBACK) + MEDIA_FRAMING + BINARY_DOCUMENT
    );
    assert!(req.url_sources_mut().is_empty());
    let MessageContent::Blocks(blocks) = &req.messages[0].content else {
        panic!("blocks expected");
    };
    assert!(matches!(&blocks[0], ContentBlock::Text(t) if t.text == URL_STAND_IN));
    assert!(blocks[2].cache_control().is_some(), "cache point kept");
    assert!(matches!(&blocks[3], ContentBlock::Image(_)));
    assert_eq!(stand_in_url_sources(&mut req), 0);
}
