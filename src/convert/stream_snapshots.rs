//! The fold's SSE output, byte for byte, for a varied set of ConverseStream sequences: what a
//! client receives, field order included. Taken before the fold was moved onto the typed event
//! model (`anthropic::events`) and kept unchanged since, so that refactors of the fold cannot
//! change the wire. The message id is random and shows as `[id]`.

use aws_sdk_bedrockruntime::types::{
    CacheDetail, CacheTtl, CitationLocation, CitationSourceContentDelta, CitationsDelta,
    ContentBlockDelta, ConverseStreamMetadataEvent, ConverseStreamOutput, DocumentCharLocation,
    ReasoningContentBlockDelta, StopReason, TokenUsage, ToolUseBlockDelta,
};
use aws_smithy_types::{Blob, Document};

use super::tests::{ctx, delta, message_stop, metadata, start, stop_block, tool_start};
use super::{StreamContext, StreamState};
use crate::anthropic::events::StreamEvent;
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;

/// How the upstream ends after the events.
enum End {
    /// Bedrock's stream closed (`finish`).
    Closed,
    /// A failure after the 200 (`fail`).
    Failed(ApiError),
    /// Nothing more.
    Open,
}

/// The SSE text for `events`, with the message id redacted.
fn transcript(
    ctx: StreamContext,
    early_start: bool,
    events: &[ConverseStreamOutput],
    end: End,
) -> String {
    let mut state = StreamState::new(ctx);
    let mut out = Vec::new();
    if early_start {
        out.extend(state.on_start());
    }
    for e in events {
        out.extend(state.on_event(e));
    }
    match end {
        End::Closed => out.extend(state.finish()),
        End::Failed(e) => out.extend(state.fail(&e)),
        End::Open => {}
    }
    let text: String = out
        .iter()
        .map(|e| String::from_utf8(e.to_sse().to_vec()).expect("UTF-8"))
        .collect();
    redact_id(&text)
}

fn redact_id(text: &str) -> String {
    let Some(at) = text.find("\"id\":\"msg_bdrk_") else {
        return text.to_owned();
    };
    let start = at + "\"id\":\"".len();
    let len = text[start..].find('"').expect("closing quote");
    text.replace(&text[start..start + len], "[id]")
}

fn text(index: i32, t: &str) -> ConverseStreamOutput {
    delta(index, ContentBlockDelta::Text(t.into()))
}

fn reasoning(index: i32, r: ReasoningContentBlockDelta) -> ConverseStreamOutput {
    delta(index, ContentBlockDelta::ReasoningContent(r))
}

fn tool_input(index: i32, json: &str) -> ConverseStreamOutput {
    let d = ToolUseBlockDelta::builder()
        .input(json)
        .build()
        .expect("builds");
    delta(index, ContentBlockDelta::ToolUse(d))
}

fn citation(index: i32) -> ConverseStreamOutput {
    let location = DocumentCharLocation::builder()
        .document_index(0)
        .start(3)
        .end(17)
        .build();
    let c = CitationsDelta::builder()
        .title("Field notes")
        .source_content(
            CitationSourceContentDelta::builder()
                .text("the kettle")
                .build(),
        )
        .location(CitationLocation::DocumentChar(location))
        .build();
    delta(index, ContentBlockDelta::Citation(c))
}

/// Usage with cache reads and writes, some of them for an hour.
fn cached_metadata() -> ConverseStreamOutput {
    let one_hour = CacheDetail::builder()
        .ttl(CacheTtl::OneHour)
        .input_tokens(300)
        .build()
        .expect("builds");
    let usage = TokenUsage::builder()
        .input_tokens(12)
        .output_tokens(40)
        .total_tokens(2352)
        .cache_read_input_tokens(1500)
        .cache_write_input_tokens(800)
        .cache_details(one_hour)
        .build()
        .expect("builds");
    ConverseStreamOutput::Metadata(ConverseStreamMetadataEvent::builder().usage(usage).build())
}

fn unpriced() -> StreamContext {
    StreamContext {
        price: None,
        ..ctx()
    }
}

