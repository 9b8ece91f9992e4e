//! `GET /v1/organizations/usage_report/messages` and `GET /v1/organizations/cost_report`, in the
//! shape of Anthropic's Admin API, from the ledger's daily usage rows (docs/budgets.md, "Reports").
//! Only admin keys (`CHATRIX_ADMIN_KEYS`, `admin_keys`) read them; other keys get 403.
//!
//! Buckets are UTC days (`bucket_width=1d`, the only width the rows hold); `api_key_id` is the
//! key's name. Each day is one `Query` of its `usage#<day>` partition. Thin: the sums are in
//! [`crate::ledger::report`].

use axum::extract::{Query, State};
use axum::Extension;
use axum::Json;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};

use crate::auth::AuthedKey;
use crate::error::ApiError;
use crate::ledger::report::{self, day_key, Grouping, Line};
use crate::state::AppState;

/// The Admin API's default and largest number of daily buckets.
const DEFAULT_LIMIT: usize = 7;
const MAX_LIMIT: usize = 31;

type Params = Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>;

pub(super) async fn usage_messages(
    State(state): State<AppState>,
    key: Option<Extension<AuthedKey>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let ask = Ask::parse(key, params, &["model"])?;
    report(&state, &ask, usage_result).await
}

pub(super) async fn cost(
    State(state): State<AppState>,
    key: Option<Extension<AuthedKey>>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let ask = Ask::parse(key, params, &["model", "description"])?;
    report(&state, &ask, cost_result).await
}

/// One report request, checked.
struct Ask {
    days: Vec<Date>,
    next: Option<Date>,
    grouping: Grouping,
    keys: Vec<String>,
    models: Vec<String>,
}

impl Ask {
    fn parse(
        key: Option<Extension<AuthedKey>>,
        params: Params,
        groups: &[&str],
    ) -> Result<Self, ApiError> {
        require_admin(key)?;
        let Query(params) = params.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
        let one = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let many = |name: &str| -> Vec<String> {
            let bracketed = format!("{name}[]");
            params
                .iter()
                .filter(|(k, _)| *k == bracketed || k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let starting_at = one("starting_at")
            .ok_or_else(|| ApiError::InvalidRequest("starting_at: required".into()))?;
        let mut first = instant("starting_at", starting_at)?.date();
        if let Some(page) = one("page") {
            first = report::parse_day(page)
                .ok_or_else(|| ApiError::InvalidRequest("page: not a page token".into()))?;
        }
        if let Some(width) = one("bucket_width").filter(|w| *w != "1d") {
            return Err(ApiError::InvalidRequest(format!(
                "bucket_width: `{}` is not supported; usage is kept per day (1d)",
                crate::anthropic::request::truncate(width, 16)
            )));
        }
        let limit = match one("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| ApiError::InvalidRequest("limit: must be 1 to 31".into()))?,
        };
        let tomorrow = OffsetDateTime::now_utc()
            .date()
            .saturating_add(Duration::DAY);
        let end = match one("ending_at") {
            Some(v) => instant("ending_at", v)?.date(),
            None => tomorrow,
        };
        let (days, more) = report::days(first, end.min(tomorrow), limit);
        Ok(Self {
            next: more.then(|| first.saturating_add(Duration::days(limit as i64))),
            days,
            grouping: grouping(&many("group_by"), groups)?,
            keys: many("api_key_ids"),
            models: many("models"),
        })
    }

    fn keeps(&self, line: &Line) -> bool {
        let allowed = |filter: &[String], v: &Option<String>| {
            filter.is_empty() || v.as_ref().is_some_and(|v| filter.contains(v))
        };
        allowed(&self.keys, &line.key) && allowed(&self.models, &line.model)
    }
}

fn require_admin(key: Option<Extension<AuthedKey>>) -> Result<(), ApiError> {
    match key {
        Some(Extension(k)) if k.admin => Ok(()),
        Some(Extension(k)) => Err(ApiError::Permission(format!(
            "API key `{}` is not an admin key; reports need one (CHATRIX_ADMIN_KEYS)",
            k.name
        ))),
        None => Err(ApiError::Authentication("an admin key is required".into())),
    }
}

/// `group_by[]`: `api_key_id` and `model` (`description` on the cost report, which names the
/// model) keep lines apart; the Admin API's other dimensions are accepted and have one value.
fn grouping(names: &[String], allowed: &[&str]) -> Result<Grouping, ApiError> {
    const ONE_VALUE: &[&str] = &[
        "workspace_id",
        "service_tier",
        "context_window",
        "inference_geo",
    ];
    let mut grouping = Grouping::default();
    for name in names {
        match name.as_str() {
            "api_key_id" => grouping.key = true,
            n if allowed.contains(&n) => grouping.model = true,
            n if ONE_VALUE.contains(&n) => {}
            n => {
                return Err(ApiError::InvalidRequest(format!(
                    "group_by: `{}` is not one of api_key_id, {}",
                    crate::anthropic::request::truncate(n, 32),
                    allowed.join(", ")
                )))
            }
        }
    }
    Ok(grouping)
}

fn instant(name: &str, value: &str) -> Result<OffsetDateTime, ApiError> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| ApiError::InvalidRequest(format!("{name}: not an RFC 3339 timestamp")))
}

