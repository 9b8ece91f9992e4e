//! Bedrock pass-through mode: `/model/{model}/invoke[-with-response-stream]`, `count-tokens` and
//! `/inference-profiles`, answered in Bedrock's own wire format, behind the gateway's keys.

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::Message;
use base64::Engine;
use bedrock_emulator::Script;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, TestApp, KEY};

const OPUS: &str = "us.anthropic.claude-opus-5-5";

pub(crate) fn native_body(text: &str) -> String {
    // Spacing and key order a parse-and-serialize would change.
    format!(
        r#"{{"anthropic_version": "bedrock-2023-05-31","anthropic_beta":["effort-2025-11-24"], "max_tokens":256,"output_config":{{"effort":"low"}},"messages":[{{"role":"user","content":"{text}"}}]}}"#
    )
}

async fn post(
    app: &TestApp,
    path: &str,
    body: &str,
    auth: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(format!("{}{path}", app.url))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some((name, value)) = auth {
        req = req.header(name, value);
    }
    req.send().await.expect("sent")
}

async fn json_of(resp: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.expect("body");
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn bearer() -> (&'static str, String) {
    ("authorization", format!("Bearer {KEY}"))
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

/// Every frame of an event-stream body, decoded.
pub(crate) fn frames(mut body: Bytes) -> Vec<Message> {
    let mut out = Vec::new();
    while !body.is_empty() {
        out.push(read_message_from(&mut body).expect("a whole frame"));
    }
    out
}

/// The Anthropic events inside `chunk` frames.
pub(crate) fn chunk_events(frames: &[Message]) -> Vec<Value> {
    frames
        .iter()
        .filter(|m| header(m, ":event-type") == Some("chunk"))
        .map(|m| {
            let payload: Value = serde_json::from_slice(m.payload()).expect("json payload");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(payload["bytes"].as_str().expect("bytes"))
                .expect("base64");
            serde_json::from_slice(&bytes).expect("an Anthropic event")
        })
        .collect()
}

#[tokio::test]
async fn invoke_forwards_the_body_byte_for_byte_and_returns_bedrocks_message_with_its_cost() {
    let app = spawn_app().await;
    let body = native_body("[[emu:text the tide is out]]");
    let (key_name, key) = bearer();
    let resp = post(
        &app,
        &format!("/model/{OPUS}/invoke"),
        &body,
        Some((key_name, &key)),
    )
    .await;
    let (status, headers, message) = json_of(resp).await;
    assert_eq!(status, 200, "{message}");
    assert_eq!(headers["content-type"], "application/json");
    let text = message["content"]
        .as_array()
        .and_then(|c| c.iter().find(|b| b["type"] == "text"))
        .map(|b| b["text"].clone());
    assert_eq!(text, Some(json!("the tide is out")), "{message}");
    // Bedrock's own Message: its id and model name, no cost inside.
    assert!(message["id"]
        .as_str()
        .is_some_and(|id| id.starts_with("msg_bdrk_")));
    assert!(message["usage"].get("cost").is_none(), "{message}");
    let cost: f64 = headers["x-chatrix-cost-usd"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("number");
    let usage = &message["usage"];
    let want = (usage["input_tokens"].as_f64().expect("in") * 4.0
        + usage["output_tokens"].as_f64().expect("out") * 20.0)
        / 1e6;
    assert!((cost - want).abs() < 1e-6, "{cost} vs {want}");
    let sent = app.emulator.requests().pop().expect("a call");
    assert_eq!(
        (sent.operation.as_str(), sent.model_id.as_str()),
        ("InvokeModel", OPUS)
    );
    assert_eq!(sent.raw_body.as_deref(), Some(body.as_str()));
    assert!(headers.contains_key("x-amzn-requestid"));
}

#[tokio::test]
async fn the_model_segment_is_decoded_and_resolved_through_the_catalog() {
    let app = spawn_app().await;
    let body = native_body("hi");
    for (segment, called) in [
        ("claude-opus-5-5", "global.anthropic.claude-opus-5-5"),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
    ] {
        let resp = post(
            &app,
            &format!("/model/{segment}/invoke"),
            &body,
            Some(("x-api-key", KEY)),
        )
        .await;
        let (status, _, message) = json_of(resp).await;
        assert_eq!(status, 200, "{segment}: {message}");
        assert_eq!(
            app.emulator.requests().pop().expect("a call").model_id,
            called
        );
    }
}

#[tokio::test]
async fn the_stream_is_bedrocks_event_stream_reframed_chunk_by_chunk() {
    let app = spawn_app().await;
    let body = native_body("[[emu:text one two three]]");
    let resp = post(
        &app,
        &format!("/model/{OPUS}/invoke-with-response-stream"),
        &body,
        Some(("x-api-key", KEY)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    assert_eq!(
        resp.headers()["x-amzn-bedrock-content-type"],
        "application/json"
    );
    let frames = frames(resp.bytes().await.expect("body"));
    assert!(frames
        .iter()
        .all(|m| header(m, ":message-type") == Some("event")));
    let events = chunk_events(&frames);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"message_start"));
    assert_eq!(kinds.last(), Some(&"message_stop"));
    let text: String = events
        .iter()
        .filter_map(|e| e["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "one two three");
    // Bedrock's own events, untouched: its model name and its invocation metrics stay.
    assert_eq!(events[0]["message"]["model"], "claude-opus-5-5");
    assert!(events.last().expect("stop")["amazon-bedrock-invocationMetrics"].is_object());
    let sent = app.emulator.requests().pop().expect("a call");
    assert_eq!(sent.operation, "InvokeModelWithResponseStream");
    assert_eq!(sent.raw_body.as_deref(), Some(body.as_str()));
}

#[tokio::test]
async fn an_exception_inside_the_stream_is_relayed_as_bedrocks_exception_frame() {
    let app = spawn_app().await;
    app.emulator.push_script(Script {
        stream_error_after: Some(1),
        error: Some(serde_json::from_value(json!({"type": "ThrottlingException"})).expect("error")),
        ..Script::text("this stream breaks off part-way through")
    });
    let resp = post(
        &app,
        &format!("/model/{OPUS}/invoke-with-response-stream"),
        &native_body("hi"),
        Some(("x-api-key", KEY)),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let frames = frames(resp.bytes().await.expect("body"));
    let last = frames.last().expect("frames");
    assert_eq!(header(last, ":message-type"), Some("exception"));
    assert_eq!(header(last, ":exception-type"), Some("throttlingException"));
    let payload: Value = serde_json::from_slice(last.payload()).expect("json");
    assert!(
        payload["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{payload}"
    );
    assert!(!chunk_events(&frames).is_empty());
}

#[tokio::test]
async fn bedrocks_errors_come_back_as_bedrock_sends_them() {
    let app = spawn_app().await;
    let stream = format!("/model/{OPUS}/invoke-with-response-stream");
    let invoke = format!("/model/{OPUS}/invoke");
    let throttled = native_body("[[emu:error ThrottlingException]]");
    let bad_version = r#"{"anthropic_version":"2099-01-01","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#;
    for (path, body, status, code) in [
        (&stream, throttled.as_str(), 429, "ThrottlingException"),
        (&invoke, throttled.as_str(), 429, "ThrottlingException"),
        (&invoke, bad_version, 400, "ValidationException"),
    ] {
        let resp = post(&app, path, body, Some(("x-api-key", KEY))).await;
        let (got, headers, error) = json_of(resp).await;
        assert_eq!(got, status, "{path}: {error}");
        assert_eq!(headers["x-amzn-errortype"], code);
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
        assert!(
            error.get("type").is_none(),
            "not Anthropic's envelope: {error}"
        );
    }
}

#[tokio::test]
async fn the_gateways_own_refusals_take_bedrocks_form_too() {
    let app = spawn_app().await;
    let auth = Some(("x-api-key", KEY));
    let resp = post(&app, "/model/not-a-model/invoke", &native_body("hi"), auth).await;
    let (status, headers, error) = json_of(resp).await;
    assert_eq!(
        (status, &headers["x-amzn-errortype"]),
        (400, &"ValidationException".parse().expect("hv"))
    );
    assert_eq!(
        error["message"],
        "The provided model identifier is invalid."
    );
    let resp = post(&app, &format!("/model/{OPUS}/converse-later"), "{}", auth).await;
    let (status, headers, _) = json_of(resp).await;
    assert_eq!(
        (status, &headers["x-amzn-errortype"]),
        (404, &"UnknownOperationException".parse().expect("hv"))
    );
    assert!(app.emulator.requests().is_empty());
}

#[tokio::test]
async fn the_runtime_routes_need_a_gateway_key_in_either_header() {
    let app = spawn_app().await;
    let path = format!("/model/{OPUS}/invoke");
    let body = native_body("hi");
    let missing = post(&app, &path, &body, None).await;
    let (status, headers, error) = json_of(missing).await;
    let reply = crate::helpers::Reply {
        status,
        headers,
        body: error,
    };
    assert_error(&reply, 401, "authentication_error");
    let wrong = post(
        &app,
        &path,
        &body,
        Some(("authorization", "Bearer sk-wrong")),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let (name, value) = bearer();
    for auth in [("x-api-key", KEY), (name, value.as_str())] {
        assert_eq!(
            post(&app, &path, &body, Some(auth)).await.status(),
            200,
            "{}",
            auth.0
        );
    }
    assert_eq!(app.emulator.requests().len(), 2);
}

#[tokio::test]
async fn count_tokens_passes_the_invoke_body_through_to_bedrock() {
    let app = spawn_app().await;
    let invoke = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":8,"messages":[{"role":"user","content":"count these words please"}]}"#;
    let encoded = base64::engine::general_purpose::STANDARD.encode(invoke);
    let body = json!({"input": {"invokeModel": {"body": encoded}}}).to_string();
    let resp = post(
        &app,
        "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/count-tokens",
        &body,
        Some(("x-api-key", KEY)),
    )
    .await;
    let (status, _, count) = json_of(resp).await;
    assert_eq!(status, 200, "{count}");
    assert!(
        count["inputTokens"].as_u64().is_some_and(|n| n > 0),
        "{count}"
    );
    let sent = app.emulator.requests().pop().expect("a call");
    assert_eq!(
        (sent.operation.as_str(), sent.model_id.as_str()),
        ("CountTokens", "anthropic.claude-sonnet-4-5-20250929-v1:0")
    );
}

#[tokio::test]
async fn inference_profiles_are_listed_and_described_without_a_key() {
    let app = spawn_app().await;
    let list = app.get("/inference-profiles?type=SYSTEM_DEFINED").await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let ids: Vec<&str> = list.body["inferenceProfileSummaries"]
        .as_array()
        .expect("summaries")
        .iter()
        .filter_map(|p| p["inferenceProfileId"].as_str())
        .collect();
    assert!(ids.contains(&"global.anthropic.claude-opus-5-5"), "{ids:?}");
    let one = app
        .get("/inference-profiles/us.anthropic.claude-opus-5-5")
        .await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert_eq!(
        one.body["models"][0]["modelArn"],
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-5-5"
    );
    let missing = app.get("/inference-profiles/us.example.nothing-here").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.headers["x-amzn-errortype"],
        "ResourceNotFoundException"
    );
    let wrong_key = app
        .http
        .get(format!("{}/inference-profiles", app.url))
        .header("x-api-key", "sk-wrong")
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong_key.status(), 401);
}

mod application_profiles {
    use bedrock_emulator::ApplicationProfile;
    use serde_json::json;

    use crate::helpers::{spawn_app_on, KEY};

    fn profile(id: &str, model: &str) -> ApplicationProfile {
        ApplicationProfile {
            id: id.into(),
            model: model.into(),
            name: Some(format!("{id} profile")),
        }
    }

    #[tokio::test]
    async fn a_claude_application_profile_goes_native_priced_as_its_model_and_asked_about_once() {
        let emulator = bedrock_emulator::Emulator::new().expect("emulator");
        let arn =
            emulator.add_application_profile(profile("team-claude", "anthropic.claude-opus-5-5"));
        let app = spawn_app_on(emulator, &[("CHATRIX_CLAUDE_API", "invoke")]).await;
        let body = json!({"model": arn, "max_tokens": 64,
                          "messages": [{"role": "user", "content": "[[emu:text routed by profile]]"}]});
        for _ in 0..2 {
            let r = app.post_messages(&body).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            assert_eq!(r.body["model"], arn.as_str());
            let usage = &r.body["usage"];
            let want = (usage["input_tokens"].as_f64().expect("in") * 4.0
                + usage["output_tokens"].as_f64().expect("out") * 20.0)
                / 1e6;
            let cost = usage["cost"]["total_cost"]
                .as_f64()
                .expect("priced as Opus 5.5");
            assert!((cost - want).abs() < 1e-9, "{cost} vs {want}");
        }
        let calls = app.emulator.requests();
        assert!(
            calls
                .iter()
                .all(|c| c.operation == "InvokeModel" && c.model_id == arn),
            "{:?}",
            calls
                .iter()
                .map(|c| (&c.operation, &c.model_id))
                .collect::<Vec<_>>()
        );
        // Opus 5.5's rules applied: the native body carries Bedrock's version, no `model`.
        let raw = calls[0].raw_body.as_deref().expect("raw body");
        assert!(
            raw.starts_with(r#"{"anthropic_version":"bedrock-2023-05-31""#),
            "{raw}"
        );
        assert_eq!(
            app.emulator.get_inference_profile_calls(),
            1,
            "cached after the first call"
        );
    }

    #[tokio::test]
    async fn another_vendors_application_profile_goes_through_converse_priced_as_its_model() {
        let emulator = bedrock_emulator::Emulator::new().expect("emulator");
        let arn = emulator.add_application_profile(profile("team-qwen", "qwen.qwen3-32b-v1:0"));
        let app = spawn_app_on(emulator, &[]).await;
        let body = json!({"model": arn, "max_tokens": 64,
                          "messages": [{"role": "user", "content": "[[emu:text from qwen]]"}]});
        let r = app.post_messages(&body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["content"][0]["text"], "from qwen");
        assert!(
            r.body["usage"]["cost"]["total_cost"]
                .as_f64()
                .is_some_and(|c| c > 0.0),
            "{:?}",
            r.body["usage"]
        );
        let sent = app.emulator.requests().pop().expect("a call");
        assert_eq!(
            (sent.operation.as_str(), sent.model_id.as_str()),
            ("Converse", arn.as_str())
        );
    }

    #[tokio::test]
    async fn get_inference_profile_describes_an_application_profile_only_to_a_caller_with_a_key_first(
    ) {
        let emulator = bedrock_emulator::Emulator::new().expect("emulator");
        let arn = emulator.add_application_profile(profile("team-b", "anthropic.claude-sonnet-5"));
        let app = spawn_app_on(emulator, &[]).await;
        let path = format!(
            "/inference-profiles/{}",
            arn.replace('/', "%2F").replace(':', "%3A")
        );
        let anonymous = app.get(&path).await;
        assert_eq!(
            anonymous.status, 404,
            "nothing cached, no Bedrock call without a key"
        );
        assert_eq!(app.emulator.get_inference_profile_calls(), 0);
        let keyed = app
            .http
            .get(format!("{}{path}", app.url))
            .header("x-api-key", KEY)
            .send()
            .await
            .expect("sent");
        assert_eq!(keyed.status(), 200);
        let body: serde_json::Value = keyed.json().await.expect("json");
        assert_eq!(body["inferenceProfileArn"], arn.as_str());
        assert_eq!(body["type"], "APPLICATION");
        assert_eq!(
            body["models"][0]["modelArn"],
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-5"
        );
        // Now cached: Claude Code's credential-less lookup is answered.
        let anonymous = app.get(&path).await;
        assert_eq!(anonymous.status, 200);
        assert_eq!(app.emulator.get_inference_profile_calls(), 1);
    }
}
