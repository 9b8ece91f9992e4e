//! `GET /v1/models` and `GET /v1/models/{model_id}`: the catalog in the Models API's shape,
//! narrowed to what the account can call once model discovery has a snapshot.
//!
//! Ordering, paging and validation live in [`crate::models::list`]; these handlers only extract
//! and serialize. Extractor rejections are turned into [`ApiError`] so even a malformed query
//! string gets Anthropic's error envelope.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::ApiError;
use crate::models::list::{ModelObject, PageQuery};
use crate::state::AppState;

pub(super) async fn list_models(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(pairs) = query.map_err(|e| ApiError::invalid(format!("query string: {e}")))?;
    let query = PageQuery::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let available = state.discovery.snapshot();
    let page = state
        .catalog
        .list_available_page(available.as_deref(), &query)?;
    Ok(Json(page).into_response())
}

pub(super) async fn get_model(
    State(state): State<AppState>,
    model_id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(model_id) = model_id.map_err(|e| ApiError::invalid(format!("model_id: {e}")))?;
    if let Some(model) = state.catalog.model_object(&model_id) {
        return Ok(Json(model).into_response());
    }
    // A Claude model launched after this catalog, which the account can call.
    let available = state.discovery.snapshot();
    let model = available
        .as_deref()
        .and_then(|a| a.unlisted_claude_named(&state.catalog, &model_id))
        .map(ModelObject::from)
        .ok_or_else(|| ApiError::NotFound(format!("model: {model_id}")))?;
    Ok(Json(model).into_response())
}
