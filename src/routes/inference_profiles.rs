//! Bedrock pass-through mode's control-plane routes: `GET /inference-profiles` and
//! `GET /inference-profiles/{id}`, answered from the gateway's own knowledge
//! ([`crate::passthrough::profiles`]). No key is required (Claude Code's Bedrock control-plane
//! client sends none); a key that is sent must be valid.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{self, KeyStore};
use crate::error::ApiError;
use crate::passthrough::{profiles, Fault};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `GET /inference-profiles`: the system-defined profiles the gateway would call.
pub(super) async fn list_profiles(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = optional_key(&state, &headers).await {
        return e;
    }
    let ids = match query.kind.as_deref() {
        None | Some("SYSTEM_DEFINED") => {
            profiles::system_ids(&state.catalog, state.discovery.snapshot().as_deref())
        }
        Some(_) => Vec::new(),
    };
    let body = profiles::listing(&ids, &state.catalog, region(&state));
    json_response(&body)
}

/// `GET /inference-profiles/{id}`: one system-defined profile the gateway knows.
pub(super) async fn get_profile(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = optional_key(&state, &headers).await {
        return e;
    }
    let known = profiles::system_ids(&state.catalog, state.discovery.snapshot().as_deref());
    if known.contains(&id) {
        return json_response(&profiles::system_profile(
            &id,
            &state.catalog,
            region(&state),
        ));
    }
    let missing = Fault::named(
        "ResourceNotFoundException",
        format!("Inference profile {id} not found."),
    );
    super::bedrock_passthrough::fault_response(&missing, None)
}

/// A key is not required here, but one that is sent must be valid (as on every other route).
async fn optional_key(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(key) = auth::presented_key(headers) else {
        return Ok(());
    };
    match state.keys.validate(&key).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ApiError::Authentication("invalid x-api-key".into()).into_response()),
        Err(e) => Err(e.into_response()),
    }
}

fn region(state: &AppState) -> &str {
    state.bedrock.region().unwrap_or("us-east-1")
}

fn json_response(body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
