//! The `/_emulator` control routes (scripts, recorded requests, stats), the answer to unknown
//! operations, and the `x-amzn-requestid` every response carries.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{error, Emulator, RecordedRequest, Script};

pub(crate) async fn add_request_id(mut response: Response) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

pub(crate) async fn unknown_operation() -> Response {
    error::BedrockError::named(
        "UnknownOperationException",
        Some("The emulator does not implement this operation.".into()),
        Some(404),
    )
    .into_response()
}

pub(crate) async fn push_scripts(State(emulator): State<Emulator>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).and_then(|v| match v {
        Value::Array(_) => serde_json::from_value::<Vec<Script>>(v),
        _ => serde_json::from_value::<Script>(v).map(|s| vec![s]),
    });
    match parsed {
        Ok(scripts) => {
            let queued = scripts.len();
            scripts.into_iter().for_each(|s| emulator.push_script(s));
            Json(json!({ "queued": queued })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": format!("invalid script: {e}") })),
        )
            .into_response(),
    }
}

pub(crate) async fn list_requests(State(emulator): State<Emulator>) -> Json<Vec<RecordedRequest>> {
    Json(emulator.requests())
}

pub(crate) async fn stats(State(emulator): State<Emulator>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"open_streams": emulator.open_streams()}))
}

pub(crate) async fn clear_requests(State(emulator): State<Emulator>) -> StatusCode {
    emulator.clear();
    StatusCode::NO_CONTENT
}
