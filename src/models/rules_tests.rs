use serde_json::json;

use super::*;
use crate::anthropic::request::parse_messages_request;

fn request(extra: &serde_json::Value) -> MessagesRequest {
    let mut body = json!({
        "model": "m", "max_tokens": 64000,
        "messages": [{"role": "user", "content": "hi"}]
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    parse_messages_request(body.to_string().as_bytes()).expect("parses")
}

fn planned(rules: Rules, extra: &serde_json::Value) -> Vec<Change> {
    let req = request(extra);
    plan(&rules, &View::of(&req), &[]).expect("plans")
}

const STRICT: Rules = Rules {
    thinking_enabled: EnabledThinking::ToAdaptive,
    thinking_disabled: DisabledThinking::ToAdaptiveLow,
    sampling: Sampling::DefaultOnly,
    forced_tool_choice: ForcedToolChoice::ToAuto,
    prefill: Prefill::Reject,
    system_messages: SystemMessages::Accept,
};

#[test]
fn default_rules_change_nothing() {
    let changes = planned(
        Rules::default(),
        &json!({"thinking": {"type": "enabled", "budget_tokens": 2048}, "temperature": 0.2,
               "top_k": 5, "tool_choice": {"type": "any"}}),
    );
    assert_eq!(changes, vec![]);
}

#[test]
fn enabled_thinking_becomes_adaptive_with_an_effort_from_the_budget() {
    for (budget, effort) in [
        (1024, "low"),
        (8000, "medium"),
        (31999, "high"),
        (100000, "high"),
    ] {
        let mut req = request(&json!({"thinking": {"type": "enabled", "budget_tokens": budget}}));
        let changes = plan(&STRICT, &View::of(&req), &[]).expect("plans");
        assert_eq!(
            changes,
            vec![Change::ThinkingToAdaptive { effort }],
            "{budget}"
        );
        apply(&mut req, &changes);
        let t = req.thinking.as_ref().expect("thinking kept");
        assert_eq!((t.kind, t.budget_tokens), (ThinkingKind::Adaptive, None));
        let effort_sent = req.output_config.as_ref().and_then(|c| c.effort.as_deref());
        assert_eq!(effort_sent, Some(effort));
    }
}

#[test]
fn a_clients_own_effort_is_kept_when_thinking_becomes_adaptive() {
    let mut req = request(
        &json!({"thinking": {"type": "enabled", "budget_tokens": 1024},
                                 "output_config": {"effort": "max"}}),
    );
    let changes = plan(&STRICT, &View::of(&req), &[]).expect("plans");
    apply(&mut req, &changes);
    assert_eq!(
        req.output_config.and_then(|c| c.effort).as_deref(),
        Some("max")
    );
}

#[test]
fn disabled_thinking_on_an_always_on_model_becomes_low_effort_adaptive() {
    let changes = planned(STRICT, &json!({"thinking": {"type": "disabled"}}));
    assert_eq!(changes, vec![Change::DisabledToAdaptive]);
    assert_eq!(changes[0].name(), "thinking.disabled->adaptive");
    let mut req = request(&json!({"thinking": {"type": "disabled"}}));
    apply(&mut req, &changes);
    assert_eq!(req.thinking.map(|t| t.kind), Some(ThinkingKind::Adaptive));
    assert_eq!(
        req.output_config.and_then(|c| c.effort).as_deref(),
        Some("low")
    );
}

#[test]
fn disabled_thinking_on_sonnet_5_5_becomes_between_tools_without_display() {
    let rules = Rules {
        thinking_disabled: DisabledThinking::ToBetweenTools,
        ..STRICT
    };
    let mut req = request(&json!({"thinking": {"type": "disabled", "display": "updates"}}));
    let changes = plan(&rules, &View::of(&req), &[]).expect("plans");
    assert_eq!(changes, vec![Change::ThinkingToBetweenTools]);
    apply(&mut req, &changes);
    let t = req.thinking.expect("thinking kept");
    assert_eq!((t.kind, t.display), (ThinkingKind::BetweenTools, None));
}

#[test]
fn sampling_parameters_are_dropped_where_only_defaults_are_accepted() {
    let mut req = request(&json!({"temperature": 0.5, "top_p": 0.9, "top_k": 3}));
    let changes = plan(&STRICT, &View::of(&req), &[]).expect("plans");
    let names: Vec<_> = changes.iter().map(Change::name).collect();
    assert_eq!(
        names,
        ["temperature-dropped", "top_p-dropped", "top_k-dropped"]
    );
    assert!(changes.iter().all(|c| !c.is_visible()));
    apply(&mut req, &changes);
    assert_eq!((req.temperature, req.top_p, req.top_k), (None, None, None));
}

#[test]
fn forced_tool_choice_becomes_auto_and_keeps_parallel_setting() {
    for choice in [
        json!({"type": "any"}),
        json!({"type": "tool", "name": "Bash", "disable_parallel_tool_use": true}),
    ] {
        let mut req = request(&json!({"tool_choice": choice}));
        let changes = plan(&STRICT, &View::of(&req), &[]).expect("plans");
        assert_eq!(changes, vec![Change::ToolChoiceToAuto]);
        assert!(changes[0].is_visible());
        let parallel = req
            .tool_choice
            .as_ref()
            .and_then(|c| c.disable_parallel_tool_use);
        apply(&mut req, &changes);
        let c = req.tool_choice.expect("kept");
        assert_eq!(
            (c.kind, c.name, c.disable_parallel_tool_use),
            (ToolChoiceKind::Auto, None, parallel)
        );
    }
    assert_eq!(
        planned(STRICT, &json!({"tool_choice": {"type": "auto"}})),
        vec![]
    );
    assert_eq!(
        planned(STRICT, &json!({"tool_choice": {"type": "none"}})),
        vec![]
    );
}

#[test]
fn prefill_is_refused_with_a_clear_message_where_the_model_refuses_it() {
    let req = request(&json!({"messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "{"}]}));
    let err = plan(&STRICT, &View::of(&req), &[]).expect_err("refused");
    assert_eq!(err.kind(), "invalid_request_error");
    assert!(err.to_string().contains("prefill"), "{err}");
    assert!(plan(&Rules::default(), &View::of(&req), &[]).is_ok());
    let empty_turn = request(&json!({"messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}));
    assert!(
        plan(&STRICT, &View::of(&empty_turn), &[]).is_ok(),
        "an empty turn is no prefill"
    );
}

#[test]
fn display_updates_needs_its_beta() {
    let with_display = json!({"thinking": {"type": "adaptive", "display": "updates"}});
    assert_eq!(
        planned(Rules::default(), &with_display),
        vec![Change::DropDisplayUpdates]
    );
    let req = request(&with_display);
    let betas = [DISPLAY_UPDATES_BETA.to_owned()];
    assert_eq!(
        plan(&Rules::default(), &View::of(&req), &betas).expect("plans"),
        vec![]
    );
    let summarized = json!({"thinking": {"type": "adaptive", "display": "summarized"}});
    assert_eq!(planned(Rules::default(), &summarized), vec![]);
}

#[test]
fn rules_parse_from_catalog_json_and_reject_unknown_names() {
    let rules: Rules = serde_json::from_value(json!({
        "thinking_enabled": "to_adaptive", "thinking_disabled": "to_between_tools",
        "sampling": "default_only", "forced_tool_choice": "to_auto", "prefill": "reject"}))
    .expect("parses");
    assert_eq!(rules.thinking_disabled, DisabledThinking::ToBetweenTools);
    assert!(serde_json::from_value::<Rules>(json!({"sampling": "sometimes"})).is_err());
    assert!(serde_json::from_value::<Rules>(json!({"temperature": "accept"})).is_err());
    assert_eq!(
        serde_json::from_value::<Rules>(json!({})).expect("empty"),
        Rules::default()
    );
}

#[test]
fn the_output_cap_applies_only_above_it_and_keeps_a_thinking_budget_below_it() {
    assert_eq!(
        cap_output(Some(32_000), Some(8192)),
        Some(Change::CapMaxTokens(8192))
    );
    assert_eq!(cap_output(Some(8192), Some(8192)), None);
    assert_eq!(cap_output(Some(32_000), None), None);
    assert_eq!(cap_output(None, Some(8192)), None);
    assert_eq!(Change::CapMaxTokens(8192).name(), "max_tokens-capped");
    assert!(Change::CapMaxTokens(8192).is_visible());
    let mut req = crate::anthropic::request::parse_messages_request(
        br#"{"model":"m","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":31999},
            "messages":[{"role":"user","content":"hi"}]}"#,
    )
    .expect("parses");
    apply(&mut req, &[Change::CapMaxTokens(8192)]);
    assert_eq!(req.max_tokens, Some(8192));
    assert_eq!(req.thinking.and_then(|t| t.budget_tokens), Some(8191));
}
