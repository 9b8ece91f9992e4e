//! `POST /v1/messages`: extract, convert, call Bedrock, convert back. No JSON is assembled here.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

pub(super) use super::body::read_body;
use super::deadline::Deadline;
use super::stream::{StreamLog, Timing};
use super::upstream::{with_upstream, UpstreamPlan};
use super::RequestId;

use crate::anthropic::request::{beta_values, parse_messages_request, MessagesRequest};
use crate::auth::AuthedKey;
use crate::config::ClaudeApi;
use crate::convert::request::{to_converse, ConverseRequest, ConvertOptions};
use crate::convert::response::{from_converse, ResponseContext};
use crate::convert::stream::{StreamContext, StreamState};
use crate::convert::tools::ToolNameMap;
use crate::error::ApiError;
use crate::models::rules::{self, Change};
use crate::models::ResolvedModel;
use crate::pricing;
use crate::state::AppState;
use crate::tokens;

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
    request_id: Option<Extension<RequestId>>,
    key: Option<Extension<AuthedKey>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, state.cfg.max_body_bytes).await?;
    let mut request = parse_messages_request(&bytes)?;
    let model = resolve_model(&state, &request.model).await?;
    let betas = beta_headers(&headers);
    let cap = state.cfg.max_output_tokens;
    let changes = apply_model_rules(&model, &mut request, &betas, cap)?;
    let deadline = Deadline::from_headers(&headers);
    let key = key.map(|Extension(k)| k);
    // Spend control (issue 17): 403 / 402 / 429 before Bedrock; settled in `spend::finish`.
    let bill = super::spend::admit(&state, key.as_ref(), &model, &request).await?;
    let log = StreamLog {
        request_id: request_id
            .map(|Extension(RequestId(id))| id)
            .unwrap_or_default(),
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
    let response = if state.cfg.claude_api == ClaudeApi::Invoke && model.capabilities.claude {
        let call = super::native::NativeCall {
            state: &state,
            model: &model,
            betas: &betas,
            changes: &changes,
            deadline,
            plan: &plan,
        };
        super::native::message(call, bytes, request, log).await
    } else {
        drop(bytes);
        let route = Route {
            state: &state,
            model: &model,
            deadline,
            plan: &plan,
        };
        converse_message(route, request, &betas, log).await
    };
    let response = response
        .map(|r| with_changes(r, &changes))
        .map_err(|e| explain_refusal(&model, e));
    super::spend::finish(bill, response).await
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

/// Where a Converse request goes, and by when.
struct Route<'a> {
    state: &'a AppState,
    model: &'a ResolvedModel<'a>,
    deadline: Deadline,
    plan: &'a UpstreamPlan,
}

/// The Converse path: every non-Claude model, and Claude with `CHATRIX_CLAUDE_API=converse`.
async fn converse_message(
    route: Route<'_>,
    mut request: MessagesRequest,
    betas: &[String],
    log: StreamLog,
) -> Result<Response, ApiError> {
    let Route {
        state,
        model,
        deadline,
        plan,
    } = route;
    super::sources::inline_url_sources(&state.fetcher, &mut request).await?;
    let converse = to_converse(&request, &convert_options(state, model, betas))?;
    if !converse.dropped.is_empty() {
        tracing::debug!(dropped = ?converse.dropped, "fields not forwarded to Bedrock");
    }
    let stream = request.stream == Some(true);
    // Sized from the parsed request (images by their headers, never by their base64), which is
    // dropped next: it and the JSON tree hold every base64 payload; only the bytes go on.
    let input_estimate = stream.then(|| tokens::estimate(&request).total());
    drop(request);
    let ConverseRequest {
        body,
        tool_names,
        stop_sequences,
        ..
    } = converse;
    let body = serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.into()))?;
    let call = Call {
        state,
        model,
        tool_names,
        stop_sequences,
        body: body.into(),
        deadline,
        plan,
    };
    match input_estimate {
        Some(input_estimate) => stream_message(call, log, input_estimate).await,
        None => json_message(call).await,
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
    let sent: Vec<String> = beta_values(betas.iter().map(String::as_str))
        .into_iter()
        .filter(|b| model.allows_beta(b))
        .map(str::to_owned)
        .collect();
    let view = rules::View::of(request);
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

/// One converted request on its way to Bedrock.
struct Call<'a> {
    state: &'a AppState,
    model: &'a ResolvedModel<'a>,
    tool_names: ToolNameMap,
    stop_sequences: Vec<String>,
    body: Bytes,
    deadline: Deadline,
    plan: &'a UpstreamPlan,
}

