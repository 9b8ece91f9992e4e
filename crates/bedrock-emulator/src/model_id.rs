//! Which `modelId`s the emulated Bedrock serves, and what each one accepts.
//!
//! The catalog's models are what this Bedrock "has". Claude models with inference profiles are
//! served only through them (`us.anthropic…`, or an `inference-profile/` ARN), as on real Bedrock;
//! CountTokens wants the bare foundation-model id instead, and serves only the models
//! [`super::rules`] says it does.

use crate::models::{Capabilities, Catalog, ModelSpec, PROFILE_PREFIXES};

use super::error::BedrockError;
use super::rules;

const INVALID_ID: &str = "The provided model identifier is invalid.";
const NO_COUNT_TOKENS: &str = "The provided model doesn't support counting tokens.";

/// A `modelId` the emulator accepted.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    /// Bare foundation-model id, or the ARN for an application inference profile.
    pub(crate) base_id: String,
    pub(crate) capabilities: Capabilities,
    pub(crate) betas: Vec<String>,
}

impl Model {
    fn from_spec(spec: &ModelSpec) -> Self {
        Self {
            base_id: spec.bedrock_id.clone(),
            capabilities: spec.capabilities,
            betas: spec.betas.clone(),
        }
    }
}

/// How the id names the model.
enum Naming<'a> {
    Bare(&'a str),
    Profile { geo: &'a str, base: &'a str },
    ApplicationProfile,
}

fn parse(id: &str) -> Result<Naming<'_>, BedrockError> {
    let invalid = || BedrockError::validation(INVALID_ID);
    let resource = match id.strip_prefix("arn:") {
        Some(rest) => {
            // arn:<partition>:bedrock:<region>:<account>:<type>/<id>
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, "bedrock", _, _, resource] = parts.as_slice() else {
                return Err(invalid());
            };
            let (kind, name) = resource.split_once('/').ok_or_else(invalid)?;
            match kind {
                "foundation-model" => return Ok(Naming::Bare(name)),
                "inference-profile" => name,
                "application-inference-profile" if !name.is_empty() => {
                    return Ok(Naming::ApplicationProfile)
                }
                _ => return Err(invalid()),
            }
        }
        None => id,
    };
    Ok(match resource.split_once('.') {
        Some((geo, base)) if PROFILE_PREFIXES.contains(&geo) => Naming::Profile { geo, base },
        _ => Naming::Bare(resource),
    })
}

/// Resolves the `modelId` of a Converse or ConverseStream call.
///
/// # Errors
/// `ValidationException` for unknown ids, profiles the model does not have, and bare ids of
/// models that are served only through inference profiles.
pub(crate) fn for_inference(catalog: &Catalog, id: &str) -> Result<Model, BedrockError> {
    match parse(id)? {
        Naming::ApplicationProfile => Ok(application_profile(catalog, id)),
        Naming::Profile { geo, base } => catalog
            .by_bedrock_id(base)
            .filter(|spec| spec.profiles.iter().any(|p| p == geo))
            .map(Model::from_spec)
            .ok_or_else(|| BedrockError::validation(INVALID_ID)),
        Naming::Bare(base) => {
            let spec = catalog
                .by_bedrock_id(base)
                .ok_or_else(|| BedrockError::validation(INVALID_ID))?;
            if spec.profiles.is_empty() {
                Ok(Model::from_spec(spec))
            } else {
                Err(BedrockError::validation(format!(
                    "Invocation of model ID {base} with on-demand throughput isn\u{2019}t supported. Retry your request with the ID or ARN of an inference profile that contains this model."
                )))
            }
        }
    }
}

