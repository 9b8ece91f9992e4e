//! `CHATRIX_ORIGIN_SECRET`: only requests that came through CloudFront (which adds the header)
//! are served; the Lambda Web Adapter's readiness probe on `/health` needs no header.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, KEY};

const SECRET: &str = "cloudfront-origin-secret-for-tests";

#[tokio::test]
async fn without_the_origin_header_only_health_answers() {
    let app = spawn_app_with(&[("CHATRIX_ORIGIN_SECRET", SECRET)]).await;
    assert_eq!(app.get("/health").await.status, 200);
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 8,
                      "messages": [{"role": "user", "content": "hi"}]});
    for headers in [
        vec![("x-api-key", KEY)],
        vec![("x-api-key", KEY), ("x-chatrix-origin-secret", "guess")],
        vec![
            ("x-api-key", KEY),
            ("x-chatrix-origin-secret", &SECRET[..SECRET.len() - 1]),
        ],
    ] {
        let r = app.post("/v1/messages", &body, &headers).await;
        assert_error(&r, 403, "permission_error");
    }
    assert_error(&app.get("/v1/models").await, 403, "permission_error");
    assert!(
        app.emulator.requests().is_empty(),
        "nothing reached Bedrock"
    );

    let r = app
        .post(
            "/v1/messages",
            &body,
            &[("x-api-key", KEY), ("x-chatrix-origin-secret", SECRET)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The header opens the door; the API key is still required behind it.
    let r = app
        .post(
            "/v1/messages",
            &body,
            &[("x-chatrix-origin-secret", SECRET)],
        )
        .await;
    assert_error(&r, 401, "authentication_error");
}

#[tokio::test]
async fn with_no_origin_secret_configured_the_header_is_not_needed() {
    let app = spawn_app().await;
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 8,
                      "messages": [{"role": "user", "content": "hi"}]});
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}
