//! Tests of discovery without a network: the snapshot, the prefix choice, the failure log.
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::*;
use crate::models::list::PageQuery;
use crate::models::Catalog;

fn profile(id: &str, name: &str) -> ProfileSummary {
    ProfileSummary {
        id: id.to_owned(),
        name: name.to_owned(),
        active: true,
        created_at: Some("2026-09-22T00:00:00Z".to_owned()),
    }
}

fn available(ids: &[&str]) -> AvailableProfiles {
    AvailableProfiles::from_summaries(ids.iter().map(|id| profile(id, "")))
}

fn prefixes(list: &[&str]) -> Vec<String> {
    list.iter().map(|p| (*p).to_owned()).collect()
}

fn catalog() -> Catalog {
    Catalog::embedded().expect("embedded catalog parses")
}

const OPUS: &str = "anthropic.claude-opus-5";

#[test]
fn the_configured_prefix_is_used_when_the_account_has_it() {
    let a = available(&[
        "global.anthropic.claude-opus-5",
        "us.anthropic.claude-opus-5",
    ]);
    let catalog = prefixes(&["global", "us", "eu"]);
    assert_eq!(
        pick_prefix("global", &catalog, Some(&a), OPUS).as_deref(),
        Some("global")
    );
    assert_eq!(
        pick_prefix("us", &catalog, Some(&a), OPUS).as_deref(),
        Some("us")
    );
}

#[test]
fn a_missing_global_profile_falls_back_to_the_best_available_geography() {
    let a = available(&["eu.anthropic.claude-opus-5", "us.anthropic.claude-opus-5"]);
    // Catalog order first…
    let catalog = prefixes(&["global", "us", "eu"]);
    assert_eq!(
        pick_prefix("global", &catalog, Some(&a), OPUS).as_deref(),
        Some("us")
    );
    let catalog = prefixes(&["global", "eu", "us"]);
    assert_eq!(
        pick_prefix("global", &catalog, Some(&a), OPUS).as_deref(),
        Some("eu")
    );
    // …then the listing's own order when the catalog names none of what the account has.
    let a = available(&["jp.anthropic.claude-opus-5", "apac.anthropic.claude-opus-5"]);
    let catalog = prefixes(&["global", "us"]);
    assert_eq!(
        pick_prefix("global", &catalog, Some(&a), OPUS).as_deref(),
        Some("apac")
    );
}

#[test]
fn a_specific_geography_never_falls_back_to_another_one() {
    let a = available(&[
        "us.anthropic.claude-opus-5",
        "global.anthropic.claude-opus-5",
    ]);
    let catalog = prefixes(&["global", "us", "eu"]);
    assert_eq!(pick_prefix("eu", &catalog, Some(&a), OPUS), None);
}

#[test]
fn without_discovery_the_catalog_order_decides() {
    let catalog = prefixes(&["global", "us"]);
    assert_eq!(
        pick_prefix("global", &catalog, None, OPUS).as_deref(),
        Some("global")
    );
    assert_eq!(
        pick_prefix("us", &catalog, None, OPUS).as_deref(),
        Some("us")
    );
    assert_eq!(pick_prefix("eu", &catalog, None, OPUS), None);
    let us_only = prefixes(&["us"]);
    assert_eq!(
        pick_prefix("global", &us_only, None, OPUS).as_deref(),
        Some("us")
    );
}

#[test]
fn a_model_the_listing_lacks_keeps_the_catalog_choice() {
    let a = available(&["us.anthropic.claude-sonnet-5"]);
    let catalog = prefixes(&["global", "us"]);
    assert_eq!(
        pick_prefix("global", &catalog, Some(&a), OPUS).as_deref(),
        Some("global")
    );
}

#[test]
fn bare_ids_stay_bare() {
    let a = available(&["us.anthropic.claude-opus-5"]);
    let catalog = prefixes(&["us"]);
    assert_eq!(pick_prefix("none", &catalog, Some(&a), OPUS), None);
    // The catalog serves this model in-region: no profile even though one is listed.
    assert_eq!(pick_prefix("global", &[], Some(&a), OPUS), None);
}

#[test]
fn a_model_the_catalog_never_saw_gets_the_best_listed_profile() {
    let base = "anthropic.claude-opus-6";
    let preferred = prefixes(&["global"]);
    let a = available(&["us.anthropic.claude-opus-6", "eu.anthropic.claude-opus-6"]);
    assert_eq!(
        pick_prefix("global", &preferred, Some(&a), base).as_deref(),
        Some("us")
    );
    assert_eq!(
        pick_prefix("global", &preferred, None, base).as_deref(),
        Some("global")
    );
}

#[test]
fn only_active_profiles_count_and_prefixes_come_best_first() {
    let mut legacy = profile("eu.anthropic.claude-opus-5", "EU Anthropic Claude Opus 5");
    legacy.active = false;
    let a = AvailableProfiles::from_summaries([
        profile("us.anthropic.claude-opus-5", ""),
        legacy,
        profile("ca.anthropic.claude-opus-5", ""),
        profile("global.anthropic.claude-opus-5", ""),
    ]);
    assert!(a.has("us.anthropic.claude-opus-5"));
    assert!(!a.has("eu.anthropic.claude-opus-5"));
    assert!(!a.has("anthropic.claude-opus-5"));
    // A geography this release does not know still counts, after the known ones.
    assert_eq!(a.prefixes_for(OPUS), ["global", "us", "ca"]);
    assert!(a.serves(OPUS));
    assert!(!a.serves("anthropic.claude-sonnet-5"));
    assert_eq!(a.len(), 3);
}

