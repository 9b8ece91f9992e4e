//! Bedrock pass-through mode: Bedrock's own runtime routes, for clients that speak Bedrock rather
//! than the Anthropic API (Claude Code with `CLAUDE_CODE_USE_BEDROCK=1`,
//! `ANTHROPIC_BEDROCK_BASE_URL=<gateway>` and `CLAUDE_CODE_SKIP_BEDROCK_AUTH=1`; boto3 with
//! `endpoint_url`). See docs/api.md, "Bedrock pass-through routes".
//!
//! - `POST /model/{model}/invoke`, `…/invoke-with-response-stream`, `…/count-tokens`: behind the
//!   API-key check. The body goes to Bedrock as it came; the model is resolved through the catalog
//!   (so a catalog name works too, and the price is known); the answer comes back as Bedrock sent
//!   it: JSON bytes, or event-stream frames (`application/vnd.amazon.eventstream`, each chunk
//!   re-framed as Bedrock frames it), or Bedrock's error (status, `x-amzn-errortype`,
//!   `{"message":…}`). Cost goes to `x-chatrix-cost-usd` (non-streaming) and the log line; keys
//!   are admitted and billed as on `/v1/messages` (`routes::passthrough_spend`).
//! - `GET /inference-profiles[/{id}]`: in `routes::inference_profiles`.
//!
//! Thin: the pure parts are in [`crate::passthrough`], the Bedrock calls in
//! [`crate::bedrock::passthrough`].

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use bedrock_eventstream as eventstream;
use futures::Stream;

use super::body::read_body;
use super::messages::{resolve_model, RequestLog, UpstreamPath};
use super::passthrough_spend as spending;
use super::stream::StreamEnd;
use super::RequestId;
use crate::auth::AuthedKey;
use crate::bedrock::passthrough::{Echo, PassChunks, PassHeaders};
use crate::models::ResolvedModel;
use crate::passthrough::meter::{self, Meter};
use crate::passthrough::path::{self, Operation};
use crate::passthrough::Fault;
use crate::pricing;
use crate::state::AppState;

/// A stream whose upstream is silent this long is ended with an exception frame.
const MAX_UPSTREAM_SILENCE: Duration = Duration::from_secs(300);

/// `POST /model/{*rest}`: InvokeModel, InvokeModelWithResponseStream or CountTokens.
pub(super) async fn runtime(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    request_id: Option<Extension<RequestId>>,
    key: Option<Extension<AuthedKey>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some((name, op)) = path::split(&rest) else {
        let mut unknown = Fault::named("UnknownOperationException", "no such operation");
        unknown.status = 404;
        return fault_response(&unknown, None);
    };
    let model = match resolve_model(&state, name, UpstreamPath::Passthrough).await {
        Ok(m) => m,
        Err(_) => {
            let invalid = Fault::named(
                "ValidationException",
                "The provided model identifier is invalid.",
            );
            return fault_response(&invalid, None);
        }
    };
    let body = match read_body(&headers, body, state.cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return fault_response(&Fault::from_api_error(&e), Some(&model)),
    };
    let request_id = request_id
        .map(|Extension(RequestId(id))| id)
        .unwrap_or_default();
    let key = key.map(|Extension(k)| k);
    // Spend control (issue 17), as on `/v1/messages`: 403 / 402 / 429 before Bedrock.
    let bill = match op {
        Operation::CountTokens => match spending::count_refusal(key.as_ref(), &model) {
            None => None,
            Some(refusal) => return with_request_id(refusal, &request_id),
        },
        _ => match spending::admit(&state, key.as_ref(), &model, &body).await {
            Ok(bill) => bill,
            Err(refusal) => return with_request_id(refusal, &request_id),
        },
    };
    let end = EndOfStream {
        request_id: request_id.clone(),
        key: key.map(|k| k.name),
        model: model.client_model.clone(),
        span: tracing::Span::current(),
    };
    let response = match op {
        Operation::Invoke => invoke(&state, &model, body, &pass_headers(&headers, op)).await,
        Operation::InvokeStream => {
            let bill = spending::StreamBill::new(bill.clone(), model.price);
            let headers = pass_headers(&headers, op);
            invoke_stream(&state, &model, body, &headers, (end, bill)).await
        }
        Operation::CountTokens => count_tokens(&state, &model, body).await,
    };
    let response = response.unwrap_or_else(|fault| refused(op, &fault, &model));
    let response = spending::finish(bill, response).await;
    with_request_id(response, &request_id)
}

