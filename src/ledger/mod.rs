//! Spend control: budgets per key and team, rate limits per key, and usage rows, counted where
//! every gateway process sees them (DynamoDB, `CHATRIX_LEDGER_TABLE`) or, without a table, in
//! this process only.
//!
//! [`Ledger::admit`] reserves a bounded estimate before Bedrock is called (refusing with 402 or
//! 429), and [`Ledger::settle`] moves every counter from the reservation to the real cost once the
//! response has ended. Owns no HTTP: `routes::spend` turns admissions into headers and bills.
//! Never logs prompts or keys (only key names).
//!
//! - [`periods`]: day, month and minute keys and their reset times (pure).
//! - [`plan`]: items, reservations, conditions and refusals (pure).
//! - [`store`]: the store seam and the in-process store; [`dynamo`]: the DynamoDB store.
//! - [`report`]: usage rows summed for the reports and `chatrix usage` (pure).

pub mod dynamo;
pub mod periods;
pub mod plan;
mod quota;
pub mod report;
pub mod store;

use std::sync::Arc;

use futures::future::join_all;
use time::OffsetDateTime;

use crate::auth::AuthedKey;
use crate::config::{LedgerConfig, LedgerOnError};
use crate::error::ApiError;
use crate::models::ModelPrice;
use dynamo::DynamoStore;
use periods::Periods;
use plan::{adjustment, usage_update, Plan, Refusal, Spent, Update};
pub use quota::Quota;
use store::{MemoryStore, Outcome, Row, Store, StoreError};

/// The gateway's ledger: one store, and what to do when it fails.
pub struct Ledger {
    store: Backend,
    on_error: LedgerOnError,
}

enum Backend {
    Memory(MemoryStore),
    Dynamo(DynamoStore),
}

impl Backend {
    async fn update(&self, update: &Update) -> Result<Outcome, StoreError> {
        match self {
            Self::Memory(m) => m.update(update).await,
            Self::Dynamo(d) => d.update(update).await,
        }
    }

    async fn query(&self, pk: &str) -> Result<Vec<Row>, StoreError> {
        match self {
            Self::Memory(m) => m.query(pk).await,
            Self::Dynamo(d) => d.query(pk).await,
        }
    }
}

/// What admission needs to know about one request.
pub struct Ask<'a> {
    pub key: &'a AuthedKey,
    pub model: &'a str,
    pub price: Option<&'a ModelPrice>,
    pub input_estimate: u64,
    pub max_tokens: u64,
}

/// A request let through, and what its settlement must move.
#[derive(Debug)]
pub struct Admission {
    key: Arc<str>,
    model: String,
    day: String,
    day_ends: i64,
    /// Budget counters and the nano-dollars each really holds for this request (0 when its write
    /// failed and the ledger is open).
    held: Vec<(Update, i64)>,
    /// The minute counter, and whether it holds this request (its request and token estimate).
    rate: Option<(Update, bool)>,
    input_estimate: u64,
    pub quota: Quota,
}

impl Ledger {
    pub fn new(cfg: &LedgerConfig) -> Self {
        let store = match &cfg.table {
            Some(table) => Backend::Dynamo(DynamoStore::new(table.clone())),
            None => Backend::Memory(MemoryStore::default()),
        };
        Self {
            store,
            on_error: cfg.on_error,
        }
    }

    /// Whether counters are shared by every process (a table is configured).
    pub fn is_shared(&self) -> bool {
        matches!(self.store, Backend::Dynamo(_))
    }

    /// Reserves this request's estimate on every counter of its key, or refuses it. `None` when
    /// there is nothing to count (a key without limits, and no table to keep usage rows in).
    ///
    /// # Errors
    /// 402 `billing_error` for an exhausted budget, 429 `rate_limit_error` for a rate, and 503
    /// when the store fails under `CHATRIX_LEDGER_ON_ERROR=closed`.
    pub async fn admit(&self, ask: Ask<'_>) -> Result<Option<Admission>, ApiError> {
        let limits = ask.key.limits.as_deref().filter(|l| l.counts_anything());
        if limits.is_none() && !self.is_shared() {
            return Ok(None);
        }
        let periods = Periods::at(OffsetDateTime::now_utc());
        let mut admission = Admission {
            key: ask.key.name.clone(),
            model: ask.model.to_owned(),
            day: periods.day.clone(),
            day_ends: periods.day_ends,
            held: Vec::new(),
            rate: None,
            input_estimate: ask.input_estimate,
            quota: Quota::default(),
        };
        let Some(limits) = limits else {
            return Ok(Some(admission));
        };
        let reserve = plan::reservation(ask.price, ask.input_estimate, ask.max_tokens);
        let plan = plan::plan(&ask.key.name, limits, &periods, reserve, ask.input_estimate)
            .map_err(Refusal::into_error)?;
        match self.reserve(&plan, &periods, &mut admission).await {
            Ok(()) => Ok(Some(admission)),
            Err(Stop::Refused(refusal)) => Err(refusal.into_error()),
            Err(Stop::Failed(e)) if self.on_error == LedgerOnError::Closed => {
                tracing::error!(key = &*admission.key, error = %e, "spend ledger unavailable; refusing (CHATRIX_LEDGER_ON_ERROR=closed)");
                Err(ApiError::Unavailable(
                    "the spend ledger is unavailable; try again shortly".into(),
                ))
            }
            Err(Stop::Failed(e)) => {
                tracing::error!(key = &*admission.key, error = %e, "spend ledger unavailable; admitting without a reservation (CHATRIX_LEDGER_ON_ERROR=open)");
                Ok(Some(admission))
            }
        }
    }

