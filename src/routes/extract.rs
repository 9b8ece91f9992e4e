//! What every Messages route reads from a request before it decides anything: the [`Incoming`]
//! extractor yields an authenticated, size-checked, parsed body with its betas, key, request id
//! and Lambda deadline, or the Anthropic error envelope. `/v1/messages` and
//! `/v1/messages/count_tokens` take it; the Bedrock pass-through routes reuse [`read_body`].

use std::marker::PhantomData;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use bytes::BytesMut;
use http_body_util::BodyExt;

use super::deadline::Deadline;
use super::RequestId;
use crate::anthropic::request::{
    parse_count_tokens_request, parse_messages_request, MessagesRequest,
};
use crate::auth::AuthedKey;
use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated (the key check ran as a layer before), size-checked, parsed request.
pub(super) struct Incoming<P = Messages> {
    /// The client's body bytes: the native path sends them on.
    pub(super) bytes: Bytes,
    pub(super) request: MessagesRequest,
    /// Raw `anthropic-beta` header values (each may be a comma list).
    pub(super) betas: Vec<String>,
    pub(super) key: Option<AuthedKey>,
    pub(super) request_id: String,
    pub(super) deadline: Deadline,
    parse: PhantomData<P>,
}

/// How a body is parsed: as a Messages request, or as a count (no `max_tokens`).
pub(super) trait Parse {
    /// # Errors
    /// The first problem, naming the field.
    fn parse(body: &[u8]) -> Result<MessagesRequest, ApiError>;
}

/// `POST /v1/messages`.
pub(super) struct Messages;
/// `POST /v1/messages/count_tokens`.
pub(super) struct CountTokens;

impl Parse for Messages {
    fn parse(body: &[u8]) -> Result<MessagesRequest, ApiError> {
        parse_messages_request(body)
    }
}

impl Parse for CountTokens {
    fn parse(body: &[u8]) -> Result<MessagesRequest, ApiError> {
        parse_count_tokens_request(body)
    }
}

impl<P: Parse + Send> FromRequest<AppState> for Incoming<P> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let bytes = read_body(&parts.headers, body, state.cfg.max_body_bytes).await?;
        let request = P::parse(&bytes)?;
        Ok(Self {
            bytes,
            request,
            betas: beta_headers(&parts.headers),
            key: parts.extensions.get::<AuthedKey>().cloned(),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .map(|RequestId(id)| id.clone())
                .unwrap_or_default(),
            deadline: Deadline::from_headers(&parts.headers),
            parse: PhantomData,
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

/// Reads the body under the configured cap; an oversize body is a 413 in Anthropic's shape.
pub(super) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let too_large =
        || ApiError::RequestTooLarge(format!("request body exceeds the {limit}-byte limit"));
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    // One buffer sized from Content-Length (checked against the cap above): collecting the
    // chunks and joining them afterwards (`axum::body::to_bytes`) holds a large body twice.
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0));
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if caused_by::<tower_http::timeout::TimeoutError>(&e) {
                ApiError::ClientTimeout("the request body stopped arriving; send it again".into())
            } else {
                ApiError::invalid(format!("could not read the request body: {e}"))
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// Whether `T` is anywhere in the error's source chain (body errors arrive boxed, maybe twice).
fn caused_by<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.is::<T>() {
            return true;
        }
        cause = c.source();
    }
    false
}
