//! Keys kept in a secret (AWS Secrets Manager in production), loaded lazily and cached.
//!
//! - Nothing is fetched at start-up (a Lambda cold start pays nothing); the first request loads
//!   the secret, and one load serves every request waiting on it.
//! - A loaded set is trusted for `ttl`; a key found in it is cached (moka) until that set expires,
//!   so a key removed from the secret stops working within `ttl`. An unknown key is cached as
//!   rejected for `negative_ttl`; a miss on a set older than `negative_ttl` reloads the secret
//!   once first, so a key added to the secret works within 2 × `negative_ttl` (random keys cause
//!   at most one load per `negative_ttl`). The cache is bounded by `capacity` and keyed by the
//!   key's digest; each entry carries its deadline, checked on read.
//! - With a good set in hand no request waits for a reload: one request performs it, the others
//!   are answered from the last good set meanwhile.
//! - When a reload fails, the last good set keeps serving (the failure is logged, and reloads are
//!   retried every `negative_ttl`). With no good set ever loaded the answer is a 503 `api_error`
//!   with `retry-after` (never a 401: a key-store outage must not look like a bad key).

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use moka::future::Cache;
use moka::Expiry;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::static_keys::{digest, Digest32, StaticKeys};
use super::{AuthedKey, KeyStore, NamedKey};
use crate::config::KeyStoreConfig;
use crate::error::ApiError;

/// Where the secret text comes from.
pub trait SecretSource: Send + Sync + 'static {
    /// Fetches the secret's current value. Errors must not contain the secret.
    fn fetch(&self) -> impl Future<Output = Result<SecretString, SourceError>> + Send;

    /// What logs call the secret (its name or ARN, never its value).
    fn describe(&self) -> &str;
}

/// Why a secret could not be read (safe to log).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// A key set read from a secret, validated through a bounded cache.
pub struct SecretKeys<S> {
    source: S,
    settings: KeyStoreConfig,
    /// Bounded by capacity; each entry also carries its own deadline (checked on read).
    verdicts: Cache<Digest32, Verdict>,
    loaded: Mutex<LoadState>,
    /// Held while a load runs: the first request with no key set waits for it; with a set in
    /// hand nobody waits (the last good set answers while one request reloads).
    loading: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Loaded {
    keys: Arc<StaticKeys>,
    at: Instant,
}

#[derive(Default)]
struct LoadState {
    last_good: Option<Loaded>,
    /// After a failed load, no new attempt before this instant.
    retry_at: Option<Instant>,
}

#[derive(Clone)]
struct Verdict {
    name: Option<AuthedKey>,
    expires_at: Instant,
}

/// Lets moka drop entries once they are past their deadline (reads check the deadline too).
struct VerdictExpiry;

impl Expiry<Digest32, Verdict> for VerdictExpiry {
    fn expire_after_create(
        &self,
        _key: &Digest32,
        value: &Verdict,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.expires_at.saturating_duration_since(Instant::now()))
    }
}

impl<S: SecretSource> SecretKeys<S> {
    pub fn new(source: S, settings: KeyStoreConfig) -> Self {
        let verdicts = Cache::builder()
            .max_capacity(settings.capacity)
            .expire_after(VerdictExpiry)
            .build();
        Self {
            source,
            settings,
            verdicts,
            loaded: Mutex::new(LoadState::default()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn state<T>(&self, f: impl FnOnce(&mut LoadState) -> T) -> T {
        f(&mut self.loaded.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The current set, reloaded first when `stale` says so (and no recent load failed). With a
    /// good set in hand, a request never waits for another request's load.
    async fn key_set(&self, stale: impl Fn(&Loaded, Instant) -> bool) -> Result<Loaded, ApiError> {
        let needs_load = |st: &LoadState, now: Instant| {
            let wanted = st.last_good.as_ref().is_none_or(|l| stale(l, now));
            wanted && st.retry_at.is_none_or(|t| now >= t)
        };
        if !self.state(|st| needs_load(st, Instant::now())) {
            return self.last_good();
        }
        let _one_load = match self.loading.try_lock() {
            Ok(guard) => guard,
            Err(_) if self.state(|st| st.last_good.is_some()) => return self.last_good(),
            Err(_) => self.loading.lock().await,
        };
        // Someone else may have loaded while this request waited for the lock.
        if !self.state(|st| needs_load(st, Instant::now())) {
            return self.last_good();
        }
        match self.load().await {
            Ok(keys) => {
                let fresh = Loaded {
                    keys: Arc::new(keys),
                    at: Instant::now(),
                };
                self.state(|st| {
                    st.last_good = Some(fresh.clone());
                    st.retry_at = None;
                });
                Ok(fresh)
            }
            Err(e) => {
                let retry_at = Instant::now() + self.settings.negative_ttl;
                let had_keys = self.state(|st| {
                    st.retry_at = Some(retry_at);
                    st.last_good.is_some()
                });
                if had_keys {
                    tracing::warn!(secret = self.source.describe(), error = %e, "could not reload API keys; serving with the last good key set");
                } else {
                    tracing::error!(secret = self.source.describe(), error = %e, "could not load API keys; answering 503 until a load succeeds");
                }
                self.last_good()
            }
        }
    }

    fn last_good(&self) -> Result<Loaded, ApiError> {
        let (last_good, retry_at) = self.state(|st| (st.last_good.clone(), st.retry_at));
        last_good.ok_or_else(|| {
            let wait = retry_at.map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(Instant::now())
            });
            ApiError::KeyStoreUnavailable {
                message: "the API key store is unavailable; try again shortly".into(),
                retry_after: wait.as_secs().saturating_add(1),
            }
        })
    }

    async fn load(&self) -> Result<StaticKeys, SourceError> {
        let text = self.source.fetch().await?;
        let keys = parse_secret(text.expose_secret()).map_err(SourceError)?;
        Ok(StaticKeys::new(&keys))
    }
}

impl<S: SecretSource> KeyStore for SecretKeys<S> {
    async fn validate(&self, presented: &SecretString) -> Result<Option<AuthedKey>, ApiError> {
        let d = digest(presented);
        if let Some(v) = self.verdicts.get(&d).await {
            if Instant::now() < v.expires_at {
                return Ok(v.name);
            }
            self.verdicts.invalidate(&d).await;
        }
        let ttl = self.settings.ttl;
        let mut set = self.key_set(|l, now| now - l.at >= ttl).await?;
        let mut name = set.keys.lookup(&d);
        let recheck_after = self.settings.negative_ttl;
        if name.is_none() && set.at.elapsed() >= recheck_after {
            // Perhaps a key added to the secret since the last load.
            set = self.key_set(|l, now| now - l.at >= recheck_after).await?;
            name = set.keys.lookup(&d);
        }
        let expires_at = if name.is_some() {
            // Trusted only as long as the set it was found in.
            set.at + ttl
        } else {
            Instant::now() + self.settings.negative_ttl
        };
        if Instant::now() < expires_at {
            let verdict = Verdict {
                name: name.clone(),
                expires_at,
            };
            self.verdicts.insert(d, verdict).await;
        }
        Ok(name)
    }
}

pub use super::keyfile::SINGLE_KEY_NAME;

/// Reads the key-store document ([`super::keyfile`]): `{"api_key": "…"}` and/or
/// `{"api_keys": {"name": "…" or {"key": "…", limits…}, …}, "teams": {…}}`.
///
/// # Errors
/// A description that never quotes the secret's content.
pub fn parse_secret(text: &str) -> Result<Vec<NamedKey>, String> {
    super::keyfile::parse_key_document(text)
}

#[cfg(test)]
mod tests;
