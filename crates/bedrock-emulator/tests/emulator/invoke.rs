//! InvokeModel and InvokeModelWithResponseStream through the SDK: the Anthropic message, headers,
//! recording, tool calls, thinking signatures, prompt caching, event order and metrics, exception
//! frames, cancellation, and CountTokens with a native body.

use std::time::Duration;

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{CountTokensInput, InvokeModelTokensRequest};
use serde_json::{json, Value};

use crate::helpers::DEFAULT_TEXT;
use crate::native::{
    body, invoke, refused, spawn, stream, types, weather_tools, OPUS_47, SONNET_45,
};

#[tokio::test]
async fn invoke_answers_an_anthropic_message_and_records_the_exact_body() {
    let t = spawn().await;
    let sent = body("hi");
    let message = invoke(&t, SONNET_45, &sent).await.expect("invoke");
    assert!(message["id"].as_str().expect("id").starts_with("msg_bdrk_"));
    assert_eq!(message["type"], "message");
    assert_eq!(message["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": DEFAULT_TEXT}])
    );
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["stop_sequence"], Value::Null);
    let usage = &message["usage"];
    for key in [
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    ] {
        assert!(usage[key].is_u64(), "{key}: {usage}");
    }
    let recorded = t.emulator.requests().pop().expect("recorded");
    assert_eq!(recorded.operation, "InvokeModel");
    assert_eq!(recorded.model_id, SONNET_45);
    assert_eq!(
        recorded.raw_body.as_deref(),
        Some(sent.to_string().as_str())
    );
    assert_eq!(recorded.body, sent);
}

#[tokio::test]
async fn invoke_responses_carry_bedrock_token_and_latency_headers() {
    let t = spawn().await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/model/{}/invoke",
            t.url,
            SONNET_45.replace(':', "%3A")
        ))
        .header("authorization", "AWS4-HMAC-SHA256 test")
        .header("content-type", "application/json")
        .header("x-amzn-bedrock-service-tier", "priority")
        .body(body("[[emu:text four words right here]]").to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert!(header("x-amzn-requestid").is_some());
    assert_eq!(
        header("x-amzn-bedrock-service-tier").as_deref(),
        Some("priority")
    );
    let input: u64 = header("x-amzn-bedrock-input-token-count")
        .expect("input")
        .parse()
        .expect("n");
    let output: u64 = header("x-amzn-bedrock-output-token-count")
        .expect("output")
        .parse()
        .expect("n");
    assert!(header("x-amzn-bedrock-invocation-latency").is_some());
    let message: Value = response.json().await.expect("json");
    assert_eq!(message["usage"]["input_tokens"], input);
    assert_eq!(message["usage"]["output_tokens"], output);
    assert_eq!(message["content"][0]["text"], "four words right here");
}

#[tokio::test]
async fn a_tool_call_round_trip_answers_with_the_tool_result() {
    let t = spawn().await;
    let mut first = body(r#"[[emu:tool get_weather {"city": "Oslo"}]]"#);
    first["tools"] = weather_tools();
    let message = invoke(&t, SONNET_45, &first).await.expect("invoke");
    assert_eq!(message["stop_reason"], "tool_use");
    let call = &message["content"][0];
    assert_eq!(
        (&call["type"], &call["name"]),
        (&json!("tool_use"), &json!("get_weather"))
    );
    assert_eq!(call["input"], json!({"city": "Oslo"}));
    let id = call["id"].as_str().expect("id");
    assert!(id.starts_with("toolu_bdrk_"), "{id}");
    let mut second = first.clone();
    second["messages"] = json!([
        first["messages"][0],
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "3 degrees"}]}
    ]);
    let answer = invoke(&t, SONNET_45, &second).await.expect("invoke");
    assert_eq!(answer["content"][0]["text"], "Tool result: 3 degrees");
}

