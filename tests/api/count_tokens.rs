//! `POST /v1/messages/count_tokens`: Bedrock CountTokens under the bare model id, the local
//! estimate where no counter answers, one Bedrock call per burst, and the usual input errors.
//! bedrock-mantle's part of the chain: `count_tokens_mantle.rs`.

use base64::Engine as _;
use bedrock_emulator::RecordedRequest;
use chatrix::anthropic::request::parse_count_tokens_request;
use chatrix::tokens::Generation;
use serde_json::{json, Value};

use crate::helpers::{assert_error, converse_path, spawn_app, spawn_app_with, Reply, TestApp, KEY};

const PATH: &str = "/v1/messages/count_tokens";
/// Counted by bedrock-runtime CountTokens (a dated `-v1:0` id), with a `global` profile, the
/// gateway's default.
const COUNTED: &str = "claude-sonnet-4-20250514";
const COUNTED_BARE_ID: &str = "anthropic.claude-sonnet-4-20250514-v1:0";
/// Counted by neither bedrock-runtime (a 5.x model) nor bedrock-mantle (Fable 5.2 is not served
/// there).
pub(crate) const ESTIMATED: &str = "claude-fable-5-2";

pub(crate) fn body(model: &str, text: &str) -> Value {
    json!({
        "model": model,
        "system": [{"type": "text", "text": "You answer questions about tides."}],
        "messages": [{"role": "user", "content": text}]
    })
}

fn tools() -> Value {
    json!([
        {"name": "TideTable", "description": "Returns the high and low water times for a harbour on a date.",
         "input_schema": {"type": "object", "properties": {
             "harbour": {"type": "string", "description": "Harbour name, e.g. Whitby."},
             "date": {"type": "string", "format": "date"}},
          "required": ["harbour", "date"]}},
        {"name": "Forecast", "description": "Returns the wind and swell forecast for the next three days.",
         "input_schema": {"type": "object", "properties": {"area": {"type": "string"}}, "required": ["area"]}}
    ])
}

pub(crate) async fn count(app: &TestApp, body: &Value) -> Reply {
    app.post(PATH, body, &[("x-api-key", KEY)]).await
}

pub(crate) fn tokens_of(reply: &Reply) -> u64 {
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let n = reply.body["input_tokens"].as_u64().expect("input_tokens");
    assert!(n > 0, "a count is never 0: {:?}", reply.body);
    n
}

pub(crate) fn calls_of(app: &TestApp, operation: &str) -> Vec<bedrock_emulator::RecordedRequest> {
    app.emulator
        .requests()
        .into_iter()
        .filter(|r| r.operation == operation)
        .collect()
}

pub(crate) fn count_tokens_calls(app: &TestApp) -> Vec<RecordedRequest> {
    calls_of(app, "CountTokens")
}

/// What a CountTokens call asked to count: the decoded `input.invokeModel.body` (the native path),
/// or `input.converse`. Either way `system[0].text` and `messages[i].content[j].text` read alike.
pub(crate) fn runtime_input(call: &RecordedRequest) -> Value {
    let input = call.body["input"].as_object().expect("an input");
    assert_eq!(input.len(), 1, "one kind of input: {}", call.body);
    if let Some(converse) = input.get("converse") {
        return converse.clone();
    }
    let b64 = call.body["input"]["invokeModel"]["body"]
        .as_str()
        .expect("invokeModel.body is a base64 string");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("standard base64");
    serde_json::from_slice(&bytes).expect("the native body is JSON")
}

/// The gateway's estimate for the body's model, scaled for its tokenizer generation.
pub(crate) fn local_estimate(body: &Value) -> u64 {
    let req = parse_count_tokens_request(body.to_string().as_bytes()).expect("parses");
    let model = body["model"].as_str().expect("model");
    chatrix::tokens::estimate(&req).total_for(Generation::of(model))
}

async fn raw_post(app: &TestApp, headers: &[(&str, &str)], raw: Vec<u8>) -> Reply {
    let mut req = app.http.post(format!("{}{PATH}", app.url)).body(raw);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("sent");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    let body = r.json().await.unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn supported_models_are_counted_by_bedrock_under_the_bare_model_id() {
    let app = spawn_app().await;
    let request = body(COUNTED, "When is high water at Whitby tomorrow?");
    let n = tokens_of(&count(&app, &request).await);

    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].model_id, COUNTED_BARE_ID);
    let sent = runtime_input(&calls[0]);
    assert_eq!(
        sent["system"][0]["text"],
        "You answer questions about tides."
    );
    if converse_path() {
        assert!(sent.get("inferenceConfig").is_none());
    } else {
        assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
        assert_eq!(
            sent["max_tokens"], 1,
            "the count's own, not a generation setting"
        );
    }

    // The same prompt as a real request: served through the global profile, billed the same.
    let mut real = request.clone();
    real["max_tokens"] = json!(16);
    let r = app.post_messages(&real).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["usage"]["input_tokens"].as_u64(), Some(n));
    let last = app.emulator.requests().pop().expect("converse call");
    assert_eq!(last.model_id, format!("global.{COUNTED_BARE_ID}"));
}

