//! Connection and body limits, CORS: what slow, oversize and browser clients get.
//! Raw TCP where a well-behaved HTTP client would hide the behaviour.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, TestApp, KEY};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.url.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Reads until the server closes the connection (or `limit` passes); returns what arrived and when.
async fn read_until_closed(tcp: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
    (
        String::from_utf8_lossy(&seen).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app_with(&[("CHATRIX_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut tcp = connect(&app).await;
    tcp.write_all(b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-")
        .await
        .expect("writes");
    let (_, after) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(
        after >= Duration::from_millis(900),
        "closed too early: {after:?}"
    );
}

#[tokio::test]
async fn a_silent_connection_and_an_idle_keep_alive_connection_are_closed() {
    let app = spawn_app_with(&[("CHATRIX_HEADER_TIMEOUT_SECS", "1")]).await;
    let mut silent = connect(&app).await;
    read_until_closed(&mut silent, Duration::from_secs(5)).await;

    let mut idle = connect(&app).await;
    let request = b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n";
    // Keep-alive works while the connection is in use: a second request on the same socket.
    let mut buf = [0u8; 1024];
    for _ in 0..2 {
        idle.write_all(request).await.expect("writes");
        let n = idle.read(&mut buf).await.expect("reads");
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, after) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(
        after >= Duration::from_millis(600),
        "closed too early: {after:?}"
    );
}

#[tokio::test]
async fn a_stalled_body_is_408_timeout_error() {
    let app = spawn_app_with(&[("CHATRIX_BODY_TIMEOUT_SECS", "1")]).await;
    let mut tcp = connect(&app).await;
    let head = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n\
         content-type: application/json\r\ncontent-length: 500\r\n\r\n{{\"model\":"
    );
    tcp.write_all(head.as_bytes()).await.expect("writes");
    let (seen, after) = read_until_closed(&mut tcp, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
    assert!(seen.contains("\"timeout_error\""), "{seen}");
    assert!(seen.contains("request-id: req_"), "{seen}");
    assert!(after < Duration::from_secs(4), "{after:?}");
    assert!(app.emulator.requests().is_empty());
}

#[tokio::test]
async fn a_bad_key_is_refused_without_waiting_for_the_body() {
    let app = spawn_app().await;
    let mut tcp = connect(&app).await;
    // A large body is announced but never sent: the 401 must not wait for it.
    tcp.write_all(
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: sk-wrong\r\n\
          content-type: application/json\r\ncontent-length: 10000000\r\n\r\n",
    )
    .await
    .expect("writes");
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf))
        .await
        .expect("answered before any body byte")
        .expect("reads");
    let seen = String::from_utf8_lossy(&buf[..n]);
    assert!(seen.starts_with("HTTP/1.1 401"), "{seen}");
    assert!(seen.contains("authentication_error"), "{seen}");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_without_a_content_length() {
    let app = spawn_app_with(&[("CHATRIX_MAX_BODY_BYTES", "2048")]).await;
    let chunks = futures::stream::iter(
        (0..8).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 1024]))),
    );
    let r = app
        .http
        .post(format!("{}/v1/messages", app.url))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["error"]["type"], "request_too_large");
    assert!(body["request_id"].as_str().is_some());
}

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/messages", app.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "x-api-key,content-type,anthropic-version,anthropic-dangerous-direct-browser-access",
        )
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn cors_is_off_unless_origins_are_configured() {
    let app = spawn_app().await;
    let r = preflight(&app, "https://app.example.com").await;
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    assert!(!r.headers().contains_key("vary"), "{:?}", r.headers());
    assert_ne!(r.status(), 200, "an OPTIONS answered as if CORS were on");
}

#[tokio::test]
async fn configured_origins_get_preflights_without_a_key_and_readable_answers() {
    let app = spawn_app_with(&[(
        "CHATRIX_CORS_ORIGINS",
        "https://app.example.com,http://localhost:5173",
    )])
    .await;
    let r = preflight(&app, "https://app.example.com").await;
    assert!(r.status().is_success(), "{}", r.status());
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    let allowed = h["access-control-allow-headers"].to_str().expect("ascii");
    for wanted in ["x-api-key", "anthropic-version", "content-type"] {
        assert!(allowed.contains(wanted), "{allowed}");
    }
    assert!(app.emulator.requests().is_empty());

    let other = preflight(&app, "https://evil.example.net").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));

    // The real call, and an error, both readable by the page (including the request id).
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 8,
                      "messages": [{"role": "user", "content": "hi"}]});
    for (key, status) in [(KEY, 200), ("sk-wrong", 401)] {
        let r = app
            .http
            .post(format!("{}/v1/messages", app.url))
            .header("origin", "http://localhost:5173")
            .header("x-api-key", key)
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), status);
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        let exposed = h["access-control-expose-headers"].to_str().expect("ascii");
        assert!(exposed.contains("request-id"), "{exposed}");
    }
}

#[tokio::test]
async fn a_wildcard_allows_any_origin() {
    let app = spawn_app_with(&[("CHATRIX_CORS_ORIGINS", "*")]).await;
    let r = preflight(&app, "https://anything.example.org").await;
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let health = app
        .http
        .get(format!("{}/v1/models", app.url))
        .header("origin", "https://anything.example.org")
        .send()
        .await
        .expect("sent");
    assert_error_is_cors_readable(health).await;
}

async fn assert_error_is_cors_readable(r: reqwest::Response) {
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.json().await.expect("json");
    assert_error(
        &crate::helpers::Reply {
            status,
            headers,
            body,
        },
        401,
        "authentication_error",
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_until_a_slot_frees() {
    let app = spawn_app_with(&[("CHATRIX_MAX_CONNECTIONS", "2")]).await;
    let first = connect(&app).await;
    let second = connect(&app).await;
    // Give the server a moment to accept both before the third arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = connect(&app).await;
    third
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("writes");
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the connection cap");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(3), third.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .expect("reads");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    drop(second);
}

#[tokio::test]
async fn shutdown_abandons_connections_after_the_grace_period() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, server) =
        crate::helpers::spawn_app_until(&[("CHATRIX_SHUTDOWN_GRACE_SECS", "1")], async {
            let _ = stopped.await;
        })
        .await;
    let body = json!({"model": "claude-sonnet-4-6", "max_tokens": 16,
                      "messages": [{"role": "user", "content": "[[emu:silence 20000]] hi"}]});
    let slow = tokio::spawn(async move { app.post_messages(&body).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).expect("server still running");
    let started = Instant::now();
    let finished = tokio::time::timeout(Duration::from_secs(5), server).await;
    assert!(
        finished.is_ok(),
        "serve did not return after the grace period"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    slow.abort();
}
