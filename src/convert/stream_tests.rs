//! Tests of the ConverseStream → SSE fold (no network).
use super::*;
use aws_sdk_bedrockruntime::types::{
    ContentBlockDeltaEvent, ContentBlockStartEvent, ContentBlockStopEvent, ConversationRole,
    ConverseStreamMetadataEvent, ConverseStreamMetrics, MessageStartEvent, MessageStopEvent,
    StopReason, ToolUseBlockDelta, ToolUseBlockStart,
};
use aws_smithy_types::{Blob, Document};
use serde_json::{json, Value};

pub(super) fn ctx() -> StreamContext {
    StreamContext {
        client_model: "claude-sonnet-4-5".into(),
        tool_names: ToolNameMap::default(),
        stop_sequences: vec!["END".into()],
        input_estimate: 42,
        price: Some(ModelPrice {
            base: crate::models::Price {
                input: 3.0,
                output: 15.0,
                cache_write: Some(3.75),
                cache_read: Some(0.3),
            },
            long_context: None,
            estimated: false,
        }),
        currency: None,
    }
}

pub(super) fn start() -> ConverseStreamOutput {
    ConverseStreamOutput::MessageStart(
        MessageStartEvent::builder()
            .role(ConversationRole::Assistant)
            .build()
            .expect("builds"),
    )
}

pub(super) fn delta(index: i32, d: ContentBlockDelta) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockDelta(
        ContentBlockDeltaEvent::builder()
            .content_block_index(index)
            .delta(d)
            .build()
            .expect("builds"),
    )
}

pub(super) fn stop_block(index: i32) -> ConverseStreamOutput {
    ConverseStreamOutput::ContentBlockStop(
        ContentBlockStopEvent::builder()
            .content_block_index(index)
            .build()
            .expect("builds"),
    )
}

pub(super) fn tool_start(index: i32, id: &str, name: &str) -> ConverseStreamOutput {
    let t = ToolUseBlockStart::builder()
        .tool_use_id(id)
        .name(name)
        .build()
        .expect("builds");
    ConverseStreamOutput::ContentBlockStart(
        ContentBlockStartEvent::builder()
            .content_block_index(index)
            .start(ContentBlockStart::ToolUse(t))
            .build()
            .expect("builds"),
    )
}

pub(super) fn message_stop(reason: StopReason, fields: Option<Document>) -> ConverseStreamOutput {
    ConverseStreamOutput::MessageStop(
        MessageStopEvent::builder()
            .stop_reason(reason)
            .set_additional_model_response_fields(fields)
            .build()
            .expect("builds"),
    )
}

pub(super) fn metadata(input: i32, output: i32) -> ConverseStreamOutput {
    let usage = TokenUsage::builder()
        .input_tokens(input)
        .output_tokens(output)
        .total_tokens(input.saturating_add(output))
        .build()
        .expect("builds");
    ConverseStreamOutput::Metadata(
        ConverseStreamMetadataEvent::builder()
            .usage(usage)
            .metrics(
                ConverseStreamMetrics::builder()
                    .latency_ms(5)
                    .build()
                    .expect("builds"),
            )
            .build(),
    )
}

/// One event as a client reads it: the `event:` name and the `data:` JSON, from the wire bytes.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) name: &'static str,
    pub(super) data: Value,
    pub(super) bytes: bytes::Bytes,
}

pub(super) fn received(events: Vec<StreamEvent>) -> Vec<Received> {
    events
        .into_iter()
        .map(|e| {
            let bytes = e.to_sse();
            let text = std::str::from_utf8(&bytes).expect("UTF-8");
            let (head, data) = text.split_once("\ndata: ").expect("two lines");
            assert_eq!(head, format!("event: {}", e.name()));
            let data = serde_json::from_str(data).expect("data is JSON");
            Received {
                name: e.name(),
                data,
                bytes,
            }
        })
        .collect()
}

fn run(events: &[ConverseStreamOutput]) -> Vec<Received> {
    let mut state = StreamState::new(ctx());
    received(events.iter().flat_map(|e| state.on_event(e)).collect())
}

fn names(events: &[Received]) -> Vec<&'static str> {
    events.iter().map(|e| e.name).collect()
}