fn estimated() -> StreamContext {
    let mut c = ctx();
    if let Some(p) = c.price.as_mut() {
        p.estimated = true;
    }
    c
}

#[test]
fn a_text_answer_with_cache_usage_streams_as_before() {
    let events = [
        start(),
        text(0, "Hel"),
        text(0, "lo, \"world\"\n"),
        stop_block(0),
        message_stop(StopReason::EndTurn, None),
        cached_metadata(),
    ];
    insta::assert_snapshot!(transcript(ctx(), false, &events, End::Closed));
}

#[test]
fn thinking_with_its_signature_then_text_streams_as_before() {
    let events = [
        start(),
        reasoning(0, ReasoningContentBlockDelta::Text("Let me see".into())),
        reasoning(
            0,
            ReasoningContentBlockDelta::Signature("c2lnbmF0dXJl".into()),
        ),
        stop_block(0),
        text(1, "Yes."),
        stop_block(1),
        message_stop(StopReason::EndTurn, None),
        metadata(20, 9),
    ];
    insta::assert_snapshot!(transcript(estimated(), false, &events, End::Closed));
}

#[test]
fn redacted_thinking_streams_as_before() {
    let events = [
        start(),
        reasoning(
            0,
            ReasoningContentBlockDelta::RedactedContent(Blob::new(b"\x00\xffopaque".to_vec())),
        ),
        stop_block(0),
        text(1, "Done."),
        message_stop(StopReason::EndTurn, None),
        metadata(5, 2),
    ];
    insta::assert_snapshot!(transcript(ctx(), false, &events, End::Closed));
}

#[test]
fn a_tool_call_with_a_restored_name_streams_as_before() {
    let mut c = unpriced();
    c.tool_names = ToolNameMap::new(["mcp__files.read"]);
    let safe = c.tool_names.to_bedrock("mcp__files.read").into_owned();
    let events = [
        start(),
        text(0, "Reading."),
        stop_block(0),
        tool_start(1, "tooluse_abc", &safe),
        tool_input(1, "{\"path\":"),
        tool_input(1, "\"/tmp/a\"}"),
        stop_block(1),
        message_stop(StopReason::ToolUse, None),
        metadata(30, 15),
    ];
    insta::assert_snapshot!(transcript(c, true, &events, End::Closed));
}

#[test]
fn citations_stream_as_before() {
    let events = [
        start(),
        text(0, "It boils."),
        citation(0),
        stop_block(0),
        message_stop(StopReason::EndTurn, None),
        metadata(50, 4),
    ];
    insta::assert_snapshot!(transcript(ctx(), false, &events, End::Closed));
}

#[test]
fn a_stop_sequence_streams_as_before() {
    let fields =
        Document::Object([("stop_sequence".to_owned(), Document::String("END".into()))].into());
    let events = [
        start(),
        text(0, "a b"),
        message_stop(StopReason::StopSequence, Some(fields)),
        metadata(3, 2),
    ];
    insta::assert_snapshot!(transcript(ctx(), false, &events, End::Open));
}

#[test]
fn a_stream_without_metadata_streams_as_before() {
    let events = [
        start(),
        text(0, "short"),
        message_stop(StopReason::MaxTokens, None),
    ];
    insta::assert_snapshot!(transcript(ctx(), false, &events, End::Closed));
}

#[test]
fn failures_stream_as_before() {
    let cut = [start(), text(0, "partial")];
    let failed = transcript(
        ctx(),
        true,
        &cut,
        End::Failed(ApiError::Overloaded("Bedrock is busy".into())),
    );
    let broken = transcript(ctx(), false, &cut, End::Closed);
    let early_usage = transcript(
        ctx(),
        false,
        &[start(), text(0, "x"), metadata(1, 1)],
        End::Open,
    );
    let before_anything = transcript(
        ctx(),
        false,
        &[],
        End::Failed(ApiError::Timeout("no answer in time".into())),
    );
    insta::assert_snapshot!([failed, broken, early_usage, before_anything].join("----\n"));
}

#[test]
fn a_ping_is_as_before() {
    insta::assert_snapshot!(String::from_utf8(StreamEvent::Ping.to_sse().to_vec()).expect("UTF-8"));
}
