//! Property test of the ConverseStream → SSE fold: any sequence of Bedrock events, in any order,
//! with any indices and payloads, then an end, a failure or nothing, must fold without a panic into
//! output that follows Anthropic's SSE grammar, which is what the SDKs' accumulators rely on.
//! `CHATRIX_FUZZ_CASES` sets the number of cases (tests/fuzz runs a million).

use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ConverseStreamOutput, ReasoningContentBlockDelta, StopReason,
    ToolUseBlockDelta,
};
use aws_smithy_types::{Blob, Document};
use proptest::prelude::*;

use super::tests::{
    ctx, delta, message_stop, metadata, received, start, stop_block, tool_start, Received,
};
use super::StreamState;
use crate::error::ApiError;
use crate::test_support::fuzz_config;

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("END".to_owned()),
        "\\PC{0,12}",
        Just("{\"a\": [1, {\"b\":".to_owned()),
    ]
}

fn any_delta() -> impl Strategy<Value = ContentBlockDelta> {
    prop_oneof![
        any_text().prop_map(ContentBlockDelta::Text),
        any_text()
            .prop_map(|t| ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(t))),
        any_text().prop_map(|s| ContentBlockDelta::ReasoningContent(
            ReasoningContentBlockDelta::Signature(s)
        )),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(|b| {
            ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::RedactedContent(
                Blob::new(b),
            ))
        }),
        any_text().prop_map(|t| ContentBlockDelta::ToolUse(
            ToolUseBlockDelta::builder()
                .input(t)
                .build()
                .unwrap_or_else(|_| unreachable!("input is set"))
        )),
    ]
}

fn any_event() -> impl Strategy<Value = ConverseStreamOutput> {
    let index = -1..4i32;
    let tokens = prop_oneof![Just(0), 0..100_000i32, Just(i32::MAX), Just(-1)];
    prop_oneof![
        1 => Just(start()),
        6 => (index.clone(), any_delta()).prop_map(|(i, d)| delta(i, d)),
        2 => (index.clone(), any_text(), any_text()).prop_map(|(i, id, n)| tool_start(i, &id, &n)),
        2 => index.prop_map(stop_block),
        1 => (
            prop::sample::select(vec![
                StopReason::EndTurn,
                StopReason::MaxTokens,
                StopReason::StopSequence,
                StopReason::ToolUse,
                StopReason::ContentFiltered,
                StopReason::GuardrailIntervened,
            ]),
            prop::option::of(any_text()),
        )
            .prop_map(|(r, seq)| {
                let fields = seq.map(|s| {
                    Document::Object([("stop_sequence".to_owned(), Document::String(s))].into())
                });
                message_stop(r, fields)
            }),
        1 => (tokens.clone(), tokens).prop_map(|(i, o)| metadata(i, o)),
    ]
}

/// How the upstream ends after the events.
#[derive(Debug, Clone, Copy)]
enum End {
    Clean,
    Failure,
    Nothing,
}

/// Anthropic's SSE grammar: `message_start`, then blocks (start, deltas, stop) with dense indices,
/// then `message_delta` + `message_stop`, or an `error` at any point; nothing after the end.
fn assert_grammar(events: &[Received]) {
    let mut open: Option<u64> = None;
    let mut next_index = 0u64;
    let mut ended = false;
    let mut saw_delta = false;
    for (i, e) in events.iter().enumerate() {
        assert!(!ended, "{} after the end: {events:?}", e.name);
        assert_eq!(e.data["type"], e.name, "{e:?}");
        assert!(
            String::from_utf8(e.bytes.to_vec()).is_ok(),
            "SSE bytes are UTF-8"
        );
        if i == 0 {
            assert!(matches!(e.name, "message_start" | "error"), "first: {e:?}");
        }
        let index = e.data["index"].as_u64();
        match e.name {
            "message_start" => assert_eq!(i, 0, "a second message_start"),
            "content_block_start" => {
                assert!(open.is_none() && !saw_delta, "{events:?}");
                assert_eq!(index, Some(next_index), "indices are dense");
                next_index += 1;
                open = index;
            }
            "content_block_delta" | "content_block_stop" => {
                assert!(open.is_some() && index == open, "{e:?} with {open:?} open");
                if e.name == "content_block_stop" {
                    open = None;
                }
            }
            "message_delta" => {
                assert!(open.is_none() && !saw_delta, "{events:?}");
                saw_delta = true;
                let usage = &e.data["usage"];
                assert!(usage["output_tokens"].is_u64(), "{usage}");
                assert!(usage["input_tokens"].is_u64(), "{usage}");
            }
            "message_stop" => {
                assert!(saw_delta, "message_stop without message_delta");
                ended = true;
            }
            "error" => {
                assert!(e.data["error"]["type"].is_string(), "{e:?}");
                ended = true;
            }
            other => panic!("unexpected event {other}"),
        }
    }
}

proptest! {
    #![proptest_config(fuzz_config(512))]

    #[test]
    fn fuzz_stream_fold(
        events in prop::collection::vec(any_event(), 0..24),
        end in prop::sample::select(vec![End::Clean, End::Failure, End::Nothing]),
    ) {
        let mut state = StreamState::new(ctx());
        let mut out = state.on_start();
        for e in &events {
            out.extend(state.on_event(e));
        }
        match end {
            End::Clean => out.extend(state.finish()),
            End::Failure => out.extend(state.fail(&ApiError::Upstream("cut".into()))),
            End::Nothing => {}
        }
        let out = received(out);
        assert_grammar(&out);
        if !matches!(end, End::Nothing) {
            prop_assert!(state.is_done());
            let last = out.last().map(|e| e.name);
            prop_assert!(matches!(last, Some("message_stop" | "error")), "{last:?}");
        }
    }
}
