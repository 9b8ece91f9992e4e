//! The current Claude models (5.5 family, Fable 5.x), a model launched after this build (served
//! by the naming rule, its cost an estimate), and the per-model rules as the upstream sees them.

use bedrock_emulator::{Catalog, Emulator};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_on, Reply, TestApp};
use crate::streaming::{message_delta, stream};

fn ask(model: &str) -> Value {
    json!({"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": "hi"}]})
}

fn cost(reply: &Reply) -> f64 {
    reply.body["usage"]["cost"]["total_cost"]
        .as_f64()
        .expect("priced")
}

fn last_model_id(app: &TestApp) -> String {
    app.emulator.requests().pop().expect("one call").model_id
}

#[tokio::test]
async fn the_5_5_models_are_served_through_their_global_profiles_and_priced() {
    let app = spawn_app().await;
    for (model, input_price, output_price) in [
        ("claude-opus-5-5", 4.0, 20.0),
        ("claude-sonnet-5-5", 2.0, 10.0),
        ("claude-haiku-5-5", 0.1, 0.5),
        ("claude-fable-5-1", 10.0, 50.0),
        ("claude-fable-5-2", 8.0, 40.0),
    ] {
        let r = app.post_messages(&ask(model)).await;
        assert_eq!(r.status, 200, "{model}: {:?}", r.body);
        assert_eq!(r.body["model"], model);
        assert_eq!(last_model_id(&app), format!("global.anthropic.{model}"));
        let usage = &r.body["usage"];
        let (i, o) = (
            usage["input_tokens"].as_f64(),
            usage["output_tokens"].as_f64(),
        );
        let expected = (i.expect("input") * input_price + o.expect("output") * output_price) / 1e6;
        assert!(
            (cost(&r) - expected).abs() < 1e-9,
            "{model}: {} vs {expected}",
            cost(&r)
        );
        assert!(
            usage.get("cost_estimated").is_none(),
            "{model}: a listed price is exact"
        );
    }
}

#[tokio::test]
async fn claude_codes_default_model_streams() {
    let app = spawn_app().await;
    let mut body = ask("claude-opus-5-5");
    body["stream"] = json!(true);
    let (status, events) = stream(&app, &body).await;
    assert_eq!(status, 200);
    assert_eq!(events[0].data["message"]["model"], "claude-opus-5-5");
    assert!(message_delta(&events).data["usage"]["cost"]["total_cost"].as_f64() > Some(0.0));
    assert_eq!(last_model_id(&app), "global.anthropic.claude-opus-5-5");
}

/// An emulator that already serves `claude-opus-6`, as Bedrock does on a launch day, while the
/// gateway's catalog has never heard of it.
fn launch_day_emulator() -> Emulator {
    let text = include_str!("../../src/models.json");
    let mut catalog: Value = serde_json::from_str(text).expect("catalog JSON");
    let models = catalog["models"].as_array_mut().expect("models");
    let mut opus6 = models
        .iter()
        .find(|m| m["id"] == "claude-opus-5-5")
        .expect("opus 5.5")
        .clone();
    opus6["id"] = json!("claude-opus-6");
    opus6["bedrock_id"] = json!("anthropic.claude-opus-6");
    opus6["display_name"] = json!("Claude Opus 6");
    models.push(opus6);
    Emulator::with_catalog(Catalog::parse(&catalog.to_string()).expect("parses"))
}

#[tokio::test]
async fn a_model_launched_after_this_build_is_served_with_an_estimated_cost() {
    let app = spawn_app_on(launch_day_emulator(), &[]).await;
    let r = app.post_messages(&ask("claude-opus-6")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["model"], "claude-opus-6");
    assert_eq!(last_model_id(&app), "global.anthropic.claude-opus-6");
    assert_eq!(r.body["usage"]["cost_estimated"], true);
    // Priced as the newest Opus the catalog knows (Opus 5.5: 4 / 20 USD per MTok).
    let usage = &r.body["usage"];
    let expected = (usage["input_tokens"].as_f64().expect("in") * 4.0
        + usage["output_tokens"].as_f64().expect("out") * 20.0)
        / 1e6;
    assert!((cost(&r) - expected).abs() < 1e-9);

    let mut body = ask("claude-opus-6");
    body["stream"] = json!(true);
    let (status, events) = stream(&app, &body).await;
    assert_eq!(status, 200);
    let usage = &message_delta(&events).data["usage"];
    assert_eq!(usage["cost_estimated"], true);
    assert!(usage["cost"]["total_cost"].as_f64() > Some(0.0));
}

