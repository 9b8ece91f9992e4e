//! The upstream pool: one [`Bedrock`] client per `CHATRIX_UPSTREAMS` entry, each with its own
//! Region, optional endpoint, and optional assumed role (aws-config's own
//! [`AssumeRoleProvider`], which refreshes the role's credentials itself), plus the state failover
//! keeps between requests: cooldowns ([`super::breaker`]), sticky sessions (moka, bounded; losing
//! them costs cache hits, never correctness) and per-upstream counters.
//!
//! Unset, the pool is one client from the standard chain, exactly as before. The failover loop
//! that uses all this is [`super::failover`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_bedrockruntime::config::{Credentials, Region};
use moka::future::Cache;

use super::breaker::{Breaker, Cooldowns};
use super::{clients, mantle, tune, Bedrock};
use crate::config::{FailoverConfig, UpstreamSpec};

/// Sessions remembered at most (an entry is a session id and two indexes).
const STICKY_CAPACITY: u64 = 100_000;
/// Breakers kept for (upstream, model) pairs that failed; closed ones are dropped.
const MAX_BREAKERS: usize = 10_000;

/// One entry of the pool.
#[derive(Debug)]
pub struct Upstream {
    /// `us-west-2`, or `us-west-2@123456789012` for an assumed role.
    pub label: String,
    pub region: String,
    pub client: Bedrock,
    pub counters: Counters,
}

/// Attempts per upstream and how they ended, for the metrics export to read.
#[derive(Debug, Default)]
pub struct Counters {
    pub attempts: AtomicU64,
    pub served: AtomicU64,
    pub throttled: AtomicU64,
    pub failed: AtomicU64,
}

impl Counters {
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Where a session was served last: an upstream and an index into the request's model ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sticky {
    pub upstream: usize,
    pub profile: usize,
}

/// Cheap to clone; shared by every request.
#[derive(Debug, Clone)]
pub struct Pool(pub(super) Arc<Inner>);

#[derive(Debug)]
pub(super) struct Inner {
    pub(super) upstreams: Vec<Upstream>,
    /// Keyed by upstream index and Bedrock model id: quotas are per Region, account and model.
    pub(super) breakers: Mutex<HashMap<(usize, String), Breaker>>,
    /// `None` when `CHATRIX_STICKY_SECS=0`.
    pub(super) sticky: Option<Cache<String, Sticky>>,
    pub(super) budget: Duration,
    pub(super) cooldowns: Cooldowns,
}

impl Pool {
    /// Today's single client: what `CHATRIX_UPSTREAMS` unset means.
    pub fn single(client: Bedrock, cfg: &FailoverConfig) -> Self {
        let region = client.region().unwrap_or("default").to_owned();
        let upstream = Upstream {
            label: region.clone(),
            region,
            client,
            counters: Counters::default(),
        };
        Self::of(vec![upstream], cfg)
    }

    /// The pool `cfg` asks for, on the standard AWS chain (`Bedrock::from_env` when unset).
    pub async fn from_env(cfg: &FailoverConfig) -> Self {
        if cfg.upstreams.is_empty() {
            return Self::single(Bedrock::from_env().await, cfg);
        }
        let base = tune(aws_config::defaults(BehaviorVersion::latest()))
            .load()
            .await;
        Self::connect(cfg, &base).await
    }

    /// One client per entry of `cfg.upstreams`, each from `base` (its credentials, timeouts and
    /// retry settings) with the entry's Region, endpoint and role.
    pub async fn connect(cfg: &FailoverConfig, base: &SdkConfig) -> Self {
        let mut upstreams = Vec::with_capacity(cfg.upstreams.len());
        for spec in &cfg.upstreams {
            upstreams.push(Upstream {
                label: spec.label(),
                region: spec.region.clone(),
                client: Bedrock::for_upstream(spec, base).await,
                counters: Counters::default(),
            });
        }
        Self::of(upstreams, cfg)
    }

    /// A base configuration with static dummy credentials, for pools of emulators (tests).
    pub async fn emulator_base() -> SdkConfig {
        let credentials = Credentials::new("EMULATOR", "EMULATOR", None, None, "chatrix-emulator");
        tune(aws_config::defaults(BehaviorVersion::latest()))
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await
    }

    fn of(upstreams: Vec<Upstream>, cfg: &FailoverConfig) -> Self {
        let sticky = (!cfg.sticky_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(STICKY_CAPACITY)
                .time_to_idle(cfg.sticky_ttl)
                .build()
        });
        Self(Arc::new(Inner {
            upstreams,
            breakers: Mutex::new(HashMap::new()),
            sticky,
            budget: cfg.budget,
            cooldowns: Cooldowns {
                base: cfg.cooldown,
                max: cfg.cooldown_max,
            },
        }))
    }

    /// The first upstream: discovery, count_tokens, application profiles and the Bedrock
    /// pass-through routes use it alone.
    pub fn primary(&self) -> &Bedrock {
        &self.0.upstreams[0].client
    }

    pub fn upstreams(&self) -> &[Upstream] {
        &self.0.upstreams
    }

    /// Where `session` was served last, if it is remembered.
    pub async fn sticky(&self, session: &str) -> Option<Sticky> {
        self.0.sticky.as_ref()?.get(session).await
    }

    pub(super) async fn remember(&self, session: Option<&str>, at: Sticky) {
        if let (Some(cache), Some(session)) = (&self.0.sticky, session) {
            // Re-inserting refreshes the idle timer: the session stays while it is active.
            cache.insert(session.to_owned(), at).await;
        }
    }

    /// Runs `f` on the breaker of `upstream` for `model`; closed breakers are not stored.
    pub(super) fn breaker<R>(
        &self,
        upstream: usize,
        model: &str,
        f: impl FnOnce(&mut Breaker) -> R,
    ) -> R {
        let mut map = self
            .0
            .breakers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let key = (upstream, model.to_owned());
        let mut breaker = map.get(&key).copied().unwrap_or_default();
        let out = f(&mut breaker);
        if breaker == Breaker::default() {
            map.remove(&key);
        } else {
            if map.len() >= MAX_BREAKERS {
                let now = tokio::time::Instant::now();
                map.retain(|_, b| matches!(b.status(now), super::breaker::Status::Cooling(_)));
            }
            map.insert(key, breaker);
        }
        out
    }
}

impl Bedrock {
    /// The client for one `CHATRIX_UPSTREAMS` entry.
    async fn for_upstream(spec: &UpstreamSpec, base: &SdkConfig) -> Self {
        let region = Region::new(spec.region.clone());
        let mut builder = base.to_builder();
        builder.set_region(Some(region.clone()));
        if let Some(url) = &spec.endpoint {
            builder.set_endpoint_url(Some(url.clone()));
        }
        if let Some(role) = &spec.role_arn {
            // STS is called in the base configuration's Region (the gateway's own), else the
            // entry's; the provider caches and refreshes the role's credentials.
            let provider = AssumeRoleProvider::builder(role.clone())
                .session_name("chatrix")
                .configure(base)
                .region(base.region().cloned().unwrap_or(region))
                .build()
                .await;
            builder.set_credentials_provider(Some(SharedCredentialsProvider::new(provider)));
        }
        let sdk = builder.build();
        let mantle = match &spec.endpoint {
            Some(url) => mantle::Mantle::for_endpoint(&sdk, url),
            None => mantle::Mantle::from_sdk(&sdk),
        };
        clients(&sdk, mantle)
    }
}
