//! Failover: one Bedrock call tried on the pool's upstreams in turn, only where that is safe.
//!
//! The next candidate is tried only when the last one failed with a [`Transient`] error, which
//! arrives before Bedrock sent any answer (an HTTP error, or no connection); an open stream is
//! returned as it is, so nothing the client received is ever repeated. Validation, access and
//! not-found errors end the call at once (every upstream would say the same). No candidate is
//! started once the budget has passed since the first. When every candidate failed, the client
//! gets the throttle with the smallest `retry-after` if any upstream throttled, else the last
//! error; Bedrock's text unmodified. Why and with which defaults: docs/failover.md.

use std::collections::VecDeque;
use std::future::Future;

use tokio::time::Instant;

use super::breaker::Status;
use super::pool::{Counters, Pool, Sticky};
use super::{Bedrock, CallError, Transient};
use crate::error::ApiError;
use crate::models::PROFILE_PREFIXES;

/// What a call is for: the log's request id, the session that sticks, and the Bedrock model
/// ids it may be sent to (the configured profile's first, then `CHATRIX_PROFILE_FALLBACK`'s).
#[derive(Debug, Clone, Copy)]
pub struct Target<'t> {
    pub request_id: &'t str,
    pub session: Option<&'t str>,
    pub model_ids: &'t [String],
}

/// A successful call and who answered it.
#[derive(Debug)]
pub struct Served<T> {
    pub value: T,
    /// `us-west-2/global`: the upstream's label and the profile of the model id it was sent.
    pub upstream: String,
}

/// One (upstream, model id) pair to try; `last_resort` ones are cooling and go last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Candidate {
    pub(super) at: Sticky,
    pub(super) last_resort: bool,
}

impl Pool {
    /// Sends with `send` to each candidate in turn until one answers (see the module docs).
    ///
    /// # Errors
    /// The first non-transient error, or the chosen one of the transient errors seen.
    pub async fn call<'p, 't, T, F, Fut>(
        &'p self,
        target: &Target<'t>,
        mut send: F,
    ) -> Result<Served<T>, ApiError>
    where
        F: FnMut(&'p Bedrock, &'t str) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let started = Instant::now();
        let sticky = match target.session {
            Some(s) => self.sticky(s).await,
            None => None,
        };
        let mut queue: VecDeque<Candidate> = self.plan(target, sticky, started).into();
        let mut failures = Vec::new();
        let several = self.0.upstreams.len() > 1 || target.model_ids.len() > 1;
        while let Some(c) = queue.pop_front() {
            if !failures.is_empty() && started.elapsed() >= self.0.budget {
                tracing::warn!(request_id = target.request_id, "failover budget spent");
                break;
            }
            let model = target.model_ids[c.at.profile].as_str();
            if !c.last_resort && !self.admit(c.at.upstream, model) {
                queue.push_back(Candidate {
                    last_resort: true,
                    ..c
                });
                continue;
            }
            let upstream = &self.0.upstreams[c.at.upstream];
            let name = format!("{}/{}", upstream.label, profile_of(model));
            let sent = Instant::now();
            let result = send(&upstream.client, model).await;
            let outcome = self.record(c.at, model, &result);
            if several {
                log_attempt(target.request_id, &name, outcome, sent);
            }
            match result {
                Ok(value) if several => {
                    self.remember(target.session, c.at).await;
                    return Ok(Served {
                        value,
                        upstream: name,
                    });
                }
                Ok(value) => {
                    return Ok(Served {
                        value,
                        upstream: name,
                    })
                }
                Err(CallError {
                    error,
                    transient: None,
                }) => return Err(error),
                Err(CallError { error, .. }) => failures.push(error),
            }
        }
        Err(chosen_error(failures))
    }

    /// The candidates in order: the sticky pair first unless it is cooling; then each model id
    /// (profile-major, so the configured profile is tried on every upstream before a fallback
    /// one) on each upstream whose Region can call it; cooling ones last, soonest to reopen first.
    fn plan(&self, target: &Target<'_>, sticky: Option<Sticky>, now: Instant) -> Vec<Candidate> {
        let regions: Vec<&str> = self.0.upstreams.iter().map(|u| u.region.as_str()).collect();
        let status = |at: Sticky| {
            self.breaker(at.upstream, &target.model_ids[at.profile], |b| {
                b.status(now)
            })
        };
        order(&pairs(&regions, target.model_ids, sticky), status)
    }

    /// Whether the breaker lets a request try `upstream` for `model` in its turn now (a
    /// half-open one hands out its one probe).
    fn admit(&self, upstream: usize, model: &str) -> bool {
        self.breaker(upstream, model, |b| {
            b.admit(Instant::now(), self.0.cooldowns)
        })
    }

    /// Updates the breaker and counters after an attempt; the outcome's name for the log.
    fn record<T>(&self, at: Sticky, model: &str, result: &Result<T, CallError>) -> &'static str {
        let counters = &self.0.upstreams[at.upstream].counters;
        Counters::bump(&counters.attempts);
        let now = Instant::now();
        match result {
            Ok(_) => {
                Counters::bump(&counters.served);
                self.breaker(at.upstream, model, |b| b.succeeded());
                "ok"
            }
            Err(e) => {
                let kind = e.transient;
                let throttled = kind == Some(Transient::Throttled);
                Counters::bump(if throttled {
                    &counters.throttled
                } else {
                    &counters.failed
                });
                if kind.is_some() {
                    self.breaker(at.upstream, model, |b| b.failed(now, self.0.cooldowns));
                }
                kind.map_or("refused", Transient::name)
            }
        }
    }
}