#[tokio::test]
async fn raw_profile_ids_and_arns_are_counted_under_the_bare_id() {
    let app = spawn_app().await;
    for (i, model) in [
        format!("us.{COUNTED_BARE_ID}"),
        format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{COUNTED_BARE_ID}"),
    ]
    .iter()
    .enumerate()
    {
        // Different texts: the same body for the same bare id would be answered from the cache.
        tokens_of(&count(&app, &body(model, &format!("question {i}"))).await);
        let last = count_tokens_calls(&app).pop().expect("counted by Bedrock");
        assert_eq!(last.model_id, COUNTED_BARE_ID, "{model}");
    }
    // An application inference profile hides its model: no bare id, so the estimate answers.
    let app_profile = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    tokens_of(&count(&app, &body(app_profile, "hi")).await);
    assert_eq!(count_tokens_calls(&app).len(), 2);
}

#[tokio::test]
async fn other_vendors_models_get_the_local_estimate_without_a_bedrock_call() {
    let app = spawn_app().await;
    let short = body("qwen3-32b", "Is it windy?");
    let long = body(
        "qwen3-32b",
        &"Describe the tidal range along the whole east coast, harbour by harbour. ".repeat(20),
    );
    let (a, b) = (
        tokens_of(&count(&app, &short).await),
        tokens_of(&count(&app, &long).await),
    );
    assert_eq!(a, local_estimate(&short));
    assert!(b > a * 10, "{a} then {b}");
    assert!(app.emulator.requests().is_empty(), "Bedrock was called");
}

