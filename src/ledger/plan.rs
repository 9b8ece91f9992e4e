//! The ledger's arithmetic, pure: which items one request touches, by how much, under which
//! conditions; the reservation; the refusals' wording. No clock, no I/O.
//!
//! Item layout (the table's fixed schema: `pk` S, `sk` S, TTL `expires_at` N):
//!
//! | pk | sk | numbers |
//! |---|---|---|
//! | `spend#key#<name>` / `spend#team#<name>` | `day#2026-03-31` / `month#2026-03` | `nanos` |
//! | `rate#key#<name>` | `minute#2026-03-31T23:59` | `requests`, `tokens` |
//! | `usage#2026-03-31` | `<key>#<model>` | `requests`, `input_tokens`, `output_tokens`, `cache_read_tokens`, `cache_write_tokens`, `cost_nanos` |

use std::sync::Arc;

use super::periods::{rfc3339, Period, Periods};
use crate::auth::limits::KeyLimits;
use crate::error::ApiError;
use crate::models::ModelPrice;
use crate::pricing::{model_cost, TokenCounts};

/// The output tokens a reservation allows for, whatever `max_tokens` says: Claude Code asks for
/// 32–64K, and reserving that much would hold budgets at their cap. The excess of a longer answer
/// is the overshoot bound in docs/budgets.md.
pub const OUTPUT_ALLOWANCE: u64 = 4_096;

const DAY_SECS: i64 = 86_400;
/// Kept well past their period, for `chatrix usage` and the reports.
const SPEND_DAY_TTL: i64 = 40 * DAY_SECS;
const SPEND_MONTH_TTL: i64 = 400 * DAY_SECS;
const USAGE_TTL: i64 = 400 * DAY_SECS;
const RATE_TTL: i64 = 120;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

/// One atomic `ADD` on one item, admitted only while every guarded attribute (0 when absent) is
/// at most its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub item: ItemKey,
    pub adds: Vec<(&'static str, i64)>,
    pub guards: Vec<(&'static str, i64)>,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Key,
    Team,
}

/// A budget counter this request reserves on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetCounter {
    pub scope: Scope,
    pub name: Arc<str>,
    pub period: Period,
    pub limit: i64,
    pub update: Update,
}

/// The per-minute counter and its limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCounter {
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub update: Update,
}

/// Everything one admission writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub rate: Option<RateCounter>,
    pub budgets: Vec<BudgetCounter>,
    pub reserve: i64,
    pub input_estimate: u64,
}

/// Why a request is refused before Bedrock is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Budget {
        scope: Scope,
        name: Arc<str>,
        period: Period,
        limit: i64,
        /// What was left before this request (may be below the reservation, not zero).
        left: i64,
        reserve: i64,
        resets_at: i64,
    },
    Rate {
        name: Arc<str>,
        what: &'static str,
        limit: u64,
        retry_after: u64,
    },
}

/// The reservation in nano-dollars: the input estimate and at most [`OUTPUT_ALLOWANCE`] output
/// tokens at the model's price (0 for a model without a price).
pub fn reservation(price: Option<&ModelPrice>, input_estimate: u64, max_tokens: u64) -> i64 {
    let Some(price) = price else { return 0 };
    let tokens = TokenCounts {
        input: input_estimate,
        output: max_tokens.min(OUTPUT_ALLOWANCE),
        ..TokenCounts::default()
    };
    usd_to_nanos(model_cost(price, &tokens, None).total_cost)
}

/// `pricing` computes in nano-dollars and hands out `f64` USD that round-trip exactly.
pub fn usd_to_nanos(usd: f64) -> i64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e9).round() as i64
    } else {
        0
    }
}

/// The counters a request of `key` touches. A budget whose whole remainder could not hold the
/// reservation is refused later, by the store's condition; one the reservation alone exceeds is
/// refused here.
///
/// # Errors
/// A budget smaller than this request's reservation.
pub fn plan(
    key: &Arc<str>,
    limits: &KeyLimits,
    periods: &Periods,
    reserve: i64,
    input_estimate: u64,
) -> Result<Plan, Refusal> {
    let mut budgets = Vec::new();
    let team = limits
        .team
        .as_ref()
        .map(|t| (Scope::Team, &t.name, t.budget));
    for (scope, name, budget) in [(Scope::Key, key, limits.budget)].into_iter().chain(team) {
        for (period, limit) in [(Period::Day, budget.day), (Period::Month, budget.month)] {
            let Some(limit) = limit else { continue };
            if reserve > limit {
                return Err(Refusal::Budget {
                    scope,
                    name: name.clone(),
                    period,
                    limit,
                    left: limit,
                    reserve,
                    resets_at: periods.ends(period),
                });
            }
            let ttl = match period {
                Period::Day => SPEND_DAY_TTL,
                Period::Month => SPEND_MONTH_TTL,
            };
            budgets.push(BudgetCounter {
                scope,
                name: name.clone(),
                period,
                limit,
                update: Update {
                    item: spend_item(scope, name, periods.key(period)),
                    adds: vec![("nanos", reserve)],
                    guards: vec![("nanos", limit - reserve)],
                    expires_at: periods.ends(period) + ttl,
                },
            });
        }
    }
    let rate = rate_counter(key, limits, periods, input_estimate);
    Ok(Plan {
        rate,
        budgets,
        reserve,
        input_estimate,
    })
}

