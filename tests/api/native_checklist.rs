//! NATIVE.md §10 items not proven elsewhere, through the running gateway and the in-process
//! emulator: what the InvokeModel calls carry besides the body, model ids however they arrive,
//! no retries of the SDK's own, pings between events, and model discovery as Claude Code does it. docs/api.md ("NATIVE.md §10 checklist") maps every item to its tests;
//! the ones Bedrock's exact bytes are needed for are in `native_checklist_wire.rs`.

use std::time::{Duration, Instant};

use bedrock_emulator::{ApplicationProfile, Emulator};
use serde_json::json;

use crate::helpers::{spawn_app_on, spawn_app_with, KEY};
use crate::streaming::{request, stream};

const INVOKE: &[(&str, &str)] = &[("CHATRIX_CLAUDE_API", "invoke")];

#[tokio::test]
async fn invoke_calls_carry_json_content_types_and_none_of_the_clients_own_headers() {
    let app = spawn_app_with(INVOKE).await;
    for stream in [false, true] {
        let body = json!({"model": "claude-opus-5-5", "max_tokens": 32, "stream": stream,
                          "messages": [{"role": "user", "content": "hi"}]});
        let r = app
            .http
            .post(format!("{}/v1/messages?beta=true", app.url))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "effort-2025-11-24, claude-code-20250219")
            .header("x-claude-code-session-id", "5e55-1011")
            .header("x-stainless-lang", "js")
            .json(&body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        r.bytes().await.expect("body");
        let sent = app.emulator.requests().pop().expect("a call");
        let headers = &sent.headers;
        assert_eq!(headers["content-type"], "application/json", "{headers:?}");
        let accept = if stream {
            "x-amzn-bedrock-accept"
        } else {
            "accept"
        };
        assert_eq!(headers[accept], "application/json", "{headers:?}");
        for client_only in [
            "anthropic-beta",
            "anthropic-version",
            "x-api-key",
            "x-claude-code-session-id",
            "x-stainless-lang",
        ] {
            assert!(
                !headers.contains_key(client_only),
                "{client_only} went upstream"
            );
        }
        // The header's betas travel in the body, filtered for the model.
        assert_eq!(sent.body["anthropic_beta"], json!(["effort-2025-11-24"]));
    }
}

#[tokio::test]
async fn model_ids_reach_bedrock_as_profile_ids_or_arns_decoded_from_any_path_encoding() {
    let emulator = Emulator::new().expect("emulator");
    let arn = emulator.add_application_profile(ApplicationProfile {
        id: "team-claude".into(),
        model: "anthropic.claude-opus-5-5".into(),
        name: None,
    });
    let app = spawn_app_on(emulator, INVOKE).await;
    let last_id = || app.emulator.requests().pop().expect("a call").model_id;
    // A client's model name is sent as its inference profile; an ARN as it is (the SDK
    // percent-encodes its `:` and `/`, Bedrock decodes them).
    let profile_arn =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-5-5";
    for (model, called) in [
        ("claude-opus-5-5", "global.anthropic.claude-opus-5-5"),
        (profile_arn, profile_arn),
        (arn.as_str(), arn.as_str()),
    ] {
        let body = json!({"model": model, "max_tokens": 16,
                          "messages": [{"role": "user", "content": "hi"}]});
        let r = app.post_messages(&body).await;
        assert_eq!(r.status, 200, "{model}: {:?}", r.body);
        assert_eq!(last_id(), called);
    }
    // Pass-through paths arrive encoded as the AWS SDKs encode them (`%3A`, `%2F`).
    let encoded = arn.replace(':', "%3A").replace('/', "%2F");
    let native = r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#;
    let r = app
        .http
        .post(format!("{}/model/{encoded}/invoke", app.url))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body(native)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    assert_eq!(last_id(), arn);
}

#[tokio::test]
async fn bedrocks_failures_are_retried_by_the_client_not_by_the_gateway() {
    let app = spawn_app_with(&[]).await;
    // ModelNotReadyException is one the AWS SDKs retry by default, five times.
    for exception in [
        "ThrottlingException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "InternalServerException",
    ] {
        for streamed in [false, true] {
            app.emulator.clear();
            let mut body = request(&format!("[[emu:error {exception}]]"));
            body["stream"] = json!(streamed);
            let r = app.post_messages(&body).await;
            assert!(r.status >= 429, "{exception}: {}", r.status);
            assert_eq!(
                app.emulator.requests().len(),
                1,
                "{exception} (stream: {streamed}) was sent again"
            );
        }
    }
}

#[tokio::test]
async fn pings_fill_the_silences_between_events_too() {
    let app = spawn_app_with(&[("CHATRIX_PING_INTERVAL_SECS", "1")]).await;
    let (status, events) = stream(&app, &request("[[emu:text ebb]] [[emu:drip 1600]]")).await;
    assert_eq!(status, 200);
    let first_block = events
        .iter()
        .position(|e| e.name == "content_block_start")
        .expect("a block");
    let pings_inside = events[first_block..]
        .iter()
        .filter(|e| e.name == "ping")
        .count();
    assert!(
        pings_inside >= 2,
        "{:?}",
        events.iter().map(|e| &e.name).collect::<Vec<_>>()
    );
    assert_eq!(events.last().map(|e| e.name.as_str()), Some("message_stop"));
}

#[tokio::test]
async fn claude_codes_model_discovery_gets_every_claude_model_in_one_direct_answer() {
    let app = spawn_app_with(&[]).await;
    // As Claude Code asks: both credential headers, and a redirect would count as a failure.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let started = Instant::now();
    let r = client
        .get(format!("{}/v1/models?limit=1000", app.url))
        .header("x-api-key", KEY)
        .header("authorization", format!("Bearer {KEY}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("JSON");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(body["has_more"], false);
    let ids: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    let catalog = chatrix::models::Catalog::embedded().expect("catalog");
    let claude: Vec<&str> = catalog
        .models()
        .iter()
        .filter(|m| m.capabilities.claude)
        .map(|m| m.id.as_str())
        .collect();
    assert!(!claude.is_empty());
    for id in claude {
        assert!(ids.contains(&id), "{id} not listed");
        // Claude Code keeps ids containing `claude` or `anthropic`, case-insensitive.
        assert!(id.to_ascii_lowercase().contains("claude"), "{id}");
    }
}