async fn report(
    state: &AppState,
    ask: &Ask,
    result: fn(&Line, Grouping) -> Value,
) -> Result<Json<Value>, ApiError> {
    let days = state.ledger.usage_of_days(&ask.days).await.map_err(|e| {
        tracing::error!(error = %e, "usage report: the ledger could not be read");
        ApiError::Unavailable("the spend ledger could not be read; try again shortly".into())
    })?;
    let data: Vec<Value> = days
        .iter()
        .map(|(day, lines)| {
            let kept: Vec<Line> = lines.iter().filter(|l| ask.keeps(l)).cloned().collect();
            let results: Vec<Value> = report::group(&kept, ask.grouping)
                .iter()
                .map(|l| result(l, ask.grouping))
                .collect();
            json!({
                "starting_at": midnight(*day),
                "ending_at": midnight(day.saturating_add(Duration::DAY)),
                "results": results,
            })
        })
        .collect();
    Ok(Json(json!({
        "data": data,
        "has_more": ask.next.is_some(),
        "next_page": ask.next.map(day_key),
    })))
}

fn midnight(day: Date) -> String {
    format!("{}T00:00:00Z", day_key(day))
}

/// One result of the messages usage report. Cache writes are not split by duration in the
/// ledger: they are all reported as 5-minute writes.
fn usage_result(line: &Line, _: Grouping) -> Value {
    json!({
        "api_key_id": line.key,
        "workspace_id": null,
        "model": line.model,
        "service_tier": null,
        "context_window": null,
        "inference_geo": null,
        "uncached_input_tokens": line.input_tokens,
        "cache_read_input_tokens": line.cache_read_tokens,
        "cache_creation": {
            "ephemeral_1h_input_tokens": 0,
            "ephemeral_5m_input_tokens": line.cache_write_tokens,
        },
        "output_tokens": line.output_tokens,
        "server_tool_use": {"web_search_requests": 0},
    })
}

/// One result of the cost report: the amount in cents; `api_key_id` is Chatrix's addition.
fn cost_result(line: &Line, grouping: Grouping) -> Value {
    json!({
        "currency": "USD",
        "amount": report::cents(line.cost_nanos),
        "api_key_id": line.key,
        "workspace_id": null,
        "description": line.model.as_ref().map(|m| format!("{m} usage")),
        "cost_type": grouping.model.then_some("tokens"),
        "context_window": null,
        "model": line.model,
        "service_tier": null,
        "token_type": null,
        "inference_geo": null,
    })
}
