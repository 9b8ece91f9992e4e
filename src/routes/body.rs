//! Reading a request body under the configured cap, in one buffer.

use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use bytes::BytesMut;
use http_body_util::BodyExt;

use crate::error::ApiError;
use crate::native::splice::ROOM;

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
    // chunks and joining them afterwards (`axum::body::to_bytes`) holds a large body twice. The
    // room after it is where the native path's InvokeModel body grows into the same buffer
    // (`native::splice`).
    let mut buf = BytesMut::with_capacity(declared.unwrap_or(0) + ROOM);
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
