//! What `/v1/messages` hands the upstream pool ([`crate::bedrock::Pool::call`]): the session that
//! sticks to an upstream, and the Bedrock model ids the request may be sent to; and the
//! `x-chatrix-upstream` header naming who answered.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::bedrock::Target;
use crate::models::ResolvedModel;
use crate::state::AppState;

/// Claude Code's per-conversation id; the session key when present.
const SESSION_HEADER: &str = "x-claude-code-session-id";
/// Longer session ids are cut (they only key the sticky cache).
const MAX_SESSION_LEN: usize = 128;
/// Names the region and profile that answered (`us-west-2/global`). The demo's own layer
/// (`super::demo_marker`) overrides it with `emulator`, so canned answers never pass for Bedrock's.
pub(super) const UPSTREAM_HEADER: &str = "x-chatrix-upstream";

/// The owned parts of a [`Target`].
#[derive(Debug)]
pub(super) struct UpstreamPlan {
    request_id: String,
    session: Option<String>,
    model_ids: Vec<String>,
}

impl UpstreamPlan {
    /// `key_name` is the session when the client sends no `x-claude-code-session-id`.
    pub(super) fn new(
        state: &AppState,
        model: &ResolvedModel<'_>,
        headers: &HeaderMap,
        key_name: Option<&str>,
        request_id: &str,
    ) -> Self {
        Self {
            request_id: request_id.to_owned(),
            session: session(headers, key_name),
            model_ids: model_ids(state, model),
        }
    }

    pub(super) fn target(&self) -> Target<'_> {
        Target {
            request_id: &self.request_id,
            session: self.session.as_deref(),
            model_ids: &self.model_ids,
        }
    }
}

/// The sticky-cache key: the Claude Code session, else the API key's name (its requests share
/// cache prefixes less, but still some: the system prompt and tools).
fn session(headers: &HeaderMap, key_name: Option<&str>) -> Option<String> {
    let header = headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (header, key_name) {
        (Some(id), _) => Some(format!("session:{}", truncate(id))),
        (None, Some(name)) => Some(format!("key:{name}")),
        (None, None) => None,
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(MAX_SESSION_LEN);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The resolved model id, then the same model under each `CHATRIX_PROFILE_FALLBACK` profile
/// (ids that resolve the same, such as raw Bedrock ids and ARNs, appear once).
fn model_ids(state: &AppState, model: &ResolvedModel<'_>) -> Vec<String> {
    let mut ids = vec![model.bedrock_model_id.clone()];
    let fallback = &state.cfg.failover.profile_fallback;
    if fallback.is_empty() {
        return ids;
    }
    let available = state.discovery.snapshot();
    for &profile in fallback {
        let resolved =
            state
                .catalog
                .resolve_with(&model.client_model, profile, available.as_deref());
        if let Ok(r) = resolved {
            if !ids.contains(&r.bedrock_model_id) {
                ids.push(r.bedrock_model_id);
            }
        }
    }
    ids
}

/// Adds [`UPSTREAM_HEADER`].
pub(super) fn with_upstream(mut response: Response, upstream: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(upstream) {
        response.headers_mut().insert(UPSTREAM_HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_claude_codes_header_else_the_key_name() {
        let mut headers = HeaderMap::new();
        assert_eq!(session(&headers, None), None);
        assert_eq!(
            session(&headers, Some("alice")).as_deref(),
            Some("key:alice")
        );
        headers.insert(SESSION_HEADER, HeaderValue::from_static("abc-123"));
        assert_eq!(
            session(&headers, Some("alice")).as_deref(),
            Some("session:abc-123")
        );
        let long = HeaderValue::from_static(concat!(
            "0123456789012345678901234567890123456789012345678901234567890123456789",
            "0123456789012345678901234567890123456789012345678901234567890123456789"
        ));
        headers.insert(SESSION_HEADER, long);
        let got = session(&headers, None).unwrap_or_default();
        assert_eq!(got.len(), "session:".len() + MAX_SESSION_LEN);
    }
}
