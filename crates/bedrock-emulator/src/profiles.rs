//! The control plane's `ListInferenceProfiles` (`GET /inference-profiles`), and its control route.
//!
//! The listing is built from the catalog: one system-defined profile per model × catalog profile
//! prefix, ACTIVE, in the wire shape `aws-sdk-bedrock` parses (rest-json; query `type`,
//! `maxResults` 1–1000, `nextToken`; timestamps as RFC 3339 strings). Pages hold `maxResults`
//! items (default [`DEFAULT_PAGE`]); `nextToken` is the next item's position.
//!
//! `POST /_emulator/inference-profiles` changes the listing (tests script an account):
//! `{"remove": ["global.anthropic.claude-opus-5-5"], "add": [{"id": "us.anthropic.claude-opus-6",
//! "name": "US Anthropic Claude Opus 6", "status": "ACTIVE"}], "fail": "AccessDeniedException"}`,
//! every member optional (`name` and `status` too); `fail` makes every listing fail with that
//! exception until `"fail": null` or `DELETE /_emulator/inference-profiles`, which restores the
//! catalog's listing. Changes affect later listings only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::BedrockError;
use super::Emulator;
use crate::models::Catalog;

/// Items per page when `maxResults` is absent.
const DEFAULT_PAGE: usize = 100;
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
/// `createdAt` / `updatedAt` of every listed profile.
const LISTED_AT: &str = "2026-01-01T00:00:00Z";

/// One listed profile.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListedProfile {
    /// `us.anthropic.claude-opus-5-5`.
    pub id: String,
    /// Defaults to `<GEO> <Provider> <model>` from the id.
    #[serde(default)]
    pub name: Option<String>,
    /// Defaults to `ACTIVE`.
    #[serde(default)]
    pub status: Option<String>,
}

/// A change to the listing (`POST /_emulator/inference-profiles`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilesPatch {
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub add: Vec<ListedProfile>,
    /// `Some(None)` (`"fail": null`) stops failing; absent leaves it as it is.
    #[serde(default, with = "serde_with_null")]
    pub fail: Option<Option<String>>,
}

/// Distinguishes an absent member from an explicit `null`.
mod serde_with_null {
    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// The listing an emulator serves (the catalog's until changed), and how often it was asked.
#[derive(Debug, Default)]
pub(super) struct Listing {
    overrides: Mutex<Overrides>,
    /// `ListInferenceProfiles` calls answered, failures included.
    calls: AtomicUsize,
}

#[derive(Debug, Default)]
struct Overrides {
    profiles: Option<Vec<ListedProfile>>,
    fail: Option<String>,
}

/// The catalog's profiles: every model × every catalog prefix.
pub fn catalog_profiles(catalog: &Catalog) -> Vec<ListedProfile> {
    catalog
        .models()
        .iter()
        .flat_map(|m| {
            m.profiles
                .iter()
                .map(move |p| format!("{p}.{}", m.bedrock_id))
        })
        .map(|id| ListedProfile {
            id,
            name: None,
            status: None,
        })
        .collect()
}

impl Emulator {
    /// Applies a change to the `ListInferenceProfiles` listing.
    pub fn patch_inference_profiles(&self, patch: ProfilesPatch) {
        let mut o = self.listing();
        let mut profiles = o
            .profiles
            .take()
            .unwrap_or_else(|| catalog_profiles(self.catalog()));
        profiles.retain(|p| !patch.remove.contains(&p.id));
        profiles.extend(patch.add);
        o.profiles = Some(profiles);
        if let Some(fail) = patch.fail {
            o.fail = fail;
        }
    }

    /// `GetInferenceProfile`'s answer for a listed system-defined profile (id or ARN).
    pub(super) fn system_profile(&self, id: &str) -> Option<Value> {
        let id = id.rsplit('/').next().unwrap_or(id);
        let profiles = self
            .listing()
            .profiles
            .clone()
            .unwrap_or_else(|| catalog_profiles(self.catalog()));
        profiles
            .iter()
            .find(|p| p.id == id)
            .map(|p| summary(p, self.catalog()))
    }

    /// Restores the catalog's listing and stops failing.
    pub fn reset_inference_profiles(&self) {
        *self.listing() = Overrides::default();
    }

