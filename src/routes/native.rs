//! `POST /v1/messages` for Claude on Bedrock's native path: the client's body, changed only by the
//! rules in [`crate::native::request`], sent with InvokeModel (or its streaming twin), and the
//! answer relayed with its cost. Thin: the pure work is in [`crate::native`].

use std::future::Future;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

use super::deadline::Deadline;
use super::messages::{with_cost, RequestLog, CHANGES};
use super::sources::fetch_sources;
use super::stream::{self, StreamLog, Timing};
use super::upstream::{with_upstream, UpstreamPlan};
use crate::anthropic::request::{Outline, RequestBody};
use crate::error::ApiError;
use crate::models::rules::Change;
use crate::models::ResolvedModel;
use crate::native::learned::{self, Knowledge, Removal};
use crate::native::request::{
    invoke_parts, to_invoke, url_sources_mut, NativeOptions, NativeParts, Purpose,
};
use crate::native::response::relay_message;
use crate::native::stream::{NativeContext, NativeStream};
use crate::state::AppState;

/// One request on its way to InvokeModel.
pub(super) struct NativeCall<'a> {
    pub(super) state: &'a AppState,
    pub(super) model: &'a ResolvedModel<'a>,
    pub(super) betas: &'a [String],
    pub(super) changes: &'a [Change],
    pub(super) deadline: Deadline,
    /// The session and model ids the upstream pool works with.
    pub(super) plan: &'a UpstreamPlan,
}

/// The InvokeModel body of one request, built while the client's bytes are still borrowed.
pub(super) struct Prepared {
    stream: bool,
    system_turns: bool,
    /// `None` when `messages` may hold `url` sources: the body is built after they are fetched.
    invoke: Option<NativeParts>,
}

/// Builds the InvokeModel body from the split client body ([`invoke_parts`]: its bulk stays in
/// the client's buffer), unless `url` sources must be fetched first.
///
/// # Errors
/// Input the body rules refuse.
pub(super) fn prepare(
    call: &NativeCall<'_>,
    body: &RequestBody<'_>,
    outline: Outline,
    stream: bool,
) -> Result<Prepared, ApiError> {
    let invoke = match outline.may_have_url_sources {
        true => None,
        false => Some(invoke_parts(
            body.fields(),
            body.bytes(),
            &options(call, outline.system_turns),
        )?),
    };
    Ok(Prepared {
        stream,
        system_turns: outline.system_turns,
        invoke,
    })
}

fn options<'a>(call: &'a NativeCall<'_>, system_turns: bool) -> NativeOptions<'a> {
    NativeOptions {
        model: call.model,
        betas: call.betas,
        changes: call.changes,
        strip_billing_header: call.state.cfg.strip_billing_header,
        system_turns,
        purpose: Purpose::Invoke,
    }
}

/// Sends a [`prepare`]d body natively; `bytes` (the client's) become the body sent, or are read
/// for their `url` sources.
///
/// # Errors
/// A `url` source that cannot be fetched, and Bedrock's errors with their wording kept.
pub(super) async fn message(
    call: NativeCall<'_>,
    bytes: Bytes,
    prepared: Prepared,
    log: StreamLog,
) -> Result<Response, ApiError> {
    // Only shown if Bedrock is silent before its first event (`NativeStream::start`); the exact
    // count follows in `message_delta`. Four bytes a token, so no walk of the body is paid for it.
    let input_estimate = u64::try_from(bytes.len() / 4).unwrap_or(u64::MAX);
    let (sent, dropped) = match prepared.invoke {
        Some(parts) => {
            let body = parts.body.assemble(bytes);
            (
                Sent {
                    body,
                    betas: parts.betas,
                },
                parts.dropped,
            )
        }
        None => {
            let inlined = inline_url_sources(call.state, &bytes).await?;
            let opts = options(&call, prepared.system_turns);
            let invoke = to_invoke(inlined.as_ref().unwrap_or(&bytes), &opts)?;
            let body = Bytes::from(invoke.bytes);
            (
                Sent {
                    body,
                    betas: invoke.betas,
                },
                invoke.dropped,
            )
        }
    };
    if !dropped.is_empty() {
        tracing::debug!(?dropped, "fields not forwarded to Bedrock");
    }
    let ctx = NativeContext {
        client_model: call.model.client_model.clone(),
        input_estimate,
        price: call.model.price,
        currency: call.state.cfg.currency.clone(),
    };
    let model_id = &call.model.bedrock_model_id;
    // Read once: what is removed up front, and what a refusal is judged against.
    let known = call.state.learned.get(model_id).await.unwrap_or_default();
    let sent = known_refusals_removed(&known, sent)?;
    if prepared.stream {
        return send_stream(&call, &known, sent, ctx, log).await;
    }
    send_json(&call, &known, sent, &ctx).await
}

/// InvokeModelWithResponseStream, relayed as SSE ([`NativeStream`]).
async fn send_stream(
    call: &NativeCall<'_>,
    known: &Knowledge,
    sent: Sent,
    ctx: NativeContext,
    log: StreamLog,
) -> Result<Response, ApiError> {
    let (pool, target, deadline) = (&call.state.pool, call.plan.target(), call.deadline);
    let model_id = &call.model.bedrock_model_id;
    // Failover inside the deadline, learning outside it: at most two rounds over the pool.
    let send = |b: Bytes| {
        deadline.within(pool.call(&target, move |client, id| {
            client.invoke_stream(id, b.clone())
        }))
    };
    let (served, learned) = send_learning(call.state, model_id, known, sent, send).await?;
    let upstream = served.value;
    let upstream_id = upstream.request_id.clone();
    let timing = Timing {
        ping: call.state.cfg.ping_interval,
        deadline,
    };
    let response = stream::respond(upstream, NativeStream::new(ctx), timing, log).await?;
    let mut response = with_upstream(response, &served.upstream);
    response.extensions_mut().insert(RequestLog {
        model: Some(call.model.client_model.clone()),
        stream: true,
        ..RequestLog::default()
    });
    Ok(with_upstream_notes(response, upstream_id, &learned))
}

