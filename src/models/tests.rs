use super::*;

fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog parses")
}

#[test]
fn embedded_catalog_covers_the_ids_claude_code_sends() {
    let c = catalog();
    for id in [
        "claude-opus-4-8",
        "claude-sonnet-5",
        "claude-haiku-4-5-20251001",
        "claude-sonnet-4-5-20250929",
        "claude-3-5-haiku-20241022",
        "claude-opus-4-6",
        "claude-fable-5",
        "deepseek-r1",
        "qwen3-32b",
    ] {
        assert!(c.get(id).is_some(), "{id} missing");
    }
}

#[test]
fn catalog_names_resolve_to_the_preferred_profile() {
    let c = catalog();
    let cases = [
        (
            "claude-sonnet-4-5",
            InferenceProfile::Global,
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "claude-sonnet-4-5",
            InferenceProfile::Eu,
            "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ),
        (
            "claude-3-5-haiku-20241022",
            InferenceProfile::Global,
            "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        ),
        (
            "claude-3-5-haiku-20241022",
            InferenceProfile::Eu,
            "anthropic.claude-3-5-haiku-20241022-v1:0",
        ),
        (
            "claude-opus-4-8",
            InferenceProfile::None,
            "anthropic.claude-opus-4-8",
        ),
        ("qwen3-32b", InferenceProfile::Global, "qwen.qwen3-32b-v1:0"),
        (
            "deepseek-r1",
            InferenceProfile::Global,
            "us.deepseek.r1-v1:0",
        ),
    ];
    for (name, profile, want) in cases {
        let r = c.resolve(name, profile).expect(name);
        assert_eq!(r.bedrock_model_id, want, "{name} {profile}");
        assert_eq!(r.client_model, name);
    }
}

#[test]
fn bedrock_ids_pass_through_and_keep_catalog_data() {
    let c = catalog();
    let r = c
        .resolve(
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            InferenceProfile::Global,
        )
        .expect("resolves");
    assert_eq!(
        r.bedrock_model_id,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(
        r.base_model_id.as_deref(),
        Some("anthropic.claude-sonnet-4-5-20250929-v1:0")
    );
    assert_eq!(
        r.spec.map(|s| s.id.as_str()),
        Some("claude-sonnet-4-5-20250929")
    );

    let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0";
    let r = c
        .resolve(arn, InferenceProfile::Global)
        .expect("arn resolves");
    assert_eq!(r.bedrock_model_id, arn);
    assert_eq!(
        r.base_model_id.as_deref(),
        Some("anthropic.claude-haiku-4-5-20251001-v1:0")
    );
    assert!(r.spec.is_some());

    let app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
    let r = c
        .resolve(app, InferenceProfile::Global)
        .expect("app profile resolves");
    assert!(r.spec.is_none());
    assert!(r.price.is_none(), "unknown model must have no price");
}

#[test]
fn regional_price_applies_to_eu_profile() {
    let c = catalog();
    let global = c
        .resolve("claude-sonnet-4-5", InferenceProfile::Global)
        .expect("ok");
    let eu = c
        .resolve("claude-sonnet-4-5", InferenceProfile::Eu)
        .expect("ok");
    assert_eq!(global.price.map(|p| p.base.input), Some(3.0));
    assert_eq!(eu.price.map(|p| p.base.input), Some(3.3));
}

#[test]
fn a_profile_arn_gets_its_geographys_price() {
    let c = catalog();
    let arn = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0";
    let r = c.resolve(arn, InferenceProfile::Global).expect("resolves");
    assert_eq!(r.price.map(|p| p.base.input), Some(3.3));
}

#[test]
fn unknown_names_are_not_found() {
    let c = catalog();
    for name in [
        "gpt-4o",
        "",
        "Anthropic.Claude",
        "claude-",
        "claude-Opus-6",
        "claude-opus-6/x",
        "claude-opus--6",
    ] {
        let err = c.resolve(name, InferenceProfile::Global).expect_err(name);
        assert_eq!(err.kind(), "not_found_error", "{name}");
    }
    let strict = catalog().with_unknown_models(UnknownModels::Reject);
    let err = strict
        .resolve("claude-opus-6", InferenceProfile::Global)
        .expect_err("reject");
    assert_eq!(err.kind(), "not_found_error");
}

#[test]
fn an_unknown_claude_name_is_derived_from_its_familys_newest_model() {
    let c = catalog();
    let cases = [
        (
            "claude-opus-6",
            InferenceProfile::Global,
            "global.anthropic.claude-opus-6",
            "claude-opus-5-5",
        ),
        (
            "claude-sonnet-6",
            InferenceProfile::Eu,
            "eu.anthropic.claude-sonnet-6",
            "claude-sonnet-5-5",
        ),
        (
            "claude-haiku-6",
            InferenceProfile::None,
            "anthropic.claude-haiku-6",
            "claude-haiku-5-5",
        ),
        (
            "claude-fable-6",
            InferenceProfile::Us,
            "us.anthropic.claude-fable-6",
            "claude-fable-5-2",
        ),
        // No family word: the newest Claude model of all lends its data.
        (
            "claude-nova-1",
            InferenceProfile::Global,
            "global.anthropic.claude-nova-1",
            "claude-fable-5-2",
        ),
    ];
    for (name, profile, id, template) in cases {
        let r = c.resolve(name, profile).expect(name);
        assert_eq!(r.bedrock_model_id, id);
        assert_eq!(
            r.base_model_id.as_deref(),
            Some(format!("anthropic.{name}").as_str())
        );
        assert!(r.derived);
        assert_eq!(r.spec.map(|s| s.id.as_str()), Some(template), "{name}");
        let t = c.get(template).expect("template");
        assert_eq!(r.rules, t.rules);
        assert_eq!(r.capabilities, t.capabilities);
        let price = r.price.expect("priced");
        assert!(price.estimated);
        assert_eq!(Some(price.base), t.price);
    }
}

#[test]
fn an_unknown_claude_profile_id_is_derived_too_and_keeps_its_id() {
    let c = catalog();
    let r = c
        .resolve("us.anthropic.claude-opus-6", InferenceProfile::Global)
        .expect("resolves");
    assert_eq!(r.bedrock_model_id, "us.anthropic.claude-opus-6");
    assert!(r.derived && r.price.is_some_and(|p| p.estimated));
    let other = c
        .resolve("us.meta.llama5-v1:0", InferenceProfile::Global)
        .expect("passes");
    assert!(!other.derived && other.price.is_none());
}

#[test]
fn catalog_models_are_not_estimates() {
    let c = catalog();
    for m in c.models() {
        let r = c
            .resolve(&m.id, InferenceProfile::Global)
            .expect("resolves");
        assert!(!r.derived);
        assert!(r.price.is_none_or(|p| !p.estimated), "{}", m.id);
    }
}

#[test]
fn the_current_claude_models_are_in_the_catalog_with_their_ids_and_prices() {
    let c = catalog();
    let cases = [
        (
            "claude-opus-5-5",
            "global.anthropic.claude-opus-5-5",
            4.0,
            20.0,
        ),
        (
            "claude-sonnet-5-5",
            "global.anthropic.claude-sonnet-5-5",
            2.0,
            10.0,
        ),
        (
            "claude-haiku-5-5",
            "global.anthropic.claude-haiku-5-5",
            0.1,
            0.5,
        ),
        (
            "claude-fable-5-1",
            "global.anthropic.claude-fable-5-1",
            10.0,
            50.0,
        ),
        (
            "claude-fable-5-2",
            "global.anthropic.claude-fable-5-2",
            8.0,
            40.0,
        ),
    ];
    for (name, id, input, output) in cases {
        let r = c.resolve(name, InferenceProfile::Global).expect(name);
        assert_eq!(r.bedrock_model_id, id);
        let p = r.price.expect("priced").base;
        assert_eq!((p.input, p.output), (input, output), "{name}");
        let spec = r.spec.expect("in catalog");
        assert_eq!(
            (spec.context_window, spec.max_output_tokens),
            (Some(1_000_000), Some(128_000))
        );
    }
}

#[test]
fn the_rules_of_the_5_5_models_match_what_they_refuse() {
    use rules::{DisabledThinking, EnabledThinking, ForcedToolChoice, Sampling};
    let c = catalog();
    let rules = |id: &str| c.get(id).expect(id).rules;
    assert_eq!(
        rules("claude-opus-5-5").thinking_disabled,
        DisabledThinking::ToAdaptiveLow
    );
    assert_eq!(
        rules("claude-sonnet-5-5").thinking_disabled,
        DisabledThinking::ToBetweenTools
    );
    assert_eq!(
        rules("claude-haiku-5-5").thinking_disabled,
        DisabledThinking::Accept
    );
    for id in [
        "claude-opus-5-5",
        "claude-sonnet-5-5",
        "claude-fable-5-1",
        "claude-fable-5-2",
    ] {
        assert_eq!(
            rules(id).forced_tool_choice,
            ForcedToolChoice::ToAuto,
            "{id}"
        );
        assert_eq!(
            rules(id).thinking_enabled,
            EnabledThinking::ToAdaptive,
            "{id}"
        );
    }
    for id in [
        "claude-opus-4-7",
        "claude-opus-4-8",
        "claude-sonnet-5",
        "claude-opus-5",
        "claude-haiku-5-5",
    ] {
        assert_eq!(rules(id).sampling, Sampling::DefaultOnly, "{id}");
    }
    assert_eq!(rules("claude-sonnet-4-5-20250929"), Rules::default());
}

#[test]
fn profile_setting_parses_and_rejects_unknown_values() {
    assert_eq!("EU".parse::<InferenceProfile>(), Ok(InferenceProfile::Eu));
    assert!("mars".parse::<InferenceProfile>().is_err());
}

#[test]
fn duplicate_names_are_rejected() {
    let dup = r#"{"models":[
      {"id":"a","display_name":"A","created_at":"x","bedrock_id":"p.a","capabilities":{"claude":false,"thinking":false,"adaptive_thinking":false,"caching":false,"cache_ttl_1h":false,"temperature_top_p_exclusive":false,"tools":true}},
      {"id":"b","aliases":["a"],"display_name":"B","created_at":"x","bedrock_id":"p.b","capabilities":{"claude":false,"thinking":false,"adaptive_thinking":false,"caching":false,"cache_ttl_1h":false,"temperature_top_p_exclusive":false,"tools":true}}]}"#;
    assert!(Catalog::parse(dup).is_err());
}
