//! `ListInferenceProfiles` through the real `aws-sdk-bedrock` client: the wire shape parses, pages
//! chain through `nextToken`, and the control route scripts the listing.

use aws_sdk_bedrock::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrock::error::ProvideErrorMetadata;
use aws_sdk_bedrock::types::{InferenceProfileStatus, InferenceProfileType};
use aws_sdk_bedrock::Client;
use bedrock_emulator::Catalog;
use bedrock_emulator::{catalog_profiles, Emulator, ListedProfile, ProfilesPatch};

async fn control_client() -> (Emulator, Client, String) {
    let emulator = Emulator::new().expect("emulator");
    let url = emulator.spawn(0).await.expect("spawn");
    let conf = aws_sdk_bedrock::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDTEST",
            "SECRETTEST",
            None,
            None,
            "test",
        ))
        .endpoint_url(&url)
        .build();
    (emulator, Client::from_conf(conf), url)
}

async fn listed_ids(client: &Client, page_size: i32) -> Vec<String> {
    client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::SystemDefined)
        .max_results(page_size)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("listing succeeds")
        .iter()
        .map(|p| p.inference_profile_id().to_owned())
        .collect()
}

#[tokio::test]
async fn the_sdk_pages_through_one_profile_per_model_and_catalog_prefix() {
    let (_emulator, client, _) = control_client().await;
    let catalog = Catalog::embedded().expect("catalog");
    let want: Vec<String> = catalog_profiles(&catalog)
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert!(want.contains(&"global.anthropic.claude-opus-5".to_owned()));
    // Pages of 7 make the SDK follow several `nextToken`s.
    assert_eq!(listed_ids(&client, 7).await, want);

    let first = client
        .list_inference_profiles()
        .max_results(1)
        .send()
        .await
        .expect("one page");
    let p = &first.inference_profile_summaries()[0];
    assert_eq!(*p.status(), InferenceProfileStatus::Active);
    assert_eq!(*p.r#type(), InferenceProfileType::SystemDefined);
    assert!(p.created_at().is_some() && p.updated_at().is_some());
    assert!(p
        .inference_profile_arn()
        .ends_with(p.inference_profile_id()));
    assert!(
        p.inference_profile_name()
            .starts_with("US Anthropic Claude"),
        "{p:?}"
    );
    assert_eq!(p.models().len(), 1);
    assert!(first.next_token().is_some());
}

#[tokio::test]
async fn application_profiles_are_an_empty_listing() {
    let (_emulator, client, _) = control_client().await;
    let out = client
        .list_inference_profiles()
        .type_equals(InferenceProfileType::Application)
        .send()
        .await
        .expect("listing");
    assert!(out.inference_profile_summaries().is_empty());
    assert!(out.next_token().is_none());
}

#[tokio::test]
async fn the_control_route_adds_removes_and_fails_listings() {
    let (emulator, client, url) = control_client().await;
    emulator.patch_inference_profiles(ProfilesPatch {
        remove: vec!["global.anthropic.claude-opus-5".into()],
        add: vec![ListedProfile {
            id: "us.anthropic.claude-opus-6".into(),
            name: Some("US Anthropic Claude Opus 6".into()),
            status: None,
        }],
        fail: None,
    });
    let ids = listed_ids(&client, 1000).await;
    assert!(!ids.contains(&"global.anthropic.claude-opus-5".to_owned()));
    assert!(ids.contains(&"us.anthropic.claude-opus-5".to_owned()));
    assert!(ids.contains(&"us.anthropic.claude-opus-6".to_owned()));

    let http = reqwest::Client::new();
    let r = http
        .post(format!("{url}/_emulator/inference-profiles"))
        .body(r#"{"fail": "AccessDeniedException"}"#)
        .send()
        .await
        .expect("control route");
    assert_eq!(r.status(), 204);
    let err = client
        .list_inference_profiles()
        .send()
        .await
        .expect_err("scripted failure");
    assert_eq!(err.code(), Some("AccessDeniedException"));
    assert!(err
        .as_service_error()
        .is_some_and(|e| e.is_access_denied_exception()));

    let r = http
        .delete(format!("{url}/_emulator/inference-profiles"))
        .send()
        .await
        .expect("control route");
    assert_eq!(r.status(), 204);
    let ids = listed_ids(&client, 1000).await;
    assert!(ids.contains(&"global.anthropic.claude-opus-5".to_owned()));
    assert!(!ids.contains(&"us.anthropic.claude-opus-6".to_owned()));
    assert_eq!(
        emulator.inference_profile_calls(),
        3,
        "two listings and one failure"
    );
}
