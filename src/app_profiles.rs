//! Application inference profiles (`arn:aws:bedrock:<region>:<account>:application-inference-profile/<id>`):
//! their ARN hides the model family, so the gateway asks Bedrock's `GetInferenceProfile` which
//! foundation model is behind one (`models[].modelArn`), as Claude Code does, and remembers the
//! answer. The caller then routes (Claude → InvokeModel, others → Converse), applies the rules and
//! prices by that model, while still invoking with the ARN (which is what carries the profile's
//! cost-allocation tags).
//!
//! Owns the cache (moka, bounded, with a TTL; "no such profile" is cached too, failures are not).
//! The call itself is in `bedrock::profiles`. See docs/models.md, "Application inference profiles".

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;

use crate::bedrock::Bedrock;
use crate::error::ApiError;

/// Profiles remembered; each entry is a few hundred bytes.
const CAPACITY: u64 = 1_000;
/// A profile's model can be changed only by re-creating it; an hour bounds a stale answer.
const TTL: Duration = Duration::from_secs(60 * 60);

/// What `GetInferenceProfile` says about one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppProfile {
    pub name: String,
    /// `arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-5-5`, one per Region.
    pub model_arns: Vec<String>,
}

impl AppProfile {
    /// The foundation-model id behind the profile (`anthropic.claude-opus-5-5`), from its first
    /// model ARN, as Claude Code reads it.
    pub fn base_model_id(&self) -> Option<&str> {
        let arn = self.model_arns.first()?;
        let id = arn.rsplit('/').next().unwrap_or(arn);
        (!id.is_empty()).then_some(id)
    }
}

/// Whether a model id is an application-inference-profile ARN.
pub fn is_application_profile(id: &str) -> bool {
    id.starts_with("arn:") && id.contains(":application-inference-profile/")
}

/// The cache in [`crate::state::AppState`]. Cheap to clone.
#[derive(Clone)]
pub struct AppProfiles {
    cache: Cache<String, Option<Arc<AppProfile>>>,
}

impl Default for AppProfiles {
    fn default() -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(TTL)
                .build(),
        }
    }
}

impl AppProfiles {
    /// The profile behind `arn`, asking Bedrock once per TTL (concurrent askers share one call).
    /// `Ok(None)`: Bedrock has no such profile.
    ///
    /// # Errors
    /// Bedrock could not be asked (not cached; the next request asks again).
    pub async fn resolve(
        &self,
        bedrock: &Bedrock,
        arn: &str,
    ) -> Result<Option<Arc<AppProfile>>, Arc<ApiError>> {
        self.cache
            .try_get_with(arn.to_owned(), async {
                let found = bedrock.get_inference_profile(arn).await?;
                Ok::<_, ApiError>(found.map(Arc::new))
            })
            .await
    }

    /// What is cached for `arn`, without asking Bedrock.
    pub async fn cached(&self, arn: &str) -> Option<Option<Arc<AppProfile>>> {
        self.cache.get(arn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_behind_a_profile_is_the_last_part_of_its_first_model_arn() {
        let profile = AppProfile {
            name: "team-a".into(),
            model_arns: vec![
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-5-5".into(),
                "arn:aws:bedrock:us-west-2::foundation-model/anthropic.claude-opus-5-5".into(),
            ],
        };
        assert_eq!(profile.base_model_id(), Some("anthropic.claude-opus-5-5"));
        let empty = AppProfile {
            name: "x".into(),
            model_arns: vec![],
        };
        assert_eq!(empty.base_model_id(), None);
    }

    #[test]
    fn only_application_profile_arns_are_recognised() {
        assert!(is_application_profile(
            "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
        ));
        for id in [
            "us.anthropic.claude-opus-5-5",
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-opus-5-5",
            "application-inference-profile/abc",
        ] {
            assert!(!is_application_profile(id), "{id}");
        }
    }
}
