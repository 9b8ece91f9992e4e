//! Converse output → Anthropic `Message`: blocks in order, stop reasons, usage, citations.

use super::*;
use aws_sdk_bedrockruntime::types::{
    CacheDetail, ConversationRole, DocumentCharLocation, Message, ReasoningTextBlock, ToolUseBlock,
};
use aws_smithy_types::Blob;
use std::collections::HashMap;

fn usage() -> TokenUsage {
    TokenUsage::builder()
        .input_tokens(377)
        .output_tokens(65)
        .total_tokens(442)
        .build()
        .expect("usage builds")
}

fn output(blocks: Vec<ContentBlock>, stop: StopReason, fields: Option<Document>) -> ConverseOutput {
    let msg = Message::builder()
        .role(ConversationRole::Assistant)
        .set_content(Some(blocks))
        .build()
        .expect("message builds");
    ConverseOutput::builder()
        .output(Output::Message(msg))
        .stop_reason(stop)
        .usage(usage())
        .set_additional_model_response_fields(fields)
        .build()
        .expect("output builds")
}

fn ctx<'a>(names: &'a ToolNameMap, stops: &'a [String]) -> ResponseContext<'a> {
    ResponseContext {
        client_model: "claude-sonnet-4-5",
        tool_names: names,
        stop_sequences: stops,
    }
}

#[test]
fn every_converse_stop_reason_has_an_anthropic_value() {
    let cases = [
        (StopReason::EndTurn, "end_turn"),
        (StopReason::ToolUse, "tool_use"),
        (StopReason::MaxTokens, "max_tokens"),
        (StopReason::StopSequence, "stop_sequence"),
        (
            StopReason::ModelContextWindowExceeded,
            "model_context_window_exceeded",
        ),
        (StopReason::GuardrailIntervened, "refusal"),
        (StopReason::ContentFiltered, "refusal"),
        (StopReason::MalformedModelOutput, "end_turn"),
        (StopReason::MalformedToolUse, "end_turn"),
        (StopReason::from("something_new"), "end_turn"),
    ];
    for (bedrock, anthropic) in cases {
        assert_eq!(convert_stop_reason(&bedrock), anthropic, "{bedrock:?}");
    }
}

#[test]
fn blocks_convert_in_order_with_signature_and_redacted_data() {
    let tool = ToolUseBlock::builder()
        .tool_use_id("tooluse_1")
        .name("get_weather")
        .input(Document::Object(HashMap::from([(
            "city".into(),
            Document::String("Paris".into()),
        )])))
        .build()
        .expect("tool builds");
    let thinking = ReasoningTextBlock::builder()
        .text("hmm")
        .signature("sig==")
        .build()
        .expect("builds");
    let out = output(
        vec![
            ContentBlock::ReasoningContent(ReasoningContentBlock::ReasoningText(thinking)),
            ContentBlock::ReasoningContent(ReasoningContentBlock::RedactedContent(Blob::new(
                b"\x01\x02".to_vec(),
            ))),
            ContentBlock::Text("Checking.".into()),
            ContentBlock::ToolUse(tool),
        ],
        StopReason::ToolUse,
        None,
    );
    let names = ToolNameMap::default();
    let got = serde_json::to_value(from_converse(&out, &ctx(&names, &[]))).expect("serializes");
    assert_eq!(
        got["content"],
        json!([
            {"type": "thinking", "thinking": "hmm", "signature": "sig=="},
            {"type": "redacted_thinking", "data": "AQI="},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}
        ])
    );
    assert_eq!(got["stop_reason"], "tool_use");
    assert_eq!(got["model"], "claude-sonnet-4-5");
    assert!(got["id"].as_str().is_some_and(|s| s.starts_with("msg_")));
    assert_eq!(got["usage"]["input_tokens"], 377);
    assert_eq!(got["usage"]["output_tokens"], 65);
}

