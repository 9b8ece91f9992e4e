//! [`AppState`]: what every handler shares. Built once by `main` (and by tests) through
//! [`AppState::new`], the one construction path.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use moka::future::Cache;

use crate::auth::Keys;
use crate::bedrock::Bedrock;
use crate::config::Config;
use crate::discovery::Discovery;
use crate::fetch::{FetchLimits, Fetcher};
use crate::models::Catalog;

/// Cheap to clone (one reference count): axum hands every handler and middleware its own copy.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub cfg: Arc<Config>,
    pub catalog: Arc<Catalog>,
    pub bedrock: Bedrock,
    /// The account's callable inference profiles, refreshed in the background.
    pub discovery: Discovery,
    pub keys: Arc<Keys>,
    pub fetcher: Fetcher,
    pub token_counts: TokenCounts,
    /// Bare model ids for which Bedrock refused CountTokens outright (the model or region does
    /// not support it, or access is denied): answered by the estimate without asking again.
    pub count_refusals: Cache<String, ()>,
}

/// Bedrock CountTokens answers, keyed by SHA-256 of the caller's key name, the bare model id and
/// the CountTokens body (per key, so one caller cannot time another's requests).
/// `Some(n)` is Bedrock's count; `None` means Bedrock refused to count that body for that model
/// (unsupported model, validation, access), so the local estimate is answered without asking again.
/// Transient failures are never stored. See `docs/token-counting.md`.
pub type TokenCounts = Cache<[u8; 32], Option<u64>>;

/// Distinct bodies remembered; an entry is 32 bytes of key and 16 of value.
const TOKEN_COUNTS_CAPACITY: u64 = 10_000;
/// A count never changes for the same body and model; the TTL bounds how long a refusal sticks.
const TOKEN_COUNTS_TTL: Duration = Duration::from_secs(10 * 60);

impl AppState {
    /// Also starts model discovery (a background task; see [`crate::discovery`]).
    ///
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
        let discovery = Discovery::start(bedrock.clone(), cfg.discovery_interval);
        Ok(Self(Arc::new(Shared {
            discovery,
            keys: Arc::new(Keys::from_config(&cfg)),
            catalog: Arc::new(catalog),
            cfg: Arc::new(cfg),
            bedrock,
            fetcher,
            token_counts: Cache::builder()
                .max_capacity(TOKEN_COUNTS_CAPACITY)
                .time_to_live(TOKEN_COUNTS_TTL)
                .build(),
            count_refusals: Cache::builder()
                .max_capacity(1_000)
                .time_to_live(TOKEN_COUNTS_TTL)
                .build(),
        })))
    }
}