#[test]
fn text_stream_follows_anthropics_grammar_and_holds_stop_until_usage() {
    let events = run(&[
        start(),
        delta(0, ContentBlockDelta::Text("Hel".into())),
        delta(0, ContentBlockDelta::Text("lo".into())),
        stop_block(0),
        message_stop(StopReason::EndTurn, None),
        metadata(10, 4),
    ]);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[0].data["message"]["usage"]["input_tokens"], 42);
    assert_eq!(
        events[1].data["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        events[3].data["delta"],
        json!({"type": "text_delta", "text": "lo"})
    );
    let md = &events[5].data;
    assert_eq!(md["delta"]["stop_reason"], "end_turn");
    assert_eq!(md["usage"]["input_tokens"], 10);
    assert_eq!(md["usage"]["output_tokens"], 4);
    assert_eq!(md["usage"]["cost"]["total_cost"], json!(0.00009));
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one stream followed event by event: thinking, its signature, then a renamed tool call"
)]
fn thinking_then_tool_use_get_dense_indices_and_restored_names() {
    let mut c = ctx();
    c.tool_names = ToolNameMap::new(["mcp__srv.tool"]);
    let safe = c.tool_names.to_bedrock("mcp__srv.tool").into_owned();
    let mut state = StreamState::new(c);
    let events: Vec<StreamEvent> = [
        start(),
        delta(
            0,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text("think".into())),
        ),
        delta(
            0,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Signature(
                "sig".into(),
            )),
        ),
        stop_block(0),
        tool_start(2, "tooluse_1", &safe),
        delta(
            2,
            ContentBlockDelta::ToolUse(
                ToolUseBlockDelta::builder()
                    .input("{\"a\":")
                    .build()
                    .expect("b"),
            ),
        ),
        delta(
            2,
            ContentBlockDelta::ToolUse(
                ToolUseBlockDelta::builder().input("1}").build().expect("b"),
            ),
        ),
        stop_block(2),
        message_stop(StopReason::ToolUse, None),
        metadata(1, 1),
    ]
    .iter()
    .flat_map(|e| state.on_event(e))
    .collect();
    let events = received(events);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e.name == "content_block_start")
        .map(|e| &e.data)
        .collect();
    assert_eq!(starts[0]["index"], 0);
    assert_eq!(
        starts[0]["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert_eq!(starts[1]["index"], 1);
    assert_eq!(
        starts[1]["content_block"],
        json!({"type": "tool_use", "id": "tooluse_1", "name": "mcp__srv.tool", "input": {}})
    );
    let json_parts: String = events
        .iter()
        .filter(|e| e.data["delta"]["type"] == "input_json_delta")
        .map(|e| {
            e.data["delta"]["partial_json"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&json_parts).expect("valid json"),
        json!({"a": 1})
    );
    assert!(events
        .iter()
        .any(|e| e.data["delta"] == json!({"type": "signature_delta", "signature": "sig"})));
    let md = events
        .iter()
        .find(|e| e.name == "message_delta")
        .expect("message_delta");
    assert_eq!(md.data["delta"]["stop_reason"], "tool_use");
}

#[test]
fn redacted_reasoning_arrives_whole_in_its_start_event() {
    let events = run(&[
        start(),
        delta(
            0,
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(
                Blob::new(b"\x01\x02".to_vec()),
            )),
        ),
        stop_block(0),
    ]);
    assert_eq!(
        events[1].data["content_block"],
        json!({"type": "redacted_thinking", "data": "AQI="})
    );
    assert_eq!(
        names(&events),
        ["message_start", "content_block_start", "content_block_stop"]
    );
}

#[test]
fn stop_sequence_is_taken_from_message_stop() {
    let fields =
        Document::Object([("stop_sequence".to_owned(), Document::String("END".into()))].into());
    let events = run(&[
        start(),
        delta(0, ContentBlockDelta::Text("a".into())),
        message_stop(StopReason::StopSequence, Some(fields)),
        metadata(1, 1),
    ]);
    let md = events
        .iter()
        .find(|e| e.name == "message_delta")
        .expect("message_delta");
    assert_eq!(
        md.data["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "END"})
    );
}

#[test]
fn a_stream_without_usage_is_closed_by_finish() {
    let mut state = StreamState::new(ctx());
    let mut events = state.on_event(&start());
    events.extend(state.on_event(&delta(0, ContentBlockDelta::Text("a".into()))));
    events.extend(state.on_event(&message_stop(StopReason::EndTurn, None)));
    events.extend(state.finish());
    let events = received(events);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(
        events[4].data["usage"]["input_tokens"], 42,
        "falls back to the estimate"
    );
    assert!(state.is_done());
    assert!(state.finish().is_empty(), "finish is idempotent");
}

#[test]
fn a_stream_that_ends_before_message_stop_is_an_error_not_a_silent_end() {
    let mut state = StreamState::new(ctx());
    let mut events = state.on_event(&start());
    events.extend(state.on_event(&delta(0, ContentBlockDelta::Text("partial".into()))));
    events.extend(state.finish());
    let events = received(events);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(events[3].data["error"]["type"], "api_error");
}

#[test]
fn usage_without_message_stop_is_an_error_not_an_end_turn() {
    let events = run(&[
        start(),
        delta(0, ContentBlockDelta::Text("partial".into())),
        metadata(1, 1),
    ]);
    assert_eq!(names(&events).last(), Some(&"error"));
    assert!(!names(&events).contains(&"message_stop"));
}

#[test]
fn failures_become_one_error_event_and_end_the_stream() {
    let mut state = StreamState::new(ctx());
    let _ = state.on_event(&start());
    let events = received(state.fail(&ApiError::Overloaded("busy".into())));
    assert_eq!(names(&events), ["error"]);
    assert_eq!(
        events[0].data,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    );
    assert!(state.on_event(&metadata(1, 1)).is_empty());
}

#[test]
fn sse_wire_form_has_event_and_data_lines() {
    let text = String::from_utf8(StreamEvent::Ping.to_sse().to_vec()).expect("utf8");
    assert_eq!(text, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

#[test]
fn a_failed_stream_keeps_the_usage_known_when_it_ended_with_its_cost() {
    let mut state = StreamState::new(ctx());
    let text = |t: &str| delta(0, ContentBlockDelta::Text(t.into()));
    let _ = run_on(
        &mut state,
        &[start(), text("one"), text(" two"), text(" three")],
    );
    let _ = state.fail(&ApiError::Overloaded("deadline".into()));
    let usage = state.final_usage().expect("usage after a failure");
    assert_eq!((usage.input_tokens, usage.output_tokens), (42, 3));
    assert!(usage.cost.as_ref().is_some_and(|c| c.total_cost > 0.0));
}

fn run_on(state: &mut StreamState, events: &[ConverseStreamOutput]) -> Vec<StreamEvent> {
    events.iter().flat_map(|e| state.on_event(e)).collect()
}
