//! [`AppState`]: what every handler shares. Built once by `main` (and by tests) through
//! [`AppState::new`], the one construction path.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::Keys;
use crate::bedrock::Bedrock;
use crate::config::Config;
use crate::fetch::{FetchLimits, Fetcher};
use crate::models::Catalog;

#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<Config>,
    pub catalog: Arc<Catalog>,
    pub bedrock: Bedrock,
    pub keys: Arc<Keys>,
    pub fetcher: Fetcher,
}

impl AppState {
    /// # Errors
    /// When the model catalog or the URL fetcher cannot be set up.
    pub fn new(cfg: Config, bedrock: Bedrock) -> anyhow::Result<Self> {
        let catalog = match &cfg.models_file {
            Some(path) => Catalog::from_file(path).context("CHATRIX_MODELS_FILE")?,
            None => Catalog::embedded()?,
        };
        let fetcher = Fetcher::new(FetchLimits {
            max_bytes: cfg.fetch_max_bytes,
            timeout: cfg.fetch_timeout,
            ..FetchLimits::default()
        })?;
        Ok(Self {
            keys: Arc::new(Keys::from_config(&cfg)),
            catalog: Arc::new(catalog),
            cfg: Arc::new(cfg),
            bedrock,
            fetcher,
        })
    }
}
