use super::*;

const BODY: &str = r#"{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["context-management-2025-06-27","effort-2025-11-24"],"max_tokens":5,"messages":[{"role":"user","content":"hi"}],"context_management":{"edits":[{"type":"clear_thinking_20251015"}]},"metadata":{"user_id":"u"}}"#;

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn an_invalid_beta_flag_refuses_the_betas_plain_or_in_an_envelope() {
    assert_eq!(
        refused("The model returned the following errors: invalid beta flag"),
        Some(Refused::Betas)
    );
    assert_eq!(refused("invalid beta flag"), Some(Refused::Betas));
}

#[test]
fn the_schema_layer_names_every_extraneous_key() {
    let message = "Malformed input request: #: extraneous key [metadata] is not permitted, #: extraneous key [speed] is not permitted, please reformat your input and try again.";
    assert_eq!(
        refused(message),
        Some(Refused::Fields(strs(&["metadata", "speed"])))
    );
}

#[test]
fn the_model_layer_names_one_top_level_field_but_not_a_nested_path() {
    assert_eq!(
        refused("context_management: Extra inputs are not permitted"),
        Some(Refused::Fields(strs(&["context_management"])))
    );
    assert_eq!(
        refused(
            "The model returned the following errors: metadata: Extra inputs are not permitted"
        ),
        Some(Refused::Fields(strs(&["metadata"])))
    );
    assert_eq!(
        refused("tools.3.custom.defer_loading: Extra inputs are not permitted"),
        None
    );
}

#[test]
fn other_validation_messages_are_not_refusals_of_ours() {
    assert_eq!(
        refused("prompt is too long: 200049 tokens > 200000 maximum"),
        None
    );
    assert_eq!(refused("The provided model identifier is invalid."), None);
}

#[test]
fn an_unnamed_beta_refusal_suspects_every_beta_sent() {
    let r = removals(BODY.as_bytes(), &Refused::Betas, &[]).expect("removals");
    assert_eq!(
        r,
        strs(&[
            "beta:context-management-2025-06-27",
            "beta:effort-2025-11-24"
        ])
    );
}

#[test]
fn a_refused_field_is_removed_only_if_sent_and_optional() {
    let refused = Refused::Fields(strs(&["metadata", "thinking", "speed", "messages"]));
    let r = removals(BODY.as_bytes(), &refused, &[]).expect("removals");
    assert_eq!(r, strs(&["metadata"]));
}

#[test]
fn stripping_a_field_keeps_every_other_byte_and_the_key_order() {
    let out = strip(BODY.as_bytes(), &strs(&["metadata"]))
        .expect("strips")
        .expect("changed");
    let expected = BODY.replace(r#","metadata":{"user_id":"u"}"#, "");
    assert_eq!(String::from_utf8(out).expect("utf-8"), expected);
}

#[test]
fn stripping_a_beta_takes_its_paired_field_with_it() {
    let out = strip(
        BODY.as_bytes(),
        &strs(&["beta:context-management-2025-06-27"]),
    )
    .expect("strips")
    .expect("changed");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(
        v["anthropic_beta"],
        serde_json::json!(["effort-2025-11-24"])
    );
    assert!(v.get("context_management").is_none());
    assert_eq!(v["metadata"]["user_id"], "u");
}

#[test]
fn stripping_every_beta_removes_the_list() {
    let all = strs(&[
        "beta:context-management-2025-06-27",
        "beta:effort-2025-11-24",
    ]);
    let out = strip(BODY.as_bytes(), &all)
        .expect("strips")
        .expect("changed");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    assert!(v.get("anthropic_beta").is_none());
    assert!(v.get("context_management").is_none());
}

#[test]
fn removals_the_body_does_not_hold_change_nothing() {
    let none = strip(
        BODY.as_bytes(),
        &strs(&["speed", "beta:output-128k-2025-02-19"]),
    )
    .expect("strips");
    assert!(none.is_none());
}

#[test]
fn betas_accepted_before_are_not_suspects_of_an_unnamed_refusal() {
    let accepted = strs(&["effort-2025-11-24"]);
    let r = removals(BODY.as_bytes(), &Refused::Betas, &accepted).expect("removals");
    assert_eq!(r, strs(&["beta:context-management-2025-06-27"]));
    // Every beta sent was accepted before: all go, for this request (see below: not remembered).
    let both = strs(&["effort-2025-11-24", "context-management-2025-06-27"]);
    let r = removals(BODY.as_bytes(), &Refused::Betas, &both).expect("removals");
    assert_eq!(r.len(), 2);
    let known = Knowledge {
        refused: Vec::new(),
        accepted: both,
    };
    assert_eq!(
        known.after_refusal(&r),
        None,
        "accepted betas are never remembered as refused"
    );
}

#[test]
fn only_anthropic_fields_are_remembered_and_only_once() {
    let known = Knowledge::default();
    let next = known
        .after_refusal(&strs(&["metadata", "zz_invented_field"]))
        .expect("metadata is new");
    assert_eq!(next.refused, strs(&["metadata"]));
    assert_eq!(
        next.after_refusal(&strs(&["metadata"])),
        None,
        "nothing new, no rewrite"
    );
    assert_eq!(known.after_refusal(&strs(&["zz_invented_field"])), None);
}

#[test]
fn what_is_remembered_is_bounded() {
    let mut known = Knowledge::default();
    for i in 0..100 {
        if let Some(next) = known.after_success(&[format!("beta-{i}")]) {
            known = next;
        }
    }
    assert_eq!(known.accepted.len(), MAX_REMEMBERED);
    assert_eq!(known.after_success(&strs(&["beta-0"])), None);
}
