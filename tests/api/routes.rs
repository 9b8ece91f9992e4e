use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, KEY};

#[tokio::test]
async fn health_answers_without_a_key() {
    let app = spawn_app().await;
    let r = app.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert!(r.headers.contains_key("request-id"));
}

#[tokio::test]
async fn head_root_answers_claude_codes_preflight() {
    let app = spawn_app().await;
    let r = app
        .http
        .head(format!("{}/", app.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn unknown_routes_are_404_in_anthropic_shape() {
    let app = spawn_app().await;
    assert_error(&app.get("/v1/nothing-here").await, 404, "not_found_error");
}

#[tokio::test]
async fn requests_without_a_key_are_401_before_any_bedrock_call() {
    let app = spawn_app().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    assert_error(
        &app.post("/v1/messages", &body, &[]).await,
        401,
        "authentication_error",
    );
    assert_error(
        &app.post("/v1/messages", &body, &[("x-api-key", "sk-nope")])
            .await,
        401,
        "authentication_error",
    );
    assert!(
        app.emulator.requests().is_empty(),
        "an unauthenticated request reached Bedrock"
    );
}

#[tokio::test]
async fn bearer_tokens_authenticate_like_api_keys() {
    let app = spawn_app().await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let bearer = format!("Bearer {KEY}");
    let r = app
        .post(
            "/v1/messages?beta=true",
            &body,
            &[("authorization", &bearer)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn oversize_bodies_are_413_request_too_large() {
    let app = spawn_app_with(&[("CHATRIX_MAX_BODY_BYTES", "1024")]).await;
    let big = "x".repeat(4096);
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": big}]});
    assert_error(&app.post_messages(&body).await, 413, "request_too_large");
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let app = spawn_app().await;
    let r = app
        .http
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body("{\"model\": ")
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body: serde_json::Value = r.json().await.expect("json error body");
    assert_error(
        &crate::helpers::Reply {
            status,
            headers,
            body,
        },
        400,
        "invalid_request_error",
    );
}

#[tokio::test]
async fn serve_drains_in_flight_requests_and_returns_on_shutdown() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, server) = crate::helpers::spawn_app_until(&[], async {
        let _ = stopped.await;
    })
    .await;
    let url = app.url.clone();

    // A slow request is in flight when the shutdown signal arrives; it must still complete.
    let slow = tokio::spawn({
        let url = url.clone();
        async move {
            let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 16,
                              "messages": [{"role": "user", "content": "[[emu:silence 400]] hi"}]});
            reqwest::Client::new()
                .post(format!("{url}/v1/messages"))
                .header("x-api-key", KEY)
                .json(&body)
                .send()
                .await
                .expect("sent")
                .status()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.send(()).expect("server still running");
    assert_eq!(slow.await.expect("joined"), 200);
    let finished = tokio::time::timeout(std::time::Duration::from_secs(5), server).await;
    assert!(finished.is_ok(), "serve did not return after shutdown");
}