/// InvokeModel, its answer relayed with the client's model name and the cost.
async fn send_json(
    call: &NativeCall<'_>,
    known: &Knowledge,
    sent: Sent,
    ctx: &NativeContext,
) -> Result<Response, ApiError> {
    let (pool, target, deadline) = (&call.state.pool, call.plan.target(), call.deadline);
    let model_id = &call.model.bedrock_model_id;
    let send = |b: Bytes| {
        deadline.within(pool.call(&target, move |client, id| client.invoke(id, b.clone())))
    };
    let (served, learned) = send_learning(call.state, model_id, known, sent, send).await?;
    let answer = served.value;
    let relayed = relay_message(&answer.body, ctx)?;
    let mut response = Response::new(Body::from(relayed.bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let response = with_upstream_notes(response, answer.request_id, &learned);
    let response = with_upstream(response, &served.upstream);
    Ok(with_cost(response, call.model, &relayed.usage))
}

/// The body without what Bedrock refused for this model within the last hour.
fn known_refusals_removed(known: &Knowledge, sent: Sent) -> Result<Sent, ApiError> {
    if known.refused.is_empty() {
        return Ok(sent);
    }
    tracing::debug!(removed = ?known.refused, "removed what Bedrock refused for this model");
    Ok(Sent {
        body: learned::strip(&sent.body, &known.refused)?.map_or(sent.body, Bytes::from),
        betas: sent
            .betas
            .into_iter()
            .filter(|b| !known.refuses_beta(b))
            .collect(),
    })
}

/// Sends `body`; when Bedrock refuses a beta or an optional top-level field of it, sends it once
/// more without them and remembers what is worth remembering for the model
/// ([`crate::native::learned`]); a success records its betas as accepted. Returns what this
/// request had removed that way, for `x-chatrix-changes`.
async fn send_learning<T, F, Fut>(
    state: &AppState,
    model_id: &str,
    known: &Knowledge,
    sent: Sent,
    send: F,
) -> Result<(T, Vec<Removal>), ApiError>
where
    F: Fn(Bytes) -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let Sent { body, betas } = sent;
    let refusal = match send(body.clone()).await {
        Err(ApiError::InvalidRequest(message)) => message,
        Ok(answer) => {
            if let Some(next) = known.after_success(&betas) {
                state
                    .learned
                    .insert(model_id.to_owned(), Arc::new(next))
                    .await;
            }
            return Ok((answer, Vec::new()));
        }
        Err(other) => return Err(other),
    };
    let removals = match learned::refused(&refusal) {
        Some(refused) => learned::removals(&body, &refused, &known.accepted)?,
        None => Vec::new(),
    };
    let Some(retry) = learned::strip(&body, &removals)? else {
        return Err(ApiError::InvalidRequest(refusal));
    };
    drop(body);
    if let Some(next) = known.after_refusal(&removals) {
        tracing::warn!(
            model = model_id,
            removed = ?removals,
            "Bedrock refused these for this model; sending without them, and removing them for an hour"
        );
        state
            .learned
            .insert(model_id.to_owned(), Arc::new(next))
            .await;
    }
    send(Bytes::from(retry))
        .await
        .map(|answer| (answer, removals))
}

/// The body sent and the betas in it (recorded as accepted when Bedrock answers).
struct Sent {
    body: Bytes,
    betas: Vec<String>,
}

/// Bedrock's request id (`x-amzn-requestid`, for AWS support; `request-id` stays the gateway's
/// own, which its logs carry) and what a learned refusal removed (appended to
/// `x-chatrix-changes` as `removed:<beta or field>`).
fn with_upstream_notes(
    mut response: Response,
    upstream_id: Option<String>,
    learned: &[Removal],
) -> Response {
    let headers = response.headers_mut();
    if let Some(v) = upstream_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert("x-amzn-requestid", v);
    }
    let removed: Vec<String> = learned.iter().map(|r| format!("removed:{r}")).collect();
    if let Ok(v) = HeaderValue::from_str(&removed.join(", ")) {
        if !removed.is_empty() {
            headers.insert(CHANGES, v);
        }
    }
    response
}

/// The body with every `url` source replaced by its downloaded bytes (Bedrock takes bytes only).
/// The only case where the client's body is parsed whole and written again.
/// `None` when no source has a string `url` to fetch: the body stays the client's bytes.
async fn inline_url_sources(state: &AppState, body: &[u8]) -> Result<Option<Bytes>, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
    let urls: Vec<String> = url_sources_mut(&mut value)
        .iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if urls.is_empty() {
        return Ok(None);
    }
    let fetched = fetch_sources(&state.fetcher, urls).await?;
    for (source, (media_type, data)) in url_sources_mut(&mut value).into_iter().zip(fetched) {
        source.clear();
        source.insert("type".into(), json!("base64"));
        source.insert("media_type".into(), json!(media_type));
        source.insert("data".into(), json!(data));
    }
    serde_json::to_vec(&value)
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| ApiError::Internal(e.into()))
}