#[tokio::test]
async fn thinking_blocks_are_signed_and_only_our_signatures_come_back() {
    let t = spawn().await;
    let mut first = body("[[emu:tool get_weather {}]]");
    first["tools"] = weather_tools();
    first["thinking"] = json!({"type": "adaptive"});
    let message = invoke(&t, OPUS_47, &first).await.expect("invoke");
    assert_eq!(message["model"], "claude-opus-4-7");
    let thinking = &message["content"][0];
    assert_eq!(thinking["type"], "thinking");
    assert!(thinking["signature"]
        .as_str()
        .expect("sig")
        .starts_with("emu-sig-"));
    let call = &message["content"][1];
    let replay = |content: Value| {
        let mut next = first.clone();
        next["messages"] = json!([
            first["messages"][0],
            {"role": "assistant", "content": content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "ok"}]}
        ]);
        next
    };
    invoke(&t, OPUS_47, &replay(message["content"].clone()))
        .await
        .expect("our signature is accepted");
    let mut forged = thinking.clone();
    forged["signature"] = json!("EqQBCkYIARgCKkBforged");
    let message = refused(&t, OPUS_47, &replay(json!([forged, call]))).await;
    assert!(
        message.contains("messages.1.content.0: Invalid `signature` in `thinking` block"),
        "{message}"
    );
    let message = refused(&t, OPUS_47, &replay(json!([call]))).await;
    assert!(
        message.contains("Expected `thinking` or `redacted_thinking`"),
        "{message}"
    );
}

#[tokio::test]
async fn cache_control_breakpoints_are_written_then_read() {
    let t = spawn().await;
    let mut request = body("first");
    request["system"] = json!([{"type": "text", "text": "z".repeat(8_000), "cache_control": {"type": "ephemeral"}}]);
    let first = invoke(&t, SONNET_45, &request).await.expect("first");
    assert_eq!(first["usage"]["cache_creation_input_tokens"], 2_000);
    assert_eq!(first["usage"]["cache_read_input_tokens"], 0);
    request["messages"][0]["content"] = json!("second");
    let second = invoke(&t, SONNET_45, &request).await.expect("second");
    assert_eq!(second["usage"]["cache_read_input_tokens"], 2_000);
    assert_eq!(second["usage"]["cache_creation_input_tokens"], 0);
}

