//! Spend control around `POST /v1/messages`: the key's model list, admission before Bedrock,
//! the rate-limit and budget headers, and the [`Bill`] that settles the real cost.
//!
//! Admission needs the resolved model (its price) and the parsed request (its token estimate),
//! which exist only once the handler has read the body, so it is one call there ([`admit_for`]) and
//! one at the end ([`finish`]) rather than a layer. Streams settle in `routes::stream`, before
//! their final event ([`after_batch`]); a bill dropped unsettled (the client went away) settles
//! in a task of its own with what Bedrock reported or, failing that, what was relayed.

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::messages::RequestLog;
use super::stream::Relay;
use crate::anthropic::request::MessagesRequest;
use crate::anthropic::response::Usage;
use crate::auth::AuthedKey;
use crate::error::ApiError;
use crate::ledger::plan::{usd_to_nanos, Spent};
use crate::ledger::{Admission, Ask, Ledger, Quota};
use crate::models::{ModelPrice, ResolvedModel};
use crate::pricing::{model_cost, TokenCounts};
use crate::state::AppState;
use crate::tokens;

/// One admitted request's pending settlement. Settles once; later calls do nothing.
pub(crate) struct Bill {
    ledger: Arc<Ledger>,
    price: Option<ModelPrice>,
    quota: Quota,
    input_estimate: u64,
    pending: Mutex<Pending>,
}

struct Pending {
    admission: Option<Admission>,
    /// Bytes of `content_block_delta` events relayed (the fallback for output tokens).
    relayed: u64,
    reported: Option<TokenCounts>,
}

/// What admission reserves for: the input-token estimate and the `max_tokens` asked for.
pub(super) struct Demand {
    pub(super) input_tokens: u64,
    pub(super) max_tokens: u64,
}

impl Demand {
    /// From the parsed Messages request: the local token estimate.
    pub(super) fn of_request(request: &MessagesRequest) -> Self {
        Self {
            input_tokens: tokens::estimate(request).total(),
            max_tokens: request.max_tokens.map_or(0, u64::from),
        }
    }
}

/// Refuses an admin key (it reads reports and calls no model) and a model outside the key's
/// `models` list, with `403 permission_error`. Every route that names a model asks this, the free
/// count-tokens routes too, so a key's list reads the same everywhere.
///
/// # Errors
/// The refusal, as the client sees it.
pub(super) fn check_access(
    key: Option<&AuthedKey>,
    model: &ResolvedModel<'_>,
) -> Result<(), ApiError> {
    let Some(key) = key else { return Ok(()) };
    if key.admin {
        return Err(ApiError::Permission(format!(
            "`{}` is an admin key: it reads usage and cost reports and calls no model",
            key.name
        )));
    }
    let names = [
        Some(model.client_model.as_str()),
        model.spec.map(|s| s.id.as_str()),
    ];
    match key.limits.as_deref() {
        Some(limits) if !limits.allows_model(names.into_iter().flatten()) => {
            Err(ApiError::Permission(format!(
                "API key `{}` may not use model `{}`",
                key.name, model.client_model
            )))
        }
        _ => Ok(()),
    }
}

/// Refuses what [`check_access`] refuses, then admits the request (402, 429, or 503 when the
/// ledger is closed and down). `None` when nothing is counted for this key. `demand` is only
/// worked out when something is counted.
///
/// # Errors
/// The refusal, as the client sees it.
pub(super) async fn admit_for(
    state: &AppState,
    key: Option<&AuthedKey>,
    model: &ResolvedModel<'_>,
    demand: impl FnOnce() -> Demand,
) -> Result<Option<Arc<Bill>>, ApiError> {
    check_access(key, model)?;
    let Some(key) = key else { return Ok(None) };
    let limits = key.limits.as_deref();
    if let Some(limits) = limits {
        // A model without a price would reserve and settle $0: a way around any budget.
        if limits.has_budget() && model.price.is_none() {
            return Err(ApiError::Permission(format!(
                "model `{}` has no price in the catalog, so API key `{}`, which has a budget, \
                 may not use it",
                model.client_model, key.name
            )));
        }
    }
    let counted = limits.is_some_and(|l| l.counts_anything()) || state.ledger.is_shared();
    if !counted {
        return Ok(None);
    }
    let demand = demand();
    let input_estimate = demand.input_tokens;
    let ask = Ask {
        key,
        model: usage_name(model),
        price: model.price.as_ref(),
        input_estimate,
        max_tokens: demand.max_tokens,
    };
    let Some(admission) = state.ledger.admit(ask).await? else {
        return Ok(None);
    };
    Ok(Some(Arc::new(Bill {
        ledger: state.ledger.clone(),
        price: model.price,
        quota: admission.quota.clone(),
        input_estimate,
        pending: Mutex::new(Pending {
            admission: Some(admission),
            relayed: 0,
            reported: None,
        }),
    })))
}

/// Settles a JSON answer (or gives back the reservation of a failed request) and adds the
/// headers. Streams are settled by their relay.
pub(super) async fn finish(
    bill: Option<Arc<Bill>>,
    response: Result<Response, ApiError>,
) -> Result<Response, ApiError> {
    let Some(bill) = bill else { return response };
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            // Bedrock bills what it processed: a request that timed out, hit the deadline or
            // broke off upstream is charged at least its input; a refusal costs nothing.
            let abandoned = matches!(e, ApiError::Timeout(_) | ApiError::Upstream(_));
            let spent = match abandoned || super::deadline::is_reached(&e) {
                true => bill.tally(),
                false => Spent::default(),
            };
            bill.settle(spent).await;
            if bill.quota.headers().is_empty() {
                return Err(e);
            }
            e.into_response()
        }
    };
    if let Some(log) = response.extensions().get::<RequestLog>() {
        if !log.stream {
            bill.settle(spent_from_log(log)).await;
        }
    }
    for (name, value) in bill.quota.headers() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), v);
        }
    }
    Ok(response)
}