/// Bedrock's refusal of a call, logged once and relayed in Bedrock's own shape.
fn refused(op: Operation, fault: &Fault, model: &ResolvedModel) -> Response {
    tracing::info!(
        operation = op.name(),
        status = fault.status,
        code = fault.code,
        "Bedrock refused a pass-through call"
    );
    fault_response(fault, Some(model))
}

/// AWS SDKs report this as the request id (boto3's `ResponseMetadata.RequestId`).
fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-amzn-requestid", id);
    }
    response
}

async fn invoke(
    state: &AppState,
    model: &ResolvedModel<'_>,
    body: Bytes,
    headers: &PassHeaders,
) -> Result<Response, Fault> {
    let answer = state
        .bedrock
        .pass_invoke(&model.bedrock_model_id, body, headers)
        .await?;
    let usage = meter::message_usage(
        &answer.body,
        model.price.as_ref(),
        state.cfg.currency.as_ref(),
    );
    let mut response = Response::new(Body::from(answer.body));
    echo_headers(&mut response, &answer.echo);
    if let Some(cost) = usage.as_ref().and_then(|u| u.cost.as_ref()) {
        if let Ok(v) = HeaderValue::from_str(&pricing::header_value(cost)) {
            response.headers_mut().insert("x-chatrix-cost-usd", v);
        }
    }
    response.extensions_mut().insert(match &usage {
        Some(u) => super::messages::log_line(model, u),
        None => RequestLog {
            model: Some(model.client_model.clone()),
            ..RequestLog::default()
        },
    });
    Ok(response)
}

async fn invoke_stream(
    state: &AppState,
    model: &ResolvedModel<'_>,
    body: Bytes,
    headers: &PassHeaders,
    (end, bill): (EndOfStream, spending::StreamBill),
) -> Result<Response, Fault> {
    let stream = state
        .bedrock
        .pass_invoke_stream(&model.bedrock_model_id, body, headers)
        .await?;
    let pricing = Pricing {
        price: model.price,
        currency: state.cfg.currency.clone(),
    };
    let frames = relay(stream.chunks, pricing, end, bill);
    let mut response = Response::new(Body::from_stream(frames));
    echo_headers(&mut response, &stream.echo);
    let headers = response.headers_mut();
    // Claude Code refuses a stream labelled anything else (NATIVE.md §9.3).
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(eventstream::CONTENT_TYPE),
    );
    headers.insert(
        "x-amzn-bedrock-content-type",
        HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(RequestLog {
        model: Some(model.client_model.clone()),
        stream: true,
        ..RequestLog::default()
    });
    Ok(response)
}

