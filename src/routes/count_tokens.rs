//! `POST /v1/messages/count_tokens`: an exact count where Bedrock can give one, a local estimate
//! everywhere else; never an error for what a real request would accept.
//!
//! The body is prepared exactly as `/v1/messages` would send it (so the same input errors
//! surface): for Claude on the native path (`CHATRIX_CLAUDE_API=invoke`, the default) the
//! InvokeModel body ([`crate::native::count`]), else the Converse conversion. For a Claude model
//! with a bare Bedrock id, [`counting`] asks bedrock-runtime CountTokens with that body
//! (`input.invokeModel` or `input.converse`) and, where runtime refuses the model,
//! bedrock-mantle's `count_tokens` (the client's Anthropic body, [`mantle_body`]). Other models, and anything no counter counts, get
//! the local estimate scaled for the model's tokenizer generation. `url` sources are never
//! downloaded for a count: their blocks are estimated and the rest is counted.
//! Details: `docs/token-counting.md`.

use std::borrow::Cow;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde::Serialize;

use super::converse::convert_options;
use super::counting::{exact_count, CountJob, MantleJob};
use super::extract::Incoming;
use super::mantle_body::{mantle_betas, mantle_body, MantleBodyOptions};
use super::messages::read_whole;
use super::messages::{apply_model_rules, resolve_model, RequestLog, UpstreamPath};
use crate::anthropic::request::{Kind, MessagesRequest, RequestBody};
use crate::config::ClaudeApi;
use crate::convert::request::to_count_tokens;
use crate::error::ApiError;
use crate::models::rules::Change;
use crate::models::ResolvedModel;
use crate::native::count::count_tokens_input;
use crate::native::request::{NativeOptions, Purpose};
use crate::state::AppState;
use crate::tokens::{self, Generation};

/// Anthropic's `MessageTokensCount`.
#[derive(Debug, Serialize)]
struct TokenCount {
    input_tokens: u64,
}

pub(super) async fn count_tokens(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    let Incoming {
        bytes, betas, key, ..
    } = incoming;
    let mut request = read_whole(&RequestBody::split(&bytes, Kind::CountTokens)?)?;
    let model = resolve_model(&state, &request.model, UpstreamPath::OfModel).await?;
    // Free, but the key's model list and admin role read as on `/v1/messages`.
    super::spend::check_access(key.as_ref(), &model)?;
    let url_blocks = tokens::stand_in_url_sources(&mut request);
    let changes = apply_model_rules(&model, &mut request, &betas, None)?;
    let prepared = Prepared {
        state: &state,
        model: &model,
        raw: &bytes,
        betas: &betas,
        changes: &changes,
    };
    let runtime_body = runtime_body(&prepared, &request, url_blocks > 0)?;
    let caller = key.map(|k| k.name).unwrap_or_default();
    let exact = match runtime_body.and_then(|body| count_job(&prepared, body)) {
        Some(job) => exact_count(&state, &caller, job).await,
        None => None,
    };
    drop(bytes);
    let counted = exact.unwrap_or_else(|| tokens::estimate(&request).total_for(generation(&model)));
    let input_tokens = counted.saturating_add(url_blocks);
    let mut response = Json(TokenCount { input_tokens }).into_response();
    response.extensions_mut().insert(RequestLog {
        model: Some(model.client_model.clone()),
        input_tokens: Some(input_tokens),
        ..RequestLog::default()
    });
    Ok(response)
}

/// One count request, parsed and with the model's rules planned.
struct Prepared<'a> {
    state: &'a AppState,
    model: &'a ResolvedModel<'a>,
    /// The client's body bytes.
    raw: &'a [u8],
    betas: &'a [String],
    changes: &'a [Change],
}

/// The bedrock-runtime CountTokens body: the InvokeModel body as `input.invokeModel` for Claude on
/// the native path, else the Converse conversion as `input.converse`. The conversion runs for
/// every model so that a count meets the input errors `/v1/messages` would; `None` for models
/// no exact counter is asked about (other vendors').
///
/// # Errors
/// Input the conversion (or the native body rules) refuses.
fn runtime_body(
    p: &Prepared<'_>,
    request: &MessagesRequest,
    has_url_sources: bool,
) -> Result<Option<Bytes>, ApiError> {
    let claude = p.model.capabilities.claude;
    if claude && p.state.cfg.claude_api == ClaudeApi::Invoke {
        let opts = NativeOptions {
            model: p.model,
            betas: p.betas,
            changes: p.changes,
            strip_billing_header: p.state.cfg.strip_billing_header,
            system_turns: request.has_system_turns(),
            purpose: Purpose::CountTokens,
        };
        let body = match has_url_sources {
            true => Cow::Owned(stood_in(p.raw)?),
            false => Cow::Borrowed(p.raw),
        };
        return count_tokens_input(&body, &opts).map(Some);
    }
    let converse = to_count_tokens(request, &convert_options(p.state, p.model, p.betas))?;
    if !claude {
        return Ok(None);
    }
    serde_json::to_vec(&converse)
        .map(|v| Some(Bytes::from(v)))
        .map_err(|e| ApiError::Internal(e.into()))
}

/// The client's body with its `url` sources stood in (as in the parsed request, whose estimate
/// for them the caller adds): nothing is downloaded for a count.
fn stood_in(raw: &[u8]) -> Result<Vec<u8>, ApiError> {
    let mut body: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| ApiError::invalid(format!("request body is not valid JSON: {e}")))?;
    if let Some(messages) = body.get_mut("messages") {
        tokens::stand_in_url_values(messages);
    }
    serde_json::to_vec(&body).map_err(|e| ApiError::Internal(e.into()))
}

/// What the exact counters are asked, for Claude models with a bare Bedrock id; `None` sends
/// the request straight to the estimate (application inference profiles).
fn count_job<'a>(p: &Prepared<'a>, runtime_body: Bytes) -> Option<CountJob<'a>> {
    let base_id = p.model.base_model_id.as_deref()?;
    let opts = MantleBodyOptions {
        base_id,
        strip_billing_header: p.state.cfg.strip_billing_header,
    };
    let mantle = mantle_body(p.raw, &opts).map(|body| MantleJob {
        body,
        betas: mantle_betas(p.betas, p.model),
    });
    Some(CountJob {
        base_id,
        runtime_body,
        mantle,
    })
}

/// The tokenizer generation the estimate is scaled for: by catalog id when the model is in the
/// catalog, else by the name the client sent (a derived `claude-*` name, a Bedrock id).
fn generation(model: &ResolvedModel<'_>) -> Generation {
    Generation::of(
        model
            .spec
            .map_or(model.client_model.as_str(), |s| s.id.as_str()),
    )
}
