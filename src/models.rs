//! The model catalog: client model names → Bedrock ids, capabilities, allowed betas and prices.
//!
//! One data file (`src/models.json`) is embedded in the binary; `CHATRIX_MODELS_FILE` replaces it.
//! Resolution rules:
//! - a catalog id or alias (`claude-sonnet-4-5`) maps to the model's inference profile for the
//!   configured geography (`global.anthropic…`), falling back as [`Catalog::resolve`] documents;
//! - a raw Bedrock id, profile id or ARN passes through unchanged, and still picks up the catalog
//!   entry (capabilities and price) when the base id is known;
//! - anything else is an unknown model (404, as Anthropic answers).
//!
//! [`list`] presents the catalog as the Models API (`GET /v1/models`) does.

pub mod list;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use serde::Deserialize;

use crate::error::ApiError;

const EMBEDDED: &str = include_str!("models.json");

/// Geography prefixes Bedrock uses for cross-Region inference profiles.
pub const PROFILE_PREFIXES: [&str; 7] = ["global", "us", "eu", "apac", "jp", "au", "us-gov"];

/// Which inference profile a catalog id is sent to (`CHATRIX_INFERENCE_PROFILE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceProfile {
    Global,
    Us,
    Eu,
    Apac,
    Jp,
    Au,
    /// Bare model ids (provisioned throughput, or models served in-region).
    None,
}

impl InferenceProfile {
    pub fn prefix(self) -> Option<&'static str> {
        match self {
            Self::Global => Some("global"),
            Self::Us => Some("us"),
            Self::Eu => Some("eu"),
            Self::Apac => Some("apac"),
            Self::Jp => Some("jp"),
            Self::Au => Some("au"),
            Self::None => None,
        }
    }
}

impl FromStr for InferenceProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "global" => Ok(Self::Global),
            "us" => Ok(Self::Us),
            "eu" => Ok(Self::Eu),
            "apac" => Ok(Self::Apac),
            "jp" => Ok(Self::Jp),
            "au" => Ok(Self::Au),
            "none" => Ok(Self::None),
            other => Err(format!(
                "`{other}` is not one of global, us, eu, apac, jp, au, none"
            )),
        }
    }
}

impl fmt::Display for InferenceProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix().unwrap_or("none"))
    }
}

/// What a model accepts; drives request conversion.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Anthropic model: `thinking`, `top_k`, `anthropic_beta` go in `additionalModelRequestFields`.
    pub claude: bool,
    /// `thinking: enabled` is accepted.
    pub thinking: bool,
    /// `thinking: adaptive` is accepted (4.6 and later).
    pub adaptive_thinking: bool,
    /// `cachePoint` blocks are accepted.
    pub caching: bool,
    /// `cachePoint.ttl = "1h"` is accepted.
    pub cache_ttl_1h: bool,
    /// Bedrock CountTokens serves this model (bare id).
    pub count_tokens: bool,
    /// The model refuses `temperature` and `top_p` together.
    pub temperature_top_p_exclusive: bool,
    /// The model accepts `toolConfig`.
    pub tools: bool,
}

impl Capabilities {
    /// Capabilities assumed for a Bedrock id the catalog does not know: nothing optional.
    pub fn unknown(bedrock_id: &str) -> Self {
        let claude = bedrock_id.contains("anthropic.claude");
        Self {
            claude,
            thinking: false,
            adaptive_thinking: false,
            caching: false,
            cache_ttl_1h: false,
            count_tokens: false,
            temperature_top_p_exclusive: claude,
            tools: true,
        }
    }
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    #[serde(default)]
    pub cache_write: Option<f64>,
    #[serde(default)]
    pub cache_read: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub display_name: String,
    pub created_at: String,
    pub bedrock_id: String,
    /// Geography prefixes with an inference profile for this model, in order of preference.
    #[serde(default)]
    pub profiles: Vec<String>,
    pub capabilities: Capabilities,
    /// Betas Bedrock accepts for this model; others are dropped.
    #[serde(default)]
    pub betas: Vec<String>,
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub regional_prices: HashMap<String, Price>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default, rename = "_comment")]
    _comment: Option<String>,
    models: Vec<ModelSpec>,
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
    pub spec: Option<&'a ModelSpec>,
    pub capabilities: Capabilities,
    pub price: Option<Price>,
}

impl ResolvedModel<'_> {
    pub fn allows_beta(&self, beta: &str) -> bool {
        self.spec.is_some_and(|s| s.betas.iter().any(|b| b == beta))
    }
}

#[derive(Debug)]
pub struct Catalog {
    models: Vec<ModelSpec>,
    by_name: HashMap<String, usize>,
    by_bedrock_id: HashMap<String, usize>,
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
        for (i, m) in file.models.iter().enumerate() {
            for name in std::iter::once(&m.id).chain(&m.aliases) {
                if by_name.insert(name.clone(), i).is_some() {
                    anyhow::bail!("model name `{name}` appears twice");
                }
            }
            by_bedrock_id.insert(m.bedrock_id.clone(), i);
        }
        Ok(Self {
            models: file.models,
            by_name,
            by_bedrock_id,
        })
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