#[tokio::test]
async fn a_derived_model_bedrock_does_not_know_gets_bedrocks_own_words() {
    let app = spawn_app().await;
    let r = app.post_messages(&ask("claude-opus-6")).await;
    // Bedrock's words, as the 404 an unknown model is to Anthropic clients.
    crate::helpers::assert_error(&r, 404, "not_found_error");
    assert_eq!(
        r.body["error"]["message"],
        "The provided model identifier is invalid."
    );
}

#[tokio::test]
async fn unknown_models_can_be_refused_instead() {
    let app = crate::helpers::spawn_app_with(&[("CHATRIX_UNKNOWN_MODELS", "reject")]).await;
    let r = app.post_messages(&ask("claude-opus-6")).await;
    crate::helpers::assert_error(&r, 404, "not_found_error");
    assert!(app.emulator.requests().is_empty());
}

/// Budget thinking, sampling parameters and a forced tool choice, all of which Opus 5.5 refuses;
/// the answer must name the changes a client could notice.
async fn send_what_opus_5_5_refuses(app: &TestApp) {
    let mut body = ask("claude-opus-5-5");
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 2048});
    body["temperature"] = json!(0.3);
    body["top_k"] = json!(5);
    body["tool_choice"] = json!({"type": "any"});
    body["tools"] = json!([{"name": "Bash", "description": "Run a command.",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]);
    let r = app.post_messages(&body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.headers["x-chatrix-changes"],
        "thinking.enabled->adaptive, tool_choice->auto"
    );
}

#[tokio::test]
async fn the_rules_of_opus_5_5_reach_converse_and_the_visible_ones_are_named() {
    let app = crate::helpers::spawn_app_with(crate::messages::CONVERSE).await;
    send_what_opus_5_5_refuses(&app).await;
    let sent = app.last_converse();
    assert_eq!(
        sent["additionalModelRequestFields"]["thinking"],
        json!({"type": "adaptive"})
    );
    assert_eq!(sent["outputConfig"]["effort"], "low");
    assert!(sent["additionalModelRequestFields"].get("top_k").is_none());
    assert!(sent["inferenceConfig"].get("temperature").is_none());
    assert_eq!(sent["toolConfig"]["toolChoice"], json!({"auto": {}}));
}

#[tokio::test]
async fn prefill_is_refused_before_bedrock_where_the_model_refuses_it() {
    let app = spawn_app().await;
    let mut body = ask("claude-sonnet-5");
    body["messages"] =
        json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "{"}]);
    let r = app.post_messages(&body).await;
    crate::helpers::assert_error(&r, 400, "invalid_request_error");
    assert!(app.emulator.requests().is_empty());
}

#[tokio::test]
async fn the_rules_of_opus_5_5_reach_invoke_model_and_the_visible_ones_are_named() {
    let app = crate::helpers::spawn_app_with(&[("CHATRIX_CLAUDE_API", "invoke")]).await;
    send_what_opus_5_5_refuses(&app).await;
    let sent = app.emulator.requests().pop().expect("one call");
    assert_eq!(sent.operation, "InvokeModel");
    let body = &sent.body;
    assert_eq!(body["thinking"], json!({"type": "adaptive"}));
    assert_eq!(body["output_config"]["effort"], "low");
    assert!(body.get("top_k").is_none() && body.get("temperature").is_none());
    assert_eq!(body["tool_choice"], json!({"type": "auto"}));
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert!(body.get("model").is_none() && body.get("stream").is_none());
}
