//! The throttling switch (docs/emulator.md, "Throttling"): a share of the model calls answered with
//! `ThrottlingException` before the first byte, set in-process, over `/_emulator/throttle` or by
//! the binary's flags; and the access key id each request was signed with.

use std::time::Duration;

use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{ConverseTokensRequest, CountTokensInput};
use bedrock_emulator::{Script, Throttle};
use serde_json::{json, Value};

use crate::helpers::{
    ask, ask_stream, converse_text, service_error, spawn, text_of, user, SONNET_4_BARE,
};
use crate::native;

const THROTTLE_MESSAGE: &str = "Too many requests, please wait before trying again.";

fn all(retry_after: Option<u64>) -> Throttle {
    Throttle {
        fraction: 1.0,
        for_ms: None,
        retry_after,
    }
}

async fn control(url: &str, method: reqwest::Method, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{url}/_emulator/throttle"));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("control call");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn half_throttles_every_other_converse_call_with_bedrocks_429() {
    let t = spawn().await;
    t.emulator
        .set_throttle(Throttle {
            fraction: 0.5,
            ..all(None)
        })
        .expect("valid");
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        match ask(&t, "hello").send().await {
            Ok(_) => outcomes.push("ok".to_owned()),
            Err(e) => {
                let (status, err) = service_error(e);
                assert!(err.is_throttling_exception(), "{err:?}");
                assert_eq!(err.message(), Some(THROTTLE_MESSAGE));
                outcomes.push(status.to_string());
            }
        }
    }
    assert_eq!(outcomes, ["429", "ok", "429", "ok"]);
    let status = t.emulator.throttle_status();
    assert_eq!((status.throttled, status.passed), (2, 2));
}

#[tokio::test]
async fn every_model_operation_is_throttled_before_its_first_byte_with_the_retry_after() {
    let t = spawn().await;
    t.emulator.set_throttle(all(Some(3))).expect("valid");

    let stream = ask_stream(&t, "hello").send().await.expect_err("throttled");
    let SdkError::ServiceError(e) = stream else {
        panic!("expected a service error, got {stream:?}");
    };
    assert_eq!(e.raw().status().as_u16(), 429);
    assert_eq!(
        e.raw().headers().get("retry-after"),
        Some("3"),
        "ConverseStream"
    );
    assert!(e.err().is_throttling_exception());

    let body = native::body("hello");
    let invoked = native::invoke(&t, native::SONNET_45, &body).await;
    assert_eq!(invoked, Err((429, THROTTLE_MESSAGE.to_owned())));

    let stream = t
        .client
        .invoke_model_with_response_stream()
        .model_id(native::SONNET_45)
        .content_type("application/json")
        .body(aws_sdk_bedrockruntime::primitives::Blob::new(
            body.to_string(),
        ))
        .send()
        .await
        .expect_err("throttled");
    let SdkError::ServiceError(e) = stream else {
        panic!("expected a service error, got {stream:?}");
    };
    assert_eq!(e.raw().status().as_u16(), 429);
    assert!(e.err().is_throttling_exception(), "{:?}", e.err());

    let converse = ask(&t, "hello").send().await.expect_err("throttled");
    assert_eq!(service_error(converse).0, 429);
    assert_eq!(t.emulator.throttle_status().throttled, 4);
}

#[tokio::test]
async fn a_throttle_leaves_queued_scripts_and_count_tokens_alone() {
    let t = spawn().await;
    t.emulator.push_script(Script::text("Scripted."));
    t.emulator
        .set_throttle(Throttle {
            fraction: 0.5,
            ..all(None)
        })
        .expect("valid");
    let counted = t
        .client
        .count_tokens()
        .model_id(SONNET_4_BARE)
        .input(CountTokensInput::Converse(
            ConverseTokensRequest::builder()
                .messages(user("hi"))
                .build(),
        ))
        .send()
        .await;
    assert!(
        counted.is_ok(),
        "CountTokens is never throttled: {counted:?}"
    );
    let first = ask(&t, "hello").send().await.expect_err("throttled");
    assert_eq!(service_error(first).0, 429);
    assert_eq!(text_of(&converse_text(&t, "hello").await), "Scripted.");
}

#[tokio::test]
async fn the_control_route_sets_reports_recovers_and_clears_the_switch() {
    let t = spawn().await;
    let body = json!({"fraction": 1.0, "for_ms": 300, "retry_after": 1});
    let (status, set) = control(&t.url, reqwest::Method::POST, Some(body)).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["fraction"], 1.0);
    assert!(set["remaining_ms"].as_u64().is_some_and(|ms| ms <= 300));

    let err = ask(&t, "hello").send().await.expect_err("throttled");
    assert_eq!(service_error(err).0, 429);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(ask(&t, "hello").send().await.is_ok(), "recovered");
    let (_, status) = control(&t.url, reqwest::Method::GET, None).await;
    assert_eq!(
        status,
        json!({"fraction": 0.0, "remaining_ms": null, "throttled": 1, "passed": 1})
    );

    let body = json!({"fraction": 1.0});
    control(&t.url, reqwest::Method::POST, Some(body)).await;
    let (cleared, _) = control(&t.url, reqwest::Method::DELETE, None).await;
    assert_eq!(cleared, 204);
    assert!(ask(&t, "hello").send().await.is_ok(), "cleared");
}

#[tokio::test]
async fn invalid_throttle_settings_are_refused() {
    let t = spawn().await;
    for body in [
        json!({"fraction": 1.5}),
        json!({"fraction": -0.1}),
        json!({"share": 0.5}),
        json!({"fraction": 0.5, "for_ms": "soon"}),
    ] {
        let (status, answer) = control(&t.url, reqwest::Method::POST, Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(answer["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("invalid throttle")));
    }
    assert!(ask(&t, "hello").send().await.is_ok(), "nothing was set");
}

#[tokio::test]
async fn each_request_records_the_access_key_id_that_signed_it() {
    let t = spawn().await;
    converse_text(&t, "hello").await;
    let raw = reqwest::Client::new()
        .post(format!("{}/model/{SONNET_4_BARE}/converse", t.url))
        .header("authorization", "Bearer not-sigv4")
        .json(&json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}))
        .send()
        .await
        .expect("raw call");
    assert!(raw.status().is_client_error() || raw.status().is_success());
    let keys: Vec<Option<String>> = t
        .emulator
        .requests()
        .into_iter()
        .map(|r| r.access_key_id)
        .collect();
    assert_eq!(keys, [Some("AKIDTEST".to_owned()), None]);
}
