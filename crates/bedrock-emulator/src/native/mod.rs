//! Bedrock's native Anthropic path: InvokeModel and InvokeModelWithResponseStream for Claude
//! models, and the `invokeModel` input of CountTokens.
//!
//! Owns the Anthropic-shaped body (parsed here as JSON, never through Converse's `wire` types),
//! its validation (`check`, `content`, `turns`, with the per-model table in [`super::rules`]), the
//! facts the reply is planned from (`facts`) and the Anthropic-shaped answers (`answer`). The
//! reply itself comes from the shared [`super::plan`], and the frames from the shared
//! [`super::stream`], so directives and scripts behave as on Converse.

mod answer;
mod check;
mod content;
mod facts;
mod turns;
mod voice;

use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use super::error::BedrockError;
use super::model_id::Model;
use super::plan::{self, Call};
use super::rules::{self, Rules, Thinking};
use super::stream::{self, Pacing};
use super::tokens::Prompt;
use super::{Emulator, Operation};
pub(crate) use check::{model_rules, prefill};
pub(crate) use voice::Voice;

const TOO_LONG: &str = "Input is too long for requested model.";
const CONTEXT_1M_BETA: &str = "context-1m-2025-08-07";
const CLAUDE_ONLY: &str =
    "The Bedrock emulator serves InvokeModel for Anthropic Claude models only.";
/// Request headers Bedrock echoes on the response.
const ECHOED: [&str; 2] = [
    "x-amzn-bedrock-performanceconfig-latency",
    "x-amzn-bedrock-service-tier",
];

/// A call that passed every check.
struct Accepted {
    model: Model,
    name: String,
    body: Value,
    checked: check::Checked,
    prompt: Prompt,
}

impl Accepted {
    fn call(&self) -> Call<'_> {
        let map = self.body.as_object().cloned().unwrap_or_default();
        let facts = facts::facts(&map);
        let stop_sequences = map
            .get("stop_sequences")
            .and_then(Value::as_array)
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Call {
            model: &self.model,
            thinking: self.checked.thinking,
            last_user_text: facts.last_user_text,
            tool_results: facts.tool_results,
            tool_names: facts.tool_names,
            stop_sequences,
            max_tokens: Some(self.checked.max_tokens),
        }
    }
}

pub(crate) async fn invoke(
    State(emulator): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let op = Operation::InvokeModel;
    let accepted = match accept(&emulator, op, &model_id, &headers, &body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let reply = plan::plan(emulator.next_script(), &accepted.call());
    tokio::time::sleep(reply.silence).await;
    if let Some(error) = reply.error {
        return error.into_response();
    }
    let usage = answer::Usage::of(&emulator.account(&accepted.prompt), &reply);
    let latency = started.elapsed().as_millis().to_string();
    let mut response = axum::Json(answer::message(&reply, &usage, &accepted.name)).into_response();
    let out = response.headers_mut();
    for (name, value) in [
        ("x-amzn-bedrock-input-token-count", usage.input.to_string()),
        (
            "x-amzn-bedrock-output-token-count",
            usage.output.to_string(),
        ),
        ("x-amzn-bedrock-invocation-latency", latency),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            out.insert(name, value);
        }
    }
    echo_headers(&headers, out);
    response
}

pub(crate) async fn invoke_stream(
    State(emulator): State<Emulator>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let op = Operation::InvokeModelWithResponseStream;
    let accepted = match accept(&emulator, op, &model_id, &headers, &body) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let reply = plan::plan(emulator.next_script(), &accepted.call());
    let in_stream_error = match stream::in_stream_error(&reply).await {
        Ok(error) => error,
        Err(error) => return error.into_response(),
    };
    let usage = answer::Usage::of(&emulator.account(&accepted.prompt), &reply);
    let events = answer::events(&reply, &usage, &accepted.name);
    let pacing = Pacing::of(&reply, emulator.stream_guard(), started, in_stream_error);
    let mut response = stream::body(events, pacing).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    out.insert(
        "x-amzn-bedrock-content-type",
        HeaderValue::from_static("application/json"),
    );
    echo_headers(&headers, out);
    response
}

fn echo_headers(request: &HeaderMap, response: &mut HeaderMap) {
    for name in ECHOED {
        if let Some(value) = request.get(name) {
            response.insert(HeaderName::from_static(name), value.clone());
        }
    }
}

