//! Model discovery through the real server: the gateway's `aws-sdk-bedrock` client lists the
//! emulator's inference profiles in the background, and `GET /v1/models` follows the account.

use std::time::{Duration, Instant};

use bedrock_emulator::{Emulator, ListedProfile, ProfilesPatch};
use chatrix::models::Catalog;
use serde_json::Value;

use crate::helpers::{spawn_app_on, TestApp, KEY};

const OPUS_6: &str = "us.anthropic.claude-opus-6";

fn launch_day() -> ListedProfile {
    ListedProfile {
        id: OPUS_6.into(),
        name: Some("US Anthropic Claude Opus 6".into()),
        status: None,
    }
}

async fn models(app: &TestApp) -> Vec<Value> {
    let r = app
        .http
        .get(format!("{}/v1/models?limit=1000", app.url))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    body["data"].as_array().expect("data").clone()
}

fn ids(models: &[Value]) -> Vec<&str> {
    models.iter().filter_map(|m| m["id"].as_str()).collect()
}

/// Polls the listing until `done` holds (discovery runs in the background), at most 10 s.
async fn models_once(app: &TestApp, done: impl Fn(&[&str]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = models(app).await;
        if done(&ids(&listed)) {
            return listed;
        }
        assert!(
            Instant::now() < deadline,
            "the listing never changed: {:?}",
            ids(&listed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn emulator_with(patch: ProfilesPatch) -> Emulator {
    let emulator = Emulator::new().expect("emulator");
    emulator.patch_inference_profiles(patch);
    emulator
}

#[tokio::test]
async fn a_launch_day_profile_appears_in_the_model_list_after_start_up() {
    let emulator = emulator_with(ProfilesPatch {
        add: vec![launch_day()],
        ..ProfilesPatch::default()
    });
    let app = spawn_app_on(emulator, &[]).await;
    let listed = models_once(&app, |ids| ids.contains(&"claude-opus-6")).await;
    let opus6 = listed
        .iter()
        .find(|m| m["id"] == "claude-opus-6")
        .expect("listed");
    assert_eq!(opus6["display_name"], "Claude Opus 6");
    assert_eq!(opus6["type"], "model");
    let r = app
        .http
        .get(format!("{}/v1/models/claude-opus-6", app.url))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_model_list_names_only_models_the_account_can_call() {
    let catalog = Catalog::embedded().expect("catalog");
    let opus5 = catalog.get("claude-opus-5").expect("in the catalog");
    let remove = opus5
        .profiles
        .iter()
        .map(|p| format!("{p}.{}", opus5.bedrock_id))
        .collect();
    // Opus 6 marks the moment the snapshot is in use.
    let emulator = emulator_with(ProfilesPatch {
        remove,
        add: vec![launch_day()],
        fail: None,
    });
    let app = spawn_app_on(emulator, &[]).await;
    let listed = models_once(&app, |ids| ids.contains(&"claude-opus-6")).await;
    let listed = ids(&listed);
    assert!(!listed.contains(&"claude-opus-5"), "{listed:?}");
    assert!(listed.contains(&"claude-sonnet-5"), "{listed:?}");
    assert_eq!(listed.len(), catalog.models().len(), "one out, one in");
}

#[tokio::test]
async fn failing_discovery_keeps_the_catalog_list_until_it_recovers() {
    let emulator = emulator_with(ProfilesPatch {
        add: vec![launch_day()],
        fail: Some(Some("AccessDeniedException".into())),
        ..ProfilesPatch::default()
    });
    let app = spawn_app_on(emulator, &[("CHATRIX_DISCOVERY_INTERVAL_SECS", "1")]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.emulator.inference_profile_calls() == 0 {
        assert!(Instant::now() < deadline, "discovery never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let catalog = Catalog::embedded().expect("catalog");
    let listed = models(&app).await;
    let mut want: Vec<&str> = catalog.models().iter().map(|m| m.id.as_str()).collect();
    let mut got = ids(&listed);
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "the whole catalog while discovery fails");

    // The next refresh (1 s later) succeeds, and the account's listing takes over.
    app.emulator.patch_inference_profiles(ProfilesPatch {
        fail: Some(None),
        ..ProfilesPatch::default()
    });
    models_once(&app, |ids| ids.contains(&"claude-opus-6")).await;
}

#[tokio::test]
async fn the_listing_follows_the_account_between_refreshes() {
    let app = spawn_app_on(
        Emulator::new().expect("emulator"),
        &[("CHATRIX_DISCOVERY_INTERVAL_SECS", "1")],
    )
    .await;
    app.emulator.patch_inference_profiles(ProfilesPatch {
        add: vec![launch_day()],
        ..ProfilesPatch::default()
    });
    models_once(&app, |ids| ids.contains(&"claude-opus-6")).await;
    app.emulator.reset_inference_profiles();
    models_once(&app, |ids| !ids.contains(&"claude-opus-6")).await;
}

#[tokio::test]
async fn discovery_can_be_turned_off() {
    let emulator = emulator_with(ProfilesPatch {
        add: vec![launch_day()],
        ..ProfilesPatch::default()
    });
    let app = spawn_app_on(emulator, &[("CHATRIX_DISCOVERY_INTERVAL_SECS", "0")]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.emulator.inference_profile_calls(), 0);
    assert!(!ids(&models(&app).await).contains(&"claude-opus-6"));
}

#[tokio::test]
async fn a_model_whose_global_profile_the_account_lacks_is_sent_to_the_profile_it_has() {
    let emulator = emulator_with(ProfilesPatch {
        remove: vec!["global.anthropic.claude-opus-5-5".into()],
        ..ProfilesPatch::default()
    });
    let app = spawn_app_on(emulator, &[]).await;
    let body = serde_json::json!({"model": "claude-opus-5-5", "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}]});
    // Before the first listing arrives the catalog's rule (global) applies; after it, `us.`.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app.post_messages(&body).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let sent = app.emulator.requests().pop().expect("a call").model_id;
        if sent == "us.anthropic.claude-opus-5-5" {
            break;
        }
        assert_eq!(sent, "global.anthropic.claude-opus-5-5");
        assert!(
            Instant::now() < deadline,
            "never moved to the listed profile"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
