//! `POST /v1/messages`: the [`Incoming`] request's model resolved and its rules planned, spend
//! admitted, then Claude to the native path ([`super::native`]) or anything to Converse
//! ([`super::converse`]); what both paths share afterwards (the changes header, the cost, the log
//! line, Bedrock's refusals explained) is here too.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::Response;

use super::converse::{converse_message, Route};
use super::extract::Incoming;
use super::spend::Demand;
use super::stream::StreamLog;
use super::upstream::UpstreamPlan;
use crate::anthropic::request::{beta_values, Kind, MessagesRequest, Outline, RequestBody};
use crate::config::ClaudeApi;
use crate::error::ApiError;
use crate::models::rules::{self, Change};
use crate::models::ResolvedModel;
use crate::pricing;
use crate::state::AppState;

/// What the request-log line reports about a model call (token counts and cost, never content).
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    pub model: Option<String>,
    pub stream: bool,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cache_read_tokens: Option<u64>,
    pub cache_write_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// The cost is priced from another model (a model the catalog has never seen).
    pub cost_estimated: bool,
}

pub(super) async fn create_message(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    let Incoming {
        bytes,
        betas,
        key,
        request_id,
        deadline,
        headers,
        ..
    } = incoming;
    let body = split(&bytes, state.cfg.claude_api)?;
    let mut request = body.head()?;
    let model = resolve_model(&state, &request.model, UpstreamPath::OfModel).await?;
    let native = state.cfg.claude_api == ClaudeApi::Invoke && model.capabilities.claude;
    let outline = read_messages(&body, &mut request, native)?;
    let prefill = outline.map_or_else(|| request.ends_with_prefill(), |o| o.ends_with_assistant);
    let cap = state.cfg.max_output_tokens;
    let changes = apply_model_rules_with(&model, &mut request, prefill, &betas, cap)?;
    // Spend control (issue 17): 403 / 402 / 429 before Bedrock; settled in `spend::finish`.
    let demand = || demand(&request, &body, native);
    let bill = super::spend::admit_for(&state, key.as_ref(), &model, demand).await?;
    let log = StreamLog {
        request_id,
        model: model.client_model.clone(),
        key: key.map(|k| k.name),
        span: tracing::Span::current(),
        bill: bill.clone(),
    };
    let plan = UpstreamPlan::new(
        &state,
        &model,
        &headers,
        log.key.as_deref(),
        &log.request_id,
    );
    let call = super::native::NativeCall {
        state: &state,
        model: &model,
        betas: &betas,
        changes: &changes,
        deadline,
        plan: &plan,
    };
    // The native body is built while the client's bytes are borrowed; they are let go of before
    // Bedrock is called, so a large request is not held twice while it is sent.
    let stream = request.stream == Some(true);
    let prepared = outline.map(|o| super::native::prepare(&call, &body, o, stream));
    drop(body);
    let response = match prepared {
        Some(Ok(prepared)) => super::native::message(call, bytes, prepared, log).await,
        Some(Err(e)) => Err(e),
        None => {
            drop(bytes);
            // Boxed: the larger of the two paths' futures, which would otherwise set the size
            // (and the copying) of every native request's.
            Box::pin(converse(call, request, log)).await
        }
    };
    let response = response
        .map(|r| with_changes(r, &changes))
        .map_err(|e| explain_refusal(&model, e));
    super::spend::finish(bill, response).await
}

/// The body split at its top level, with the outline of `messages` read in the same scan when a
/// Claude model may go native (Converse reads `messages` typed instead).
fn split(bytes: &[u8], claude_api: ClaudeApi) -> Result<RequestBody<'_>, ApiError> {
    match claude_api {
        ClaudeApi::Invoke => RequestBody::split_with_outline(bytes, Kind::Messages),
        ClaudeApi::Converse => RequestBody::split(bytes, Kind::Messages),
    }
}

/// Converse rebuilds the request, so `messages` are read typed into `request`; the native path
/// sends the client's bytes, so it reads only their outline ([`RequestBody::outline`]).
fn read_messages(
    body: &RequestBody<'_>,
    request: &mut MessagesRequest,
    native: bool,
) -> Result<Option<Outline>, ApiError> {
    if native {
        return body.outline().map(Some);
    }
    request.messages = body.messages()?;
    Ok(None)
}

/// The typed request a count or the Converse path works from: every field, `messages` included.
///
/// # Errors
/// The first field that does not fit, named.
pub(super) fn read_whole(body: &RequestBody<'_>) -> Result<MessagesRequest, ApiError> {
    let mut request = body.head()?;
    request.messages = body.messages()?;
    Ok(request)
}

