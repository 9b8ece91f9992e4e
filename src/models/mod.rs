//! The model catalog: client model names → Bedrock ids, capabilities, rules, allowed betas and
//! prices.
//!
//! One data file (`src/models.json`) is embedded in the binary; `CHATRIX_MODELS_FILE` replaces it.
//! Resolution rules ([`Catalog::resolve`]):
//! - a catalog id or alias (`claude-sonnet-4-5`) maps to the model's inference profile for the
//!   configured geography (`global.anthropic…`);
//! - a raw Bedrock id, profile id or ARN passes through unchanged, and still picks up the catalog
//!   entry (capabilities, rules and price) when the base id is known;
//! - a `claude-*` name the catalog has never seen (a model launched after this build) is derived by
//!   rule: `<profile>.anthropic.<name>`, with the rules and price of its family's newest known
//!   model, the price marked as an estimate (`CHATRIX_UNKNOWN_MODELS=reject` turns this off);
//! - anything else is an unknown model (404, as Anthropic answers).
//!
//! [`list`] presents the catalog as the Models API (`GET /v1/models`) does; [`rules`] holds the
//! per-model request rules. Resolution logs one WARN per derived model per process, nothing else.

mod ids;
pub mod list;
pub mod rules;
mod spec;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use anyhow::Context;
use serde::Deserialize;

use crate::discovery::{pick_prefix, AvailableProfiles};
use crate::error::ApiError;

use ids::profile_prefix_of;
pub use ids::{base_model_id, looks_like_bedrock_id, InferenceProfile, PROFILE_PREFIXES};
pub use rules::Rules;
pub use spec::{family_of, Capabilities, LongContextPrice, ModelPrice, ModelSpec, Price, FAMILIES};

const EMBEDDED: &str = include_str!("../models.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default, rename = "_comment")]
    _comment: Option<String>,
    models: Vec<ModelSpec>,
}

/// What to do with a `claude-*` name the catalog does not know (`CHATRIX_UNKNOWN_MODELS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownModels {
    /// Serve it by the naming rule, priced as its family's newest model (an estimate).
    Derive,
    /// 404, as for any unknown name.
    Reject,
}

impl FromStr for UnknownModels {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "derive" => Ok(Self::Derive),
            "reject" => Ok(Self::Reject),
            other => Err(format!("`{other}` is not one of derive, reject")),
        }
    }
}

/// A client's model string resolved for one request.
#[derive(Debug, Clone)]
pub struct ResolvedModel<'a> {
    /// What the client sent; echoed back in responses.
    pub client_model: String,
    /// What goes into the Bedrock `modelId`.
    pub bedrock_model_id: String,
    /// Bare foundation-model id for CountTokens (profile prefix removed), when there is one.
    pub base_model_id: Option<String>,
    /// The catalog entry; for a derived model, the family's newest model whose data it borrows.
    pub spec: Option<&'a ModelSpec>,
    /// Resolved by the launch-day rule rather than found in the catalog.
    pub derived: bool,
    pub capabilities: Capabilities,
    pub rules: Rules,
    pub price: Option<ModelPrice>,
}

impl ResolvedModel<'_> {
    pub fn allows_beta(&self, beta: &str) -> bool {
        self.spec.is_some_and(|s| s.betas.iter().any(|b| b == beta))
    }
}

/// Derived names logged so far, bounded so that random names cannot grow memory.
const MAX_WARNED: usize = 1_000;

#[derive(Debug)]
pub struct Catalog {
    models: Vec<ModelSpec>,
    by_name: HashMap<String, usize>,
    by_bedrock_id: HashMap<String, usize>,
    /// The newest Claude model of each family, and of all (`None`): the templates for derivation.
    newest: HashMap<Option<&'static str>, usize>,
    warned: Mutex<HashSet<String>>,
    unknown: UnknownModels,
}