    /// `ListInferenceProfiles` calls answered so far (pages and failures each count).
    pub fn inference_profile_calls(&self) -> usize {
        self.inner.profiles.calls.load(Ordering::SeqCst)
    }

    fn listing(&self) -> std::sync::MutexGuard<'_, Overrides> {
        self.inner
            .profiles
            .overrides
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ListQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "maxResults")]
    max_results: Option<String>,
    #[serde(rename = "nextToken")]
    next_token: Option<String>,
}

pub(super) async fn list(
    State(emulator): State<Emulator>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    if !headers.contains_key("authorization") {
        return BedrockError::missing_authorization().into_response();
    }
    emulator.inner.profiles.calls.fetch_add(1, Ordering::SeqCst);
    let (profiles, fail) = {
        let o = emulator.listing();
        (o.profiles.clone(), o.fail.clone())
    };
    if let Some(name) = fail {
        let message = "User is not authorized to perform: bedrock:ListInferenceProfiles";
        return BedrockError::named(&name, Some(message.into()), None).into_response();
    }
    let profiles = profiles.unwrap_or_else(|| catalog_profiles(emulator.catalog()));
    match page(&profiles, &query, emulator.catalog()) {
        Ok(body) => Json(body).into_response(),
        Err(message) => {
            BedrockError::named("ValidationException", Some(message), Some(400)).into_response()
        }
    }
}

fn page(profiles: &[ListedProfile], query: &ListQuery, catalog: &Catalog) -> Result<Value, String> {
    let system = match query.kind.as_deref() {
        None | Some("SYSTEM_DEFINED") => true,
        Some("APPLICATION") => false,
        Some(other) => return Err(format!("Invalid value for type: {other}")),
    };
    let size = match query.max_results.as_deref() {
        None => DEFAULT_PAGE,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or("maxResults must be between 1 and 1000")?,
    };
    let start = match query.next_token.as_deref() {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| "Invalid nextToken")?,
    };
    let listed: &[ListedProfile] = if system { profiles } else { &[] };
    let end = start.saturating_add(size).min(listed.len());
    let items: Vec<Value> = listed
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|p| summary(p, catalog))
        .collect();
    let mut body = json!({ "inferenceProfileSummaries": items });
    if end < listed.len() {
        body["nextToken"] = json!(end.to_string());
    }
    Ok(body)
}

fn summary(p: &ListedProfile, catalog: &Catalog) -> Value {
    let (geo, base) = p.id.split_once('.').unwrap_or(("", &p.id));
    let region = if geo == "global" { "" } else { REGION };
    json!({
        "inferenceProfileId": p.id,
        "inferenceProfileName": p.name.clone().unwrap_or_else(|| default_name(geo, base, catalog)),
        "inferenceProfileArn": format!("arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{}", p.id),
        "description": format!("Routes requests to {base} ({geo})."),
        "models": [{ "modelArn": format!("arn:aws:bedrock:{region}::foundation-model/{base}") }],
        "status": p.status.as_deref().unwrap_or("ACTIVE"),
        "type": "SYSTEM_DEFINED",
        "createdAt": LISTED_AT,
        "updatedAt": LISTED_AT,
    })
}

/// `US Anthropic Claude Opus 5.5` (the catalog's display name), or `US Anthropic claude-opus-6`
/// for a model the catalog lacks.
fn default_name(geo: &str, base: &str, catalog: &Catalog) -> String {
    let (provider, id) = base.split_once('.').unwrap_or(("", base));
    let model = catalog
        .by_bedrock_id(base)
        .map_or(id, |m| m.display_name.as_str());
    let mut provider = provider.to_owned();
    if let Some(first) = provider.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    format!("{} {provider} {model}", geo.to_ascii_uppercase())
}

pub(super) async fn patch(State(emulator): State<Emulator>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<ProfilesPatch>(&body) {
        Ok(patch) => {
            emulator.patch_inference_profiles(patch);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": format!("invalid inference-profile change: {e}") })),
        )
            .into_response(),
    }
}

pub(super) async fn reset(State(emulator): State<Emulator>) -> StatusCode {
    emulator.reset_inference_profiles();
    StatusCode::NO_CONTENT
}
