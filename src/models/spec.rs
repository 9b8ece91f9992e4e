//! The catalog's data types: one [`ModelSpec`] per model, as written in `src/models.json`.
//! Every field is documented for operators in `docs/models.md`.

use std::collections::HashMap;

use serde::Deserialize;

use super::rules::Rules;

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

/// A higher rate for the whole request once its prompt (uncached input, cache writes and cache
/// reads together) is longer than `above_input_tokens`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LongContextPrice {
    pub above_input_tokens: u64,
    pub price: Price,
}

/// The price a resolved model is billed at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    pub base: Price,
    pub long_context: Option<LongContextPrice>,
    /// Borrowed from another model (a model the catalog has never seen): an estimate.
    pub estimated: bool,
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
    /// Largest prompt, in tokens, where known.
    #[serde(default)]
    pub context_window: Option<u32>,
    /// Largest `max_tokens`, where known.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    pub capabilities: Capabilities,
    /// What the model refuses that older models accept, and what is sent instead.
    #[serde(default)]
    pub rules: Rules,
    /// Betas Bedrock accepts for this model; others are dropped.
    #[serde(default)]
    pub betas: Vec<String>,
    #[serde(default)]
    pub price: Option<Price>,
    #[serde(default)]
    pub long_context_price: Option<LongContextPrice>,
    #[serde(default)]
    pub regional_prices: HashMap<String, Price>,
    /// The account-wide Bedrock data-retention mode this model needs before Bedrock serves it
    /// (the Fable models): named to the client next to Bedrock's refusal, which does not say it.
    #[serde(default)]
    pub data_retention: Option<String>,
}

/// The model families whose newest member lends its rules and price to a launch-day model.
pub const FAMILIES: [&str; 5] = ["opus", "sonnet", "haiku", "fable", "mythos"];

impl ModelSpec {
    /// `opus`, `sonnet`, `haiku`, `fable` or `mythos` for a Claude model named that way.
    pub fn family(&self) -> Option<&'static str> {
        family_of(&self.id)
    }
}

/// The family word in a Claude model name (`claude-3-5-haiku-20241022` → `haiku`).
pub fn family_of(name: &str) -> Option<&'static str> {
    let rest = name.strip_prefix("claude-")?;
    FAMILIES
        .into_iter()
        .find(|f| rest.split('-').any(|word| word == *f))
}