#[test]
fn claude_models_the_catalog_lacks_are_derived_from_their_profiles() {
    let catalog = catalog();
    let a = AvailableProfiles::from_summaries([
        profile("us.anthropic.claude-opus-6", "US Anthropic Claude Opus 6"),
        profile(
            "global.anthropic.claude-opus-6",
            "Global Anthropic Claude Opus 6",
        ),
        // Known to the catalog by Bedrock id.
        profile("us.anthropic.claude-opus-5", "US Anthropic Claude Opus 5"),
        // Versioned ids do not follow the `anthropic.` + Anthropic id rule.
        profile(
            "us.anthropic.claude-x-20990101-v1:0",
            "US Anthropic Claude X",
        ),
        // Not Anthropic.
        profile("us.meta.llama9-v1:0", "US Meta Llama 9"),
        // Derives to a catalog name (`claude-opus-4-6` is `anthropic.claude-opus-4-6-v1`).
        profile(
            "us.anthropic.claude-opus-4-6",
            "US Anthropic Claude Opus 4.6",
        ),
    ]);
    let found: Vec<DiscoveredModel<'_>> = a.unlisted_claude(&catalog).collect();
    assert_eq!(
        found,
        [DiscoveredModel {
            id: "claude-opus-6",
            display_name: "Claude Opus 6",
            created_at: "2026-09-22T00:00:00Z",
            base_id: "anthropic.claude-opus-6",
        }]
    );
    assert!(a.unlisted_claude_named(&catalog, "claude-opus-6").is_some());
    assert!(a.unlisted_claude_named(&catalog, "claude-opus-5").is_none());
}

#[test]
fn a_discovered_models_name_and_date_do_not_depend_on_listing_order() {
    let mut early = profile(
        "us.anthropic.claude-opus-6",
        "US Anthropic Claude Opus 6 (US)",
    );
    early.created_at = Some("2026-09-01T00:00:00Z".to_owned());
    let global = profile(
        "global.anthropic.claude-opus-6",
        "Global Anthropic Claude Opus 6",
    );
    let catalog = catalog();
    for order in [[early.clone(), global.clone()], [global, early]] {
        let a = AvailableProfiles::from_summaries(order);
        let m = a.unlisted_claude(&catalog).next().expect("one model");
        assert_eq!(m.display_name, "Claude Opus 6");
        assert_eq!(m.created_at, "2026-09-01T00:00:00Z");
    }
}

#[test]
fn the_listing_names_only_what_the_account_can_call() {
    let catalog = catalog();
    let a = AvailableProfiles::from_summaries([
        profile("global.anthropic.claude-sonnet-5", ""),
        profile("us.anthropic.claude-opus-6", "US Anthropic Claude Opus 6"),
    ]);
    let query = PageQuery {
        limit: 1000,
        ..PageQuery::default()
    };
    let page = catalog.list_available_page(Some(&a), &query).expect("page");
    let ids: Vec<&str> = page.data.iter().map(|m| m.id).collect();
    assert!(ids.contains(&"claude-sonnet-5"), "{ids:?}");
    assert!(ids.contains(&"claude-opus-6"), "{ids:?}");
    assert!(!ids.contains(&"claude-opus-5"), "{ids:?}");
    // Models the catalog serves by bare id in-region are not in the listing, and stay.
    assert!(ids.contains(&"qwen3-32b"), "{ids:?}");
    let all = catalog.list_available_page(None, &query).expect("page");
    assert_eq!(all.data.len(), catalog.models().len());
}

#[test]
fn a_refresh_replaces_the_snapshot_and_a_failure_keeps_it() {
    let d = Discovery::off();
    assert!(d.snapshot().is_none());
    let listing = vec![profile("us.anthropic.claude-opus-5", "")];
    assert_eq!(d.apply(Ok(listing)), Refreshed::Updated);
    assert!(d
        .snapshot()
        .is_some_and(|s| s.has("us.anthropic.claude-opus-5")));
    assert_eq!(
        d.apply(Err("AccessDeniedException".into())),
        Refreshed::FailedFirst
    );
    assert!(d
        .snapshot()
        .is_some_and(|s| s.has("us.anthropic.claude-opus-5")));
}

#[test]
fn an_empty_listing_counts_as_a_failure() {
    let d = Discovery::off();
    assert_eq!(d.apply(Ok(Vec::new())), Refreshed::FailedFirst);
    assert!(d.snapshot().is_none());
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn repeated_failures_log_one_warning_until_a_success() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let d = Discovery::off();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            d.apply(Err("AccessDeniedException: not authorized".into()));
        }
        d.apply(Ok(vec![profile("us.anthropic.claude-opus-5", "")]));
        d.apply(Err("ThrottlingException".into()));
    });
    let text = String::from_utf8(logs.0.lock().expect("log buffer").clone()).expect("utf-8");
    let warns: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ")).collect();
    assert_eq!(warns.len(), 2, "one per failure streak:\n{text}");
    assert!(warns[0].contains("AccessDeniedException"), "{text}");
    assert_eq!(
        text.matches("model discovery recovered").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("failed again").count(), 2, "{text}");
}
