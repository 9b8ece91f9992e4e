//! The Bedrock control plane (`aws-sdk-bedrock`): `ListInferenceProfiles`, for
//! [`crate::discovery`], and `GetInferenceProfile`, for [`crate::app_profiles`].
//!
//! The client is built from the same loaded AWS configuration as the runtime client, so it gets
//! the same credentials and Region, and its endpoint from `AWS_ENDPOINT_URL_BEDROCK` (the SDK reads
//! the service-specific variable itself when a client is built from an `SdkConfig` loaded by
//! `aws-config`) or, for the emulator, the explicit endpoint. Unlike the runtime client it keeps
//! the SDK's standard retries and a short timeout: nobody waits on it, and a retried listing costs
//! nothing.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_bedrock::types::{
    InferenceProfileStatus, InferenceProfileSummary, InferenceProfileType,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::app_profiles::AppProfile;
use crate::discovery::ProfileSummary;
use crate::error::ApiError;

/// Bedrock's largest page.
const PAGE_SIZE: i32 = 1000;
/// A bound on pages per listing, in case a token never runs out (today's listings fit in one).
const MAX_PAGES: usize = 50;

/// The control-plane client for a loaded AWS configuration.
pub(super) fn control_client(sdk: &aws_config::SdkConfig) -> aws_sdk_bedrock::Client {
    let config = aws_sdk_bedrock::config::Builder::from(sdk)
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    aws_sdk_bedrock::Client::from_conf(config)
}

impl super::Bedrock {
    /// Every system-defined inference profile the account can see in the client's Region, all
    /// pages, in Bedrock's order.
    ///
    /// # Errors
    /// Any Bedrock or transport failure (for example `AccessDeniedException` without
    /// `bedrock:ListInferenceProfiles`), described with its whole cause chain. Not an
    /// [`crate::error::ApiError`]: no client sees it, and mapping it here would log every
    /// failed refresh (discovery logs one WARN per failure streak itself).
    pub async fn list_inference_profiles(&self) -> anyhow::Result<Vec<ProfileSummary>> {
        let mut pages = self
            .control
            .list_inference_profiles()
            .type_equals(InferenceProfileType::SystemDefined)
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let Some(page) = pages.next().await else {
                return Ok(out);
            };
            let page = page.map_err(|e| {
                anyhow::anyhow!("ListInferenceProfiles: {}", DisplayErrorContext(&e))
            })?;
            out.extend(page.inference_profile_summaries().iter().map(summary));
        }
        tracing::warn!(
            pages = MAX_PAGES,
            "ListInferenceProfiles kept paging; using the profiles read so far"
        );
        Ok(out)
    }
}

impl super::Bedrock {
    /// `GetInferenceProfile`: the profile's name and the foundation-model ARNs it routes to.
    /// `Ok(None)` when Bedrock says there is no such profile (or the id is malformed), which is
    /// worth remembering; anything else is an error, which is not.
    ///
    /// # Errors
    /// Access denied, throttling, transport failures, described for the log.
    pub async fn get_inference_profile(&self, id: &str) -> Result<Option<AppProfile>, ApiError> {
        // Boxed where it is made, as every SDK call on a request's path: an operation's future is
        // 7-24 KB, copied with each future that holds it (`routes::future_sizes_tests`).
        let out = Box::pin(
            self.control
                .get_inference_profile()
                .inference_profile_identifier(id)
                .send(),
        )
        .await;
        match out {
            Ok(p) => Ok(Some(AppProfile {
                name: p.inference_profile_name().to_owned(),
                model_arns: p
                    .models()
                    .iter()
                    .filter_map(|m| m.model_arn())
                    .map(str::to_owned)
                    .collect(),
            })),
            Err(e) => match e.as_service_error() {
                Some(err)
                    if err.is_resource_not_found_exception() || err.is_validation_exception() =>
                {
                    Ok(None)
                }
                _ => Err(ApiError::Unavailable(format!(
                    "GetInferenceProfile: {}",
                    DisplayErrorContext(&e)
                ))),
            },
        }
    }
}

fn summary(s: &InferenceProfileSummary) -> ProfileSummary {
    ProfileSummary {
        id: s.inference_profile_id().to_owned(),
        name: s.inference_profile_name().to_owned(),
        active: *s.status() == InferenceProfileStatus::Active,
        created_at: s.created_at().and_then(|t| t.fmt(Format::DateTime).ok()),
    }
}