/// The key's per-minute counter, when it has a request or token rate.
fn rate_counter(
    key: &Arc<str>,
    limits: &KeyLimits,
    periods: &Periods,
    input_estimate: u64,
) -> Option<RateCounter> {
    let tokens = i64::try_from(input_estimate).unwrap_or(i64::MAX);
    (limits.rpm.is_some() || limits.tpm.is_some()).then(|| {
        let mut guards = Vec::new();
        if let Some(rpm) = limits.rpm {
            guards.push(("requests", to_i64(rpm) - 1));
        }
        if let Some(tpm) = limits.tpm {
            // The estimate must fit in what is left; one larger than the whole limit is admitted
            // into an empty minute only.
            guards.push(("tokens", (to_i64(tpm) - tokens).max(0)));
        }
        RateCounter {
            rpm: limits.rpm,
            tpm: limits.tpm,
            update: Update {
                item: ItemKey {
                    pk: format!("rate#key#{key}"),
                    sk: format!("minute#{}", periods.minute),
                },
                adds: vec![("requests", 1), ("tokens", tokens)],
                guards,
                expires_at: periods.minute_ends + RATE_TTL,
            },
        }
    })
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn spend_item(scope: Scope, name: &str, period_key: String) -> ItemKey {
    let scope = match scope {
        Scope::Key => "key",
        Scope::Team => "team",
    };
    ItemKey {
        pk: format!("spend#{scope}#{name}"),
        sk: period_key,
    }
}

/// What one response really used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spent {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_nanos: i64,
}

impl Spent {
    /// The tokens a tokens-per-minute limit counts: all but cache reads.
    pub fn rate_tokens(&self) -> i64 {
        to_i64(self.input_tokens + self.output_tokens + self.cache_write_tokens)
    }
}

/// The usage row of `key` and `model` on `day`.
pub fn usage_update(day: &str, day_ends: i64, key: &str, model: &str, spent: &Spent) -> Update {
    Update {
        item: ItemKey {
            pk: format!("usage#{day}"),
            sk: format!("{key}#{model}"),
        },
        adds: vec![
            ("requests", 1),
            ("input_tokens", to_i64(spent.input_tokens)),
            ("output_tokens", to_i64(spent.output_tokens)),
            ("cache_read_tokens", to_i64(spent.cache_read_tokens)),
            ("cache_write_tokens", to_i64(spent.cache_write_tokens)),
            ("cost_nanos", spent.cost_nanos),
        ],
        guards: Vec::new(),
        expires_at: day_ends + USAGE_TTL,
    }
}

/// An update that moves a counter by `delta` without a condition (reconciliation, roll-back).
pub fn adjustment(update: &Update, scale: impl Fn(&'static str, i64) -> i64) -> Update {
    Update {
        item: update.item.clone(),
        adds: update.adds.iter().map(|&(a, v)| (a, scale(a, v))).collect(),
        guards: Vec::new(),
        expires_at: update.expires_at,
    }
}

/// Nano-dollars as a USD decimal with up to 9 places, never negative (`"12.5"`, `"0"`).
pub fn usd_string(nanos: i64) -> String {
    let n = nanos.max(0);
    let fixed = format!("{}.{:09}", n / 1_000_000_000, n % 1_000_000_000);
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Refusal {
    pub fn into_error(self) -> ApiError {
        match self {
            Self::Budget {
                scope,
                name,
                period,
                limit,
                left,
                reserve,
                resets_at,
            } => {
                let whose = match scope {
                    Scope::Key => format!("API key `{name}`"),
                    Scope::Team => format!("team `{name}`"),
                };
                let state = if left <= 0 {
                    "is used up".to_owned()
                } else {
                    format!(
                        "has ${} left, less than this request may cost (${} reserved)",
                        usd_string(left),
                        usd_string(reserve)
                    )
                };
                ApiError::Billing(format!(
                    "the {} budget of {whose} (${}) {state}; it resets at {}",
                    period.adjective(),
                    usd_string(limit),
                    rfc3339(resets_at)
                ))
            }
            Self::Rate {
                name,
                what,
                limit,
                retry_after,
            } => ApiError::RateLimited {
                message: format!(
                    "API key `{name}` may use {limit} {what} per minute; retry in {retry_after} s"
                ),
                retry_after: Some(retry_after),
            },
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
