//! `POST /v1/messages/count_tokens`: Bedrock CountTokens where it can answer, a local estimate
//! everywhere else; never an error for what a real request would accept.
//!
//! The body is converted exactly as for `/v1/messages` (so the same input errors surface) and sent
//! to CountTokens under the bare model id, which is what CountTokens takes. Answers are cached by a
//! hash of model and body, and concurrent identical requests share one call: Claude Code sends
//! dozens of these at once. `url` sources are never downloaded for a count: their blocks are
//! estimated and the rest is counted. Details: `docs/token-counting.md`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::messages::{
    apply_model_rules, beta_headers, convert_options, read_body, resolve_model, RequestLog,
};
use crate::anthropic::request::parse_count_tokens_request;
use crate::auth::AuthedKey;
use crate::convert::request::to_count_tokens;
use crate::error::ApiError;
use crate::models::ResolvedModel;
use crate::state::AppState;
use crate::tokens;

/// Longer than a healthy CountTokens call takes; a slow one is answered by the estimate instead.
const BEDROCK_TIMEOUT: Duration = Duration::from_secs(10);

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
    drop(bytes);
    let model = resolve_model(&state, &request.model)?;
    let url_blocks = tokens::stand_in_url_sources(&mut request);
    let betas = beta_headers(&headers);
    apply_model_rules(&model, &mut request, &betas)?;
    let counted_body = to_count_tokens(&request, &convert_options(&state, &model, &betas))?;
    let caller = key.map(|Extension(k)| k.name);
    let counted = match bedrock_count(&state, caller.as_deref(), &model, &counted_body).await {
        Some(n) => n,
        None => tokens::estimate(&request).total(),
    };
    let input_tokens = counted.saturating_add(url_blocks);
    let mut response = Json(TokenCount { input_tokens }).into_response();
    response.extensions_mut().insert(RequestLog {
        model: Some(model.client_model.clone()),
        input_tokens: Some(input_tokens),
        ..RequestLog::default()
    });
    Ok(response)
}

/// Bedrock's count, from the cache or one CountTokens call shared by every concurrent identical
/// request; `None` when the model is not served by CountTokens or the call failed.
async fn bedrock_count(
    state: &AppState,
    caller: Option<&str>,
    model: &ResolvedModel<'_>,
    body: &Value,
) -> Option<u64> {
    if !model.capabilities.claude {
        return None;
    }
    let base = model.base_model_id.as_deref()?;
    if state.count_refusals.contains_key(base) {
        return None;
    }
    let body = serde_json::to_vec(body).ok()?;
    let key = cache_key(caller.unwrap_or_default(), base, &body);
    let call = async {
        let answer = tokio::time::timeout(
            BEDROCK_TIMEOUT,
            state.bedrock.count_tokens(base, body.into()),
        )
        .await
        .unwrap_or_else(|_| Err(ApiError::Timeout("CountTokens timed out".into())))
        .and_then(|n| {
            // Zero means "unknown" to clients: never pass it on, never keep it.
            u64::try_from(n)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| ApiError::Upstream("CountTokens answered 0".into()))
        });
        match answer {
            Ok(n) => Ok(Some(n)),
            Err(e) => {
                tracing::warn!(
                    error_type = e.kind(),
                    status = e.status().as_u16(),
                    "Bedrock CountTokens failed; answering a local estimate"
                );
                if refuses_the_model(&e) {
                    state.count_refusals.insert(base.to_owned(), ()).await;
                    Ok(None)
                } else if is_refusal(&e) {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    };
    state.token_counts.try_get_with(key, call).await.ok()?
}

/// Failures that asking again would repeat (the model or region does not count tokens, the body
/// fails validation, the gateway's identity lacks access). Throttling, timeouts, network and
/// server errors are transient and never cached.
fn is_refusal(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::InvalidRequest(_) | ApiError::Permission(_) | ApiError::NotFound(_)
    )
}

/// Refusals about the model rather than the body: every other body would be refused too.
fn refuses_the_model(e: &ApiError) -> bool {
    match e {
        ApiError::Permission(_) | ApiError::NotFound(_) => true,
        ApiError::InvalidRequest(m) => {
            let m = m.to_ascii_lowercase();
            m.contains("support") && m.contains("count")
        }
        _ => false,
    }
}

fn cache_key(caller: &str, model_id: &str, body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [caller.as_bytes(), model_id.as_bytes()] {
        hash.update(part);
        hash.update([0]);
    }
    hash.update(body);
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_separates_models_and_bodies() {
        let body = br#"{"input":{}}"#;
        let key = cache_key("alice", "anthropic.a", body);
        assert_eq!(key, cache_key("alice", "anthropic.a", body));
        assert_ne!(key, cache_key("bob", "anthropic.a", body));
        assert_ne!(key, cache_key("alice", "anthropic.b", body));
        assert_ne!(
            key,
            cache_key("alice", "anthropic.a", br#"{"input":{"x":1}}"#)
        );
        // The separator keeps "ab" + "c" apart from "a" + "bc".
        assert_ne!(cache_key("k", "ab", b"c"), cache_key("k", "a", b"bc"));
        assert_ne!(cache_key("ka", "b", b"c"), cache_key("k", "ab", b"c"));
    }

    #[test]
    fn only_repeatable_failures_count_as_refusals() {
        assert!(is_refusal(&ApiError::invalid(
            "doesn't support counting tokens"
        )));
        assert!(is_refusal(&ApiError::Permission("denied".into())));
        assert!(refuses_the_model(&ApiError::invalid(
            "The provided model doesn't support counting tokens."
        )));
        assert!(!refuses_the_model(&ApiError::invalid(
            "messages.0.content: too long"
        )));
        let transient = [
            ApiError::RateLimited {
                message: "slow down".into(),
                retry_after: Some(1),
            },
            ApiError::Overloaded("busy".into()),
            ApiError::Timeout("late".into()),
            ApiError::Unavailable("unreachable".into()),
            ApiError::Upstream("odd".into()),
        ];
        for e in transient {
            assert!(!is_refusal(&e), "{e:?}");
        }
    }
}