async fn count_tokens(
    state: &AppState,
    model: &ResolvedModel<'_>,
    body: Bytes,
) -> Result<Response, Fault> {
    // CountTokens takes the foundation-model id, as the gateway's own count route sends it.
    let id = model
        .base_model_id
        .as_deref()
        .unwrap_or(&model.bedrock_model_id);
    let count = state.bedrock.pass_count_tokens(id, body).await?;
    let mut response = Response::new(Body::from(format!(r#"{{"inputTokens":{count}}}"#)));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(RequestLog {
        model: Some(model.client_model.clone()),
        ..RequestLog::default()
    });
    Ok(response)
}

/// The price the stream's usage is charged at.
struct Pricing {
    price: Option<crate::models::ModelPrice>,
    currency: Option<crate::pricing::CurrencyConversion>,
}

/// Each chunk re-framed as Bedrock frames it, the moment it arrives; an exception (or a silence
/// over [`MAX_UPSTREAM_SILENCE`]) becomes Bedrock's exception frame and ends the body. Dropping
/// the body (the client left) drops `chunks`, which cancels the Bedrock call.
fn relay(
    mut chunks: PassChunks,
    pricing: Pricing,
    end: EndOfStream,
    bill: spending::StreamBill,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    async_stream::stream! {
        let mut log = EndLog { end, meter: Meter::default(), outcome: None };
        loop {
            let next = match tokio::time::timeout(MAX_UPSTREAM_SILENCE, chunks.recv()).await {
                Ok(next) => next,
                Err(_) => Err(Fault::named(
                    "ModelTimeoutException",
                    format!("Bedrock sent nothing for {} s", MAX_UPSTREAM_SILENCE.as_secs()),
                )),
            };
            let fault = match next {
                Ok(None) => break,
                Ok(Some(chunk)) => {
                    log.meter.on_chunk(&chunk);
                    bill.on_chunk(&chunk, &log.meter);
                    if log.meter.ended() {
                        // Before the last chunk leaves: Lambda may freeze once the body is sent.
                        bill.settle(&log.meter).await;
                    }
                    match eventstream::chunk(&chunk) {
                        Ok(frame) => {
                            yield Ok(frame);
                            continue;
                        }
                        Err(e) => Fault::named("InternalServerException", format!("a chunk could not be framed: {e}")),
                    }
                }
                Err(fault) => fault,
            };
            if let Ok(frame) = fault.frame() {
                yield Ok(frame);
            }
            log.outcome = Some(format!("error: {}", fault.code));
            break;
        }
        bill.settle(&log.meter).await;
        log.finish(&pricing);
    }
}

/// Identifies the request in the end-of-stream log line.
struct EndOfStream {
    request_id: String,
    key: Option<std::sync::Arc<str>>,
    model: String,
    /// The request's span: the body is polled after the handler returned, outside it.
    span: tracing::Span,
}

/// Logs the end of a stream once: completed, failed, or abandoned by the client (on drop).
struct EndLog {
    end: EndOfStream,
    meter: Meter,
    outcome: Option<String>,
}

impl EndLog {
    fn line(&self) -> StreamEnd<'_> {
        StreamEnd {
            request_id: &self.end.request_id,
            model: &self.end.model,
            key: self.end.key.as_deref(),
            span: &self.end.span,
            passthrough: true,
        }
    }

    fn finish(&mut self, pricing: &Pricing) {
        let usage = self
            .meter
            .usage(pricing.price.as_ref(), pricing.currency.as_ref());
        let outcome = self.outcome.take().unwrap_or_else(|| "complete".to_owned());
        self.line().log(&outcome, usage.as_ref(), false);
        self.outcome = Some(String::new());
    }
}

impl Drop for EndLog {
    fn drop(&mut self) {
        if self.outcome.is_none() {
            self.line().log("client disconnected", None, false);
        }
    }
}

/// The Bedrock request headers the client sent that the SDK models.
fn pass_headers(headers: &HeaderMap, op: Operation) -> PassHeaders {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    PassHeaders {
        accept: match op {
            Operation::InvokeStream => get("x-amzn-bedrock-accept"),
            _ => get("accept").filter(|a| a != "*/*"),
        },
        service_tier: get("x-amzn-bedrock-service-tier"),
        latency: get("x-amzn-bedrock-performanceconfig-latency"),
        guardrail_identifier: get("x-amzn-bedrock-guardrailidentifier"),
        guardrail_version: get("x-amzn-bedrock-guardrailversion"),
        trace: get("x-amzn-bedrock-trace"),
    }
}

fn echo_headers(response: &mut Response, echo: &Echo) {
    let headers = response.headers_mut();
    let content_type = match echo.content_type.as_str() {
        "" => "application/json",
        other => other,
    };
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    for (name, value) in [
        ("x-amzn-bedrock-service-tier", &echo.service_tier),
        ("x-amzn-bedrock-performanceconfig-latency", &echo.latency),
    ] {
        if let Some(v) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

/// Bedrock's error response: its status, `x-amzn-errortype` and `{"message":…}`.
pub(super) fn fault_response(fault: &Fault, model: Option<&ResolvedModel<'_>>) -> Response {
    let mut response = Response::new(Body::from(fault.body()));
    *response.status_mut() =
        StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&fault.code) {
        headers.insert("x-amzn-errortype", v);
    }
    response.extensions_mut().insert(RequestLog {
        model: model.map(|m| m.client_model.clone()),
        ..RequestLog::default()
    });
    response
}
