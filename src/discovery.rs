//! Which inference profiles the account can call, learnt from Bedrock's control plane.
//!
//! Owns the background refresh (one tokio task: at start-up, then every
//! `CHATRIX_DISCOVERY_INTERVAL_SECS`), the shared snapshot ([`AvailableProfiles`], read through
//! [`Discovery::snapshot`]) and the pure rule that picks a profile prefix ([`pick_prefix`]).
//! It must never be on the request path: handlers only read the snapshot, which is `None` until the
//! first listing arrives and whenever discovery is off or has never succeeded; callers then keep
//! the catalog's behaviour.
//!
//! The `ListInferenceProfiles` call itself lives in `bedrock::profiles`, beside the runtime calls:
//! `bedrock` stays the one module that talks to AWS Bedrock (one loaded AWS configuration, one
//! place where SDK errors become [`crate::error::ApiError`]), and this module stays testable
//! without a network.
//!
//! Failures: the first failed refresh logs one WARN (and the first success after it one INFO);
//! repeated failures log at debug only. A failure keeps the last good snapshot, since a stale list
//! is closer to the account than the static catalog; a listing with no ACTIVE profile counts as a
//! failure, because a Region without system-defined profiles serves models by bare id, which this
//! listing cannot see. See `docs/discovery.md`.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use crate::bedrock::Bedrock;
use crate::models::{Catalog, PROFILE_PREFIXES};

/// How soon a failed refresh is retried (capped by the configured interval).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

/// Shown as `created_at` for a discovered model whose profiles carry no creation time.
const UNKNOWN_CREATED_AT: &str = "1970-01-01T00:00:00Z";

/// One `inferenceProfileSummaries` item, as the Bedrock layer hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSummary {
    /// `us.anthropic.claude-opus-5-5`.
    pub id: String,
    /// `US Anthropic Claude Opus 5.5`.
    pub name: String,
    /// `status == ACTIVE`.
    pub active: bool,
    /// RFC 3339, when Bedrock sent one.
    pub created_at: Option<String>,
}

/// The ACTIVE system-defined inference profiles of one listing.
#[derive(Debug, Default)]
pub struct AvailableProfiles {
    ids: HashSet<String>,
    bases: BTreeMap<String, BaseModel>,
}

/// What the listing says about one foundation model.
#[derive(Debug)]
struct BaseModel {
    /// Geography prefixes with an ACTIVE profile: [`PROFILE_PREFIXES`] order, then unknown ones.
    prefixes: Vec<String>,
    display_name: String,
    created_at: String,
    /// `claude-…` when the base id is `anthropic.claude-…` without a `:` version, i.e. when the
    /// catalog's "unknown model" rule (`anthropic.` + the Anthropic id) maps the name back to it.
    anthropic_id: Option<String>,
}

/// A Claude model the account can call that the catalog does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveredModel<'a> {
    /// The Anthropic id, e.g. `claude-opus-6`.
    pub id: &'a str,
    pub display_name: &'a str,
    pub created_at: &'a str,
    /// The foundation-model id, e.g. `anthropic.claude-opus-6`.
    pub base_id: &'a str,
}

impl AvailableProfiles {
    /// Keeps the ACTIVE profiles of `summaries`; ids without a `<geo>.` prefix count for
    /// [`Self::has`] only.
    pub fn from_summaries(summaries: impl IntoIterator<Item = ProfileSummary>) -> Self {
        let mut out = Self::default();
        for s in summaries.into_iter().filter(|s| s.active) {
            if let Some((prefix, base)) = split_profile_id(&s.id) {
                let entry = out
                    .bases
                    .entry(base.to_owned())
                    .or_insert_with(|| BaseModel::new(base));
                entry.add(prefix, &s);
            }
            out.ids.insert(s.id);
        }
        for base in out.bases.values_mut() {
            base.prefixes.sort_by_key(|p| prefix_rank(p));
        }
        out
    }

    /// Whether the account can call this profile id (`us.anthropic.claude-opus-5-5`).
    pub fn has(&self, profile_id: &str) -> bool {
        self.ids.contains(profile_id)
    }