    /// The minute counter first (a rate refusal writes nothing else), then every budget at once.
    /// On a refusal, and on a failure when the ledger is closed, what was taken is given back.
    async fn reserve(
        &self,
        plan: &Plan,
        periods: &Periods,
        admission: &mut Admission,
    ) -> Result<(), Stop> {
        if let Some(rate) = &plan.rate {
            match self.store.update(&rate.update).await {
                Ok(Outcome::Done(now)) => {
                    admission.quota.rate(rate, &now, periods);
                    admission.rate = Some((rate.update.clone(), true));
                }
                Ok(Outcome::Refused(current)) => {
                    return Err(Stop::Refused(quota::rate_refusal(
                        &admission.key,
                        rate,
                        &current,
                        periods,
                    )))
                }
                Err(e) if self.on_error == LedgerOnError::Closed => return Err(Stop::Failed(e)),
                Err(e) => {
                    tracing::error!(key = &*admission.key, error = %e, "spend ledger: rate counter not written");
                    admission.rate = Some((rate.update.clone(), false));
                }
            }
        }
        let results = join_all(plan.budgets.iter().map(|b| self.store.update(&b.update))).await;
        let mut stop = None;
        for (budget, result) in plan.budgets.iter().zip(results) {
            match result {
                Ok(Outcome::Done(now)) => {
                    let left = budget.limit - now.first().copied().unwrap_or(0);
                    admission.quota.budget(left, plan.reserve);
                    admission.held.push((budget.update.clone(), plan.reserve));
                }
                Ok(Outcome::Refused(current)) => {
                    let refusal = quota::budget_refusal(budget, &current, plan.reserve, periods);
                    stop = Some(Stop::Refused(refusal));
                    admission.held.push((budget.update.clone(), 0));
                }
                Err(e) => {
                    if stop.is_none() {
                        stop = Some(Stop::Failed(e));
                    }
                    admission.held.push((budget.update.clone(), 0));
                }
            }
        }
        match stop {
            Some(Stop::Failed(e)) if self.on_error == LedgerOnError::Open => {
                tracing::error!(key = &*admission.key, error = %e, "spend ledger: a budget counter was not written; settling will add the whole cost");
                Ok(())
            }
            Some(stop) => {
                self.release(admission).await;
                Err(stop)
            }
            None => Ok(()),
        }
    }

    /// Gives back everything an admission holds (a refused or failed admission).
    async fn release(&self, admission: &mut Admission) {
        let mut undo: Vec<Update> = admission
            .held
            .drain(..)
            .filter(|(_, held)| *held != 0)
            .map(|(u, held)| adjustment(&u, |_, _| -held))
            .collect();
        if let Some((rate, true)) = admission.rate.take() {
            undo.push(adjustment(&rate, |_, v| -v));
        }
        for result in join_all(undo.iter().map(|u| self.store.update(u))).await {
            if let Err(e) = result {
                tracing::error!(key = &*admission.key, error = %e, "spend ledger: a reservation could not be given back");
            }
        }
    }

    /// Moves every counter from the reservation to what the response really cost, and adds the
    /// usage row. A failure is logged at ERROR with the cost it leaves unrecorded.
    pub async fn settle(&self, admission: Admission, spent: Spent) {
        let mut updates: Vec<Update> = admission
            .held
            .iter()
            .filter(|(_, held)| *held != spent.cost_nanos)
            .map(|(u, held)| adjustment(u, |_, _| spent.cost_nanos - held))
            .collect();
        if let Some((rate, held)) = &admission.rate {
            let estimate = i64::try_from(admission.input_estimate).unwrap_or(i64::MAX);
            let (requests, tokens) = match held {
                true => (0, spent.rate_tokens() - estimate),
                false => (1, spent.rate_tokens()),
            };
            updates.push(adjustment(rate, |a, _| match a {
                "requests" => requests,
                _ => tokens,
            }));
        }
        updates.push(usage_update(
            &admission.day,
            admission.day_ends,
            &admission.key,
            &admission.model,
            &spent,
        ));
        let failed = join_all(updates.iter().map(|u| self.store.update(u)))
            .await
            .into_iter()
            .filter_map(Result::err)
            .next();
        if let Some(e) = failed {
            tracing::error!(
                key = &*admission.key,
                model = admission.model,
                unrecorded_cost_usd = plan::usd_string(spent.cost_nanos),
                error = %e,
                "spend ledger: cost not recorded"
            );
        }
    }

    /// Every usage row of one UTC day (`2026-03-31`), as `(key, model, numbers)`.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn usage_of_day(&self, day: &str) -> Result<Vec<Row>, StoreError> {
        self.store.query(&format!("usage#{day}")).await
    }

    /// The usage lines of each of `days`: one `Query` per day's `usage#<day>` partition, all at
    /// once (a report covers at most 31 days).
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn usage_of_days(
        &self,
        days: &[time::Date],
    ) -> Result<Vec<(time::Date, Vec<report::Line>)>, StoreError> {
        let queries = days.iter().map(|d| self.usage_of_day_key(*d));
        join_all(queries).await.into_iter().collect()
    }

    async fn usage_of_day_key(
        &self,
        day: time::Date,
    ) -> Result<(time::Date, Vec<report::Line>), StoreError> {
        let rows = self.usage_of_day(&report::day_key(day)).await?;
        Ok((day, rows.iter().map(report::Line::from_row).collect()))
    }
}

enum Stop {
    Refused(Refusal),
    Failed(StoreError),
}

/// Says at start-up where limits are counted, when any may exist.
pub fn announce(ledger: &Ledger, limits_possible: bool) {
    if !ledger.is_shared() && limits_possible {
        tracing::warn!("no CHATRIX_LEDGER_TABLE: budgets and rate limits hold for this process only (every Lambda instance or replica counts on its own)");
    }
}

#[cfg(test)]
mod tests;