async fn json_message(call: Call<'_>) -> Result<Response, ApiError> {
    let target = call.plan.target();
    let pool = &call.state.pool;
    let body = &call.body;
    let served = call
        .deadline
        .within(pool.call(&target, |client, id| client.converse(id, body.clone())))
        .await?;
    let output = served.value;
    let ctx = ResponseContext {
        client_model: &call.model.client_model,
        tool_names: &call.tool_names,
        stop_sequences: &call.stop_sequences,
    };
    let mut message = from_converse(&output, &ctx);
    message.usage.cost = priced(call.state, call.model, &message.usage);
    message.usage.cost_estimated = call.model.price.is_some_and(|p| p.estimated);
    let response = with_upstream(Json(&message).into_response(), &served.upstream);
    Ok(with_cost(response, call.model, &message.usage))
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

/// `input_estimate` goes in `message_start` (never 0: Claude Code ignores a zero input count);
/// the exact count follows in `message_delta`.
async fn stream_message(
    call: Call<'_>,
    log: StreamLog,
    input_estimate: u64,
) -> Result<Response, ApiError> {
    let ctx = StreamContext {
        client_model: call.model.client_model.clone(),
        input_estimate,
        tool_names: call.tool_names,
        stop_sequences: call.stop_sequences,
        price: call.model.price,
        currency: call.state.cfg.currency.clone(),
    };
    let target = call.plan.target();
    let pool = &call.state.pool;
    let body = &call.body;
    let served = call
        .deadline
        .within(pool.call(&target, |client, id| {
            client.converse_stream(id, body.clone())
        }))
        .await?;
    let timing = Timing {
        ping: call.state.cfg.ping_interval,
        deadline: call.deadline,
    };
    let relay = StreamState::new(ctx);
    let response = super::stream::respond(served.value, relay, timing, log).await?;
    let mut response = with_upstream(response, &served.upstream);
    response.extensions_mut().insert(RequestLog {
        model: Some(call.model.client_model.clone()),
        stream: true,
        ..RequestLog::default()
    });
    Ok(response)
}

fn priced(
    state: &AppState,
    model: &ResolvedModel<'_>,
    usage: &crate::anthropic::response::Usage,
) -> Option<pricing::Cost> {
    let price = model.price?;
    Some(pricing::model_cost(
        &price,
        &usage.token_counts(),
        state.cfg.currency.as_ref(),
    ))
}

pub(super) fn log_line(
    model: &ResolvedModel<'_>,
    usage: &crate::anthropic::response::Usage,
) -> RequestLog {
    RequestLog {
        model: Some(model.client_model.clone()),
        stream: false,
        input_tokens: Some(usage.input_tokens),
        output_tokens: Some(usage.output_tokens),
        cache_read_tokens: Some(usage.cache_read_input_tokens),
        cache_write_tokens: Some(usage.cache_creation_input_tokens),
        cost_usd: usage.cost.as_ref().map(|c| c.total_cost),
        cost_estimated: usage.cost_estimated,
    }
}

/// The client's model name, resolved the way every route resolves it. An application inference
/// profile ARN is resolved to the model behind it first ([`crate::app_profiles`]); when Bedrock
/// cannot be asked, it is served as an unknown id (on Converse), as before.
pub(super) async fn resolve_model<'s>(
    state: &'s AppState,
    name: &str,
) -> Result<ResolvedModel<'s>, ApiError> {
    tracing::Span::current().record("model", crate::anthropic::request::truncate(name, 128));
    let model = resolve_any(state, name).await?;
    let upstream = match state.cfg.claude_api {
        ClaudeApi::Invoke if model.capabilities.claude => "invoke",
        _ => "converse",
    };
    super::record_route(&model.client_model, upstream);
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

/// Conversion settings shared by `/v1/messages` and `/v1/messages/count_tokens`.
pub(super) fn convert_options<'a>(
    state: &AppState,
    model: &'a ResolvedModel<'a>,
    betas: &'a [String],
) -> ConvertOptions<'a> {
    ConvertOptions {
        model,
        betas,
        strip_billing_header: state.cfg.strip_billing_header,
    }
}

pub(super) fn beta_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}