/// Called by the stream relay after each batch of events, before they are sent; the future
/// settles when the relay is done (it holds no borrow of the relay).
pub(super) fn after_batch<R: Relay>(
    bill: Option<&Arc<Bill>>,
    relay: &R,
    produced: &[Bytes],
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let settle = bill.and_then(|bill| {
        bill.observe(relay.reported(), produced);
        relay.is_done().then(|| {
            // A failed or cut stream knows its output only as one token per delta, a floor:
            // what was relayed (four bytes a token) may say more.
            let spent = match (relay.final_usage(), relay.failure()) {
                (Some(usage), None) => spent_from_usage(usage),
                (Some(usage), Some(_)) => larger(spent_from_usage(usage), bill.tally()),
                (None, _) => bill.tally(),
            };
            (bill.clone(), spent)
        })
    });
    async move {
        if let Some((bill, spent)) = settle {
            bill.settle(spent).await;
        }
    }
}

impl std::fmt::Debug for Bill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bill").field("quota", &self.quota).finish()
    }
}

impl Bill {
    fn with_pending<T>(&self, f: impl FnOnce(&mut Pending) -> T) -> T {
        f(&mut self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Settles once with `spent`; later calls (and the drop) do nothing.
    pub(super) async fn settle(&self, spent: Spent) {
        if let Some(admission) = self.with_pending(|p| p.admission.take()) {
            self.ledger.settle(admission, spent).await;
        }
    }

    fn observe(&self, reported: Option<TokenCounts>, produced: &[Bytes]) {
        const EVENT: &[u8] = b"event: content_block_delta";
        // An event's framing without its text: `event:` line, `data:`, type, index, delta type.
        const FRAMING: u64 = 110;
        let relayed: u64 = produced
            .iter()
            .filter(|b| b.starts_with(EVENT))
            .map(|b| (b.len() as u64).saturating_sub(FRAMING).max(1))
            .sum();
        self.note(reported, relayed);
    }

    /// Records usage reported so far and content bytes relayed (what a dropped stream is billed).
    pub(super) fn note(&self, reported: Option<TokenCounts>, relayed: u64) {
        self.with_pending(|p| {
            p.relayed += relayed;
            if reported.is_some() {
                p.reported = reported;
            }
        });
    }

    /// What Bedrock reported so far, or else the input estimate; output at least what was relayed
    /// (four bytes a token).
    pub(super) fn tally(&self) -> Spent {
        let (relayed, reported) = self.with_pending(|p| (p.relayed, p.reported));
        let mut counts = reported.unwrap_or(TokenCounts {
            input: self.input_estimate,
            ..TokenCounts::default()
        });
        counts.output = counts.output.max(relayed.div_ceil(4));
        let cost_nanos = self
            .price
            .as_ref()
            .map_or(0, |p| usd_to_nanos(model_cost(p, &counts, None).total_cost));
        Spent {
            input_tokens: counts.input,
            output_tokens: counts.output,
            cache_read_tokens: counts.cache_read,
            cache_write_tokens: counts.cache_write_5m + counts.cache_write_1h,
            cost_nanos,
        }
    }
}

impl Drop for Bill {
    fn drop(&mut self) {
        let Some(admission) = self.with_pending(|p| p.admission.take()) else {
            return;
        };
        let spent = self.tally();
        let ledger = self.ledger.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move { ledger.settle(admission, spent).await });
            }
            Err(_) => tracing::error!(
                unrecorded_cost_usd = crate::ledger::plan::usd_string(spent.cost_nanos),
                "spend ledger: cost not recorded (no runtime)"
            ),
        }
    }
}

pub(super) fn spent_from_usage(usage: &Usage) -> Spent {
    Spent {
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_read_tokens: usage.cache_read_input_tokens,
        cache_write_tokens: usage.cache_creation_input_tokens,
        cost_nanos: usage
            .cost
            .as_ref()
            .map_or(0, |c| usd_to_nanos(c.total_cost)),
    }
}

/// The model name usage rows are kept under: the catalog's id (aliases and ARNs of one model
/// together), else the name the client sent, bounded (a DynamoDB sort key holds 1 KB).
fn usage_name<'m>(model: &'m ResolvedModel<'_>) -> &'m str {
    match model.spec {
        Some(spec) if !model.derived => &spec.id,
        _ => crate::anthropic::request::truncate(&model.client_model, 128),
    }
}

/// The larger bill of two views of the same request.
fn larger(a: Spent, b: Spent) -> Spent {
    if b.cost_nanos > a.cost_nanos
        || (b.cost_nanos == a.cost_nanos && b.output_tokens > a.output_tokens)
    {
        b
    } else {
        a
    }
}

fn spent_from_log(log: &RequestLog) -> Spent {
    Spent {
        input_tokens: log.input_tokens.unwrap_or(0),
        output_tokens: log.output_tokens.unwrap_or(0),
        cache_read_tokens: log.cache_read_tokens.unwrap_or(0),
        cache_write_tokens: log.cache_write_tokens.unwrap_or(0),
        cost_nanos: log.cost_usd.map_or(0, usd_to_nanos),
    }
}
