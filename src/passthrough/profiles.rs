//! `ListInferenceProfiles` and `GetInferenceProfile` answers (the control plane's rest-json shapes)
//! built from what the gateway already knows: the discovery listing when there is one, else the
//! catalog's profiles, and application profiles it has resolved. Claude Code in Bedrock mode reads
//! `inferenceProfileId` from the listing (to pick a geography for its default model) and
//! `models[0].modelArn` from a single profile (to learn an application profile's model).
//!
//! No account id is shown: these routes answer without a key (Claude Code's control-plane client
//! sends none), so system-defined profiles carry no `inferenceProfileArn`, and their models are
//! account-free foundation-model ARNs. Pure.

use serde_json::{json, Value};

use crate::discovery::AvailableProfiles;
use crate::models::{base_model_id, Catalog, PROFILE_PREFIXES};

/// The system-defined profile ids to list: the account's (from discovery) or, without a listing,
/// every catalog model under each of its catalog prefixes. Sorted.
pub fn system_ids(catalog: &Catalog, available: Option<&AvailableProfiles>) -> Vec<String> {
    let mut ids: Vec<String> = match available {
        Some(listing) => listing.ids().map(str::to_owned).collect(),
        None => catalog
            .models()
            .iter()
            .flat_map(|m| {
                m.profiles
                    .iter()
                    .map(move |p| format!("{p}.{}", m.bedrock_id))
            })
            .collect(),
    };
    ids.sort();
    ids.dedup();
    ids
}

/// One system-defined profile (`us.anthropic.claude-opus-5-5`) as Bedrock describes it.
pub fn system_profile(id: &str, catalog: &Catalog, region: &str) -> Value {
    let base = base_model_id(id).unwrap_or_else(|| id.to_owned());
    let geo = id
        .split_once('.')
        .map(|(g, _)| g)
        .filter(|g| PROFILE_PREFIXES.contains(g));
    let name = match (geo, catalog.by_bedrock_id(&base)) {
        (Some(g), Some(spec)) => format!("{} {}", g.to_ascii_uppercase(), spec.display_name),
        _ => id.to_owned(),
    };
    json!({
        "inferenceProfileId": id,
        "inferenceProfileName": name,
        "models": [{"modelArn": foundation_model_arn(region, &base)}],
        "status": "ACTIVE",
        "type": "SYSTEM_DEFINED",
    })
}

/// The `ListInferenceProfiles` body: every id in one page (no `nextToken`).
pub fn listing(ids: &[String], catalog: &Catalog, region: &str) -> Value {
    let summaries: Vec<Value> = ids
        .iter()
        .map(|id| system_profile(id, catalog, region))
        .collect();
    json!({ "inferenceProfileSummaries": summaries })
}

/// An application inference profile, as resolved through Bedrock's `GetInferenceProfile`.
pub fn application_profile(arn: &str, name: &str, model_arns: &[String]) -> Value {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    let models: Vec<Value> = model_arns
        .iter()
        .map(|m| json!({ "modelArn": m }))
        .collect();
    json!({
        "inferenceProfileArn": arn,
        "inferenceProfileId": id,
        "inferenceProfileName": name,
        "models": models,
        "status": "ACTIVE",
        "type": "APPLICATION",
    })
}

fn foundation_model_arn(region: &str, base_id: &str) -> String {
    format!("arn:aws:bedrock:{region}::foundation-model/{base_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ProfileSummary;

    fn catalog() -> Catalog {
        Catalog::embedded().expect("catalog")
    }

    #[test]
    fn a_system_profile_names_its_geography_and_its_foundation_model() {
        let p = system_profile("us.anthropic.claude-opus-5-5", &catalog(), "us-east-1");
        assert_eq!(p["inferenceProfileId"], "us.anthropic.claude-opus-5-5");
        assert_eq!(p["inferenceProfileName"], "US Claude Opus 5.5");
        assert_eq!(
            p["models"][0]["modelArn"],
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-5-5"
        );
        assert_eq!(
            (p["status"].as_str(), p["type"].as_str()),
            (Some("ACTIVE"), Some("SYSTEM_DEFINED"))
        );
        assert!(
            p.get("inferenceProfileArn").is_none(),
            "no account id is shown"
        );
    }

    #[test]
    fn the_listing_is_the_accounts_when_discovery_has_one_and_the_catalogs_otherwise() {
        let catalog = catalog();
        let from_catalog = system_ids(&catalog, None);
        assert!(from_catalog.contains(&"global.anthropic.claude-opus-5-5".to_owned()));
        let listing = AvailableProfiles::from_summaries([ProfileSummary {
            id: "eu.anthropic.claude-sonnet-5".into(),
            name: "EU Anthropic Claude Sonnet 5".into(),
            active: true,
            created_at: None,
        }]);
        let ids = system_ids(&catalog, Some(&listing));
        assert_eq!(ids, ["eu.anthropic.claude-sonnet-5"]);
        let body = listing_body(&ids, &catalog);
        assert_eq!(
            body["inferenceProfileSummaries"][0]["inferenceProfileName"],
            "EU Claude Sonnet 5"
        );
    }

    fn listing_body(ids: &[String], catalog: &Catalog) -> Value {
        listing(ids, catalog, "eu-west-1")
    }

    #[test]
    fn an_application_profile_shows_its_arn_id_and_models() {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/team-a";
        let models =
            ["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-5-5".to_owned()];
        let p = application_profile(arn, "team-a", &models);
        assert_eq!(p["inferenceProfileId"], "team-a");
        assert_eq!(p["type"], "APPLICATION");
        assert_eq!(p["models"][0]["modelArn"], models[0].as_str());
    }
}