#[test]
fn stop_sequence_comes_from_response_fields_or_the_only_configured_one() {
    let fields = Document::Object(HashMap::from([(
        "stop_sequence".into(),
        Document::String("</done>".into()),
    )]));
    let names = ToolNameMap::default();
    let out = output(
        vec![ContentBlock::Text("a".into())],
        StopReason::StopSequence,
        Some(fields),
    );
    let two = ["x".to_owned(), "y".to_owned()];
    assert_eq!(
        from_converse(&out, &ctx(&names, &two))
            .stop_sequence
            .as_deref(),
        Some("</done>")
    );

    let nested = Document::Object(HashMap::from([(
        "delta".into(),
        Document::Object(HashMap::from([(
            "stop_sequence".into(),
            Document::String("</x>".into()),
        )])),
    )]));
    let out = output(
        vec![ContentBlock::Text("a".into())],
        StopReason::StopSequence,
        Some(nested),
    );
    assert_eq!(
        from_converse(&out, &ctx(&names, &two))
            .stop_sequence
            .as_deref(),
        Some("</x>")
    );

    let out = output(
        vec![ContentBlock::Text("a".into())],
        StopReason::StopSequence,
        None,
    );
    let one = ["END".to_owned()];
    assert_eq!(
        from_converse(&out, &ctx(&names, &one))
            .stop_sequence
            .as_deref(),
        Some("END")
    );
    assert_eq!(from_converse(&out, &ctx(&names, &two)).stop_sequence, None);

    let out = output(
        vec![ContentBlock::Text("a".into())],
        StopReason::EndTurn,
        None,
    );
    assert_eq!(from_converse(&out, &ctx(&names, &one)).stop_sequence, None);
}

#[test]
fn cache_usage_splits_by_ttl_without_double_counting() {
    let u = TokenUsage::builder()
        .input_tokens(10)
        .output_tokens(5)
        .total_tokens(2015)
        .cache_write_input_tokens(1500)
        .cache_read_input_tokens(500)
        .cache_details(
            CacheDetail::builder()
                .ttl(CacheTtl::OneHour)
                .input_tokens(1000)
                .build()
                .expect("builds"),
        )
        .build()
        .expect("builds");
    let got = convert_usage(&u);
    assert_eq!(got.input_tokens, 10);
    assert_eq!(got.cache_creation_input_tokens, 1500);
    assert_eq!(got.cache_read_input_tokens, 500);
    assert_eq!(
        got.cache_creation,
        CacheCreation {
            ephemeral_5m_input_tokens: 500,
            ephemeral_1h_input_tokens: 1000
        }
    );
}

#[test]
fn citations_become_text_with_char_locations() {
    let citation = Citation::builder()
        .title("Grass")
        .source_content(CitationSourceContent::Text("The grass is green.".into()))
        .location(CitationLocation::DocumentChar(
            DocumentCharLocation::builder()
                .document_index(0)
                .start(0)
                .end(20)
                .build(),
        ))
        .build();
    let block = CitationsContentBlock::builder()
        .content(aws_sdk_bedrockruntime::types::CitationGeneratedContent::Text("Green.".into()))
        .citations(citation)
        .build();
    let got = serde_json::to_value(convert_citations_block(&block)).expect("serializes");
    assert_eq!(got["text"], "Green.");
    assert_eq!(got["citations"][0]["type"], "char_location");
    assert_eq!(got["citations"][0]["cited_text"], "The grass is green.");
    assert_eq!(got["citations"][0]["end_char_index"], 20);
}

#[test]
fn documents_convert_to_json_with_number_kinds() {
    let doc = Document::Array(vec![
        Document::Number(Number::PosInt(3)),
        Document::Number(Number::NegInt(-2)),
        Document::Number(Number::Float(0.5)),
        Document::Null,
        Document::Bool(true),
    ]);
    assert_eq!(document_to_json(&doc), json!([3, -2, 0.5, null, true]));
}
