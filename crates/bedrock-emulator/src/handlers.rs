//! The Bedrock operations: Converse, ConverseStream and CountTokens (the native InvokeModel
//! operations are [`super::native`]'s).
//!
//! Each call is recorded first, then checked in Bedrock's order (authentication, model id, body
//! shape, validation), then answered from [`super::plan`].

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::model_id::{self, Model};
use super::plan::{self, Call};
use super::stream::{self, Pacing};
use super::tokens::Prompt;
use super::validate::{self, Checked};
use super::wire::{self, ConverseBody, CountTokensInput, CountTokensRequest};
use super::{Emulator, Operation};

const TOO_LONG: &str = "Input is too long for requested model.";

pub(crate) async fn converse(
    State(emulator): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let accepted = match accept(&emulator, Operation::Converse, &model_id, &headers, &body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let reply = plan::plan(emulator.next_script(), &accepted.call());
    tokio::time::sleep(reply.silence).await;
    if let Some(error) = reply.error {
        return error.into_response();
    }
    let input = emulator.account(&accepted.prompt);
    let usage = super::respond::usage(&input, &reply);
    let latency = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let paths = &accepted.req.additional_model_response_field_paths;
    Json(super::respond::converse_body(
        &reply, &usage, latency, paths,
    ))
    .into_response()
}

pub(crate) async fn converse_stream(
    State(emulator): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let accepted = match accept(
        &emulator,
        Operation::ConverseStream,
        &model_id,
        &headers,
        &body,
    ) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let reply = plan::plan(emulator.next_script(), &accepted.call());
    let in_stream_error = match stream::in_stream_error(&reply).await {
        Ok(error) => error,
        Err(error) => return error.into_response(),
    };
    let input = emulator.account(&accepted.prompt);
    let usage = super::respond::usage(&input, &reply);
    let events = stream::events(
        &reply,
        &usage,
        &accepted.req.additional_model_response_field_paths,
    );
    let pacing = Pacing::of(&reply, emulator.stream_guard(), started, in_stream_error);
    let mut response = stream::body(events, pacing).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    response
}

pub(crate) async fn count_tokens(
    State(emulator): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (n, silence) = match count(&emulator, &model_id, &headers, &body) {
        Ok(counted) => counted,
        Err(e) => return e.into_response(),
    };
    tokio::time::sleep(silence).await;
    match n {
        Ok(n) => Json(json!({ "inputTokens": n })).into_response(),
        Err(e) => e.into_response(),
    }
}

/// A CountTokens answer (or the failure a directive asked for) and how long to wait before it.
type Counted = (Result<u64, BedrockError>, std::time::Duration);

/// A call that passed every check.
struct Accepted {
    req: ConverseBody,
    model: Model,
    checked: Checked,
    prompt: Prompt,
}

impl Accepted {
    fn call(&self) -> Call<'_> {
        Call::converse(&self.req, &self.model, self.checked.thinking)
    }
}

fn accept(
    emulator: &Emulator,
    operation: Operation,
    model_id: &str,
    headers: &HeaderMap,
    raw: &Bytes,
) -> Result<Accepted, BedrockError> {
    let body = received(emulator, operation, model_id, headers, raw)?;
    let model = emulator.model_for(model_id)?;
    let req: ConverseBody = wire::parse(&body)?;
    let checked = validate::check(&req, &model, operation == Operation::ConverseStream)?;
    let prompt = Prompt::of(&body, &model.base_id);
    if prompt.total > checked.context_window {
        return Err(BedrockError::validation(TOO_LONG));
    }
    Ok(Accepted {
        req,
        model,
        checked,
        prompt,
    })
}

fn count(
    emulator: &Emulator,
    model_id: &str,
    headers: &HeaderMap,
    raw: &Bytes,
) -> Result<Counted, BedrockError> {
    let body = received(emulator, Operation::CountTokens, model_id, headers, raw)?;
    let model = model_id::for_count_tokens(emulator.catalog(), model_id)?;
    let request: CountTokensRequest = wire::parse(&body)?;
    match request.input {
        CountTokensInput::Converse(converse) => {
            let req = ConverseBody::from(converse);
            validate::check(&req, &model, false)?;
            let (error, silence) = plan::count_tokens_directives(&plan::last_user_text(&req));
            let converse_body = body.pointer("/input/converse").unwrap_or(&Value::Null);
            let total = Prompt::of(converse_body, &model.base_id).total;
            Ok((error.map_or(Ok(total), Err), silence))
        }
        CountTokensInput::InvokeModel(invoke) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&invoke.body)
                .map_err(|_| BedrockError::validation("Malformed input request: input.invokeModel.body: invalid base64, please reformat your input and try again."))?;
            super::native::count(&model, &bytes)
        }
    }
}

/// Records the call, then answers the front-end checks: authentication and JSON syntax.
fn received(
    emulator: &Emulator,
    operation: Operation,
    model_id: &str,
    headers: &HeaderMap,
    raw: &Bytes,
) -> Result<Value, BedrockError> {
    let parsed: Result<Value, _> = serde_json::from_slice(raw);
    let recorded = parsed.as_ref().map_or_else(
        |_| Value::String(String::from_utf8_lossy(raw).into_owned()),
        Clone::clone,
    );
    emulator.record(operation, model_id, recorded, headers);
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(BedrockError::missing_authorization());
    }
    parsed.map_err(|e| {
        let message = format!("Unable to parse the request body: {e}");
        BedrockError::named("SerializationException", Some(message), None)
    })
}