/// Resolves the `modelId` of a CountTokens call: a bare id of a model that supports counting.
/// Those are the Claude models with dated `-v1:0` ids (up to Opus 4.5, Haiku 4.5): AWS's
/// count-tokens guide says Claude models launched cross-Region-only are not counted on
/// bedrock-runtime (count on bedrock-mantle instead), and peers observe runtime CountTokens
/// accepting only the dated ids (PostHog/posthog#70768).
///
/// # Errors
/// `ValidationException` ("doesn't support counting tokens") for profiles and unsupported models.
pub(crate) fn for_count_tokens(catalog: &Catalog, id: &str) -> Result<Model, BedrockError> {
    match parse(id)? {
        Naming::Bare(base) => {
            let spec = catalog
                .by_bedrock_id(base)
                .ok_or_else(|| BedrockError::validation(INVALID_ID))?;
            if rules::for_model(&spec.bedrock_id).count_tokens {
                Ok(Model::from_spec(spec))
            } else {
                Err(BedrockError::validation(NO_COUNT_TOKENS))
            }
        }
        Naming::Profile { .. } | Naming::ApplicationProfile => {
            Err(BedrockError::validation(NO_COUNT_TOKENS))
        }
    }
}

/// A scripted application profile (`arn`) routed to the foundation model `base`: served as that
/// model; a model the catalog lacks gets the lenient Claude treatment below.
pub(crate) fn for_application(catalog: &Catalog, arn: &str, base: &str) -> Model {
    catalog
        .by_bedrock_id(base)
        .map_or_else(|| application_profile(catalog, arn), Model::from_spec)
}

/// An application inference profile hides which Claude model it routes to, so the emulator
/// treats it as a Claude model that accepts every optional feature and every catalog beta.
fn application_profile(catalog: &Catalog, arn: &str) -> Model {
    let capabilities = Capabilities {
        claude: true,
        caching: true,
        cache_ttl_1h: true,
        tools: true,
    };
    let mut betas: Vec<String> = catalog
        .models()
        .iter()
        .flat_map(|m| m.betas.iter().cloned())
        .collect();
    betas.sort();
    betas.dedup();
    Model {
        base_id: arn.to_owned(),
        capabilities,
        betas,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::embedded().expect("catalog")
    }

    #[test]
    fn profiles_and_arns_resolve_but_bare_claude_ids_do_not() {
        let c = catalog();
        let sonnet = "anthropic.claude-sonnet-4-5-20250929-v1:0";
        assert!(for_inference(&c, &format!("us.{sonnet}")).is_ok());
        assert!(for_inference(&c, &format!("global.{sonnet}")).is_ok());
        assert!(for_inference(&c, &format!("apac.{sonnet}")).is_err());
        let arn = format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.{sonnet}");
        assert_eq!(for_inference(&c, &arn).expect("arn").base_id, sonnet);
        let err = for_inference(&c, sonnet).expect_err("bare");
        assert!(err
            .message
            .contains("on-demand throughput isn\u{2019}t supported"));
        assert!(for_inference(&c, "qwen.qwen3-32b-v1:0").is_ok());
        assert!(for_inference(&c, "anthropic.claude-imaginary").is_err());
        let app = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123";
        assert!(for_inference(&c, app).expect("app").capabilities.claude);
    }

    #[test]
    fn count_tokens_wants_a_bare_supported_id() {
        let c = catalog();
        let sonnet4 = "anthropic.claude-sonnet-4-20250514-v1:0";
        assert!(for_count_tokens(&c, sonnet4).is_ok());
        let err = for_count_tokens(&c, &format!("us.{sonnet4}")).expect_err("profile");
        assert_eq!(err.message, NO_COUNT_TOKENS);
        assert!(for_count_tokens(&c, "anthropic.claude-opus-4-1-20250805-v1:0").is_ok());
        assert!(for_count_tokens(&c, "anthropic.claude-sonnet-4-6").is_ok());
        let err = for_count_tokens(&c, "anthropic.claude-opus-4-7").expect_err("4.7");
        assert_eq!(err.message, NO_COUNT_TOKENS);
        assert!(for_count_tokens(&c, "anthropic.claude-sonnet-5").is_err());
        assert!(for_count_tokens(&c, "qwen.qwen3-32b-v1:0").is_err());
    }
}
