//! [`AppState`]: what every handler shares. Built once by `main` (and by tests) through
//! [`AppState::new`], the one construction path.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use moka::future::Cache;

use crate::app_profiles::AppProfiles;
use crate::auth::Keys;
use crate::bedrock::{Bedrock, Pool};
use crate::config::Config;
use crate::discovery::Discovery;
use crate::fetch::{FetchLimits, Fetcher};
use crate::ledger::Ledger;
use crate::models::Catalog;
use crate::native::learned::Knowledge;

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
    /// The first upstream's client: discovery, token counting, application profiles and the
    /// Bedrock pass-through routes use it.
    pub bedrock: Bedrock,
    /// Every upstream (`CHATRIX_UPSTREAMS`; one, `bedrock`, when unset): `/v1/messages` fails
    /// over across them ([`crate::bedrock::Pool::call`]).
    pub pool: Pool,
    /// The account's callable inference profiles, refreshed in the background.
    pub discovery: Discovery,
    pub keys: Arc<Keys>,
    /// Budgets, rate limits and usage rows (`crate::ledger`).
    pub ledger: Arc<Ledger>,
    pub fetcher: Fetcher,
    pub token_counts: TokenCounts,
    /// Which counter refused which bare model id outright (the model or region is not served,
    /// or access is denied): that counter is not asked about the model again for
    /// [`COUNT_REFUSALS_TTL`]. See `docs/token-counting.md`.
    pub count_refusals: Cache<(Counter, String), ()>,
    /// Betas and top-level fields Bedrock refused, per Bedrock model id: removed from that
    /// model's bodies for [`LEARNED_TTL`] ([`crate::native::learned`]).
    pub learned: Cache<String, Arc<Knowledge>>,
    /// The foundation model behind each application inference profile seen (`GetInferenceProfile`).
    pub app_profiles: AppProfiles,
}

/// The exact token counters, in the order they are asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// bedrock-runtime CountTokens.
    Runtime,
    /// bedrock-mantle's Anthropic `count_tokens`.
    Mantle,
}

/// Bedrock CountTokens answers, keyed by SHA-256 of the caller's key name, the bare model id and
/// the CountTokens body (per key, so one caller cannot time another's requests).
/// `Some(n)` is an exact count (bedrock-runtime's or bedrock-mantle's); `None` means every counter
/// refused that body for that model (unsupported model, validation, access), so the local estimate
/// is answered without asking again.
/// Transient failures are never stored. See `docs/token-counting.md`.
pub type TokenCounts = Cache<[u8; 32], Option<u64>>;

/// Distinct bodies remembered; an entry is 32 bytes of key and 16 of value.
const TOKEN_COUNTS_CAPACITY: u64 = 10_000;
/// A count never changes for the same body and model; the TTL bounds how long a refusal sticks.
const TOKEN_COUNTS_TTL: Duration = Duration::from_secs(10 * 60);
/// How long a model-level refusal is believed: support for a model changes with AWS launches,
/// not between requests, and asking costs a round trip on every count.
pub const COUNT_REFUSALS_TTL: Duration = Duration::from_secs(60 * 60);
/// Models remembered as refused, per counter; far more than the catalog holds.
const COUNT_REFUSALS_CAPACITY: u64 = 1_000;
/// How long a refused beta or field stays removed. Short enough that an AWS fix (a region that
/// gains a beta) reaches users within the hour, long enough that a refusal costs one retry an hour
/// per model and instance, not one per request.
pub const LEARNED_TTL: Duration = Duration::from_secs(60 * 60);

impl AppState {
    /// Also starts model discovery (a background task; see [`crate::discovery`]).
    ///
    /// # Errors
    /// When the model catalog or the URL fetcher cannot be set up.
    pub fn new(cfg: Config, bedrock: Bedrock) -> anyhow::Result<Self> {
        let pool = Pool::single(bedrock, &cfg.failover);
        Self::with_pool(cfg, pool)
    }

    /// As [`AppState::new`], over a pool of upstreams (`CHATRIX_UPSTREAMS`).
    ///
    /// # Errors
    /// When the model catalog or the URL fetcher cannot be set up.
    pub fn with_pool(cfg: Config, pool: Pool) -> anyhow::Result<Self> {
        let bedrock = pool.primary().clone();
        let catalog = match &cfg.models_file {
            Some(path) => Catalog::from_file(path).context("CHATRIX_MODELS_FILE")?,
            None => Catalog::embedded()?,
        }
        .with_unknown_models(cfg.unknown_models);
        let fetcher = Fetcher::new(FetchLimits {
            max_bytes: cfg.fetch_max_bytes,
            timeout: cfg.fetch_timeout,
            ..FetchLimits::default()
        })?;
        let discovery = Discovery::start(bedrock.clone(), cfg.discovery_interval);
        let ledger = Ledger::new(&cfg.ledger);
        let limits_possible =
            cfg.key_store.secret_id.is_some() || cfg.api_keys.iter().any(|k| k.limits.is_some());
        crate::ledger::announce(&ledger, limits_possible);
        Ok(Self(Arc::new(Shared {
            discovery,
            keys: Arc::new(Keys::from_config(&cfg)),
            ledger: Arc::new(ledger),
            catalog: Arc::new(catalog),
            cfg: Arc::new(cfg),
            bedrock,
            pool,
            fetcher,
            token_counts: Cache::builder()
                .max_capacity(TOKEN_COUNTS_CAPACITY)
                .time_to_live(TOKEN_COUNTS_TTL)
                .build(),
            count_refusals: Cache::builder()
                .max_capacity(COUNT_REFUSALS_CAPACITY)
                .time_to_live(COUNT_REFUSALS_TTL)
                .build(),
            learned: Cache::builder()
                .max_capacity(COUNT_REFUSALS_CAPACITY)
                .time_to_live(LEARNED_TTL)
                .build(),
            app_profiles: AppProfiles::default(),
        })))
    }
}
