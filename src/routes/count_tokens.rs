//! `POST /v1/messages/count_tokens`: an exact count where Bedrock can give one, a local estimate
//! everywhere else; never an error for what a real request would accept.
//!
//! The body is converted exactly as for `/v1/messages` (so the same input errors surface). For a
//! Claude model with a bare Bedrock id, [`counting`] asks bedrock-runtime CountTokens (the
//! converted body) and, where runtime refuses the model, bedrock-mantle's `count_tokens` (the
//! client's Anthropic body, [`mantle_body`]). Other models, and anything no counter counts, get
//! the local estimate scaled for the model's tokenizer generation. `url` sources are never
//! downloaded for a count: their blocks are estimated and the rest is counted.
//! Details: `docs/token-counting.md`.

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use bytes::Bytes;
use serde::Serialize;

use super::counting::{exact_count, CountJob, MantleJob};
use super::mantle_body::{mantle_betas, mantle_body, MantleBodyOptions};
use super::messages::{
    apply_model_rules, beta_headers, convert_options, read_body, resolve_model, RequestLog,
};
use crate::anthropic::request::parse_count_tokens_request;
use crate::auth::AuthedKey;
use crate::convert::request::to_count_tokens;
use crate::error::ApiError;
use crate::models::ResolvedModel;
use crate::state::AppState;
use crate::tokens::{self, Generation};

/// Anthropic's `MessageTokensCount`.
#[derive(Debug, Serialize)]
struct TokenCount {
    input_tokens: u64,
}

pub(super) async fn count_tokens(
    State(state): State<AppState>,
    key: Option<Extension<AuthedKey>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let bytes = read_body(&headers, body, state.cfg.max_body_bytes).await?;
    let mut request = parse_count_tokens_request(&bytes)?;
    let model = resolve_model(&state, &request.model)?;
    let url_blocks = tokens::stand_in_url_sources(&mut request);
    let betas = beta_headers(&headers);
    apply_model_rules(&model, &mut request, &betas)?;
    let counted_body = to_count_tokens(&request, &convert_options(&state, &model, &betas))?;
    let caller = key.map(|Extension(k)| k.name).unwrap_or_default();
    let exact = match count_job(&state, &model, &bytes, &betas, &counted_body) {
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

/// What the exact counters are asked, for Claude models with a bare Bedrock id; `None` sends
/// the request straight to the estimate (other vendors' models, application inference profiles).
fn count_job<'a>(
    state: &AppState,
    model: &'a ResolvedModel<'_>,
    raw: &[u8],
    betas: &[String],
    runtime_body: &serde_json::Value,
) -> Option<CountJob<'a>> {
    if !model.capabilities.claude {
        return None;
    }
    let base_id = model.base_model_id.as_deref()?;
    let runtime_body = Bytes::from(serde_json::to_vec(runtime_body).ok()?);
    let opts = MantleBodyOptions {
        base_id,
        strip_billing_header: state.cfg.strip_billing_header,
    };
    let mantle = mantle_body(raw, &opts).map(|body| MantleJob {
        body,
        betas: mantle_betas(betas, model),
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
