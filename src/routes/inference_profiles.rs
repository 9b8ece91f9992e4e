//! Bedrock pass-through mode's control-plane routes: `GET /inference-profiles` and
//! `GET /inference-profiles/{id}`, answered from the gateway's own knowledge
//! ([`crate::passthrough::profiles`]). No key is required (Claude Code's Bedrock control-plane
//! client sends none); a key that is sent must be valid, and only a caller with one can make the
//! gateway ask Bedrock about an application profile it has not seen.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::app_profiles::{is_application_profile, AppProfile};
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
    let keyed = match optional_key(&state, &headers).await {
        Ok(keyed) => keyed,
        Err(e) => return e,
    };
    if is_application_profile(&id) {
        if let Some(profile) = application(&state, &id, keyed).await {
            let body = profiles::application_profile(&id, &profile.name, &profile.model_arns);
            return json_response(&body);
        }
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

/// The application profile `arn`: asked of Bedrock (once per cache TTL) for a caller with a key;
/// from the cache only for one without, so that no unauthenticated request makes a Bedrock call.
async fn application(state: &AppState, arn: &str, keyed: bool) -> Option<Arc<AppProfile>> {
    if !keyed {
        return state.app_profiles.cached(arn).await.flatten();
    }
    match state.app_profiles.resolve(&state.bedrock, arn).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "could not resolve an application inference profile");
            None
        }
    }
}

/// A key is not required here, but one that is sent must be valid (as on every other route).
/// `Ok(true)` when a valid key was sent.
async fn optional_key(state: &AppState, headers: &HeaderMap) -> Result<bool, Response> {
    let Some(key) = auth::presented_key(headers) else {
        return Ok(false);
    };
    match state.keys.validate(&key).await {
        Ok(Some(_)) => Ok(true),
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
