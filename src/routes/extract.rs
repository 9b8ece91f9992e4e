//! What every Messages route reads from a request before it decides anything: the [`Incoming`]
//! extractor yields an authenticated, size-checked body with its betas, key, request id and
//! Lambda deadline, or the Anthropic error envelope. The route reads the body
//! ([`crate::anthropic::request::RequestBody`], split once) as far as its upstream path needs.
//! `/v1/messages` and `/v1/messages/count_tokens` take it; the body is read by
//! [`super::body::read_body`], which the Bedrock pass-through routes use too.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;

use super::body::read_body;
use super::deadline::Deadline;
use super::RequestId;
use crate::auth::AuthedKey;
use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated (the key check ran as a layer before), size-checked request.
pub(super) struct Incoming {
    /// The client's body bytes: the native path sends them on.
    pub(super) bytes: Bytes,
    /// Raw `anthropic-beta` header values (each may be a comma list).
    pub(super) betas: Vec<String>,
    pub(super) key: Option<AuthedKey>,
    pub(super) request_id: String,
    pub(super) deadline: Deadline,
    /// The request's headers, for what a route reads itself (the session id that picks an
    /// upstream).
    pub(super) headers: HeaderMap,
}

impl FromRequest<AppState> for Incoming {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = read_body(&parts.headers, body, state.cfg.max_body_bytes).await?;
        Ok(Self {
            bytes,
            betas: beta_headers(&parts.headers),
            key: parts.extensions.get::<AuthedKey>().cloned(),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|RequestId(id)| id.clone())
                .unwrap_or_default(),
            deadline: Deadline::from_headers(&parts.headers),
            headers: parts.headers,
        })
    }
}

/// Every `anthropic-beta` header value, as sent (each may itself be a comma list).
pub(super) fn beta_headers(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}
