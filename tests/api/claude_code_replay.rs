//! Replays what real Claude Code releases sent: every request in
//! `tests/fixtures/claude-code/<version>/` (recorded by `tests/clients/record_claude_code.py`)
//! goes through the gateway to the strict emulator again, with its recorded method, path, query
//! string and headers. Messages must answer 200 (valid SSE for streams, a message otherwise), token
//! counts 200; anything else (start-up probes, the model list) the status it got when recorded.
//!
//! This runs in cargo rather than next to the Claude Code tests so every `cargo test` checks the
//! request path against current client traffic, without Node or Claude Code installed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, KEY};
use crate::streaming::{assert_grammar, read_events};

/// The releases tests/run pins; each must have recordings.
const VERSIONS: [&str; 2] = ["2.1.332", "2.1.197"];

fn fixtures(version: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/claude-code")
        .join(version);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// Sends one recorded request; the recorded secret becomes the test key, in the same header.
async fn replay(app: &TestApp, fixture: &Value) -> reqwest::Response {
    let method = Method::from_bytes(fixture["method"].as_str().expect("method").as_bytes())
        .expect("valid method");
    let path = fixture["path"].as_str().expect("path");
    let mut req = app.http.request(method, format!("{}{path}", app.url));
    for (name, value) in fixture["headers"].as_object().expect("headers") {
        let value = value
            .as_str()
            .expect("header value")
            .replace("[scrubbed]", KEY);
        req = req.header(name.as_str(), value);
    }
    if !fixture["body"].is_null() {
        req = req.body(serde_json::to_vec(&fixture["body"]).expect("body serializes"));
    }
    req.send().await.expect("request sent")
}

/// What went wrong with one replayed request, if anything.
async fn check(resp: reqwest::Response, fixture: &Value) -> Option<String> {
    let status = resp.status().as_u16();
    let route = fixture["path"]
        .as_str()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("");
    let is_messages = fixture["method"] == "POST" && route == "/v1/messages";
    let want = if is_messages || route == "/v1/messages/count_tokens" {
        200
    } else {
        fixture["recorded_status"].as_u64().unwrap_or(200) as u16
    };
    if status != want {
        let body = resp.text().await.unwrap_or_default();
        return Some(format!("status {status}, want {want}: {body}"));
    }
    if !is_messages {
        return None;
    }
    if fixture["body"]["stream"] == true {
        let events = read_events(resp, Instant::now()).await;
        assert_grammar(&events);
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        if names.contains(&"error") || names.last() != Some(&"message_stop") {
            return Some(format!("stream events {names:?}"));
        }
        return None;
    }
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    (body["type"] != "message" || body["content"].as_array().is_none_or(Vec::is_empty))
        .then(|| format!("not a message: {body}"))
}

#[tokio::test]
async fn every_request_claude_code_sent_succeeds_again_through_the_gateway() {
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for version in VERSIONS {
        let files = fixtures(version);
        assert!(
            files.len() >= 8,
            "Claude Code {version}: only {} recorded requests",
            files.len()
        );
        for path in files {
            let name = format!(
                "{version}/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let fixture: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("read"))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
            eprintln!("replaying {name}");
            let resp = replay(&app, &fixture).await;
            if let Some(problem) = check(resp, &fixture).await {
                failures.push(format!("{name}: {problem}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn replayed_requests_reach_bedrock_as_the_model_each_release_defaults_to() {
    let app = spawn_app().await;
    for (version, model) in [
        ("2.1.332", "claude-opus-5-5"),
        ("2.1.197", "claude-opus-4-8"),
    ] {
        let (path, fixture) = fixtures(version)
            .into_iter()
            .filter(|p| {
                p.to_string_lossy()
                    .contains("plain_answer_with_the_default_model")
            })
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("read");
                (p, serde_json::from_str::<Value>(&text).expect("JSON"))
            })
            .find(|(_, f)| f["method"] == "POST")
            .expect("a recorded plain answer");
        assert_eq!(fixture["body"]["model"], model, "{}", path.display());
        app.emulator.clear();
        let resp = replay(&app, &fixture).await;
        assert_eq!(check(resp, &fixture).await, None, "{}", path.display());
        let called: Vec<String> = app
            .emulator
            .requests()
            .into_iter()
            .map(|r| r.model_id)
            .collect();
        assert_eq!(called.len(), 1, "{called:?}");
        // Profile-only models are called as `<geo>.anthropic.<id>`.
        assert!(
            called[0].ends_with(&format!(".anthropic.{model}")),
            "{version}: {called:?}"
        );
    }
}

/// The pure test `routes::upstream_bodies_tests` pins a digest of every upstream body the
/// recorded requests produce; this checks that its digests are of the bytes the gateway really
/// sends on each path (InvokeModel's as received; Converse's as the emulator parsed them, written
/// again in their order), so that the pure test cannot drift from the handlers.
#[tokio::test]
async fn the_pinned_upstream_bodies_are_the_bytes_bedrock_receives() {
    let pinned = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "src/routes/snapshots/chatrix__routes__upstream_bodies_tests__recorded_claude_code_requests_reach_bedrock_as_byte_identical_bodies.snap",
    ))
    .expect("the pinned digests");
    for (api, operation) in [("invoke", "InvokeModel"), ("converse", "Converse")] {
        let app = spawn_app_with(&[("CHATRIX_CLAUDE_API", api)]).await;
        let mut compared = 0;
        for version in VERSIONS {
            for path in fixtures(version) {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                let name = format!("{version}/{file}");
                let prefix = format!("{name} {api} ");
                let Some(line) = pinned.lines().find(|l| l.starts_with(&prefix)) else {
                    continue;
                };
                let text = std::fs::read_to_string(&path).expect("read");
                let fixture: Value = serde_json::from_str(&text).expect("JSON");
                app.emulator.clear();
                let resp = replay(&app, &fixture).await;
                assert_eq!(check(resp, &fixture).await, None, "{name}");
                let sent: Vec<Vec<u8>> = app
                    .emulator
                    .requests()
                    .into_iter()
                    .filter(|r| r.operation.starts_with(operation))
                    .map(|r| match r.raw_body {
                        Some(raw) => raw.into_bytes(),
                        None => serde_json::to_vec(&r.body).expect("serializes"),
                    })
                    .collect();
                assert_eq!(sent.len(), 1, "{name}: one {operation} call");
                assert_eq!(line, format!("{prefix}{}", sha256(&sent[0])), "{name}");
                compared += 1;
            }
        }
        assert!(compared >= 20, "{api}: only {compared} bodies compared");
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
