use secrecy::ExposeSecret;

use super::*;

const FULL: &str = r#"{
  "api_keys": {
    "alice": "sk-alice-plain",
    "bob": {"key": "sk-bob-limited", "team": "platform", "budget_usd": {"day": 20, "month": 300.5},
            "rpm": 60, "tpm": 400000, "models": ["claude-*"]}
  },
  "teams": {"platform": {"budget_usd": {"month": 2000}}, "idle": {}}
}"#;

#[test]
fn the_object_form_carries_limits_and_the_plain_form_none() {
    let keys = parse_key_document(FULL).expect("parses");
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].name, "alice");
    assert!(keys[0].limits.is_none());
    assert_eq!(keys[1].key.expose_secret(), "sk-bob-limited");
    let limits = keys[1].limits.as_deref().expect("limits");
    assert_eq!(limits.budget.day, Some(20_000_000_000));
    assert_eq!(limits.budget.month, Some(300_500_000_000));
    assert_eq!((limits.rpm, limits.tpm), (Some(60), Some(400_000)));
    assert_eq!(limits.models.as_deref(), Some(&["claude-*".to_owned()][..]));
    let team = limits.team.as_ref().expect("team");
    assert_eq!(&*team.name, "platform");
    assert_eq!(team.budget.month, Some(2_000_000_000_000));
    assert_eq!(team.budget.day, None);
    assert!(limits.counts_anything());
}

#[test]
fn unknown_fields_are_errors_that_name_the_field_and_its_path() {
    let cases = [
        (r#"{"api_keys": {"a": "sk-1"}, "admins": []}"#, "admins"),
        (
            r#"{"api_keys": {"bob": {"key": "sk-1", "rmp": 5}}}"#,
            "api_keys.bob",
        ),
        (
            r#"{"api_keys": {"bob": {"key": "sk-1", "budget_usd": {"week": 5}}}}"#,
            "week",
        ),
        (
            r#"{"api_keys": {"a": "sk-1"}, "teams": {"t": {"budget": 1}}}"#,
            "teams.t",
        ),
    ];
    for (text, named) in cases {
        let e = parse_key_document(text).expect_err(text);
        assert!(e.contains(named), "{text}: {e}");
        assert!(e.contains("unknown field"), "{text}: {e}");
    }
    let e =
        parse_key_document(r#"{"api_keys": {"bob": {"key": "sk-1", "rmp": 5}}}"#).expect_err("rmp");
    assert!(e.contains("rmp"), "{e}");
}

#[test]
fn bad_values_are_refused_without_quoting_them() {
    for bad in [
        r#"{"api_keys": {"bob": {"key": "sk-1", "rpm": "sk-secret-in-rpm"}}}"#,
        r#"{"api_keys": {"bob": {"key": "sk-secret-x", "team": "nope"}}}"#,
        r#"{"api_keys": {"bob": {"key": "sk-secret-x", "budget_usd": {"day": -1}}}}"#,
        r#"{"api_keys": {"bob": {"key": "sk-secret-x", "rpm": 0}}}"#,
        r#"{"api_keys": {"bob": {"key": ""}}}"#,
        r#"{"api_keys": {"bob": {"team": "sk-secret-as-team"}}}"#,
    ] {
        let e = parse_key_document(bad).expect_err(bad);
        assert!(!e.contains("sk-secret"), "{e}");
        assert!(e.contains("api_keys.bob"), "{bad}: {e}");
    }
}

#[test]
fn admin_keys_are_read_as_keys_marked_admin() {
    let doc =
        r#"{"api_keys": {"alice": "sk-alice"}, "admin_keys": {"finance": "sk-finance-admin"}}"#;
    let keys = parse_key_document(doc).expect("parses");
    let flags: Vec<(&str, bool)> = keys.iter().map(|k| (k.name.as_str(), k.admin)).collect();
    assert_eq!(flags, [("alice", false), ("finance", true)]);
    let bad = parse_key_document(r#"{"api_keys": {"a": "sk-1"}, "admin_keys": {"sk-x": "k"}}"#);
    assert!(bad.expect_err("refused").contains("admin_keys"));
}

#[test]
fn a_key_that_is_both_an_admin_key_and_an_api_key_is_refused_by_name() {
    let doc = r#"{"api_keys": {"alice": {"key": "sk-shared-one", "rpm": 5}},
                  "admin_keys": {"finance": "sk-shared-one"}}"#;
    let e = parse_key_document(doc).expect_err("one key in both roles");
    assert!(e.contains("`finance`") && e.contains("`alice`"), "{e}");
    assert!(!e.contains("sk-shared-one"), "{e}");
}
