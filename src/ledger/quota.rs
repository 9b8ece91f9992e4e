//! What a key has left after admission (for Anthropic's rate-limit headers and
//! `x-chatrix-budget-remaining-usd`), and the refusals built from a store's answer. Pure.

use std::sync::Arc;

use super::periods::{rfc3339, Periods};
use super::plan::{usd_string, BudgetCounter, RateCounter, Refusal};

/// One per-minute limit as the headers show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub remaining: u64,
    pub reset: i64,
}

/// A key's standing, counted with this request's reservation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quota {
    pub requests: Option<Window>,
    pub tokens: Option<Window>,
    /// The least any budget of the key (or its team) has left, in nano-dollars.
    pub budget_left: Option<i64>,
    /// What this request reserved on its budgets, in nano-dollars.
    pub reserved: Option<i64>,
}

impl Quota {
    /// `now` holds the minute's new `requests` and `tokens`.
    pub(super) fn rate(&mut self, rate: &RateCounter, now: &[i64], periods: &Periods) {
        let window = |limit: u64, used: i64| Window {
            limit,
            remaining: limit.saturating_sub(u64::try_from(used).unwrap_or(0)),
            reset: periods.minute_ends,
        };
        let used = |i: usize| now.get(i).copied().unwrap_or(0);
        self.requests = rate.rpm.map(|l| window(l, used(0)));
        self.tokens = rate.tpm.map(|l| window(l, used(1)));
    }

    pub(super) fn budget(&mut self, left: i64, reserved: i64) {
        self.budget_left = Some(self.budget_left.map_or(left, |l| l.min(left)));
        self.reserved = Some(reserved);
    }

    /// Header names and values; empty for a key without limits.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let windows = [
            (
                &self.requests,
                [
                    "anthropic-ratelimit-requests-limit",
                    "anthropic-ratelimit-requests-remaining",
                    "anthropic-ratelimit-requests-reset",
                ],
            ),
            (
                &self.tokens,
                [
                    "anthropic-ratelimit-tokens-limit",
                    "anthropic-ratelimit-tokens-remaining",
                    "anthropic-ratelimit-tokens-reset",
                ],
            ),
        ];
        for (window, [limit, remaining, reset]) in windows {
            if let Some(w) = window {
                out.push((limit, w.limit.to_string()));
                out.push((remaining, w.remaining.to_string()));
                out.push((reset, rfc3339(w.reset)));
            }
        }
        if let Some(left) = self.budget_left {
            out.push(("x-chatrix-budget-remaining-usd", usd_string(left)));
        }
        if let Some(reserved) = self.reserved {
            out.push(("x-chatrix-reserved-usd", usd_string(reserved)));
        }
        out
    }
}

/// Which per-minute limit refused the request, from the counter's current values.
pub(super) fn rate_refusal(
    key: &Arc<str>,
    rate: &RateCounter,
    current: &[i64],
    periods: &Periods,
) -> Refusal {
    let over = rate
        .update
        .guards
        .iter()
        .zip(current)
        .find(|((_, max), now)| *now > max)
        .map_or("requests", |((attr, _), _)| *attr);
    let (what, limit) = match over {
        "tokens" => ("tokens", rate.tpm.unwrap_or_default()),
        _ => ("requests", rate.rpm.unwrap_or_default()),
    };
    Refusal::Rate {
        name: key.clone(),
        what,
        limit,
        retry_after: periods.retry_after(),
    }
}

pub(super) fn budget_refusal(
    budget: &BudgetCounter,
    current: &[i64],
    reserve: i64,
    periods: &Periods,
) -> Refusal {
    Refusal::Budget {
        scope: budget.scope,
        name: budget.name.clone(),
        period: budget.period,
        limit: budget.limit,
        left: budget.limit - current.first().copied().unwrap_or(0),
        reserve,
        resets_at: periods.ends(budget.period),
    }
}
