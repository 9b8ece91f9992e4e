//! Where counters live: the [`Store`] seam and its in-process implementation.
//!
//! A store applies one [`Update`] atomically: every guard holds, then every `ADD` is applied, or
//! nothing changes. That is all the ledger asks of DynamoDB ([`super::dynamo`]) and of the
//! in-process map here, so both behave alike.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::plan::{ItemKey, Update};

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied; the new values of the added attributes, in order.
    Done(Vec<i64>),
    /// A guard failed; the current values of the guarded attributes, in order (0 when absent).
    Refused(Vec<i64>),
}

/// Why the store could not answer (safe to log: no key, no content).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// One item of a `Query` by partition key: its sort key and numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub sk: String,
    pub numbers: HashMap<String, i64>,
}

pub trait Store: Send + Sync + 'static {
    fn update(&self, update: &Update) -> impl Future<Output = Result<Outcome, StoreError>> + Send;

    /// Every item under `pk`.
    fn query(&self, pk: &str) -> impl Future<Output = Result<Vec<Row>, StoreError>> + Send;
}

/// Counters in this process: what `docker run` and the demo use without a table. Limits then hold
/// per process only (start-up says so).
#[derive(Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<ItemKey, Item>>,
    writes: AtomicU64,
}

#[derive(Debug, Default)]
struct Item {
    numbers: HashMap<&'static str, i64>,
    expires_at: i64,
}

/// Expired items are dropped every this many writes, so memory stays bounded by what is live.
const PRUNE_EVERY: u64 = 1_024;

impl MemoryStore {
    fn with_items<T>(&self, f: impl FnOnce(&mut HashMap<ItemKey, Item>) -> T) -> T {
        f(&mut self.items.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn apply(&self, update: &Update, now: i64) -> Outcome {
        let writes = self.writes.fetch_add(1, Ordering::Relaxed);
        self.with_items(|items| {
            if writes % PRUNE_EVERY == PRUNE_EVERY - 1 {
                items.retain(|_, item| item.expires_at > now);
            }
            let item = items.entry(update.item.clone()).or_default();
            let current: Vec<i64> = update
                .guards
                .iter()
                .map(|(a, _)| item.numbers.get(a).copied().unwrap_or(0))
                .collect();
            let admitted = update
                .guards
                .iter()
                .zip(&current)
                .all(|((_, max), now)| now <= max);
            if !admitted {
                return Outcome::Refused(current);
            }
            item.expires_at = item.expires_at.max(update.expires_at);
            Outcome::Done(
                update
                    .adds
                    .iter()
                    .map(|&(a, v)| {
                        let n = item.numbers.entry(a).or_insert(0);
                        *n = n.saturating_add(v);
                        *n
                    })
                    .collect(),
            )
        })
    }
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

impl Store for MemoryStore {
    async fn update(&self, update: &Update) -> Result<Outcome, StoreError> {
        Ok(self.apply(update, unix_now()))
    }

    async fn query(&self, pk: &str) -> Result<Vec<Row>, StoreError> {
        Ok(self.with_items(|items| {
            items
                .iter()
                .filter(|(k, _)| k.pk == pk)
                .map(|(k, item)| Row {
                    sk: k.sk.clone(),
                    numbers: item
                        .numbers
                        .iter()
                        .map(|(a, v)| ((*a).to_owned(), *v))
                        .collect(),
                })
                .collect()
        }))
    }
}