/// What spend control reserves for. The native path reads `messages` only here, and only for a
/// key whose spend is counted: the estimate needs their text.
fn demand(request: &MessagesRequest, body: &RequestBody<'_>, native: bool) -> Demand {
    if !native {
        return Demand::of_request(request);
    }
    let mut whole = request.clone();
    // Content serde_json will not read typed (Bedrock may still take it) counts four bytes a
    // token, so a key's budget is not left unguarded.
    let mut unread = 0;
    match body.messages() {
        Ok(messages) => whole.messages = messages,
        Err(_) => {
            unread = body
                .fields()
                .get("messages")
                .map_or(0, |m| m.get().len() / 4)
        }
    }
    let mut demand = Demand::of_request(&whole);
    demand.input_tokens += u64::try_from(unread).unwrap_or(u64::MAX);
    demand
}

async fn converse(
    call: super::native::NativeCall<'_>,
    request: MessagesRequest,
    log: StreamLog,
) -> Result<Response, ApiError> {
    let route = Route {
        state: call.state,
        model: call.model,
        deadline: call.deadline,
        plan: call.plan,
    };
    converse_message(route, request, call.betas, log).await
}

/// Bedrock's refusals, kept in Bedrock's words, with what only the gateway knows:
/// - a launch-day name Bedrock does not know after all is the 404 an unknown model is (clients
///   such as Claude Code then say the model is unavailable);
/// - a model that needs an account-wide data-retention mode (the Fable models) gets the mode
///   named after Bedrock's text, which does not name it (NATIVE.md §7.2).
fn explain_refusal(model: &ResolvedModel<'_>, error: ApiError) -> ApiError {
    match error {
        ApiError::InvalidRequest(m)
            if model.derived && m.contains("model identifier is invalid") =>
        {
            ApiError::NotFound(m)
        }
        ApiError::InvalidRequest(m) if m.contains("data retention mode") => {
            match model.spec.and_then(|s| s.data_retention.as_deref()) {
                Some(mode) => ApiError::InvalidRequest(format!(
                    "{m} (Chatrix: Bedrock serves this model only to AWS accounts whose \
                     data-retention mode is `{mode}`; an administrator sets it once with \
                     PutAccountDataRetention, see docs/models.md)"
                )),
                None => ApiError::InvalidRequest(m),
            }
        }
        other => other,
    }
}

/// Applies the model's catalog rules (`models::rules`), and the operator's output cap when given,
/// to the request. The names of the changes are logged at debug level, never content.
///
/// # Errors
/// A request the model refuses and no rule can mend (prefill where the model refuses it).
pub(super) fn apply_model_rules(
    model: &ResolvedModel<'_>,
    request: &mut MessagesRequest,
    betas: &[String],
    output_cap: Option<u32>,
) -> Result<Vec<Change>, ApiError> {
    let prefill = request.ends_with_prefill();
    apply_model_rules_with(model, request, prefill, betas, output_cap)
}

/// [`apply_model_rules`] for a request whose `messages` were only outlined (the native path):
/// `prefill` says whether the last turn is a non-empty assistant turn.
///
/// # Errors
/// As [`apply_model_rules`].
pub(super) fn apply_model_rules_with(
    model: &ResolvedModel<'_>,
    request: &mut MessagesRequest,
    prefill: bool,
    betas: &[String],
    output_cap: Option<u32>,
) -> Result<Vec<Change>, ApiError> {
    let sent: Vec<String> = beta_values(betas.iter().map(String::as_str))
        .into_iter()
        .filter(|b| model.allows_beta(b))
        .map(str::to_owned)
        .collect();
    let view = rules::View {
        ends_with_assistant: prefill,
        ..rules::View::of(request)
    };
    let mut changes = rules::plan(&model.rules, &view, &sent)?;
    // Models that take only one of the two (Sonnet and Haiku 4.5): temperature is the one
    // clients mean to set. On Converse the converter would drop it too; the native path needs it.
    let top_p = Change::DropSampling("top_p");
    if model.capabilities.temperature_top_p_exclusive
        && view.temperature
        && view.top_p
        && !changes.contains(&top_p)
    {
        changes.push(top_p);
    }
    // Last: a thinking rule may have removed the budget the cap would otherwise lower.
    changes.extend(rules::cap_output(request.max_tokens, output_cap));
    if !changes.is_empty() {
        let names: Vec<_> = changes.iter().map(Change::name).collect();
        tracing::debug!(changes = ?names, "model rules changed the request");
        rules::apply(request, &changes);
    }
    Ok(changes)
}