    /// The geography prefixes with an ACTIVE profile for a foundation-model id, best first
    /// (`global`, `us`, `eu`, … as in [`PROFILE_PREFIXES`]).
    pub fn prefixes_for(&self, base_id: &str) -> Vec<&str> {
        self.bases
            .get(base_id)
            .map(|b| b.prefixes.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether any profile of this foundation model is callable.
    pub fn serves(&self, base_id: &str) -> bool {
        self.bases.contains_key(base_id)
    }

    /// Number of ACTIVE profiles.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Claude models in the listing that `catalog` knows neither by Bedrock id nor by name.
    pub fn unlisted_claude<'a>(
        &'a self,
        catalog: &'a Catalog,
    ) -> impl Iterator<Item = DiscoveredModel<'a>> + 'a {
        self.bases.iter().filter_map(move |(base_id, b)| {
            let id = b.anthropic_id.as_deref()?;
            let known = catalog.by_bedrock_id(base_id).is_some() || catalog.get(id).is_some();
            (!known).then_some(DiscoveredModel {
                id,
                display_name: &b.display_name,
                created_at: &b.created_at,
                base_id,
            })
        })
    }

    /// The discovered model named `id`, when [`Self::unlisted_claude`] lists it.
    pub fn unlisted_claude_named<'a>(
        &'a self,
        catalog: &'a Catalog,
        id: &str,
    ) -> Option<DiscoveredModel<'a>> {
        self.unlisted_claude(catalog).find(|m| m.id == id)
    }
}

impl BaseModel {
    fn new(base: &str) -> Self {
        let anthropic_id = base
            .strip_prefix("anthropic.")
            .filter(|id| id.starts_with("claude-") && !id.contains(':'))
            .map(str::to_owned);
        Self {
            prefixes: Vec::new(),
            display_name: String::new(),
            created_at: String::new(),
            anthropic_id,
        }
    }

    fn add(&mut self, prefix: &str, summary: &ProfileSummary) {
        if !self.prefixes.iter().any(|p| p == prefix) {
            self.prefixes.push(prefix.to_owned());
        }
        // The name of the best-ranked profile, so the result does not depend on listing order.
        let best = self
            .prefixes
            .iter()
            .all(|p| prefix_rank(prefix) <= prefix_rank(p));
        if best || self.display_name.is_empty() {
            self.display_name = display_name(&summary.name, self.anthropic_id.as_deref());
        }
        let created = summary.created_at.as_deref().unwrap_or(UNKNOWN_CREATED_AT);
        // RFC 3339 in UTC (`…Z`, as the SDK formats it) sorts as text: keep the earliest.
        if self.created_at.is_empty() || created < self.created_at.as_str() {
            self.created_at = created.to_owned();
        }
    }
}

/// `us.anthropic.claude-x` → (`us`, `anthropic.claude-x`). Any lower-case head counts as a
/// geography when a `provider.model` follows, so a geography added after this release still
/// works.
fn split_profile_id(id: &str) -> Option<(&str, &str)> {
    let (head, base) = id.split_once('.')?;
    let geo = !head.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (geo && base.contains('.')).then_some((head, base))
}

/// Position in [`PROFILE_PREFIXES`]; unknown geographies after the known ones.
fn prefix_rank(prefix: &str) -> usize {
    PROFILE_PREFIXES
        .iter()
        .position(|p| *p == prefix)
        .unwrap_or(PROFILE_PREFIXES.len())
}

/// `US Anthropic Claude Opus 6` → `Claude Opus 6`: the geography and provider words dropped.
fn display_name(profile_name: &str, anthropic_id: Option<&str>) -> String {
    let mut words: Vec<&str> = profile_name.split_whitespace().collect();
    if words
        .first()
        .is_some_and(|w| PROFILE_PREFIXES.contains(&w.to_ascii_lowercase().as_str()))
    {
        words.remove(0);
    }
    if words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("anthropic"))
    {
        words.remove(0);
    }
    match (words.is_empty(), anthropic_id) {
        (false, _) => words.join(" "),
        (true, Some(id)) => id.to_owned(),
        (true, None) => profile_name.to_owned(),
    }
}