    /// Resolves a client's `model` string.
    ///
    /// Catalog names go to `<profile>.<bedrock_id>`. With `global` preferred and no global profile,
    /// the model's first listed profile is used; with a geography preferred that the model lacks,
    /// or with `none`, the bare id is used (Bedrock then explains what it needs). Models with no
    /// profiles at all are served in-region by their bare id.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for a name that is neither in the catalog nor a Bedrock id.
    pub fn resolve(
        &self,
        model: &str,
        preferred: InferenceProfile,
    ) -> Result<ResolvedModel<'_>, ApiError> {
        let name = model.trim();
        if let Some(spec) = self.get(name) {
            let (bedrock_model_id, region) = profile_id(spec, preferred);
            return Ok(self.resolved(model, bedrock_model_id, Some(spec), region.as_deref()));
        }
        if looks_like_bedrock_id(name) {
            let base = base_model_id(name);
            let spec = base.as_deref().and_then(|b| self.by_bedrock_id(b));
            let region = base
                .as_deref()
                .and_then(|b| name.strip_suffix(b))
                .and_then(profile_prefix_of);
            return Ok(self.resolved(model, name.to_owned(), spec, region));
        }
        Err(ApiError::NotFound(format!("model: {name}")))
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
            region
                .and_then(|r| s.regional_prices.get(r))
                .copied()
                .or(s.price)
        });
        ResolvedModel {
            client_model: client_model.to_owned(),
            base_model_id: base_model_id(&bedrock_model_id)
                .or_else(|| spec.map(|s| s.bedrock_id.clone())),
            bedrock_model_id,
            spec,
            capabilities,
            price,
        }
    }
}

fn profile_id(spec: &ModelSpec, preferred: InferenceProfile) -> (String, Option<String>) {
    let has = |p: &str| spec.profiles.iter().any(|x| x == p);
    let chosen = match preferred.prefix() {
        _ if spec.profiles.is_empty() => None,
        Some("global") if has("global") => Some("global".to_owned()),
        Some("global") => spec.profiles.first().cloned(),
        Some(p) if has(p) => Some(p.to_owned()),
        Some(_) | None => None,
    };
    match chosen {
        Some(p) => (format!("{p}.{}", spec.bedrock_id), Some(p)),
        None => (spec.bedrock_id.clone(), None),
    }
}

/// `provider.model…`, `<geo>.provider.model…` or an ARN.
pub fn looks_like_bedrock_id(name: &str) -> bool {
    if name.starts_with("arn:") {
        return true;
    }
    let mut parts = name.splitn(2, '.');
    let (Some(head), Some(rest)) = (parts.next(), parts.next()) else {
        return false;
    };
    !head.is_empty()
        && !rest.is_empty()
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c))
}

/// The geography of a profile id's leading part (`…/eu.` or `eu.` → `eu`).
fn profile_prefix_of(head: &str) -> Option<&str> {
    let head = head.rsplit('/').next()?.strip_suffix('.')?;
    PROFILE_PREFIXES.contains(&head).then_some(head)
}

fn profile_prefix(id: &str) -> Option<&str> {
    let (head, _) = id.split_once('.')?;
    PROFILE_PREFIXES.contains(&head).then_some(head)
}

/// The foundation-model id inside a profile id or ARN (`us.anthropic.x` → `anthropic.x`).
pub fn base_model_id(id: &str) -> Option<String> {
    let tail = match id.strip_prefix("arn:") {
        Some(_) => {
            // arn:partition:service:region:account:resource — the resource may itself hold `:`.
            let resource = id.splitn(6, ':').nth(5)?;
            let (kind, rest) = resource.split_once('/')?;
            if kind == "application-inference-profile" {
                return None;
            }
            rest
        }
        None => id,
    };
    let bare = match profile_prefix(tail) {
        Some(p) => &tail[p.len() + 1..],
        None => tail,
    };
    bare.contains('.').then(|| bare.to_owned())
}

#[cfg(test)]
mod tests {
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
        assert_eq!(global.price.map(|p| p.input), Some(3.0));
        assert_eq!(eu.price.map(|p| p.input), Some(3.3));
    }

    #[test]
    fn a_profile_arn_gets_its_geographys_price() {
        let c = catalog();
        let arn = "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-sonnet-4-5-20250929-v1:0";
        let r = c.resolve(arn, InferenceProfile::Global).expect("resolves");
        assert_eq!(r.price.map(|p| p.input), Some(3.3));
    }

    #[test]
    fn unknown_names_are_not_found() {
        let c = catalog();
        for name in ["gpt-4o", "claude-imaginary-9", "", "Anthropic.Claude"] {
            let err = c.resolve(name, InferenceProfile::Global).expect_err(name);
            assert_eq!(err.kind(), "not_found_error");
        }
    }

    #[test]
    fn profile_setting_parses_and_rejects_unknown_values() {
        assert_eq!("EU".parse::<InferenceProfile>(), Ok(InferenceProfile::Eu));
        assert!("mars".parse::<InferenceProfile>().is_err());
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let dup = r#"{"models":[
          {"id":"a","display_name":"A","created_at":"x","bedrock_id":"p.a","capabilities":{"claude":false,"thinking":false,"adaptive_thinking":false,"caching":false,"cache_ttl_1h":false,"count_tokens":false,"temperature_top_p_exclusive":false,"tools":true}},
          {"id":"b","aliases":["a"],"display_name":"B","created_at":"x","bedrock_id":"p.b","capabilities":{"claude":false,"thinking":false,"adaptive_thinking":false,"caching":false,"cache_ttl_1h":false,"count_tokens":false,"temperature_top_p_exclusive":false,"tools":true}}]}"#;
        assert!(Catalog::parse(dup).is_err());
    }
}
