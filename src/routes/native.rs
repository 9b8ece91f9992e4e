//! `POST /v1/messages` for Claude on Bedrock's native path: the client's body, changed only by the
//! rules in [`crate::native::request`], sent with InvokeModel (or its streaming twin), and the
//! answer relayed with its cost. Thin: the pure work is in [`crate::native`].

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::{json, Value};

use super::deadline::Deadline;
use super::messages::{with_cost, RequestLog};
use super::sources::fetch_sources;
use super::stream::{self, StreamLog, Timing};
use crate::anthropic::request::MessagesRequest;
use crate::error::ApiError;
use crate::models::rules::Change;
use crate::models::ResolvedModel;
use crate::native::request::{to_invoke, url_sources_mut, NativeOptions, Purpose};
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
}

/// Sends `body` (the client's bytes; `request` is their parse, used only to decide) natively.
///
/// # Errors
/// Input the body rules refuse, a `url` source that cannot be fetched, and Bedrock's errors with
/// their wording kept.
pub(super) async fn message(
    call: NativeCall<'_>,
    body: Bytes,
    mut request: MessagesRequest,
    log: StreamLog,
) -> Result<Response, ApiError> {
    let stream = request.stream == Some(true);
    let has_urls = !request.url_sources_mut().is_empty();
    // Only shown if Bedrock is silent before its first event (`NativeStream::start`); the exact
    // count follows in `message_delta`. Four bytes a token, so no walk of the body is paid for it.
    let input_estimate = u64::try_from(body.len() / 4).unwrap_or(u64::MAX);
    // The parse holds a copy of every payload; only the client's bytes go on from here.
    drop(request);
    let body = match has_urls {
        true => inline_url_sources(call.state, &body).await?,
        false => body,
    };
    let opts = NativeOptions {
        model: call.model,
        betas: call.betas,
        changes: call.changes,
        strip_billing_header: call.state.cfg.strip_billing_header,
        purpose: Purpose::Invoke,
    };
    let invoke = to_invoke(&body, &opts)?;
    drop(body);
    if !invoke.dropped.is_empty() {
        tracing::debug!(dropped = ?invoke.dropped, "fields not forwarded to Bedrock");
    }
    let ctx = NativeContext {
        client_model: call.model.client_model.clone(),
        input_estimate,
        price: call.model.price,
        currency: call.state.cfg.currency.clone(),
    };
    let model_id = &call.model.bedrock_model_id;
    let bedrock = &call.state.bedrock;
    let deadline = call.deadline;
    if stream {
        let upstream = bedrock.invoke_stream(model_id, invoke.bytes.into());
        let upstream = deadline.within(upstream).await?;
        let timing = Timing {
            ping: call.state.cfg.ping_interval,
            deadline,
        };
        let mut response = stream::respond(upstream, NativeStream::new(ctx), timing, log).await?;
        response.extensions_mut().insert(RequestLog {
            model: Some(call.model.client_model.clone()),
            stream: true,
            ..RequestLog::default()
        });
        return Ok(response);
    }
    let answer = deadline
        .within(bedrock.invoke(model_id, invoke.bytes.into()))
        .await?;
    let relayed = relay_message(&answer, &ctx)?;
    let mut response = Response::new(Body::from(relayed.bytes));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(with_cost(response, call.model, &relayed.usage))
}

/// The body with every `url` source replaced by its downloaded bytes (Bedrock takes bytes only).
/// The only case where the client's body is parsed whole and written again.
async fn inline_url_sources(state: &AppState, body: &[u8]) -> Result<Bytes, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
    let urls: Vec<String> = url_sources_mut(&mut value)
        .iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let fetched = fetch_sources(&state.fetcher, urls).await?;
    for (source, (media_type, data)) in url_sources_mut(&mut value).into_iter().zip(fetched) {
        source.clear();
        source.insert("type".into(), json!("base64"));
        source.insert("media_type".into(), json!(media_type));
        source.insert("data".into(), json!(data));
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|e| ApiError::Internal(e.into()))
}
