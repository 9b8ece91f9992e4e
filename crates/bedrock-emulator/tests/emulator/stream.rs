//! `ConverseStream` through the SDK's event-stream decoder: event order, reasoning and tool
//! deltas, mid-stream exceptions, truncation, errors before the stream, and pacing.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::error::SdkError;
use aws_sdk_bedrockruntime::operation::converse_stream::ConverseStreamError;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{
    ContentBlockStart, ConverseStreamOutput, ReasoningContentBlockDelta, StopReason,
};
use serde_json::{json, Value};

use crate::helpers::{
    ask_stream, collect_stream, deltas, spawn, stream_text, weather_tools, DEFAULT_TEXT,
};

#[tokio::test]
async fn converse_stream_sends_text_events_in_order() {
    let t = spawn().await;
    let (events, error) = stream_text(&t, "hi").await;
    assert!(error.is_none(), "{error:?}");
    assert!(matches!(events[0], ConverseStreamOutput::MessageStart(_)));
    assert!(!events
        .iter()
        .any(|e| matches!(e, ConverseStreamOutput::ContentBlockStart(_))));
    let text_deltas = deltas(&events);
    assert!(text_deltas.len() > 1, "text must arrive in several deltas");
    let text: String = text_deltas
        .iter()
        .map(|(_, d)| d.as_text().expect("text").as_str())
        .collect();
    assert_eq!(text, DEFAULT_TEXT);
    let n = events.len();
    assert!(
        matches!(&events[n - 3], ConverseStreamOutput::ContentBlockStop(s) if s.content_block_index() == 0)
    );
    assert!(
        matches!(&events[n - 2], ConverseStreamOutput::MessageStop(s) if s.stop_reason() == &StopReason::EndTurn)
    );
    let ConverseStreamOutput::Metadata(metadata) = &events[n - 1] else {
        panic!("metadata last")
    };
    assert!(metadata.usage().expect("usage").input_tokens() > 0);
    assert!(metadata.metrics().is_some());
}

#[tokio::test]
async fn converse_stream_sends_reasoning_then_tool_use() {
    let t = spawn().await;
    let request = ask_stream(
        &t,
        r#"[[emu:thinking]] [[emu:tool get_weather {"location": "Paris", "unit": "celsius"}]]"#,
    )
    .tool_config(weather_tools());
    let (events, error) = collect_stream(request).await;
    assert!(error.is_none(), "{error:?}");
    let all = deltas(&events);
    let reasoning: Vec<&ReasoningContentBlockDelta> = all
        .iter()
        .filter(|(i, _)| *i == 0)
        .map(|(_, d)| d.as_reasoning_content().expect("reasoning"))
        .collect();
    assert!(reasoning[..reasoning.len() - 1].iter().all(|d| d.is_text()));
    assert!(reasoning
        .last()
        .is_some_and(|d| d.as_signature().is_ok_and(|s| s.starts_with("emu-sig-"))));

    let start = events.iter().find_map(|e| match e {
        ConverseStreamOutput::ContentBlockStart(s) => Some(s),
        _ => None,
    });
    let start = start.expect("tool block start");
    assert_eq!(start.content_block_index(), 1);
    let Some(ContentBlockStart::ToolUse(tool)) = start.start() else {
        panic!("tool start")
    };
    assert_eq!(tool.name(), "get_weather");
    let fragments: Vec<&str> = all
        .iter()
        .filter(|(i, _)| *i == 1)
        .map(|(_, d)| d.as_tool_use().expect("tool delta").input())
        .collect();
    assert!(
        fragments.len() > 1,
        "tool input must arrive in several fragments"
    );
    let input: Value = serde_json::from_str(&fragments.concat()).expect("input JSON");
    assert_eq!(input, json!({"location": "Paris", "unit": "celsius"}));
    assert!(events.iter().any(|e| matches!(e, ConverseStreamOutput::MessageStop(s) if s.stop_reason() == &StopReason::ToolUse)));
}

#[tokio::test]
async fn a_mid_stream_exception_surfaces_from_recv() {
    let t = spawn().await;
    let (events, error) = stream_text(&t, "[[emu:stream-error throttlingException after=1]]").await;
    assert_eq!(deltas(&events).len(), 1);
    match error.expect("an error") {
        SdkError::ServiceError(e) => assert!(matches!(
            e.err(),
            ConverseStreamOutputError::ThrottlingException(_)
        )),
        other => panic!("expected a modeled exception, got {other:?}"),
    }
}

#[tokio::test]
async fn a_truncated_stream_is_an_error_not_an_end() {
    let t = spawn().await;
    let (events, error) = stream_text(&t, "[[emu:truncate after=1]]").await;
    assert_eq!(deltas(&events).len(), 1);
    assert!(error.is_some(), "truncation must not look like a clean end");
}

#[tokio::test]
async fn an_error_before_the_stream_is_an_http_error() {
    let t = spawn().await;
    let err = ask_stream(&t, "[[emu:error ThrottlingException]]")
        .send()
        .await
        .expect_err("throttled");
    assert!(matches!(
        err.into_service_error(),
        ConverseStreamError::ThrottlingException(_)
    ));
}

#[tokio::test]
async fn silence_and_drip_pace_the_stream() {
    let t = spawn().await;
    let started = Instant::now();
    let request = ask_stream(&t, "[[emu:silence 200]] [[emu:drip 10]]");
    let mut stream = request.send().await.expect("stream starts").stream;
    let first = stream.recv().await.expect("first event");
    assert!(matches!(first, Some(ConverseStreamOutput::MessageStart(_))));
    assert!(started.elapsed() >= Duration::from_millis(200));
    let mut count = 1;
    while stream.recv().await.expect("event").is_some() {
        count += 1;
    }
    assert!(started.elapsed() >= Duration::from_millis(200 + 10 * (count - 1)));
}