/// One line per attempt, beside the request's own line (same `request_id`).
fn log_attempt(request_id: &str, upstream: &str, outcome: &str, sent: Instant) {
    let ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
    tracing::info!(request_id, upstream, outcome, ms, "upstream attempt");
}

/// Every (upstream, model id) pair a request may use, in preference order: `sticky` first, then
/// profile-major. Pairs whose profile geography the Region cannot call are left out, unless that
/// leaves none (a misconfiguration Bedrock will then name).
pub(super) fn pairs(regions: &[&str], model_ids: &[String], sticky: Option<Sticky>) -> Vec<Sticky> {
    let all: Vec<Sticky> = (0..model_ids.len())
        .flat_map(|profile| (0..regions.len()).map(move |upstream| Sticky { upstream, profile }))
        .collect();
    let fitting: Vec<Sticky> = all
        .iter()
        .copied()
        .filter(|p| fits(&model_ids[p.profile], regions[p.upstream]))
        .collect();
    let mut list = if fitting.is_empty() { all } else { fitting };
    if let Some(pos) = sticky.and_then(|s| list.iter().position(|p| *p == s)) {
        let first = list.remove(pos);
        list.insert(0, first);
    }
    list
}

/// Ready pairs keep their order; cooling ones follow, soonest to reopen first.
pub(super) fn order(pairs: &[Sticky], status: impl Fn(Sticky) -> Status) -> Vec<Candidate> {
    let mut ready = Vec::new();
    let mut cooling = Vec::new();
    for &at in pairs {
        match status(at) {
            Status::Ready => ready.push(Candidate {
                at,
                last_resort: false,
            }),
            Status::Cooling(until) => cooling.push((
                until,
                Candidate {
                    at,
                    last_resort: true,
                },
            )),
        }
    }
    cooling.sort_by_key(|(until, _)| *until);
    ready.extend(cooling.into_iter().map(|(_, c)| c));
    ready
}

/// Whether a Region can call a model id: an ARN only in its own Region, a geography's profile
/// only from that geography's Regions, `global` and bare ids from any.
pub(super) fn fits(model_id: &str, region: &str) -> bool {
    if model_id.starts_with("arn:") {
        return model_id.split(':').nth(3) == Some(region);
    }
    let geo_regions: &[&str] = match profile_of(model_id) {
        "us" => &["us-"],
        "us-gov" => &["us-gov-"],
        "eu" => &["eu-"],
        "apac" => &["ap-"],
        "jp" => &["ap-northeast-1", "ap-northeast-3"],
        "au" => &["ap-southeast-2", "ap-southeast-4"],
        _ => return true,
    };
    geo_regions.iter().any(|r| region.starts_with(r))
}

/// The profile geography of a model id (`global`, `us`, …), else `base` for a bare id or
/// ARN.
pub(super) fn profile_of(model_id: &str) -> &str {
    let head = model_id
        .rsplit('/')
        .next()
        .and_then(|t| t.split_once('.'))
        .map(|(h, _)| h);
    match head {
        Some(h) if PROFILE_PREFIXES.contains(&h) => h,
        _ => "base",
    }
}

/// The error a client gets when every candidate failed: the throttle with the smallest
/// `retry-after` when any upstream throttled (the client's own retry then comes soonest), else
/// the last error.
pub(super) fn chosen_error(failures: Vec<ApiError>) -> ApiError {
    let soonest = failures
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            ApiError::RateLimited { retry_after, .. } => Some((retry_after.unwrap_or(u64::MAX), i)),
            _ => None,
        })
        .min();
    let pick = soonest.map_or(failures.len().saturating_sub(1), |(_, i)| i);
    failures
        .into_iter()
        .nth(pick)
        .unwrap_or_else(|| ApiError::Upstream("no upstream could be tried".into()))
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
