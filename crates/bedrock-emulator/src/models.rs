//! The models this Bedrock "has": each one's Bedrock id, inference-profile geographies, the
//! optional features it accepts and the betas it takes.
//!
//! Read from the gateway's model data file (`src/models.json`, embedded), so the demo serves the
//! models the gateway names; but with the emulator's own slim types, which read only the fields
//! below and ignore the rest (names, prices, rules). The emulator plays Bedrock, so it must not
//! share the gateway's catalog code: a bug there would be mirrored here instead of caught.
//! [`Catalog::parse`] takes another file of the same shape, for tests of models the data file
//! lacks (a launch-day model Bedrock already serves).

use std::collections::HashMap;

use anyhow::Context;
use serde::Deserialize;

/// The model data file, shared with the gateway (the one file both read).
const EMBEDDED: &str = include_str!("../../../src/models.json");

/// The geography prefixes of system-defined inference profiles (`us.anthropic…`).
pub(crate) const PROFILE_PREFIXES: [&str; 7] = ["global", "us", "eu", "apac", "jp", "au", "us-gov"];

/// The optional features a model accepts, as far as the emulator's validation asks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// An Anthropic model: Claude's request rules, signatures and errors apply.
    pub(crate) claude: bool,
    /// `cachePoint` blocks are accepted.
    pub(crate) caching: bool,
    /// `cachePoint.ttl = "1h"` is accepted.
    pub(crate) cache_ttl_1h: bool,
    /// `toolConfig` is accepted.
    pub(crate) tools: bool,
}

/// One model, as the data file describes it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ModelSpec {
    pub(crate) display_name: String,
    pub(crate) bedrock_id: String,
    /// Geography prefixes with an inference profile; a model with any is served only through them.
    #[serde(default)]
    pub(crate) profiles: Vec<String>,
    pub(crate) capabilities: Capabilities,
    /// `anthropic_beta` values the model accepts; others are refused.
    #[serde(default)]
    pub(crate) betas: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct CatalogFile {
    models: Vec<ModelSpec>,
}

/// The emulated Bedrock's models, by Bedrock id.
#[derive(Debug, Clone)]
pub struct Catalog {
    models: Vec<ModelSpec>,
    by_bedrock_id: HashMap<String, usize>,
}

impl Catalog {
    /// The models of the embedded data file.
    ///
    /// # Errors
    /// Only if the embedded file is malformed, which a unit test rules out.
    pub fn embedded() -> anyhow::Result<Self> {
        Self::parse(EMBEDDED).context("embedded model data (src/models.json)")
    }

    /// The models of a file shaped like `src/models.json` (only the fields above are read).
    ///
    /// # Errors
    /// Malformed JSON, or a model without one of the fields above.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: CatalogFile = serde_json::from_str(text)?;
        let by_bedrock_id = file
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| (m.bedrock_id.clone(), i))
            .collect();
        Ok(Self {
            models: file.models,
            by_bedrock_id,
        })
    }

    pub(crate) fn models(&self) -> &[ModelSpec] {
        &self.models
    }

    pub(crate) fn by_bedrock_id(&self, id: &str) -> Option<&ModelSpec> {
        self.by_bedrock_id.get(id).map(|&i| &self.models[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_file_parses_and_indexes_every_model_by_bedrock_id() {
        let catalog = Catalog::embedded().expect("parses");
        assert!(catalog.models().len() > 10);
        for model in catalog.models() {
            let found = catalog.by_bedrock_id(&model.bedrock_id).expect("indexed");
            assert_eq!(found.display_name, model.display_name);
            for geo in &model.profiles {
                assert!(PROFILE_PREFIXES.contains(&geo.as_str()), "{geo}");
            }
        }
        let opus5 = catalog
            .by_bedrock_id("anthropic.claude-opus-5")
            .expect("opus 5");
        assert!(opus5.capabilities.claude && opus5.capabilities.caching);
        assert!(opus5.profiles.iter().any(|p| p == "global"));
    }
}