#[tokio::test]
async fn sonnet_4_5_is_counted_by_runtime_count_tokens() {
    let app = spawn_app().await;
    let request = body("claude-sonnet-4-5", "When is low water at Scarborough?");
    tokens_of(&count(&app, &request).await);
    let calls = count_tokens_calls(&app);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(
        calls[0].model_id,
        "anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert!(calls_of(&app, "MantleCountTokens").is_empty());
}

#[tokio::test]
async fn a_throttled_count_answers_the_estimate_and_is_not_cached() {
    let app = spawn_app().await;
    let request = body(COUNTED, "[[emu:error ThrottlingException]] tides please");
    for round in 1..=2 {
        let n = tokens_of(&count(&app, &request).await);
        assert_eq!(n, local_estimate(&request));
        assert_eq!(count_tokens_calls(&app).len(), round, "round {round}");
    }
}

#[tokio::test]
async fn a_refused_count_answers_the_estimate_and_is_not_asked_again() {
    let app = spawn_app().await;
    let request = body(COUNTED, "[[emu:error ValidationException]] tides please");
    for _ in 0..2 {
        assert_eq!(
            tokens_of(&count(&app, &request).await),
            local_estimate(&request)
        );
    }
    assert_eq!(count_tokens_calls(&app).len(), 1);
}

#[tokio::test]
async fn a_refusal_of_the_model_spares_bedrock_every_other_body() {
    let app = spawn_app().await;
    let denied = body(COUNTED, "[[emu:error AccessDeniedException]] tides please");
    assert_eq!(
        tokens_of(&count(&app, &denied).await),
        local_estimate(&denied)
    );
    let other = body(COUNTED, "a different question about the moon");
    assert_eq!(
        tokens_of(&count(&app, &other).await),
        local_estimate(&other)
    );
    assert_eq!(
        count_tokens_calls(&app).len(),
        1,
        "asked again after access was denied"
    );
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_make_one_bedrock_call() {
    let app = spawn_app().await;
    // The emulator holds the one call long enough for every request to arrive meanwhile.
    let request = body(COUNTED, "[[emu:silence 300]] How big is the swell?");
    let replies = futures::future::join_all((0..50).map(|_| count(&app, &request))).await;
    let counts: Vec<u64> = replies.iter().map(tokens_of).collect();
    assert!(counts.iter().all(|&n| n == counts[0]), "{counts:?}");
    assert_eq!(count_tokens_calls(&app).len(), 1);
    // And later identical requests are answered from the cache.
    assert_eq!(tokens_of(&count(&app, &request).await), counts[0]);
    assert_eq!(count_tokens_calls(&app).len(), 1);
}

#[tokio::test]
async fn claude_codes_beta_path_and_headers_are_accepted() {
    let app = spawn_app().await;
    let request =
        json!({"model": COUNTED, "messages": [{"role": "user", "content": "foo"}], "tools": []});
    let betas = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,token-counting-2024-11-01";
    let r = app
        .post(
            &format!("{PATH}?beta=true"),
            &request,
            &[
                ("authorization", &format!("Bearer {KEY}")),
                ("anthropic-beta", betas),
            ],
        )
        .await;
    tokens_of(&r);
    assert_eq!(count_tokens_calls(&app).len(), 1);
}

#[tokio::test]
async fn tools_raise_the_count_on_both_paths() {
    let app = spawn_app().await;
    for model in [COUNTED, ESTIMATED] {
        let without = body(model, "What's the tide at Whitby?");
        let mut with = without.clone();
        with["tools"] = tools();
        let (a, b) = (
            tokens_of(&count(&app, &without).await),
            tokens_of(&count(&app, &with).await),
        );
        assert!(b > a + 50, "{model}: {a} without tools, {b} with");
    }
    let sent = runtime_input(&count_tokens_calls(&app)[1]);
    let first_tool = match converse_path() {
        true => &sent["toolConfig"]["tools"][0]["toolSpec"]["name"],
        false => &sent["tools"][0]["name"],
    };
    assert_eq!(first_tool, "TideTable");
}

#[tokio::test]
async fn url_sources_are_estimated_not_downloaded() {
    let app = spawn_app().await;
    let plain = body(COUNTED, "What does this chart show?");
    let mut with_image = plain.clone();
    with_image["messages"][0]["content"] = json!([
        {"type": "image", "source": {"type": "url", "url": "https://charts.invalid/tides.png"}},
        {"type": "text", "text": "What does this chart show?"}
    ]);
    let (a, b) = (
        tokens_of(&count(&app, &plain).await),
        tokens_of(&count(&app, &with_image).await),
    );
    assert!(b > a + 1_000, "an unseen image is priced high: {a} vs {b}");
    let sent = runtime_input(&count_tokens_calls(&app).pop().expect("counted by Bedrock"));
    let content = &sent["messages"][0]["content"];
    assert!(
        content[0]["text"].is_string(),
        "stand-in expected: {content}"
    );
    assert!(!sent.to_string().contains("charts.invalid"));
}

#[tokio::test]
async fn requests_without_a_key_are_rejected_before_the_body_is_read() {
    let app = spawn_app_with(&[("CHATRIX_MAX_BODY_BYTES", "1024")]).await;
    for raw in [b"{not json".to_vec(), vec![b'x'; 4096]] {
        let r = raw_post(&app, &[("content-type", "application/json")], raw).await;
        assert_error(&r, 401, "authentication_error");
    }
}

#[tokio::test]
async fn input_errors_a_real_request_would_get_stay_errors() {
    let app = spawn_app_with(&[("CHATRIX_MAX_BODY_BYTES", "2048")]).await;
    let big = body(COUNTED, &"x".repeat(4096));
    assert_error(&count(&app, &big).await, 413, "request_too_large");
    assert_error(
        &count(&app, &body("gpt-imaginary", "hi")).await,
        404,
        "not_found_error",
    );
    let bad_json = raw_post(&app, &[("x-api-key", KEY)], b"{\"model\": ".to_vec()).await;
    assert_error(&bad_json, 400, "invalid_request_error");
    let no_messages = count(&app, &json!({"model": COUNTED})).await;
    assert_error(&no_messages, 400, "invalid_request_error");
    assert!(count_tokens_calls(&app).is_empty());
}

/// An image whose data is not base64: the gateway refuses it where it converts (Converse); on the
/// native path Bedrock judges it (see `count_tokens_invoke.rs`).
pub(crate) fn bad_image_body() -> Value {
    json!({"model": COUNTED, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "@@@"}}]}]})
}

#[tokio::test]
async fn media_the_converse_conversion_refuses_is_an_input_error_on_the_converse_path() {
    let app = spawn_app_with(&[("CHATRIX_CLAUDE_API", "converse")]).await;
    assert_error(
        &count(&app, &bad_image_body()).await,
        400,
        "invalid_request_error",
    );
    assert!(count_tokens_calls(&app).is_empty());
}