/// Records the call, then runs Bedrock's checks in order: authentication, model id, content
/// type, JSON, then the body.
fn accept(
    emulator: &Emulator,
    operation: Operation,
    model_id: &str,
    headers: &HeaderMap,
    raw: &Bytes,
) -> Result<Accepted, BedrockError> {
    let parsed: Result<Value, _> = serde_json::from_slice(raw);
    let recorded = parsed.as_ref().map_or_else(
        |_| Value::String(String::from_utf8_lossy(raw).into_owned()),
        Clone::clone,
    );
    let raw_text = String::from_utf8_lossy(raw).into_owned();
    emulator.record_raw(operation, model_id, recorded, raw_text, headers);
    if !headers.contains_key(header::AUTHORIZATION) {
        return Err(BedrockError::missing_authorization());
    }
    let model = emulator.model_for(model_id)?;
    if !model.capabilities.claude {
        return Err(BedrockError::validation(CLAUDE_ONLY));
    }
    check::content_type(headers)?;
    let body = parsed.map_err(|e| malformed(&e))?;
    let (checked, prompt) = validate(&body, &model)?;
    Ok(Accepted {
        name: rules::anthropic_name(&model.base_id),
        model,
        body,
        checked,
        prompt,
    })
}

fn malformed(e: &serde_json::Error) -> BedrockError {
    BedrockError::validation(format!(
        "Malformed input request: {e}, please reformat your input and try again."
    ))
}

/// Every body check for `model`; the prompt as the model reads it.
fn validate(body: &Value, model: &Model) -> Result<(check::Checked, Prompt), BedrockError> {
    let rules = rules::for_model(&model.base_id);
    let voice = Voice::of(model, &rules);
    let name = rules::anthropic_name(&model.base_id);
    let map = check::envelope_keys(body, model, voice)?;
    let checked = check::parameters(map, &rules, &name, voice)?;
    content::check(map, &rules, checked.thinking, voice)?;
    let prompt = Prompt::of_native(body, &model.base_id);
    let window = context_window(&rules, map);
    if prompt.total > window {
        return Err(if voice.schema {
            BedrockError::validation(TOO_LONG)
        } else {
            voice.model(format!(
                "prompt is too long: {} tokens > {window} maximum",
                prompt.total
            ))
        });
    }
    Ok((checked, prompt))
}

/// 1M from 4.6 on; before that 200K, or 1M with the `context-1m` beta.
fn context_window(rules: &Rules, map: &serde_json::Map<String, Value>) -> u64 {
    let beta = map
        .get("anthropic_beta")
        .and_then(Value::as_array)
        .is_some_and(|b| b.iter().any(|v| v == CONTEXT_1M_BETA));
    let modern = rules.envelope || rules.thinking == Thinking::BudgetOrAdaptive;
    if modern || beta {
        1_000_000
    } else {
        200_000
    }
}

/// CountTokens with `input.invokeModel.body`: the decoded native body, checked as InvokeModel
/// would check it, counted with the same estimate. Honours the `error` and `silence` directives.
pub(crate) fn count(
    model: &Model,
    native: &[u8],
) -> Result<(Result<u64, BedrockError>, Duration), BedrockError> {
    let body: Value = serde_json::from_slice(native).map_err(|e| malformed(&e))?;
    let (_, prompt) = validate(&body, model)?;
    let map = body.as_object().cloned().unwrap_or_default();
    let (error, silence) = plan::count_tokens_directives(&facts::facts(&map).last_user_text);
    Ok((error.map_or(Ok(prompt.total), Err), silence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_id;
    use crate::models::Catalog;
    use serde_json::json;

    fn checked(model_id: &str, body: &Value) -> Result<check::Checked, BedrockError> {
        let catalog = Catalog::embedded().expect("catalog");
        let model = model_id::for_inference(&catalog, model_id).expect("model");
        validate(body, &model).map(|(checked, _)| checked)
    }

    #[test]
    fn always_on_models_think_without_being_asked_and_others_do_not() {
        let body = json!({"anthropic_version": check::API_VERSION, "max_tokens": 100,
                          "messages": [{"role": "user", "content": "hi"}]});
        assert!(
            checked("global.anthropic.claude-fable-5", &body)
                .expect("ok")
                .thinking
        );
        assert!(
            !checked("global.anthropic.claude-opus-5", &body)
                .expect("ok")
                .thinking
        );
    }

    #[test]
    fn the_context_window_grows_from_4_6_on_or_with_the_beta() {
        let old = rules::for_model("anthropic.claude-sonnet-4-5-20250929-v1:0");
        let no_beta = serde_json::Map::new();
        assert_eq!(context_window(&old, &no_beta), 200_000);
        let beta = json!({"anthropic_beta": [CONTEXT_1M_BETA]});
        assert_eq!(
            context_window(&old, beta.as_object().expect("map")),
            1_000_000
        );
        let new = rules::for_model("anthropic.claude-sonnet-4-6");
        assert_eq!(context_window(&new, &no_beta), 1_000_000);
    }
}
