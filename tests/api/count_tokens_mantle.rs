//! `count_tokens` for current Claude models: bedrock-runtime CountTokens refuses them, so
//! bedrock-mantle's Anthropic `count_tokens` counts them (SigV4 for `bedrock-mantle`, bare id);
//! refusals are learned per model, and a model refused by both gets the calibrated estimate.

use serde_json::json;

use crate::count_tokens::{body, calls_of, count, local_estimate, tokens_of, ESTIMATED};
use crate::helpers::{spawn_app, KEY};

const MANTLE: &str = "MantleCountTokens";
const RUNTIME: &str = "CountTokens";

#[tokio::test]
async fn opus_5_and_sonnet_5_are_counted_by_mantle_after_runtime_refuses_them() {
    let app = spawn_app().await;
    for (model, bare) in [
        ("claude-opus-5", "anthropic.claude-opus-5"),
        ("claude-sonnet-5", "anthropic.claude-sonnet-5"),
    ] {
        app.emulator.clear();
        let mut request = body(model, "Which berth has the deepest water?");
        request["max_tokens"] = json!(1024);
        tokens_of(&count(&app, &request).await);

        let runtime = calls_of(&app, RUNTIME);
        assert_eq!(runtime.len(), 1, "{runtime:?}");
        assert_eq!(runtime[0].model_id, bare);
        let mantle = calls_of(&app, MANTLE);
        assert_eq!(mantle.len(), 1, "{mantle:?}");
        let sent = &mantle[0];
        assert_eq!(sent.model_id, bare, "the bare id, no profile prefix");
        assert_eq!(sent.body["model"], bare);
        assert!(sent.body.get("max_tokens").is_none(), "{}", sent.body);
        assert_eq!(
            sent.body["messages"][0]["content"],
            request["messages"][0]["content"]
        );
        assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
        // Signed: the emulator refuses any other credential scope than bedrock-mantle's.
        assert!(
            sent.headers.contains_key("x-amz-date"),
            "{:?}",
            sent.headers
        );
    }
}

#[tokio::test]
async fn a_runtime_refusal_is_not_asked_again_for_the_same_model() {
    let app = spawn_app().await;
    for i in 0..3 {
        let request = body("claude-opus-5", &format!("Tide question number {i}?"));
        tokens_of(&count(&app, &request).await);
    }
    assert_eq!(calls_of(&app, RUNTIME).len(), 1, "runtime asked again");
    assert_eq!(calls_of(&app, MANTLE).len(), 3, "each body counted once");
}

#[tokio::test]
async fn the_mantle_count_is_the_emulators_and_differs_from_the_estimate_path() {
    let app = spawn_app().await;
    let short = body("claude-opus-5", "Is it windy?");
    let long = body(
        "claude-opus-5",
        &"Describe the tidal range along the whole east coast, harbour by harbour. ".repeat(20),
    );
    let (a, b) = (
        tokens_of(&count(&app, &short).await),
        tokens_of(&count(&app, &long).await),
    );
    assert!(b > a * 10, "{a} then {b}");
    // The emulator counts ceil(chars / 4) per string: the long text alone is 1,460 chars.
    assert!((365..500).contains(&b), "{b}");
    assert_ne!(
        b,
        local_estimate(&long),
        "answered by mantle, not the estimate"
    );
}

#[tokio::test]
async fn a_model_refused_by_both_counters_gets_the_estimate_and_neither_is_asked_again() {
    let app = spawn_app().await;
    let first = body(ESTIMATED, "Will the fog lift by noon?");
    assert_eq!(
        tokens_of(&count(&app, &first).await),
        local_estimate(&first)
    );
    let second = body(ESTIMATED, "And by the evening tide?");
    assert_eq!(
        tokens_of(&count(&app, &second).await),
        local_estimate(&second)
    );
    let (runtime, mantle) = (calls_of(&app, RUNTIME), calls_of(&app, MANTLE));
    assert_eq!((runtime.len(), mantle.len()), (1, 1));
    assert_eq!(mantle[0].model_id, "anthropic.claude-fable-5-2");
}

#[tokio::test]
async fn a_throttled_mantle_count_answers_the_calibrated_estimate_and_is_asked_again() {
    let app = spawn_app().await;
    let request = body(
        "claude-opus-5",
        "[[emu:error ThrottlingException]] tides please",
    );
    for round in 1..=2 {
        let n = tokens_of(&count(&app, &request).await);
        assert_eq!(n, local_estimate(&request), "round {round}");
        assert_eq!(calls_of(&app, MANTLE).len(), round, "round {round}");
    }
    assert_eq!(calls_of(&app, RUNTIME).len(), 1);
    // The estimate for a 4.7+ model is above the fitted one: under-counting is the harm.
    let req =
        chatrix::anthropic::request::parse_count_tokens_request(request.to_string().as_bytes())
            .expect("parses");
    assert!(local_estimate(&request) > chatrix::tokens::estimate(&req).total());
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_make_one_pass_through_the_chain() {
    let app = spawn_app().await;
    let request = body(
        "claude-sonnet-5",
        "[[emu:silence 300]] How big is the swell?",
    );
    let replies = futures::future::join_all((0..50).map(|_| count(&app, &request))).await;
    let counts: Vec<u64> = replies.iter().map(tokens_of).collect();
    assert!(counts.iter().all(|&n| n == counts[0]), "{counts:?}");
    assert_eq!(calls_of(&app, RUNTIME).len(), 1);
    assert_eq!(calls_of(&app, MANTLE).len(), 1);
}

#[tokio::test]
async fn only_the_betas_the_model_allows_reach_mantle() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/v1/messages/count_tokens?beta=true",
            &body("claude-opus-5", "foo"),
            &[
                ("authorization", &format!("Bearer {KEY}")),
                (
                    "anthropic-beta",
                    "claude-code-20250219,token-counting-2024-11-01",
                ),
            ],
        )
        .await;
    tokens_of(&r);
    let sent = calls_of(&app, MANTLE).pop().expect("counted by mantle");
    let betas = sent
        .headers
        .get("anthropic-beta")
        .cloned()
        .unwrap_or_default();
    assert!(!betas.contains("claude-code-20250219"), "{betas}");
}