/// The profile prefix for one model, or `None` for its bare id.
///
/// - `preferred` is `CHATRIX_INFERENCE_PROFILE` (`global`, `us`, …; `none` or empty: bare id).
/// - `catalog_prefixes` are the model's catalog profiles in order of preference; empty means the
///   catalog serves it in-region by bare id, which this keeps. For a model the catalog has never
///   seen, pass `[preferred]`.
/// - `available` is [`Discovery::snapshot`]; `None` keeps the catalog's rule: `preferred` when
///   listed, else with `global` the first listed prefix, else the bare id.
///
/// With a listing: `preferred` when the account has it. Only `global` falls back to another
/// geography (catalog order, then [`PROFILE_PREFIXES`] order); a specific geography is often a
/// data-residency choice, so without it the bare id is used. When the account lists no profile of
/// the model at all, the catalog's rule applies and Bedrock explains.
pub fn pick_prefix(
    preferred: &str,
    catalog_prefixes: &[String],
    available: Option<&AvailableProfiles>,
    base_id: &str,
) -> Option<String> {
    if preferred.is_empty() || preferred == "none" || catalog_prefixes.is_empty() {
        return None;
    }
    let listed = |p: &str| catalog_prefixes.iter().any(|c| c == p);
    let from_catalog = || {
        if listed(preferred) {
            Some(preferred.to_owned())
        } else if preferred == "global" {
            catalog_prefixes.first().cloned()
        } else {
            None
        }
    };
    let Some(available) = available else {
        return from_catalog();
    };
    let present = available.prefixes_for(base_id);
    if present.contains(&preferred) {
        return Some(preferred.to_owned());
    }
    if present.is_empty() {
        // The account lists no profile of this model: nothing better to offer.
        return from_catalog();
    }
    if preferred != "global" {
        // Listed in other geographies only: the bare id (in-region), as the catalog rule does for
        // a geography a model lacks.
        return None;
    }
    let in_catalog_order = catalog_prefixes
        .iter()
        .map(String::as_str)
        .find(|c| present.contains(c));
    in_catalog_order
        .or(present.first().copied())
        .map(str::to_owned)
}

/// The discovery handle in [`crate::state::AppState`]. Cheap to clone; clones share the snapshot.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    snapshot: RwLock<Option<Arc<AvailableProfiles>>>,
    /// A failure has been logged at WARN and no success has followed yet.
    failing: AtomicBool,
}

/// What one refresh did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    Updated,
    /// Failed; the first failure in a row (logged at WARN).
    FailedFirst,
    /// Failed again (logged at debug).
    FailedAgain,
}

impl Discovery {
    /// No discovery: [`Self::snapshot`] stays `None`.
    pub fn off() -> Self {
        Self::default()
    }

    /// Starts the refresh task (every `every`; zero means off). Outside a tokio runtime nothing is
    /// started and discovery stays off.
    pub fn start(bedrock: Bedrock, every: Duration) -> Self {
        let discovery = Self::off();
        if every.is_zero() {
            return discovery;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(refresh_loop(
                    Arc::downgrade(&discovery.shared),
                    bedrock,
                    every,
                ));
            }
            Err(_) => tracing::debug!("no tokio runtime: model discovery not started"),
        }
        discovery
    }

    /// The latest listing; `None` when discovery is off, not done yet, or has never succeeded.
    pub fn snapshot(&self) -> Option<Arc<AvailableProfiles>> {
        self.shared
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes one refresh's outcome: a listing replaces the snapshot; a failure keeps it.
    pub fn apply(&self, result: Result<Vec<ProfileSummary>, String>) -> Refreshed {
        let listing = result.and_then(|summaries| {
            let available = AvailableProfiles::from_summaries(summaries);
            if available.is_empty() {
                Err("the listing holds no ACTIVE system-defined inference profile".to_owned())
            } else {
                Ok(available)
            }
        });
        match listing {
            Ok(available) => {
                let profiles = available.len();
                if self.shared.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(profiles, "model discovery recovered");
                } else {
                    tracing::debug!(profiles, "model discovery refreshed");
                }
                *self
                    .shared
                    .snapshot
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(available));
                Refreshed::Updated
            }
            Err(error) if !self.shared.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(
                    %error,
                    "model discovery (bedrock:ListInferenceProfiles) failed; serving the catalog's model list and profile choice until it succeeds"
                );
                Refreshed::FailedFirst
            }
            Err(error) => {
                tracing::debug!(%error, "model discovery failed again");
                Refreshed::FailedAgain
            }
        }
    }
}

/// Refreshes until the [`Discovery`] is dropped (checked after each listing).
async fn refresh_loop(shared: Weak<Shared>, bedrock: Bedrock, every: Duration) {
    loop {
        let result = bedrock
            .list_inference_profiles()
            .await
            .map_err(|e| e.to_string());
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let outcome = Discovery { shared }.apply(result);
        let wait = match outcome {
            Refreshed::Updated => every,
            Refreshed::FailedFirst | Refreshed::FailedAgain => every.min(RETRY_AFTER_FAILURE),
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