/// The header naming what the gateway changed that a client could notice (comma-separated).
pub(super) const CHANGES: &str = "x-chatrix-changes";

/// Names the rule changes a client could notice in [`CHANGES`], before any the upstream call
/// added (a refusal learned on the native path).
fn with_changes(mut response: Response, changes: &[Change]) -> Response {
    let mut visible: Vec<&str> = changes
        .iter()
        .filter(|c| c.is_visible())
        .map(Change::name)
        .collect();
    let headers = response.headers_mut();
    let earlier = headers
        .get(CHANGES)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    visible.extend(earlier.as_deref());
    if let Ok(v) = HeaderValue::from_str(&visible.join(", ")) {
        if !visible.is_empty() {
            headers.insert(CHANGES, v);
        }
    }
    response
}

/// A JSON answer's `x-chatrix-cost-usd` header and request-log line.
pub(super) fn with_cost(
    mut response: Response,
    model: &ResolvedModel<'_>,
    usage: &crate::anthropic::response::Usage,
) -> Response {
    if let Some(cost) = &usage.cost {
        if let Ok(v) = HeaderValue::from_str(&pricing::header_value(cost)) {
            response.headers_mut().insert("x-chatrix-cost-usd", v);
        }
    }
    response.extensions_mut().insert(log_line(model, usage));
    response
}

pub(super) fn log_line(
    model: &ResolvedModel<'_>,
    usage: &crate::anthropic::response::Usage,
) -> RequestLog {
    RequestLog {
        model: Some(model.client_model.clone()),
        ..RequestLog::of_usage(Some(usage))
    }
}

impl RequestLog {
    /// The usage fields of a request's log line, read from the typed usage the client got: the
    /// one mapping for JSON answers (this line) and streams (`stream ended`).
    pub(super) fn of_usage(usage: Option<&crate::anthropic::response::Usage>) -> Self {
        Self {
            input_tokens: usage.map(|u| u.input_tokens),
            output_tokens: usage.map(|u| u.output_tokens),
            cache_read_tokens: usage.map(|u| u.cache_read_input_tokens),
            cache_write_tokens: usage.map(|u| u.cache_creation_input_tokens),
            cost_usd: usage.and_then(|u| u.cost.as_ref()).map(|c| c.total_cost),
            cost_estimated: usage.is_some_and(|u| u.cost_estimated),
            ..Self::default()
        }
    }
}

/// The upstream path a route names on the request span.
#[derive(Debug, Clone, Copy)]
pub(super) enum UpstreamPath {
    /// The model's own: `invoke` for a Claude model while `CHATRIX_CLAUDE_API=invoke`, else
    /// `converse`.
    OfModel,
    /// The Bedrock pass-through routes: `passthrough`, whatever the model.
    Passthrough,
}

/// The client's model name, resolved the way every route resolves it. An application inference
/// profile ARN is resolved to the model behind it first ([`crate::app_profiles`]); when Bedrock
/// cannot be asked, it is served as an unknown id (on Converse), as before. The model and the
/// route's upstream path are recorded on the request span, each once.
pub(super) async fn resolve_model<'s>(
    state: &'s AppState,
    name: &str,
    path: UpstreamPath,
) -> Result<ResolvedModel<'s>, ApiError> {
    let named = crate::anthropic::request::truncate(name, 128);
    tracing::Span::current().record("model", named);
    let model = resolve_any(state, name).await?;
    let upstream = match (path, state.cfg.claude_api) {
        (UpstreamPath::Passthrough, _) => "passthrough",
        (UpstreamPath::OfModel, ClaudeApi::Invoke) if model.capabilities.claude => "invoke",
        (UpstreamPath::OfModel, _) => "converse",
    };
    // Each record costs the log layer a serialization of the span: the name again only if the
    // resolution changed it.
    let resolved = crate::anthropic::request::truncate(&model.client_model, 128);
    let renamed = (resolved != named).then_some(resolved);
    super::record_route(renamed, upstream);
    Ok(model)
}

async fn resolve_any<'s>(state: &'s AppState, name: &str) -> Result<ResolvedModel<'s>, ApiError> {
    let arn = name.trim();
    if crate::app_profiles::is_application_profile(arn) {
        match state.app_profiles.resolve(&state.bedrock, arn).await {
            Ok(Some(profile)) => {
                if let Some(base) = profile.base_model_id() {
                    return Ok(state.catalog.resolve_backed(arn, base));
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not resolve an application inference profile")
            }
        }
    }
    let available = state.discovery.snapshot();
    state
        .catalog
        .resolve_with(name, state.cfg.inference_profile, available.as_deref())
}
