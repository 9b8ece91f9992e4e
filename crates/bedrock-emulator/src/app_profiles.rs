//! Application inference profiles: `GetInferenceProfile` (`GET /inference-profiles/{id}`, an id or
//! an ARN) and the runtime's view of an application-profile ARN.
//!
//! Tests script them: `POST /_emulator/application-profiles` with
//! `{"id": "team-a", "model": "anthropic.claude-opus-5-5", "name": "team A"}` (`name` optional)
//! creates `arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-a`, routed to
//! that foundation model; `DELETE` removes them all. A registered profile is served as its model
//! (its rules, betas, Converse or Claude-only InvokeModel); an unregistered application-profile
//! ARN is still accepted at run time as a lenient Claude model, as before. `GetInferenceProfile`
//! also describes the listing's system-defined profiles, and answers 404 for anything else.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::Emulator;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const CREATED_AT: &str = "2026-01-01T00:00:00Z";

/// One scripted application profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationProfile {
    /// The id after `application-inference-profile/`.
    pub id: String,
    /// The foundation model it routes to: `anthropic.claude-opus-5-5`.
    pub model: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The scripted profiles and how often `GetInferenceProfile` was asked.
#[derive(Debug, Default)]
pub(super) struct Registry {
    profiles: Mutex<BTreeMap<String, ApplicationProfile>>,
    calls: AtomicUsize,
}

/// The ARN of the application profile `id` in the emulated account.
pub fn application_profile_arn(id: &str) -> String {
    format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:application-inference-profile/{id}")
}

/// The profile id inside an application-profile ARN (or the id itself).
fn profile_id(id_or_arn: &str) -> &str {
    match id_or_arn.split_once(":application-inference-profile/") {
        Some((_, id)) => id,
        None => id_or_arn,
    }
}

impl Emulator {
    /// Creates (or replaces) an application profile; returns its ARN.
    pub fn add_application_profile(&self, profile: ApplicationProfile) -> String {
        let arn = application_profile_arn(&profile.id);
        self.registry().insert(profile.id.clone(), profile);
        arn
    }

    /// `GetInferenceProfile` calls answered so far.
    pub fn get_inference_profile_calls(&self) -> usize {
        self.inner.app_profiles.calls.load(Ordering::SeqCst)
    }

    /// The foundation model a registered application-profile ARN routes to.
    pub(super) fn application_model(&self, arn: &str) -> Option<String> {
        if !arn.starts_with("arn:") {
            return None;
        }
        let id = profile_id(arn);
        (id != arn)
            .then(|| self.registry().get(id).map(|p| p.model.clone()))
            .flatten()
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ApplicationProfile>> {
        self.inner
            .app_profiles
            .profiles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `GET /inference-profiles/{id}`.
pub(super) async fn get(
    State(emulator): State<Emulator>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !headers.contains_key(header::AUTHORIZATION) {
        return BedrockError::missing_authorization().into_response();
    }
    emulator
        .inner
        .app_profiles
        .calls
        .fetch_add(1, Ordering::SeqCst);
    let app = emulator.registry().get(profile_id(&id)).cloned();
    if let Some(p) = app {
        return Json(application_json(&p)).into_response();
    }
    if let Some(system) = emulator.system_profile(&id) {
        return Json(system).into_response();
    }
    BedrockError::named(
        "ResourceNotFoundException",
        Some(format!("Inference profile {id} not found.")),
        Some(404),
    )
    .into_response()
}

fn application_json(p: &ApplicationProfile) -> Value {
    json!({
        "inferenceProfileArn": application_profile_arn(&p.id),
        "inferenceProfileId": p.id,
        "inferenceProfileName": p.name.clone().unwrap_or_else(|| p.id.clone()),
        "models": [{"modelArn": format!("arn:aws:bedrock:{REGION}::foundation-model/{}", p.model)}],
        "status": "ACTIVE",
        "type": "APPLICATION",
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
    })
}

/// `POST /_emulator/application-profiles`: one profile or an array.
pub(super) async fn add(State(emulator): State<Emulator>, body: axum::body::Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).and_then(|v| match v {
        Value::Array(_) => serde_json::from_value::<Vec<ApplicationProfile>>(v),
        _ => serde_json::from_value::<ApplicationProfile>(v).map(|p| vec![p]),
    });
    match parsed {
        Ok(profiles) => {
            let arns: Vec<String> = profiles
                .into_iter()
                .map(|p| emulator.add_application_profile(p))
                .collect();
            Json(json!({ "arns": arns })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": format!("invalid application profile: {e}") })),
        )
            .into_response(),
    }
}

/// `DELETE /_emulator/application-profiles`.
pub(super) async fn clear(State(emulator): State<Emulator>) -> StatusCode {
    emulator.registry().clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registered_arn_routes_to_its_model_and_others_do_not() {
        let emulator = Emulator::new().expect("emulator");
        let arn = emulator.add_application_profile(ApplicationProfile {
            id: "team-a".into(),
            model: "qwen.qwen3-32b-v1:0".into(),
            name: None,
        });
        assert_eq!(
            emulator.application_model(&arn).as_deref(),
            Some("qwen.qwen3-32b-v1:0")
        );
        assert_eq!(emulator.application_model("team-a"), None);
        assert_eq!(
            emulator.application_model(&application_profile_arn("other")),
            None
        );
        let shown = application_json(&emulator.registry()["team-a"]);
        assert_eq!(
            shown["models"][0]["modelArn"],
            "arn:aws:bedrock:us-east-1::foundation-model/qwen.qwen3-32b-v1:0"
        );
    }
}