#[tokio::test]
async fn the_stream_sends_anthropic_events_with_bedrock_metrics_and_no_pings() {
    let t = spawn().await;
    let (events, error) = stream(&t, SONNET_45, &body("hi")).await;
    assert!(error.is_none(), "{error:?}");
    let kinds = types(&events);
    assert_eq!(kinds[..2], ["message_start", "content_block_start"]);
    assert_eq!(
        kinds[kinds.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    assert!(!kinds.contains(&"ping"));
    let start = &events[0]["message"];
    assert!(start["id"].as_str().expect("id").starts_with("msg_bdrk_"));
    assert_eq!(start["content"], json!([]));
    assert!(start["usage"]["input_tokens"].as_u64().expect("input") > 0);
    assert!(start["usage"].get("cache_read_input_tokens").is_some());
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "content_block_delta")
        .map(|e| e["delta"]["text"].as_str().expect("text_delta"))
        .collect();
    assert_eq!(text, DEFAULT_TEXT);
    let delta = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    let usage = delta["usage"].as_object().expect("usage");
    assert_eq!(usage.keys().collect::<Vec<_>>(), ["output_tokens"]);
    let metrics = &events[events.len() - 1]["amazon-bedrock-invocationMetrics"];
    for key in [
        "inputTokenCount",
        "outputTokenCount",
        "invocationLatency",
        "firstByteLatency",
        "cacheReadInputTokenCount",
        "cacheWriteInputTokenCount",
    ] {
        assert!(metrics[key].is_u64(), "{key}: {metrics}");
    }
    assert_eq!(metrics["outputTokenCount"], usage["output_tokens"]);
    let recorded = t.emulator.requests().pop().expect("recorded");
    assert_eq!(recorded.operation, "InvokeModelWithResponseStream");
}

#[tokio::test]
async fn streamed_thinking_and_tool_input_arrive_in_pieces() {
    let t = spawn().await;
    let mut request = body(
        r#"[[emu:thinking]] [[emu:tool get_weather {"city": "Reykjavik", "days": 3, "detail": "hourly"}]]"#,
    );
    request["tools"] = weather_tools();
    let (events, error) = stream(&t, SONNET_45, &request).await;
    assert!(error.is_none(), "{error:?}");
    let deltas = |index: u64, kind: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| {
                e["type"] == "content_block_delta"
                    && e["index"] == index
                    && e["delta"]["type"] == kind
            })
            .map(|e| e["delta"].clone())
            .collect()
    };
    assert!(!deltas(0, "thinking_delta").is_empty());
    let signatures = deltas(0, "signature_delta");
    assert!(signatures[0]["signature"]
        .as_str()
        .expect("sig")
        .starts_with("emu-sig-"));
    let starts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "content_block_start")
        .collect();
    assert_eq!(starts[1]["content_block"]["type"], "tool_use");
    assert_eq!(starts[1]["content_block"]["input"], json!({}));
    let pieces = deltas(1, "input_json_delta");
    assert!(pieces.len() > 1);
    let joined: String = pieces
        .iter()
        .map(|d| d["partial_json"].as_str().expect("piece"))
        .collect();
    let input: Value = serde_json::from_str(&joined).expect("complete json");
    assert_eq!(input["city"], "Reykjavik");
    assert_eq!(events[events.len() - 2]["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn a_stream_error_directive_sends_an_exception_frame() {
    let t = spawn().await;
    let request = body("[[emu:stream-error throttlingException after=1]] [[emu:long 20]]");
    let (events, error) = stream(&t, SONNET_45, &request).await;
    let error = error.expect("exception frame");
    let err = error.into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert_eq!(
        types(&events)
            .iter()
            .filter(|k| **k == "content_block_delta")
            .count(),
        1
    );
    assert!(!types(&events).contains(&"message_stop"));
}

#[tokio::test]
async fn an_error_directive_fails_before_any_output() {
    let t = spawn().await;
    let (status, message) = invoke(
        &t,
        SONNET_45,
        &body("[[emu:error ServiceUnavailableException]]"),
    )
    .await
    .expect_err("fails");
    assert_eq!(status, 503);
    assert_eq!(message, "Bedrock is unable to process your request.");
}

#[tokio::test]
async fn a_dropped_stream_is_no_longer_counted_as_open() {
    let t = spawn().await;
    let out = t
        .client
        .invoke_model_with_response_stream()
        .model_id(SONNET_45)
        .content_type("application/json")
        .body(Blob::new(
            body("[[emu:drip 200]] [[emu:long 50]]").to_string(),
        ))
        .send()
        .await
        .expect("stream starts");
    let mut receiver = out.body;
    receiver.recv().await.expect("first event");
    assert_eq!(t.emulator.open_streams(), 1);
    drop(receiver);
    for _ in 0..50 {
        if t.emulator.open_streams() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the emulator still writes a stream nobody reads");
}

#[tokio::test]
async fn count_tokens_counts_a_native_body_where_bedrock_serves_the_model() {
    let t = spawn().await;
    let native = body("How many tokens is this question?");
    let count = |model: &'static str| {
        let request = InvokeModelTokensRequest::builder()
            .body(Blob::new(native.to_string()))
            .build()
            .expect("request");
        t.client
            .count_tokens()
            .model_id(model)
            .input(CountTokensInput::InvokeModel(request))
            .send()
    };
    let counted = count("anthropic.claude-sonnet-4-5-20250929-v1:0")
        .await
        .expect("counted");
    let invoked = invoke(&t, SONNET_45, &native).await.expect("invoke");
    assert_eq!(
        u64::try_from(counted.input_tokens()).expect("n"),
        invoked["usage"]["input_tokens"].as_u64().expect("n")
    );
    let err = count("anthropic.claude-opus-4-7")
        .await
        .expect_err("4.7 is not served");
    let message = err.into_service_error().to_string();
    assert!(
        message.contains("doesn't support counting tokens"),
        "{message}"
    );
}
