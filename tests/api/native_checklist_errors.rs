//! NATIVE.md §10 items about Bedrock's HTTP answers, against the stand-in Bedrock of
//! `native_checklist_wire.rs`: errors with the statuses Bedrock really uses (400 for a quota, 424
//! with `originalStatusCode`), a JSON body that pauses past the SDK's stall grace, and a count of
//! 0. docs/api.md ("NATIVE.md §10 checklist") maps items to tests.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use crate::count_tokens::{count, local_estimate, tokens_of};
use crate::helpers::{assert_error, spawn_app_routed};
use crate::native_checklist_wire::{ask, http_error, response, stand_in, EITHER, INVOKE};

#[tokio::test]
#[expect(
    clippy::too_many_lines,
    reason = "one table: every Bedrock error with the client's status and type"
)]
async fn quota_and_model_errors_map_by_name_and_by_the_models_own_status() {
    let cases = [
        (
            400,
            "ServiceQuotaExceededException",
            json!({"message": "Your request exceeds the service quota for your account."}),
            429,
            "rate_limit_error",
        ),
        (
            429,
            "ThrottlingException",
            json!({"message": "Too many requests, please wait before trying again."}),
            429,
            "rate_limit_error",
        ),
        (
            424,
            "ModelErrorException",
            json!({"message": "The model is rate limited.", "originalStatusCode": 429, "resourceName": "m"}),
            429,
            "rate_limit_error",
        ),
        (
            424,
            "ModelErrorException",
            json!({"message": "The model is overloaded.", "originalStatusCode": 529}),
            529,
            "overloaded_error",
        ),
        (
            424,
            "ModelErrorException",
            json!({"message": "The model is unavailable.", "originalStatusCode": 503}),
            529,
            "overloaded_error",
        ),
        (
            424,
            "ModelErrorException",
            json!({"message": "The system encountered an unexpected error during processing. Try your request again.", "originalStatusCode": 400}),
            500,
            "api_error",
        ),
    ];
    for (wire, name, body, status, error_type) in cases {
        let answer = body.clone();
        let url = stand_in(move |_| http_error(wire, name, &answer)).await;
        let app = spawn_app_routed(EITHER, &url).await;
        for stream in [false, true] {
            let r = app.post_messages(&ask(stream)).await;
            assert_error(&r, status, error_type);
            let words = body["message"].as_str().expect("words");
            assert!(
                r.body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.ends_with(words)),
                "{name} {wire}: {:?}",
                r.body
            );
            let retry_after = r.headers.get("retry-after").map(|v| v.to_str().ok());
            match status {
                429 => assert_eq!(retry_after, Some(Some("1")), "{name} {wire}"),
                _ => assert_eq!(retry_after, None, "{name} {wire}"),
            }
        }
    }
}

#[tokio::test]
async fn a_json_answer_whose_body_pauses_past_the_sdks_stall_grace_still_arrives() {
    // aws-smithy-runtime's stalled-stream protection (on InvokeModel, Converse and CountTokens;
    // 20 s grace) would end a response body that stops for longer.
    let message = json!({"id": "msg_bdrk_02", "type": "message", "role": "assistant",
        "model": "claude-opus-5-5", "content": [{"type": "text", "text": "slow water"}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 5, "output_tokens": 2}})
    .to_string()
    .into_bytes();
    let url = stand_in(move |_| {
        let (head, tail) = message.split_at(message.len() / 2);
        let (head, tail) = (Bytes::copy_from_slice(head), Bytes::copy_from_slice(tail));
        let body = async_stream::stream! {
            yield Ok::<Bytes, std::io::Error>(head);
            tokio::time::sleep(Duration::from_secs(23)).await;
            yield Ok(tail);
        };
        Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(Body::from_stream(body))
            .expect("response")
    })
    .await;
    let app = spawn_app_routed(INVOKE, &url).await;
    let r = app.post_messages(&ask(false)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["content"][0]["text"], "slow water");
}

#[tokio::test]
async fn a_count_of_zero_from_bedrock_is_never_passed_on() {
    let url = stand_in(|path| {
        if path.starts_with("/anthropic/") {
            let zero = json!({"input_tokens": 0}).to_string();
            return response(
                200,
                &[("content-type", "application/json")],
                zero.into_bytes(),
            );
        }
        if path.contains("claude-opus-5") {
            let refusal = json!({"message": "The provided model doesn't support counting tokens."});
            return http_error(400, "ValidationException", &refusal);
        }
        let zero = json!({"inputTokens": 0}).to_string();
        response(
            200,
            &[("content-type", "application/json")],
            zero.into_bytes(),
        )
    })
    .await;
    let app = spawn_app_routed(EITHER, &url).await;
    // Runtime CountTokens answers 0; runtime refuses the model and bedrock-mantle answers 0.
    for model in ["claude-sonnet-4-20250514", "claude-opus-5"] {
        let request = crate::count_tokens::body(model, "How high is the spring tide?");
        let n = tokens_of(&count(&app, &request).await);
        assert_eq!(n, local_estimate(&request), "{model}");
    }
}