impl Catalog {
    /// The catalog compiled into the binary.
    ///
    /// # Errors
    /// Only if the embedded file is malformed, which a unit test rules out.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::parse(EMBEDDED).context("embedded model catalog")
    }

    /// # Errors
    /// When the file cannot be read or is not a valid catalog.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// # Errors
    /// Malformed JSON, or two entries claiming the same name.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: CatalogFile = serde_json::from_str(text)?;
        let mut by_name = HashMap::new();
        let mut by_bedrock_id = HashMap::new();
        let mut newest: HashMap<Option<&'static str>, usize> = HashMap::new();
        for (i, m) in file.models.iter().enumerate() {
            for name in std::iter::once(&m.id).chain(&m.aliases) {
                if by_name.insert(name.clone(), i).is_some() {
                    anyhow::bail!("model name `{name}` appears twice");
                }
            }
            by_bedrock_id.insert(m.bedrock_id.clone(), i);
            if m.capabilities.claude {
                for key in [m.family(), None] {
                    let slot = newest.entry(key).or_insert(i);
                    if file.models[*slot].created_at < m.created_at {
                        *slot = i;
                    }
                }
            }
        }
        Ok(Self {
            models: file.models,
            by_name,
            by_bedrock_id,
            newest,
            warned: Mutex::new(HashSet::new()),
            unknown: UnknownModels::Derive,
        })
    }

    /// Sets what happens to `claude-*` names the catalog lacks (default: derive).
    #[must_use]
    pub fn with_unknown_models(mut self, unknown: UnknownModels) -> Self {
        self.unknown = unknown;
        self
    }

    pub fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    pub fn get(&self, name: &str) -> Option<&ModelSpec> {
        self.by_name.get(name).map(|&i| &self.models[i])
    }

    pub fn by_bedrock_id(&self, id: &str) -> Option<&ModelSpec> {
        self.by_bedrock_id.get(id).map(|&i| &self.models[i])
    }

    /// The newest known Claude model of `name`'s family (or of all, for a name without one).
    pub fn template_for(&self, name: &str) -> Option<&ModelSpec> {
        let family = family_of(name);
        self.newest
            .get(&family)
            .or_else(|| self.newest.get(&None))
            .map(|&i| &self.models[i])
    }

    /// Resolves a client's `model` string.
    ///
    /// Catalog names go to `<profile>.<bedrock_id>`. With `global` preferred and no global profile,
    /// the model's first listed profile is used; with a geography preferred that the model lacks,
    /// or with `none`, the bare id is used (Bedrock then explains what it needs). Models with no
    /// profiles at all are served in-region by their bare id. A `claude-*` name the catalog lacks
    /// becomes `<preferred profile>.anthropic.<name>` (see the module docs).
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for a name that is neither in the catalog, nor derivable, nor a
    /// Bedrock id.
    pub fn resolve(
        &self,
        model: &str,
        preferred: InferenceProfile,
    ) -> Result<ResolvedModel<'_>, ApiError> {
        self.resolve_with(model, preferred, None)
    }

    /// [`Catalog::resolve`], choosing each model's profile from what the account can call
    /// (`available`, from [`crate::discovery`]): the preferred geography when listed, otherwise
    /// the best listed one (see [`crate::discovery::pick_prefix`]).
    ///
    /// # Errors
    /// As [`Catalog::resolve`].
    pub fn resolve_with(
        &self,
        model: &str,
        preferred: InferenceProfile,
        available: Option<&AvailableProfiles>,
    ) -> Result<ResolvedModel<'_>, ApiError> {
        let name = model.trim();
        if let Some(spec) = self.get(name) {
            let (bedrock_model_id, region) = profile_id(spec, preferred, available);
            return Ok(self.resolved(model, bedrock_model_id, Some(spec), region.as_deref()));
        }
        let derive = self.unknown == UnknownModels::Derive;
        if looks_like_bedrock_id(name) {
            let base = base_model_id(name);
            let region = base
                .as_deref()
                .and_then(|b| name.strip_suffix(b))
                .and_then(profile_prefix_of);
            if let Some(spec) = base.as_deref().and_then(|b| self.by_bedrock_id(b)) {
                return Ok(self.resolved(model, name.to_owned(), Some(spec), region));
            }
            let derived_name = base
                .as_deref()
                .and_then(|b| b.strip_prefix("anthropic."))
                .filter(|n| derive && is_claude_name(n));
            return Ok(match derived_name {
                Some(n) => self.derived(model, n, name.to_owned()),
                None => self.resolved(model, name.to_owned(), None, region),
            });
        }
        if derive && is_claude_name(name) {
            let base = format!("anthropic.{name}");
            let wanted = [preferred.to_string()];
            let id = match pick_prefix(&wanted[0], &wanted, available, &base) {
                Some(p) => format!("{p}.{base}"),
                None => base,
            };
            return Ok(self.derived(model, name, id));
        }
        Err(ApiError::NotFound(format!("model: {name}")))
    }

    /// An application inference profile `arn` whose foundation model is `base` (learnt from
    /// `GetInferenceProfile`): called as `arn`, with `base`'s catalog entry (capabilities, rules,
    /// betas, price). A `claude-*` model the catalog lacks is derived as a launch-day model; any
    /// other unknown model gets the capabilities of an unknown id.
    pub fn resolve_backed(&self, arn: &str, base: &str) -> ResolvedModel<'_> {
        if let Some(spec) = self.by_bedrock_id(base) {
            let mut resolved = self.resolved(arn, arn.to_owned(), Some(spec), None);
            resolved.base_model_id = Some(base.to_owned());
            return resolved;
        }
        let derive = self.unknown == UnknownModels::Derive;
        match base
            .strip_prefix("anthropic.")
            .filter(|n| derive && is_claude_name(n))
        {
            Some(name) => self.derived(arn, name, arn.to_owned()),
            None => {
                let mut resolved = self.resolved(arn, arn.to_owned(), None, None);
                resolved.capabilities = Capabilities::unknown(base);
                resolved.base_model_id = Some(base.to_owned());
                resolved
            }
        }
    }

    fn resolved<'a>(
        &'a self,
        client_model: &str,
        bedrock_model_id: String,
        spec: Option<&'a ModelSpec>,
        region: Option<&str>,
    ) -> ResolvedModel<'a> {
        let capabilities = spec.map_or_else(
            || Capabilities::unknown(&bedrock_model_id),
            |s| s.capabilities,
        );
        let price = spec.and_then(|s| {
            let base = region
                .and_then(|r| s.regional_prices.get(r))
                .copied()
                .or(s.price)?;
            Some(ModelPrice {
                base,
                long_context: s.long_context_price,
                estimated: false,
            })
        });
        ResolvedModel {
            client_model: client_model.to_owned(),
            base_model_id: base_model_id(&bedrock_model_id)
                .or_else(|| spec.map(|s| s.bedrock_id.clone())),
            bedrock_model_id,
            spec,
            derived: false,
            capabilities,
            rules: spec.map(|s| s.rules).unwrap_or_default(),
            price,
        }
    }

    /// A launch-day model: `name` (`claude-opus-6`) served as `bedrock_model_id`, borrowing the
    /// capabilities, rules, betas and (estimated) price of its family's newest known model.
    fn derived<'a>(
        &'a self,
        client_model: &str,
        name: &str,
        bedrock_model_id: String,
    ) -> ResolvedModel<'a> {
        let template = self.template_for(name);
        self.warn_once(name, template.map(|t| t.id.as_str()));
        let mut resolved = self.resolved(client_model, bedrock_model_id, template, None);
        resolved.base_model_id = Some(format!("anthropic.{name}"));
        resolved.derived = true;
        if let Some(price) = &mut resolved.price {
            price.estimated = true;
        }
        resolved
    }

    fn warn_once(&self, name: &str, template: Option<&str>) {
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        if warned.len() < MAX_WARNED && warned.insert(name.to_owned()) {
            tracing::warn!(
                model = name,
                priced_as = template,
                "model not in the catalog: served by the naming rule, cost is an estimate"
            );
        }
    }
}

/// `claude-` followed by lower-case words of letters and digits (`claude-opus-6`,
/// `claude-sonnet-6-20270101`): what Anthropic's ids look like, so nothing else is sent upstream.
fn is_claude_name(name: &str) -> bool {
    name.len() <= 64
        && name.strip_prefix("claude-").is_some_and(|rest| {
            rest.split('-').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
        })
}

fn profile_id(
    spec: &ModelSpec,
    preferred: InferenceProfile,
    available: Option<&AvailableProfiles>,
) -> (String, Option<String>) {
    let chosen = pick_prefix(
        &preferred.to_string(),
        &spec.profiles,
        available,
        &spec.bedrock_id,
    );
    match chosen {
        Some(p) => (format!("{p}.{}", spec.bedrock_id), Some(p)),
        None => (spec.bedrock_id.clone(), None),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
