//! Which inference profiles the account can call, learnt from Bedrock's control plane.
//!
//! Owns the background refresh (one tokio task: at start-up, then every
//! `CHATRIX_DISCOVERY_INTERVAL_SECS`), the shared snapshot ([`AvailableProfiles`], read through
//! [`Discovery::snapshot`]) and the pure rule that picks a profile prefix ([`pick_prefix`]).
//! It must never be on the request path: handlers only read the snapshot, which is `None` until the
//! first listing arrives and whenever discovery is off or has never succeeded; callers then keep
//! the catalog's behaviour.
//!
//! The `ListInferenceProfiles` call itself lives in `bedrock::profiles`, beside the runtime calls:
//! `bedrock` stays the one module that talks to AWS Bedrock (one loaded AWS configuration, one
//! place where SDK errors become [`crate::error::ApiError`]), and this module stays testable
//! without a network.
//!
//! Failures: the first failed refresh logs one WARN (and the first success after it one INFO);
//! repeated failures log at debug only. A failure keeps the last good snapshot, since a stale list
//! is closer to the account than the static catalog; a listing with no ACTIVE profile counts as a
//! failure, because a Region without system-defined profiles serves models by bare id, which this
//! listing cannot see. See `docs/discovery.md`.

mod available;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

pub use available::{AvailableProfiles, DiscoveredModel, ProfileSummary};

use crate::bedrock::Bedrock;

/// How soon a failed refresh is retried (capped by the configured interval).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(300);

/// The profile prefix for one model, or `None` for its bare id.
///
/// - `preferred` is `CHATRIX_INFERENCE_PROFILE` (`global`, `us`, …; `none` or empty: bare id).
/// - `catalog_prefixes` are the model's catalog profiles in order of preference; empty means the
///   catalog serves it in-region by bare id, which this keeps. For a model the catalog has never
///   seen, pass `[preferred]`.
/// - `available` is [`Discovery::snapshot`]; `None` keeps the catalog's rule: `preferred` when
///   listed, else with `global` the first listed prefix, else the bare id.
///
/// With a listing: `preferred` when the account has it. Only `global` falls back to another
/// geography (catalog order, then [`crate::models::PROFILE_PREFIXES`] order); a specific geography is often a
/// data-residency choice, so without it the bare id is used. When the account lists no profile of
/// the model at all, the catalog's rule applies and Bedrock explains.
pub fn pick_prefix(
    preferred: &str,
    catalog_prefixes: &[String],
    available: Option<&AvailableProfiles>,
    base_id: &str,
) -> Option<String> {
    if preferred.is_empty() || preferred == "none" || catalog_prefixes.is_empty() {
        return None;
    }
    let listed = |p: &str| catalog_prefixes.iter().any(|c| c == p);
    let from_catalog = || {
        if listed(preferred) {
            Some(preferred.to_owned())
        } else if preferred == "global" {
            catalog_prefixes.first().cloned()
        } else {
            None
        }
    };
    let Some(available) = available else {
        return from_catalog();
    };
    let present = available.prefixes_for(base_id);
    if present.contains(&preferred) {
        return Some(preferred.to_owned());
    }
    if present.is_empty() {
        // The account lists no profile of this model: nothing better to offer.
        return from_catalog();
    }
    if preferred != "global" {
        // Listed in other geographies only: the bare id (in-region), as the catalog rule does for
        // a geography a model lacks.
        return None;
    }
    let in_catalog_order = catalog_prefixes
        .iter()
        .map(String::as_str)
        .find(|c| present.contains(c));
    in_catalog_order
        .or(present.first().copied())
        .map(str::to_owned)
}

/// The discovery handle in [`crate::state::AppState`]. Cheap to clone; clones share the snapshot.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    snapshot: RwLock<Option<Arc<AvailableProfiles>>>,
    /// A failure has been logged at WARN and no success has followed yet.
    failing: AtomicBool,
}

/// What one refresh did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    Updated,
    /// Failed; the first failure in a row (logged at WARN).
    FailedFirst,
    /// Failed again (logged at debug).
    FailedAgain,
}

impl Discovery {
    /// No discovery: [`Self::snapshot`] stays `None`.
    pub fn off() -> Self {
        Self::default()
    }

    /// Starts the refresh task (every `every`; zero means off). Outside a tokio runtime nothing is
    /// started and discovery stays off.
    pub fn start(bedrock: Bedrock, every: Duration) -> Self {
        let discovery = Self::off();
        if every.is_zero() {
            return discovery;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(refresh_loop(
                    Arc::downgrade(&discovery.shared),
                    bedrock,
                    every,
                ));
            }
            Err(_) => tracing::debug!("no tokio runtime: model discovery not started"),
        }
        discovery
    }

    /// The latest listing; `None` when discovery is off, not done yet, or has never succeeded.
    pub fn snapshot(&self) -> Option<Arc<AvailableProfiles>> {
        self.shared
            .snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes one refresh's outcome: a listing replaces the snapshot; a failure keeps it.
    pub fn apply(&self, result: Result<Vec<ProfileSummary>, String>) -> Refreshed {
        let listing = result.and_then(|summaries| {
            let available = AvailableProfiles::from_summaries(summaries);
            if available.is_empty() {
                Err("the listing holds no ACTIVE system-defined inference profile".to_owned())
            } else {
                Ok(available)
            }
        });
        match listing {
            Ok(available) => {
                let profiles = available.len();
                if self.shared.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(profiles, "model discovery recovered");
                } else {
                    tracing::debug!(profiles, "model discovery refreshed");
                }
                *self
                    .shared
                    .snapshot
                    .write()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(available));
                Refreshed::Updated
            }
            Err(error) if !self.shared.failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(
                    %error,
                    "model discovery (bedrock:ListInferenceProfiles) failed; serving the catalog's model list and profile choice until it succeeds"
                );
                Refreshed::FailedFirst
            }
            Err(error) => {
                tracing::debug!(%error, "model discovery failed again");
                Refreshed::FailedAgain
            }
        }
    }
}

/// Refreshes until the [`Discovery`] is dropped (checked after each listing).
async fn refresh_loop(shared: Weak<Shared>, bedrock: Bedrock, every: Duration) {
    loop {
        let result = bedrock
            .list_inference_profiles()
            .await
            .map_err(|e| format!("{e:#}"));
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let outcome = Discovery { shared }.apply(result);
        let wait = match outcome {
            Refreshed::Updated => every,
            Refreshed::FailedFirst | Refreshed::FailedAgain => every.min(RETRY_AFTER_FAILURE),
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests;
