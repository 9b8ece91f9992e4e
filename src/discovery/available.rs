//! One listing's ACTIVE system-defined inference profiles, indexed by foundation model: what
//! [`super::pick_prefix`] and the model list ask. Pure; built by [`super::Discovery`].

use std::collections::{BTreeMap, HashSet};

use crate::models::{Catalog, PROFILE_PREFIXES};

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

    /// Every ACTIVE profile id, in no particular order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
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
